//! The feed a live client receives, over Server-Sent Events or a WebSocket alike: a snapshot of
//! every chart first (and again whenever the client fell behind or the charts changed), then
//! batches of new points `[[seq, chart, panel, series, x, y], ...]` (category values and
//! scatter points as objects, see [`point_json`]).

use super::hub::{Dashboard, Update};
use serde_json::{json, Value};
use tokio::sync::{broadcast, watch};

/// Points sent in one batch at most (the rest follow in the next ones).
const MAX_BATCH: usize = 2_000;

/// One message of the feed.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Message {
    /// Every chart with its points (what `GET /api/series` answers).
    Snapshot(Value),
    /// New points, in publication order.
    Points(Vec<Value>),
}

impl Message {
    /// The message's name: the SSE event name, the WebSocket message's `type`.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Self::Snapshot(_) => "snapshot",
            Self::Points(_) => "points",
        }
    }

    /// The message's body.
    pub(crate) fn data(&self) -> Value {
        match self {
            Self::Snapshot(snapshot) => snapshot.clone(),
            Self::Points(points) => Value::Array(points.clone()),
        }
    }
}

/// One client's feed.
pub(crate) struct Feed {
    dashboard: Dashboard,
    updates: broadcast::Receiver<Update>,
    stopping: watch::Receiver<bool>,
    first: Option<Value>,
}

/// A point as `[seq, chart, panel, series, x, y]`, a category value as `{"seq", "chart",
/// "panel", "category", "series", "value"}`, a scatter point as `{"seq", "chart", "panel",
/// "series", "x", "y"}`; `None` for a change that needs a new snapshot.
fn point_json(update: &Update) -> Option<Value> {
    match update {
        Update::Point(seq, chart, panel, series, x, y) => {
            Some(json!([seq, chart, panel, &**series, x, y]))
        }
        Update::Category(seq, chart, panel, category, series, value) => Some(json!({
            "seq": seq, "chart": chart, "panel": panel,
            "category": &**category, "series": &**series, "value": value,
        })),
        Update::Xy(seq, chart, panel, series, x, y) => Some(json!({
            "seq": seq, "chart": chart, "panel": panel, "series": &**series, "x": x, "y": y,
        })),
        Update::Charts => None,
    }
}

impl Feed {
    /// A feed starting with the dashboard's current snapshot.
    pub(crate) fn new(dashboard: Dashboard, stopping: watch::Receiver<bool>) -> Self {
        let (snapshot, updates) = dashboard.subscribe();
        Self {
            dashboard,
            updates,
            stopping,
            first: Some(snapshot),
        }
    }

    /// The next message; `None` when the server stops.
    pub(crate) async fn next(&mut self) -> Option<Message> {
        if let Some(first) = self.first.take() {
            return Some(Message::Snapshot(first));
        }
        if *self.stopping.borrow() {
            return None;
        }
        let update = tokio::select! {
            _ = self.stopping.wait_for(|stop| *stop) => return None,
            update = self.updates.recv() => update,
        };
        let first = match update {
            Ok(update) => update,
            Err(broadcast::error::RecvError::Lagged(_)) => return Some(self.snapshot()),
            Err(broadcast::error::RecvError::Closed) => return None,
        };
        let Some(point) = point_json(&first) else {
            return Some(self.snapshot());
        };
        let mut points = vec![point];
        while points.len() < MAX_BATCH {
            match self.updates.try_recv() {
                Ok(update) => match point_json(&update) {
                    Some(p) => points.push(p),
                    None => return Some(self.snapshot()),
                },
                Err(broadcast::error::TryRecvError::Lagged(_)) => return Some(self.snapshot()),
                Err(_) => break,
            }
        }
        Some(Message::Points(points))
    }

    fn snapshot(&self) -> Message {
        Message::Snapshot(self.dashboard.snapshot())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::sinks::chart::{ChartSpec, Panel, Point};

    #[tokio::test]
    async fn a_feed_sends_the_snapshot_then_every_kind_of_point_in_order() {
        let d = Dashboard::new();
        let spec = ChartSpec::new(
            "mixed",
            vec![Panel::new("n"), Panel::pie(), Panel::scatter("x", "y")],
        );
        let chart = d.chart("mixed", spec).unwrap();
        chart.publish_point(&Point::xy(2, "a", 1.0, 2.0));
        let (_stop, stopping) = watch::channel(false);
        let mut feed = Feed::new(d.clone(), stopping);
        let Some(Message::Snapshot(first)) = feed.next().await else {
            panic!("a snapshot first");
        };
        assert_eq!(
            first["charts"][0]["panels"][2]["scatter"]["a"],
            json!([[1.0, 2.0]])
        );
        chart.publish_point(&Point::xy(2, "b", -0.5, 7.25));
        chart.publish_point(&Point::time(0, "a", 10, 3.0));
        chart.publish_point(&Point::category(1, "k", "a", 4.0));
        let next = feed.next().await.unwrap();
        assert_eq!(next.kind(), "points");
        assert_eq!(
            next.data(),
            json!([
                { "seq": 2, "chart": 0, "panel": 2, "series": "b", "x": -0.5, "y": 7.25 },
                [3, 0, 0, "a", 10, 3.0],
                { "seq": 4, "chart": 0, "panel": 1, "category": "k", "series": "a", "value": 4.0 },
            ])
        );
        // A new chart: the client is sent the whole snapshot again.
        d.chart("other", ChartSpec::new("o", vec![Panel::new("n")]))
            .unwrap();
        let again = feed.next().await.unwrap();
        assert_eq!(again.kind(), "snapshot");
        assert_eq!(again.data()["charts"][1]["id"], "other");
    }
}
