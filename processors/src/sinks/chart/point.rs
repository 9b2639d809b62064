//! [`Point`]: what a chart sink takes from a record, one of three kinds by the panel it is for.

/// One point of a time panel taken from a record: `(panel index, series name, x in ms since
/// the epoch, y)`.
pub type ChartPoint = (usize, String, i64, f64);

/// A point for one panel of a chart.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Point {
    /// A point of a line over time.
    Time {
        /// The panel index.
        panel: usize,
        /// The series (line) name.
        series: String,
        /// Milliseconds since the epoch.
        x_ms: i64,
        /// The value.
        y: f64,
    },
    /// The value of a series in a category (bars, pies, lines over categories); it replaces the
    /// previous value of the same category and series, so a chart fed by a table shows the
    /// latest value per key.
    Category {
        /// The panel index.
        panel: usize,
        /// The category (a bar group, a pie slice, a point on the category axis).
        category: String,
        /// The series.
        series: String,
        /// The value.
        value: f64,
    },
    /// A point of a scatter plot.
    Xy {
        /// The panel index.
        panel: usize,
        /// The series.
        series: String,
        /// The x value.
        x: f64,
        /// The y value.
        y: f64,
    },
}

impl Point {
    /// A point of a line over time.
    pub fn time(panel: usize, series: impl Into<String>, x_ms: i64, y: f64) -> Self {
        Self::Time {
            panel,
            series: series.into(),
            x_ms,
            y,
        }
    }

    /// The value of `series` in `category`.
    pub fn category(
        panel: usize,
        category: impl Into<String>,
        series: impl Into<String>,
        value: f64,
    ) -> Self {
        Self::Category {
            panel,
            category: category.into(),
            series: series.into(),
            value,
        }
    }

    /// A scatter point.
    pub fn xy(panel: usize, series: impl Into<String>, x: f64, y: f64) -> Self {
        Self::Xy {
            panel,
            series: series.into(),
            x,
            y,
        }
    }

    /// The panel the point is for.
    pub fn panel(&self) -> usize {
        match self {
            Self::Time { panel, .. } | Self::Category { panel, .. } | Self::Xy { panel, .. } => {
                *panel
            }
        }
    }

    /// The series the point belongs to.
    pub fn series(&self) -> &str {
        match self {
            Self::Time { series, .. } | Self::Category { series, .. } | Self::Xy { series, .. } => {
                series
            }
        }
    }
}

impl From<ChartPoint> for Point {
    fn from((panel, series, x_ms, y): ChartPoint) -> Self {
        Self::Time {
            panel,
            series,
            x_ms,
            y,
        }
    }
}
