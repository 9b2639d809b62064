//! What a chart shows: the layout ([`ChartSpec`], one [`Panel`] per stacked subplot) and the
//! points ([`ChartData`]: per panel, named series of `(time ms, value)` points, bounded).

use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// One subplot: its own y axis; all panels of a chart share the time axis.
#[derive(Debug, Clone, PartialEq)]
pub struct Panel {
    /// The y axis label, e.g. `count` or `accuracy`.
    pub y_label: String,
    /// A caption drawn above the panel (empty for none).
    pub title: String,
    /// A fixed y range; `None` fits the data.
    pub y_range: Option<(f64, f64)>,
}

impl Panel {
    /// A panel with a y label, fitting its y range to the data.
    pub fn new(y_label: impl Into<String>) -> Self {
        Self {
            y_label: y_label.into(),
            title: String::new(),
            y_range: None,
        }
    }

    /// Sets a caption above the panel.
    pub fn with_title(mut self, title: impl Into<String>) -> Self {
        self.title = title.into();
        self
    }

    /// Fixes the y range (e.g. `0.0..=1.0` for an accuracy).
    pub fn with_y_range(mut self, min: f64, max: f64) -> Self {
        self.y_range = Some((min, max));
        self
    }
}

/// A line chart: a title and stacked panels sharing a UTC time axis, in an image of
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

/// The points of a chart: for each panel, series by name, each a time-ordered run of
/// `(x ms since the epoch, y)`. Each series keeps at most `max_points` points, dropping the
/// oldest. Non-finite values are ignored.
#[derive(Debug, Clone, PartialEq)]
pub struct ChartData {
    panels: Vec<BTreeMap<String, VecDeque<(i64, f64)>>>,
    max_points: usize,
}

impl ChartData {
    /// Empty data for `panels` panels, at most `max_points` points per series.
    pub fn new(panels: usize, max_points: usize) -> Self {
        Self {
            panels: vec![BTreeMap::new(); panels],
            max_points: max_points.max(1),
        }
    }

    /// Number of panels.
    pub fn panel_count(&self) -> usize {
        self.panels.len()
    }

    /// Adds a point to a series of a panel; returns false when the panel does not exist.
    /// A point older than the series' last point is inserted in time order.
    pub fn push(&mut self, panel: usize, series: &str, x_ms: i64, y: f64) -> bool {
        let Some(map) = self.panels.get_mut(panel) else {
            return false;
        };
        if !y.is_finite() {
            return true;
        }
        if !map.contains_key(series) {
            map.insert(series.to_owned(), VecDeque::new());
        }
        let Some(points) = map.get_mut(series) else {
            return false;
        };
        match points.back() {
            Some(&(last, _)) if x_ms < last => {
                let at = points.partition_point(|&(x, _)| x <= x_ms);
                points.insert(at, (x_ms, y));
            }
            _ => points.push_back((x_ms, y)),
        }
        while points.len() > self.max_points {
            points.pop_front();
        }
        true
    }

    /// The series of a panel, by name, each in time order.
    pub fn series(&self, panel: usize) -> impl Iterator<Item = (&str, &VecDeque<(i64, f64)>)> {
        self.panels
            .get(panel)
            .into_iter()
            .flat_map(|m| m.iter().map(|(k, v)| (k.as_str(), v)))
    }

    /// All series names across the panels, sorted (a series keeps its colour in every panel).
    pub fn series_names(&self) -> Vec<&str> {
        let names: BTreeSet<&str> = self
            .panels
            .iter()
            .flat_map(|m| m.keys().map(String::as_str))
            .collect();
        names.into_iter().collect()
    }

    /// The time span of all points, `None` when there is none.
    pub fn x_range(&self) -> Option<(i64, i64)> {
        let xs = self
            .panels
            .iter()
            .flat_map(|m| m.values())
            .flat_map(|p| p.front().into_iter().chain(p.back()));
        xs.fold(None, |acc, &(x, _)| match acc {
            None => Some((x, x)),
            Some((lo, hi)) => Some((lo.min(x), hi.max(x))),
        })
    }

    /// The value span of a panel's points, `None` when it has none.
    pub fn y_range(&self, panel: usize) -> Option<(f64, f64)> {
        self.series(panel)
            .flat_map(|(_, p)| p.iter())
            .fold(None, |acc, &(_, y)| match acc {
                None => Some((y, y)),
                Some((lo, hi)) => Some((lo.min(y), hi.max(y))),
            })
    }

    /// Whether there is no point at all.
    pub fn is_empty(&self) -> bool {
        self.panels
            .iter()
            .all(|m| m.values().all(VecDeque::is_empty))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn series_are_bounded_ordered_and_ranged() {
        let mut data = ChartData::new(2, 3);
        for (x, y) in [(10, 1.0), (20, 2.0), (30, 3.0), (40, 4.0)] {
            assert!(data.push(0, "a", x, y));
        }
        assert!(data.push(0, "a", 35, 9.0), "late point inserted in order");
        assert!(data.push(1, "b", 5, f64::NAN), "ignored");
        assert!(data.push(1, "b", 5, -1.0));
        assert!(!data.push(2, "c", 5, 0.0), "no such panel");
        let a: Vec<_> = data
            .series(0)
            .next()
            .map(|(_, p)| p.iter().copied().collect())
            .unwrap_or_default();
        assert_eq!(a, vec![(30, 3.0), (35, 9.0), (40, 4.0)]);
        assert_eq!(data.series_names(), vec!["a", "b"]);
        assert_eq!(data.x_range(), Some((5, 40)));
        assert_eq!(data.y_range(0), Some((3.0, 9.0)));
        assert_eq!(data.y_range(1), Some((-1.0, -1.0)));
        assert!(!data.is_empty());
        assert!(ChartData::new(1, 10).is_empty());
    }
}
