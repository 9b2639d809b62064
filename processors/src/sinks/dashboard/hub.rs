//! [`Dashboard`]: the live state a dashboard serves. Charts (each a [`ChartSpec`] and its
//! points: time series, category values, scatter series) receive points through
//! [`DashboardChart`] handles; every point gets a sequence number and is broadcast to the open
//! event streams. Time and scatter series are bounded alike, to the newest `max_points` points
//! per series ([`super::points`]). Snapshots are copy-on-write ([`super::snapshot`]): taken
//! under the lock in a few pointer copies, turned into JSON after it.

use super::points::{TimeSeries, XySeries};
use super::publish::DashboardChart;
use super::snapshot::{freeze, frozen_json};
use super::stores::StoreQueries;
use crate::sinks::chart::{CategoryValues, ChartSpec};
use parking_lot::{Mutex, RwLock};
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Arc;
use tokio::sync::broadcast;
use weir_topology::{Result, TopologyError};

/// Points per series a dashboard keeps by default, for time and scatter series alike (the
/// oldest are dropped).
pub const DEFAULT_MAX_POINTS: usize = 10_000;
/// Updates buffered per event stream before a slow client is sent a fresh snapshot.
const CHANNEL_CAPACITY: usize = 4_096;

/// A change the open event streams are told about.
#[derive(Debug, Clone)]
pub(crate) enum Update {
    /// A point was added: `(sequence number, chart, panel, series, x ms, y)`.
    Point(u64, usize, usize, Arc<str>, i64, f64),
    /// The value of a category changed: `(sequence number, chart, panel, category, series,
    /// value)`.
    Category(u64, usize, usize, Arc<str>, Arc<str>, f64),
    /// A scatter point was added: `(sequence number, chart, panel, series, x, y)`.
    Xy(u64, usize, usize, Arc<str>, f64, f64),
    /// The charts themselves changed (a chart was added): clients reload the snapshot.
    Charts,
}

/// What a point sets, borrowed from the caller (see [`Dashboard::add`]).
#[derive(Debug, Clone, Copy)]
pub(super) enum Sample<'a> {
    /// A point of a line over time: `(x ms, y)`.
    Time(i64, f64),
    /// The value of a category: `(category, value)`.
    Category(&'a str, f64),
    /// A scatter point: `(x, y)`.
    Xy(f64, f64),
}

pub(super) struct LiveChart {
    pub(super) id: Arc<str>,
    pub(super) spec: Arc<ChartSpec>,
    /// Per panel, the time series by name.
    pub(super) panels: Vec<BTreeMap<Arc<str>, TimeSeries>>,
    /// Per panel, the latest value per category and series (category panels).
    pub(super) categories: Vec<CategoryValues>,
    /// Per panel, the scatter series by name.
    pub(super) scatter: Vec<BTreeMap<Arc<str>, XySeries>>,
}

#[derive(Default)]
pub(super) struct Charts {
    pub(super) list: Vec<LiveChart>,
    /// The sequence number of the last point added.
    pub(super) seq: u64,
}

struct Inner {
    charts: Mutex<Charts>,
    updates: broadcast::Sender<Update>,
    max_points: usize,
    stores: RwLock<StoreQueries>,
}

/// A live dashboard's state, shared by the sinks that feed it and the HTTP server that shows
/// it ([`DashboardServer`](super::DashboardServer)). Cloning gives another handle on the same
/// dashboard.
///
/// ```
/// use weir_processors::sinks::chart::{ChartSpec, Panel};
/// use weir_processors::sinks::dashboard::Dashboard;
/// # fn main() -> weir_topology::Result<()> {
/// let dashboard = Dashboard::new();
/// let chart = dashboard.chart("counts", ChartSpec::new("counts", vec![Panel::new("count")]))?;
/// chart.publish(0, "key 1", 1_700_000_000_000, 3.0);
/// assert_eq!(dashboard.points_published(), 1);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Dashboard {
    inner: Arc<Inner>,
}

