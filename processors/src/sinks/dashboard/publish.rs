//! [`DashboardChart`]: the handle that publishes points to one chart of a
//! [`Dashboard`]: lines over time, category values and scatter points.

use super::hub::{Dashboard, Sample};
use crate::sinks::chart::{ChartPoint, Point};

/// One chart of a [`Dashboard`]: publishes points to it. Cheap to clone.
#[derive(Clone)]
pub struct DashboardChart {
    dashboard: Dashboard,
    index: usize,
}

impl DashboardChart {
    pub(super) fn new(dashboard: Dashboard, index: usize) -> Self {
        Self { dashboard, index }
    }

    /// Adds a point to a series of a panel and pushes it to the open pages; returns false when
    /// the panel does not exist. Non-finite values are ignored.
    pub fn publish(&self, panel: usize, series: &str, x_ms: i64, y: f64) -> bool {
        self.dashboard
            .add(self.index, panel, series, Sample::Time(x_ms, y))
    }

    /// Publishes chart-sink points; returns false when a point names a missing panel (the
    /// others are still published).
    pub fn publish_points(&self, points: &[ChartPoint]) -> bool {
        points.iter().fold(true, |ok, (panel, series, x, y)| {
            self.publish(*panel, series, *x, *y) && ok
        })
    }

    /// Publishes a chart-sink [`Point`] and pushes it to the open pages: a time point (as
    /// [`DashboardChart::publish`]), a category value (bars, pies, lines over categories: it
    /// replaces the category's previous value), or a scatter point (kept with the newest
    /// points of its series, as many as a time series keeps). Returns false when its panel
    /// does not exist. Non-finite values are ignored.
    pub fn publish_point(&self, point: &Point) -> bool {
        let (panel, series, sample) = match point {
            Point::Time {
                panel,
                series,
                x_ms,
                y,
            } => (*panel, series, Sample::Time(*x_ms, *y)),
            Point::Category {
                panel,
                category,
                series,
                value,
            } => (*panel, series, Sample::Category(category, *value)),
            Point::Xy {
                panel,
                series,
                x,
                y,
            } => (*panel, series, Sample::Xy(*x, *y)),
        };
        self.dashboard.add(self.index, panel, series, sample)
    }

    /// The dashboard this chart belongs to.
    pub fn dashboard(&self) -> &Dashboard {
        &self.dashboard
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::super::hub::Update;
    use super::*;
    use crate::sinks::chart::{ChartSpec, Panel};
    use serde_json::json;

    #[test]
    fn category_values_are_replaced_in_snapshots_and_broadcast() {
        let d = Dashboard::new();
        let spec = ChartSpec::new("bars", vec![Panel::bars("station", "trains")]);
        let chart = d.chart("bars", spec).unwrap();
        assert!(chart.publish_point(&Point::category(0, "oslo", "trains", 3.0)));
        let (_, mut updates) = d.subscribe();
        assert!(chart.publish_point(&Point::category(0, "oslo", "trains", 5.0)));
        assert!(chart.publish_point(&Point::category(0, "bergen", "trains", 1.0)));
        assert!(
            !chart.publish_point(&Point::category(1, "x", "y", 1.0)),
            "no panel 1"
        );
        let panel = &d.snapshot()["charts"][0]["panels"][0];
        assert_eq!(panel["kind"], "bars");
        assert_eq!(panel["categories"], json!(["oslo", "bergen"]));
        assert_eq!(panel["values"]["trains"], json!([5.0, 1.0]), "{panel}");
        match updates.try_recv().unwrap() {
            Update::Category(seq, 0, 0, category, series, value) => {
                assert_eq!(
                    (seq, &*category, &*series, value),
                    (2, "oslo", "trains", 5.0)
                );
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn every_kind_of_point_reaches_its_own_store() {
        let d = Dashboard::new();
        let spec = ChartSpec::new(
            "mixed",
            vec![
                Panel::new("n"),
                Panel::bars("k", "n"),
                Panel::scatter("x", "y"),
            ],
        );
        let chart = d.chart("mixed", spec).unwrap();
        assert!(chart.publish_point(&Point::time(0, "a", 5, 1.0)));
        assert!(chart.publish_point(&Point::category(1, "k1", "a", 2.0)));
        assert!(chart.publish_point(&Point::xy(2, "a", 3.0, 4.0)));
        assert!(
            chart.publish_point(&Point::category(1, "k1", "a", f64::NAN)),
            "ignored"
        );
        assert_eq!(d.points_published(), 3);
        let panels = &d.snapshot()["charts"][0]["panels"];
        assert_eq!(panels[0]["series"], json!({ "a": [[5, 1.0]] }));
        assert_eq!(panels[1]["values"], json!({ "a": [2.0] }));
        assert_eq!(panels[2]["scatter"], json!({ "a": [[3.0, 4.0]] }));
        for (i, panel) in panels.as_array().unwrap().iter().enumerate() {
            let held = [&panel["series"], &panel["values"], &panel["scatter"]];
            let kinds = held
                .iter()
                .filter(|m| m.as_object().is_some_and(|m| !m.is_empty()));
            assert_eq!(kinds.count(), 1, "panel {i} holds one kind: {panel}");
        }
    }
}
