//! The points a chart holds ([`ChartData`]): per panel, time series, the latest value per
//! category and series, and scatter points, each bounded.

use super::point::Point;
use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// The points of a chart, per panel: time series by name, each a time-ordered run of
/// `(x ms since the epoch, y)`; the latest value per category and series; and scatter points
/// per series. Each time or scatter series keeps at most `max_points` points, dropping the
/// oldest. Non-finite values are ignored.
#[derive(Debug, Clone, PartialEq)]
pub struct ChartData {
    panels: Vec<BTreeMap<String, VecDeque<(i64, f64)>>>,
    categories: Vec<CategoryValues>,
    scatter: Vec<BTreeMap<String, VecDeque<(f64, f64)>>>,
    max_points: usize,
}

/// The latest value of each (category, series) of a panel, categories in first-seen order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CategoryValues {
    categories: Vec<String>,
    values: BTreeMap<(usize, String), f64>,
}

impl CategoryValues {
    /// The categories, in the order they first appeared.
    pub fn categories(&self) -> &[String] {
        &self.categories
    }

    /// The series names, sorted.
    pub fn series(&self) -> Vec<&str> {
        let names: BTreeSet<&str> = self.values.keys().map(|(_, s)| s.as_str()).collect();
        names.into_iter().collect()
    }

    /// Per series (sorted), its value in each category (in order), `None` where unset.
    pub fn table(&self) -> Vec<(&str, Vec<Option<f64>>)> {
        self.series()
            .into_iter()
            .map(|s| {
                (
                    s,
                    (0..self.categories.len())
                        .map(|c| self.value(c, s))
                        .collect(),
                )
            })
            .collect()
    }

    /// The value of `series` in category number `category`, if set.
    pub fn value(&self, category: usize, series: &str) -> Option<f64> {
        self.values.get(&(category, series.to_owned())).copied()
    }

    pub(crate) fn set(&mut self, category: &str, series: &str, value: f64) {
        let at = match self.categories.iter().position(|c| c == category) {
            Some(at) => at,
            None => {
                self.categories.push(category.to_owned());
                self.categories.len() - 1
            }
        };
        self.values.insert((at, series.to_owned()), value);
    }

    fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
}

impl ChartData {
    /// Empty data for `panels` panels, at most `max_points` points per series.
    pub fn new(panels: usize, max_points: usize) -> Self {
        Self {
            panels: vec![BTreeMap::new(); panels],
            categories: vec![CategoryValues::default(); panels],
            scatter: vec![BTreeMap::new(); panels],
            max_points: max_points.max(1),
        }
    }

    /// Keeps at most `max_points` points per time or scatter series from now on, dropping the
    /// oldest points already held beyond it.
    pub fn set_max_points(&mut self, max_points: usize) {
        self.max_points = max_points.max(1);
        let keep = self.max_points;
        for points in self.panels.iter_mut().flat_map(|m| m.values_mut()) {
            while points.len() > keep {
                points.pop_front();
            }
        }
        for points in self.scatter.iter_mut().flat_map(|m| m.values_mut()) {
            while points.len() > keep {
                points.pop_front();
            }
        }
    }

    /// Adds any kind of point; returns false when its panel does not exist.
    pub fn add(&mut self, point: &Point) -> bool {
        match point {
            Point::Time {
                panel,
                series,
                x_ms,
                y,
            } => self.push(*panel, series, *x_ms, *y),
            Point::Category {
                panel,
                category,
                series,
                value,
            } => self.set_category(*panel, category, series, *value),
            Point::Xy {
                panel,
                series,
                x,
                y,
            } => self.push_xy(*panel, series, *x, *y),
        }
    }

    /// Sets the value of `series` in `category` of a panel (replacing the previous one);
    /// returns false when the panel does not exist.
    pub fn set_category(&mut self, panel: usize, category: &str, series: &str, value: f64) -> bool {
        let Some(values) = self.categories.get_mut(panel) else {
            return false;
        };
        if value.is_finite() {
            values.set(category, series, value);
        }
        true
    }

    /// Adds a scatter point to a series of a panel; returns false when the panel does not exist.
    pub fn push_xy(&mut self, panel: usize, series: &str, x: f64, y: f64) -> bool {
        let Some(map) = self.scatter.get_mut(panel) else {
            return false;
        };
        if !(x.is_finite() && y.is_finite()) {
            return true;
        }
        let points = map.entry(series.to_owned()).or_default();
        points.push_back((x, y));
        while points.len() > self.max_points {
            points.pop_front();
        }
        true
    }

    /// The category values of a panel.
    pub fn category_values(&self, panel: usize) -> Option<&CategoryValues> {
        self.categories.get(panel)
    }

    /// The scatter series of a panel, by name.
    pub fn scatter_series(
        &self,
        panel: usize,
    ) -> impl Iterator<Item = (&str, &VecDeque<(f64, f64)>)> {
        self.scatter
            .get(panel)
            .into_iter()
            .flat_map(|m| m.iter().map(|(k, v)| (k.as_str(), v)))
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

    /// All series names across the panels and kinds, sorted (a series keeps its colour in
    /// every panel).
    pub fn series_names(&self) -> Vec<&str> {
        let time = self
            .panels
            .iter()
            .flat_map(|m| m.keys().map(String::as_str));
        let scatter = self
            .scatter
            .iter()
            .flat_map(|m| m.keys().map(String::as_str));
        let categories = self.categories.iter().flat_map(|c| c.series());
        let names: BTreeSet<&str> = time.chain(scatter).chain(categories).collect();
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
            && self.categories.iter().all(CategoryValues::is_empty)
            && self
                .scatter
                .iter()
                .all(|m| m.values().all(VecDeque::is_empty))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
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

    #[test]
    fn category_values_update_in_place_in_first_seen_order() {
        let mut data = ChartData::new(1, 2);
        assert!(data.add(&Point::category(0, "oslo", "trains", 3.0)));
        assert!(data.add(&Point::category(0, "bergen", "trains", 1.0)));
        assert!(data.add(&Point::category(0, "oslo", "trains", 5.0)));
        assert!(data.add(&Point::category(0, "oslo", "buses", 2.0)));
        assert!(
            !data.add(&Point::category(1, "x", "y", 1.0)),
            "no such panel"
        );
        let values = data.category_values(0).unwrap();
        assert_eq!(values.categories(), ["oslo", "bergen"]);
        assert_eq!(values.series(), ["buses", "trains"]);
        assert_eq!(values.value(0, "trains"), Some(5.0));
        assert_eq!(values.value(1, "buses"), None);
        assert_eq!(data.series_names(), ["buses", "trains"]);
        for x in 0..3 {
            data.add(&Point::xy(0, "s", f64::from(x), 1.0));
        }
        let xs: Vec<f64> = data
            .scatter_series(0)
            .flat_map(|(_, p)| p.iter().map(|p| p.0))
            .collect();
        assert_eq!(xs, [1.0, 2.0], "bounded to the last 2");
        assert!(!data.is_empty());
    }
}
