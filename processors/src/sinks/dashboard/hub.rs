//! [`Dashboard`]: the live state a dashboard serves. Charts (each a [`ChartSpec`] and its
//! bounded [`ChartData`]) receive points through [`DashboardChart`] handles; every point gets a
//! sequence number and is broadcast to the open event streams.

use super::stores::StoreQueries;
use crate::sinks::chart::{ChartData, ChartPoint, ChartSpec};
use parking_lot::{Mutex, RwLock};
use serde_json::{json, Value};
use std::sync::Arc;
use tokio::sync::broadcast;
use weir_topology::{Result, TopologyError};

/// Points per series a dashboard keeps by default (the oldest are dropped).
pub const DEFAULT_MAX_POINTS: usize = 10_000;
/// Updates buffered per event stream before a slow client is sent a fresh snapshot.
const CHANNEL_CAPACITY: usize = 4_096;

/// A change the open event streams are told about.
#[derive(Debug, Clone)]
pub(crate) enum Update {
    /// A point was added: `(sequence number, chart, panel, series, x ms, y)`.
    Point(u64, usize, usize, Arc<str>, i64, f64),
    /// The charts themselves changed (a chart was added): clients reload the snapshot.
    Charts,
}

struct LiveChart {
    id: String,
    spec: ChartSpec,
    data: ChartData,
}

#[derive(Default)]
struct Charts {
    list: Vec<LiveChart>,
    /// The sequence number of the last point added.
    seq: u64,
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

    /// An empty dashboard keeping at most `max_points` points per series.
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
        if let Some(index) = charts.list.iter().position(|c| c.id == id) {
            return Ok(DashboardChart {
                dashboard: self.clone(),
                index,
            });
        }
        let data = ChartData::new(spec.panels.len(), self.inner.max_points);
        charts.list.push(LiveChart {
            id: id.to_owned(),
            spec,
            data,
        });
        let index = charts.list.len() - 1;
        // No receiver is not an error: nobody is watching yet.
        let _ = self.inner.updates.send(Update::Charts);
        Ok(DashboardChart {
            dashboard: self.clone(),
            index,
        })
    }

    /// How many points were published to this dashboard's charts.
    pub fn points_published(&self) -> u64 {
        self.inner.charts.lock().seq
    }

    /// Every chart with its layout and current points, as served by `GET /api/series`:
    /// `{"seq": N, "charts": [{"id", "title", "panels": [{"y_label", "title", "y_range",
    /// "series": {name: [[x ms, y], ...]}}]}]}`.
    pub fn snapshot(&self) -> Value {
        let charts = self.inner.charts.lock();
        let list: Vec<Value> = charts.list.iter().map(chart_json).collect();
        json!({ "seq": charts.seq, "charts": list })
    }

    /// A snapshot and a receiver of every update after it, taken atomically.
    pub(crate) fn subscribe(&self) -> (Value, broadcast::Receiver<Update>) {
        let charts = self.inner.charts.lock();
        let rx = self.inner.updates.subscribe();
        let list: Vec<Value> = charts.list.iter().map(chart_json).collect();
        (json!({ "seq": charts.seq, "charts": list }), rx)
    }

    /// Adds a point; false when the chart or panel does not exist.
    fn publish(&self, chart: usize, panel: usize, series: &str, x_ms: i64, y: f64) -> bool {
        let mut charts = self.inner.charts.lock();
        let Some(live) = charts.list.get_mut(chart) else {
            return false;
        };
        if panel >= live.data.panel_count() {
            return false;
        }
        if !y.is_finite() {
            return true;
        }
        live.data.push(panel, series, x_ms, y);
        charts.seq += 1;
        let update = Update::Point(charts.seq, chart, panel, Arc::from(series), x_ms, y);
        let _ = self.inner.updates.send(update);
        true
    }

    pub(crate) fn stores(&self) -> &RwLock<StoreQueries> {
        &self.inner.stores
    }
}

fn chart_json(chart: &LiveChart) -> Value {
    let panels: Vec<Value> = chart
        .spec
        .panels
        .iter()
        .enumerate()
        .map(|(i, panel)| {
            let series: serde_json::Map<String, Value> = chart
                .data
                .series(i)
                .map(|(name, points)| {
                    let pts: Vec<Value> = points.iter().map(|&(x, y)| json!([x, y])).collect();
                    (name.to_owned(), Value::Array(pts))
                })
                .collect();
            json!({
                "y_label": panel.y_label,
                "title": panel.title,
                "y_range": panel.y_range.map(|(lo, hi)| [lo, hi]),
                "series": series,
            })
        })
        .collect();
    json!({ "id": chart.id, "title": chart.spec.title, "panels": panels })
}

/// One chart of a [`Dashboard`]: publishes points to it. Cheap to clone.
#[derive(Clone)]
pub struct DashboardChart {
    dashboard: Dashboard,
    index: usize,
}

impl DashboardChart {
    /// Adds a point to a series of a panel and pushes it to the open pages; returns false when
    /// the panel does not exist. Non-finite values are ignored.
    pub fn publish(&self, panel: usize, series: &str, x_ms: i64, y: f64) -> bool {
        self.dashboard.publish(self.index, panel, series, x_ms, y)
    }

    /// Publishes chart-sink points; returns false when a point names a missing panel (the
    /// others are still published).
    pub fn publish_points(&self, points: &[ChartPoint]) -> bool {
        points.iter().fold(true, |ok, (panel, series, x, y)| {
            self.publish(*panel, series, *x, *y) && ok
        })
    }

    /// The dashboard this chart belongs to.
    pub fn dashboard(&self) -> &Dashboard {
        &self.dashboard
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::sinks::chart::Panel;

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
            Update::Charts => panic!("expected a point"),
        }
        assert!(rx.try_recv().is_err());
        for x in 3..10 {
            c.publish(0, "a", x, 1.0);
        }
        let kept = d.snapshot()["charts"][0]["panels"][0]["series"]["a"].clone();
        assert_eq!(kept, json!([[8, 1.0], [9, 1.0]]), "bounded per series");
    }
}