impl Default for Dashboard {
    fn default() -> Self {
        Self::new()
    }
}

impl Dashboard {
    /// An empty dashboard keeping [`DEFAULT_MAX_POINTS`] points per series.
    pub fn new() -> Self {
        Self::with_max_points(DEFAULT_MAX_POINTS)
    }

    /// An empty dashboard keeping at most `max_points` points per time or scatter series (the
    /// newest; the page keeps the same number).
    pub fn with_max_points(max_points: usize) -> Self {
        let (updates, _) = broadcast::channel(CHANNEL_CAPACITY);
        Self {
            inner: Arc::new(Inner {
                charts: Mutex::new(Charts::default()),
                updates,
                max_points: max_points.max(1),
                stores: RwLock::new(StoreQueries::default()),
            }),
        }
    }

    /// The chart `id`, added with `spec` when the dashboard does not show it yet (an existing
    /// chart keeps its spec and points). Charts are shown in the order they were added.
    pub fn chart(&self, id: &str, spec: ChartSpec) -> Result<DashboardChart> {
        if spec.panels.is_empty() {
            return Err(TopologyError::config(
                format!("dashboard chart `{id}`"),
                "a chart needs at least one panel",
            ));
        }
        let mut charts = self.inner.charts.lock();
        if let Some(index) = charts.list.iter().position(|c| &*c.id == id) {
            return Ok(DashboardChart::new(self.clone(), index));
        }
        let panels = spec.panels.len();
        charts.list.push(LiveChart {
            id: Arc::from(id),
            panels: (0..panels).map(|_| BTreeMap::new()).collect(),
            categories: vec![CategoryValues::default(); panels],
            scatter: (0..panels).map(|_| BTreeMap::new()).collect(),
            spec: Arc::new(spec),
        });
        let index = charts.list.len() - 1;
        // No receiver is not an error: nobody is watching yet.
        let _ = self.inner.updates.send(Update::Charts);
        Ok(DashboardChart::new(self.clone(), index))
    }

    /// How many points were published to this dashboard's charts.
    pub fn points_published(&self) -> u64 {
        self.inner.charts.lock().seq
    }

    /// Every chart with its layout and current points, as served by `GET /api/series`:
    /// `{"seq": N, "max_points": M, "charts": [{"id", "title", "panels": [{"kind", "x_label",
    /// "y_label", "title", "y_range", "x_categories", "series": {name: [[x ms, y], ...]},
    /// "categories": [...], "values": {name: [value or null per category]},
    /// "scatter": {name: [[x, y], ...]}}]}]}`.
    pub fn snapshot(&self) -> Value {
        let frozen = freeze(&self.inner.charts.lock(), self.inner.max_points);
        frozen_json(&frozen)
    }

    /// The charts, as `(id, title)`, in the order they were added.
    pub fn chart_list(&self) -> Vec<(String, String)> {
        let charts = self.inner.charts.lock();
        charts
            .list
            .iter()
            .map(|c| (c.id.to_string(), c.spec.title.clone()))
            .collect()
    }

    /// A snapshot and a receiver of every update after it, taken atomically (the JSON is
    /// built after the lock is released).
    pub(crate) fn subscribe(&self) -> (Value, broadcast::Receiver<Update>) {
        let (frozen, rx) = {
            let charts = self.inner.charts.lock();
            let rx = self.inner.updates.subscribe();
            (freeze(&charts, self.inner.max_points), rx)
        };
        (frozen_json(&frozen), rx)
    }

