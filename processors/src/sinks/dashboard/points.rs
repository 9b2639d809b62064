//! Copy-on-write point storage for the dashboard's charts. A series keeps its points in
//! immutable shared chunks plus a short growing tail, so a snapshot taken under the charts'
//! lock only clones a few `Arc`s and copies the tail: the pipeline publishing a point never
//! waits for a snapshot's JSON to be built, which happens after the lock is released.
//!
//! Time series ([`TimeSeries`]) keep their points in time order; scatter series
//! ([`XySeries`]) in the order they arrived. Both show their newest `max_points` points: the
//! oldest are dropped a chunk at a time once they are beyond the bound.

use serde::Serialize;
use serde_json::{json, Value};
use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

/// Points per shared chunk.
const CHUNK: usize = 256;

/// A point of a line over time: `(x ms since the epoch, y)`.
type TimePoint = (i64, f64);
/// A scatter point: `(x, y)`.
type XyPoint = (f64, f64);

/// One series' points, the newest `max_points` of them visible.
#[derive(Debug)]
pub(crate) struct Series<P> {
    /// Full chunks, oldest first, shared with the snapshots that hold them.
    chunks: VecDeque<Arc<Vec<P>>>,
    /// The newest points, copied into each snapshot.
    tail: Vec<P>,
    /// Points in `chunks` and `tail`.
    len: usize,
}

/// A line over time, its points in time order.
pub(crate) type TimeSeries = Series<TimePoint>;
/// A series of a scatter plot, its points in arrival order.
pub(crate) type XySeries = Series<XyPoint>;

impl<P> Default for Series<P> {
    fn default() -> Self {
        Self {
            chunks: VecDeque::new(),
            tail: Vec::new(),
            len: 0,
        }
    }
}

impl<P: Copy> Series<P> {
    /// Counts a point just stored, seals a full tail into a chunk and drops the chunks no
    /// longer needed to show the newest `max_points`.
    fn stored(&mut self, max_points: usize) {
        self.len += 1;
        if self.tail.len() >= CHUNK {
            self.chunks
                .push_back(Arc::new(std::mem::take(&mut self.tail)));
        }
        while let Some(front) = self.chunks.front() {
            if self.len - front.len() < max_points {
                break;
            }
            self.len -= front.len();
            self.chunks.pop_front();
        }
    }

    /// The points as they are now, cheaply: shared chunks and a copy of the tail.
    pub(crate) fn freeze(&self, max_points: usize) -> FrozenSeries<P> {
        FrozenSeries {
            chunks: self.chunks.iter().cloned().collect(),
            tail: self.tail.clone(),
            skip: self.len.saturating_sub(max_points),
        }
    }
}

impl XySeries {
    /// Adds a scatter point after the others and drops the oldest beyond `max_points`.
    pub(crate) fn push_xy(&mut self, x: f64, y: f64, max_points: usize) {
        self.tail.push((x, y));
        self.stored(max_points);
    }
}

impl TimeSeries {
    fn last_x(&self) -> Option<i64> {
        self.tail
            .last()
            .or_else(|| self.chunks.back().and_then(|c| c.last()))
            .map(|&(x, _)| x)
    }

    /// Adds a point in time order (an older point than the last is inserted where it belongs)
    /// and drops the chunks no longer needed to show the newest `max_points`.
    pub(crate) fn push(&mut self, x: i64, y: f64, max_points: usize) {
        if self.last_x().is_none_or(|last| x >= last) {
            self.tail.push((x, y));
        } else {
            self.insert(x, y);
        }
        self.stored(max_points);
    }

    /// An out-of-order point: into the tail when it belongs there, else into the chunk that
    /// covers its time (copied first when a snapshot still shares it).
    fn insert(&mut self, x: i64, y: f64) {
        let in_tail = self.tail.first().is_some_and(|&(first, _)| x >= first);
        if in_tail || self.chunks.is_empty() {
            let at = self.tail.partition_point(|&(px, _)| px <= x);
            self.tail.insert(at, (x, y));
            return;
        }
        let covering = self
            .chunks
            .partition_point(|c| c.first().is_none_or(|&(first, _)| first <= x))
            .saturating_sub(1);
        if let Some(chunk) = self.chunks.get_mut(covering) {
            let chunk = Arc::make_mut(chunk);
            let at = chunk.partition_point(|&(px, _)| px <= x);
            chunk.insert(at, (x, y));
        }
    }
}

