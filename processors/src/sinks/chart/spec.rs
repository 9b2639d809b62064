//! What a chart shows: its layout, [`ChartSpec`], with one [`Panel`] per stacked subplot, each of
//! a [`PanelKind`]: lines over time, lines over categories, grouped or stacked bars, a pie, or a
//! scatter plot.

/// What a panel draws.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum PanelKind {
    /// One line per series over a UTC time axis shared with the other time panels.
    #[default]
    TimeLines,
    /// One line per series over the categories, in the order they first appeared.
    CategoryLines,
    /// A bar per series side by side in each category.
    Bars,
    /// The series' bars stacked on each other in each category.
    StackedBars,
    /// A pie of the categories' values (of the first series that has any).
    Pie,
    /// Points at `(x, y)`, a colour per series.
    Scatter,
}

/// One subplot with its own axes; the time panels of a chart share the time axis.
#[derive(Debug, Clone, PartialEq)]
pub struct Panel {
    /// What the panel draws.
    pub kind: PanelKind,
    /// The x axis label of scatter plots and category panels (empty: none).
    pub x_label: String,
    /// The y axis label, e.g. `count` or `accuracy`.
    pub y_label: String,
    /// A caption drawn above the panel (empty for none).
    pub title: String,
    /// A fixed y range; `None` fits the data.
    pub y_range: Option<(f64, f64)>,
    /// Names for the x values of a scatter plot: x = `i` is labelled with the `i`-th name
    /// (from 0). Empty: x is labelled with numbers.
    pub x_categories: Vec<String>,
}

impl Panel {
    /// Lines over time with a y label, fitting its y range to the data.
    pub fn new(y_label: impl Into<String>) -> Self {
        Self::of_kind(PanelKind::TimeLines, "", y_label)
    }

    /// Lines over categories (fed with [`Point::category`](super::Point::category)).
    pub fn category_lines(x_label: impl Into<String>, y_label: impl Into<String>) -> Self {
        Self::of_kind(PanelKind::CategoryLines, x_label, y_label)
    }

    /// Grouped bars: in each category, a bar per series (fed with
    /// [`Point::category`](super::Point::category); a new value replaces the bar's old one).
    pub fn bars(x_label: impl Into<String>, y_label: impl Into<String>) -> Self {
        Self::of_kind(PanelKind::Bars, x_label, y_label)
    }

    /// Stacked bars: in each category, the series' bars on top of each other.
    pub fn stacked_bars(x_label: impl Into<String>, y_label: impl Into<String>) -> Self {
        Self::of_kind(PanelKind::StackedBars, x_label, y_label)
    }

    /// A pie of the categories' values (fed with [`Point::category`](super::Point::category)).
    pub fn pie() -> Self {
        Self::of_kind(PanelKind::Pie, "", "")
    }

    /// A scatter plot (fed with [`Point::xy`](super::Point::xy)).
    pub fn scatter(x_label: impl Into<String>, y_label: impl Into<String>) -> Self {
        Self::of_kind(PanelKind::Scatter, x_label, y_label)
    }

    fn of_kind(kind: PanelKind, x_label: impl Into<String>, y_label: impl Into<String>) -> Self {
        Self {
            kind,
            x_label: x_label.into(),
            y_label: y_label.into(),
            title: String::new(),
            y_range: None,
            x_categories: Vec::new(),
        }
    }

    /// Sets a caption above the panel.
    pub fn with_title(mut self, title: impl Into<String>) -> Self {
        self.title = title.into();
        self
    }

    /// Labels the x axis of a scatter plot with category names instead of numbers: x = `i`
    /// is labelled with the `i`-th name (from 0), the axis shows every category, and other x
    /// values are not labelled (points between categories, e.g. jittered, are still drawn).
    pub fn with_x_categories<S: Into<String>>(
        mut self,
        names: impl IntoIterator<Item = S>,
    ) -> Self {
        self.x_categories = names.into_iter().map(Into::into).collect();
        self
    }

    /// The category name of `x` (see [`Panel::with_x_categories`]): `Some` when x is, within
    /// 1e-6, the index of a category.
    pub fn x_category(&self, x: f64) -> Option<&str> {
        let index = x.round();
        if !((x - index).abs() <= 1e-6 && index >= 0.0) {
            return None;
        }
        self.x_categories.get(index as usize).map(String::as_str)
    }

    /// Fixes the y range (e.g. `0.0..=1.0` for an accuracy).
    pub fn with_y_range(mut self, min: f64, max: f64) -> Self {
        self.y_range = Some((min, max));
        self
    }
}

/// A chart: a title and stacked panels (the time panels share a UTC time axis), in an image of
/// `width` x `height` pixels.
#[derive(Debug, Clone, PartialEq)]
pub struct ChartSpec {
    /// The title at the top.
    pub title: String,
    /// The panels, top to bottom (at least one).
    pub panels: Vec<Panel>,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
}

impl ChartSpec {
    /// A 1200 x 400·panels chart.
    pub fn new(title: impl Into<String>, panels: Vec<Panel>) -> Self {
        let rows = u32::try_from(panels.len().max(1)).unwrap_or(1);
        Self {
            title: title.into(),
            panels,
            width: 1200,
            height: 80 + 360 * rows.min(8),
        }
    }

    /// Sets the image size in pixels.
    pub fn with_size(mut self, width: u32, height: u32) -> Self {
        self.width = width;
        self.height = height;
        self
    }
}