    /// Adds a point of `series` to panel `panel` of chart `chart`, numbers it and broadcasts
    /// it; false when the chart or panel does not exist. A non-finite value is ignored.
    pub(super) fn add(&self, chart: usize, panel: usize, series: &str, sample: Sample<'_>) -> bool {
        let max_points = self.inner.max_points;
        let mut guard = self.inner.charts.lock();
        let charts = &mut *guard;
        let seq = charts.seq + 1;
        let Some(live) = charts.list.get_mut(chart) else {
            return false;
        };
        let update = match sample {
            Sample::Time(x, y) => {
                let Some(panel_series) = live.panels.get_mut(panel) else {
                    return false;
                };
                if !y.is_finite() {
                    return true;
                }
                let (name, points) = series_mut(panel_series, series);
                points.push(x, y, max_points);
                Update::Point(seq, chart, panel, name, x, y)
            }
            Sample::Category(category, value) => {
                let Some(values) = live.categories.get_mut(panel) else {
                    return false;
                };
                if !value.is_finite() {
                    return true;
                }
                values.set(category, series, value);
                Update::Category(seq, chart, panel, category.into(), series.into(), value)
            }
            Sample::Xy(x, y) => {
                let Some(panel_series) = live.scatter.get_mut(panel) else {
                    return false;
                };
                if !(x.is_finite() && y.is_finite()) {
                    return true;
                }
                let (name, points) = series_mut(panel_series, series);
                points.push_xy(x, y, max_points);
                Update::Xy(seq, chart, panel, name, x, y)
            }
        };
        charts.seq = seq;
        // Sent under the lock, so that updates go out in sequence order.
        let _ = self.inner.updates.send(update);
        true
    }

    pub(crate) fn stores(&self) -> &RwLock<StoreQueries> {
        &self.inner.stores
    }
}