/// A series' points at one moment, read outside the charts' lock.
#[derive(Debug, Clone)]
pub(crate) struct FrozenSeries<P> {
    chunks: Vec<Arc<Vec<P>>>,
    tail: Vec<P>,
    /// Leading points beyond the series' bound, not shown.
    skip: usize,
}

impl<P: Copy> FrozenSeries<P> {
    /// The visible points, oldest first.
    pub(crate) fn points(&self) -> impl Iterator<Item = P> + '_ {
        self.chunks
            .iter()
            .flat_map(|c| c.iter())
            .chain(self.tail.iter())
            .skip(self.skip)
            .copied()
    }
}

impl<X: Copy + Serialize> FrozenSeries<(X, f64)> {
    /// `[[x, y], ...]`.
    pub(crate) fn to_json(&self) -> Value {
        Value::Array(self.points().map(|(x, y)| json!([x, y])).collect())
    }
}

/// One time panel's series by name, frozen.
pub(crate) type FrozenPanel = BTreeMap<Arc<str>, FrozenSeries<TimePoint>>;
/// One panel's scatter series by name, frozen.
pub(crate) type FrozenXyPanel = BTreeMap<Arc<str>, FrozenSeries<XyPoint>>;

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn points(s: &TimeSeries, max: usize) -> Vec<TimePoint> {
        s.freeze(max).points().collect()
    }

    #[test]
    fn keeps_the_newest_points_in_time_order() {
        let mut s = TimeSeries::default();
        for x in 0..1_000 {
            s.push(x, x as f64, 300);
        }
        let kept = points(&s, 300);
        assert_eq!(kept.len(), 300);
        assert_eq!(kept[0], (700, 700.0));
        assert_eq!(kept[299], (999, 999.0));
        assert!(s.len < 300 + 2 * CHUNK, "old chunks are dropped: {}", s.len);
        // Late points land where they belong, in the tail or in a (shared) chunk.
        let before = s.freeze(10_000);
        s.push(998, -1.0, 10_000);
        s.push(800, -2.0, 10_000);
        let now = points(&s, 10_000);
        assert!(now.windows(2).all(|w| w[0].0 <= w[1].0), "time order");
        assert!(now.contains(&(800, -2.0)) && now.contains(&(998, -1.0)));
        assert!(
            !before.points().any(|p| p.1 < 0.0),
            "a snapshot never sees later points"
        );
        assert_eq!(s.freeze(2).to_json(), json!([[998, -1.0], [999, 999.0]]));
    }

    #[test]
    fn freezing_shares_chunks_and_copies_only_the_tail() {
        let mut s = TimeSeries::default();
        for x in 0..(3 * CHUNK as i64 + 5) {
            s.push(x, 0.0, usize::MAX);
        }
        let frozen = s.freeze(usize::MAX);
        assert_eq!(frozen.chunks.len(), 3);
        assert_eq!(frozen.tail.len(), 5);
        assert!(
            Arc::ptr_eq(&frozen.chunks[0], &s.chunks[0]),
            "shared, not copied"
        );
        assert_eq!(frozen.points().count(), 3 * CHUNK + 5);
    }

    #[test]
    fn scatter_series_keep_the_newest_points_in_arrival_order() {
        let mut s = XySeries::default();
        // x goes down and up: arrival order, not x order, decides which points are the newest.
        let all: Vec<XyPoint> = (0..1_000)
            .map(|i| (f64::from((i * 37) % 101), f64::from(i)))
            .collect();
        let mut before = None;
        for (i, &(x, y)) in all.iter().enumerate() {
            s.push_xy(x, y, 300);
            if i == 500 {
                before = Some(s.freeze(300));
            }
        }
        let kept: Vec<XyPoint> = s.freeze(300).points().collect();
        assert_eq!(kept, all[700..].to_vec());
        assert!(s.len < 300 + 2 * CHUNK, "old chunks are dropped: {}", s.len);
        let before: Vec<XyPoint> = before.unwrap().points().collect();
        assert_eq!(
            before,
            all[201..501].to_vec(),
            "a snapshot keeps what it saw"
        );
        assert_eq!(s.freeze(1).to_json(), json!([[all[999].0, 999.0]]));
    }
}
