//! `Change<V>`: one update of a table row, its value before and after, as tables forward it.

use serde::{Deserialize, Serialize};

/// One update of a table row: its value before (`old`) and after (`new`). `new: None` is a
/// delete; `old: None` is an insert. Tables forward changes between their nodes so that the
/// aggregations of a grouped table can subtract the old value (Kafka Streams' `Change`).
///
/// ```
/// use weir_topology::Change;
/// let update = Change::update(Some(3), 4);
/// assert_eq!((update.old, update.new), (Some(3), Some(4)));
/// assert!(Change::delete(3).is_delete());
/// assert_eq!(Change::update(None, 4).map(|v| v * 10), Change::update(None, 40));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change<V> {
    /// The value before the update (`None`: the key was not in the table).
    pub old: Option<V>,
    /// The value after the update (`None`: the key was deleted).
    pub new: Option<V>,
}

impl<V> Change<V> {
    /// A row set to `new`, replacing `old`.
    pub fn update(old: Option<V>, new: V) -> Self {
        Self {
            old,
            new: Some(new),
        }
    }

    /// A row whose value was `old` deleted.
    pub fn delete(old: V) -> Self {
        Self {
            old: Some(old),
            new: None,
        }
    }

    /// Whether the update deletes the row.
    pub fn is_delete(&self) -> bool {
        self.new.is_none()
    }

    /// Whether the change changes nothing that can be seen: no row before and none after.
    pub fn is_empty(&self) -> bool {
        self.old.is_none() && self.new.is_none()
    }

    /// The change with `f` applied to both values.
    pub fn map<V2>(self, f: impl Fn(V) -> V2) -> Change<V2> {
        Change {
            old: self.old.map(&f),
            new: self.new.map(&f),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deletes_inserts_and_empty_changes_are_told_apart() {
        let insert = Change::update(None, 1);
        assert!(!insert.is_delete() && !insert.is_empty());
        let delete = Change::delete(1);
        assert!(delete.is_delete() && !delete.is_empty());
        let nothing: Change<u8> = Change {
            old: None,
            new: None,
        };
        assert!(nothing.is_empty());
        assert_eq!(delete.map(|v| v + 1).old, Some(2));
    }
}