/// The series `name` of a panel (added empty when new) and its shared name.
fn series_mut<'a, S: Default>(
    panel: &'a mut BTreeMap<Arc<str>, S>,
    name: &str,
) -> (Arc<str>, &'a mut S) {
    let key = match panel.get_key_value(name) {
        Some((key, _)) => key.clone(),
        None => Arc::from(name),
    };
    (key.clone(), panel.entry(key).or_default())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::sinks::chart::{Panel, Point};
    use serde_json::json;

    fn spec() -> ChartSpec {
        ChartSpec::new("t", vec![Panel::new("count"), Panel::new("acc")])
    }

    #[test]
    fn charts_are_registered_once_and_checked() {
        let d = Dashboard::new();
        let a = d.chart("a", spec()).unwrap();
        let again = d
            .chart("a", ChartSpec::new("other", vec![Panel::new("x")]))
            .unwrap();
        assert!(
            again.publish(1, "k", 1, 1.0),
            "the first spec (two panels) is kept"
        );
        assert!(a.publish(0, "k", 2, 2.0));
        assert!(!a.publish(2, "k", 3, 3.0), "no such panel");
        assert!(a.publish(0, "k", 4, f64::NAN), "ignored");
        assert_eq!(d.points_published(), 2);
        assert!(d.chart("empty", ChartSpec::new("e", vec![])).is_err());
        let snap = d.snapshot();
        assert_eq!(snap["seq"], 2);
        assert_eq!(snap["charts"][0]["title"], "t");
        assert_eq!(
            snap["charts"][0]["panels"][0]["series"]["k"],
            json!([[2, 2.0]])
        );
        assert_eq!(
            snap["charts"][0]["panels"][1]["series"]["k"],
            json!([[1, 1.0]])
        );
    }

    #[test]
    fn scatter_points_are_in_the_snapshot_and_broadcast() {
        let d = Dashboard::new();
        let spec = ChartSpec::new(
            "xy",
            vec![Panel::scatter("humidity", "temperature").with_x_categories(["dry", "wet"])],
        );
        let chart = d.chart("xy", spec).unwrap();
        assert!(chart.publish_point(&Point::xy(0, "room", 0.5, 20.0)));
        let (snap, mut updates) = d.subscribe();
        assert_eq!(
            snap["charts"][0]["panels"][0]["scatter"]["room"],
            json!([[0.5, 20.0]])
        );
        assert!(chart.publish_point(&Point::xy(0, "hall", -3.0, 18.5)));
        assert!(chart.publish_point(&Point::xy(0, "room", 0.25, 21.0)));
        assert!(
            chart.publish_point(&Point::xy(0, "room", f64::INFINITY, 1.0)),
            "ignored"
        );
        assert!(
            !chart.publish_point(&Point::xy(1, "room", 1.0, 1.0)),
            "no panel 1"
        );
        let seen: Vec<(u64, usize, usize, String, f64, f64)> =
            std::iter::from_fn(|| match updates.try_recv().ok()? {
                Update::Xy(seq, c, p, s, x, y) => Some((seq, c, p, s.to_string(), x, y)),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(
            seen,
            [
                (2, 0, 0, "hall".to_owned(), -3.0, 18.5),
                (3, 0, 0, "room".to_owned(), 0.25, 21.0)
            ]
        );
        let snap = d.snapshot();
        let panel = &snap["charts"][0]["panels"][0];
        assert_eq!(panel["kind"], "scatter");
        assert_eq!(panel["x_label"], "humidity");
        assert_eq!(panel["x_categories"], json!(["dry", "wet"]));
        assert_eq!(panel["scatter"]["room"], json!([[0.5, 20.0], [0.25, 21.0]]));
        assert_eq!(panel["scatter"]["hall"], json!([[-3.0, 18.5]]));
        assert_eq!(panel["series"], json!({}), "no time series");
        assert_eq!(snap["seq"], 3);
        assert_eq!(snap["max_points"], DEFAULT_MAX_POINTS);
    }

    #[test]
    fn scatter_series_are_bounded_like_time_series() {
        let max = 300;
        let d = Dashboard::with_max_points(max);
        let spec = ChartSpec::new("b", vec![Panel::new("n"), Panel::scatter("x", "y")]);
        let chart = d.chart("b", spec).unwrap();
        // Two scatter series and a time series, interleaved; x runs backwards for "a".
        let n = 1_000;
        for i in 0..n {
            chart.publish_point(&Point::xy(1, "a", f64::from(n - i), f64::from(i)));
            if i % 2 == 0 {
                chart.publish_point(&Point::xy(1, "b", f64::from(i), 0.0));
            }
            chart.publish(0, "t", i64::from(i), 1.0);
        }
        let snap = d.snapshot();
        assert_eq!(snap["max_points"], max);
        let panels = &snap["charts"][0]["panels"];
        let a = panels[1]["scatter"]["a"].as_array().unwrap();
        let want_a: Vec<_> = (n - 300..n)
            .map(|i| json!([f64::from(n - i), f64::from(i)]))
            .collect();
        assert_eq!(a, &want_a, "the newest 300 of a, in arrival order");
        let b = panels[1]["scatter"]["b"].as_array().unwrap();
        let want_b: Vec<_> = (0..n)
            .step_by(2)
            .skip(200)
            .map(|i| json!([f64::from(i), 0.0]))
            .collect();
        assert_eq!(b, &want_b, "the newest 300 of b");
        assert_eq!(panels[0]["series"]["t"].as_array().unwrap().len(), max);
        assert_eq!(d.points_published(), 2_500);
    }

    #[test]
    fn subscribers_get_every_point_after_their_snapshot() {
        let d = Dashboard::with_max_points(2);
        let c = d.chart("c", spec()).unwrap();
        c.publish(0, "a", 1, 1.0);
        let (snap, mut rx) = d.subscribe();
        assert_eq!(snap["seq"], 1);
        assert!(!c.publish_points(&[(0, "b".into(), 2, 2.0), (5, "b".into(), 2, 2.0)]));
        match rx.try_recv().unwrap() {
            Update::Point(seq, chart, panel, series, x, y) => {
                assert_eq!((seq, chart, panel, &*series, x, y), (2, 0, 0, "b", 2, 2.0));
            }
            other => panic!("expected a point, got {other:?}"),
        }
        assert!(rx.try_recv().is_err());
        for x in 3..10 {
            c.publish(0, "a", x, 1.0);
        }
        let kept = d.snapshot()["charts"][0]["panels"][0]["series"]["a"].clone();
        assert_eq!(kept, json!([[8, 1.0], [9, 1.0]]), "bounded per series");
    }
}
