//! `TopicConfig`: the topic-level settings (`cleanup.policy`, `retention.ms`, ...) weir asks for
//! when it creates a topic, and the check of an existing topic against them.
//!
//! weir creates three kinds of topics, each with the settings its use needs:
//! - **changelogs** ([`TopicConfig::changelog`]): `cleanup.policy=compact`, so the log keeps the
//!   latest write per key forever and a restore reads no more than the state's size;
//! - **internal topics** (repartition, foreign-key subscription and response topics:
//!   [`TopicConfig::internal`]): `cleanup.policy=delete` with `retention.ms=-1`. Their records
//!   carry event-time timestamps, which may be years old; a time-based retention would delete
//!   them before the next sub-topology reads them. A committed position lets weir delete what
//!   was read (see `Broker::purge_before`), so they do not grow without bound;
//! - **sink topics**: what the sink asks for (`Sink::topic(..).config("retention.ms", "-1")`),
//!   nothing by default (the broker's defaults).
//!
//! Brokers store these through `Broker::create_topic_with`; a broker that cannot set topic
//! configurations creates the topic with its defaults.

use std::collections::BTreeMap;
use std::fmt;

/// Topic-level settings by Kafka name (`cleanup.policy`, `retention.ms`, `segment.ms`, ...).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TopicConfig {
    entries: BTreeMap<String, String>,
}

/// Kafka's name of the setting that chooses between deletion and compaction.
pub const CLEANUP_POLICY: &str = "cleanup.policy";
/// Kafka's name of the time-based retention setting (`-1`: keep forever).
pub const RETENTION_MS: &str = "retention.ms";

impl TopicConfig {
    /// No settings: the broker's defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// A changelog's settings: compacted.
    pub fn changelog() -> Self {
        Self::new().set(CLEANUP_POLICY, "compact")
    }

    /// An internal (repartition) topic's settings: deletion, no time-based retention.
    pub fn internal() -> Self {
        Self::new()
            .set(CLEANUP_POLICY, "delete")
            .set(RETENTION_MS, "-1")
    }

    /// Deletion without time-based retention (`retention.ms=-1`): for topics of replayed data,
    /// whose records carry old event-time timestamps.
    pub fn kept_forever() -> Self {
        Self::new().set(RETENTION_MS, "-1")
    }

    /// Sets `name` to `value` (replacing an earlier value).
    ///
    /// ```
    /// use weir_topology::TopicConfig;
    /// let config = TopicConfig::new().set("retention.ms", "-1").set("cleanup.policy", "compact");
    /// assert_eq!(config.get("retention.ms"), Some("-1"));
    /// assert_eq!(config.entries().count(), 2);
    /// ```
    pub fn set(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.entries.insert(name.into(), value.into());
        self
    }

    /// The value of `name`, when set.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.entries.get(name).map(String::as_str)
    }

    /// Whether nothing is set.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The settings, by name.
    pub fn entries(&self) -> impl Iterator<Item = (&str, &str)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// The settings of `self` that `actual` (an existing topic's configuration as its broker
    /// describes it) contradicts: each as `name: wanted X, the topic has Y`. A setting missing
    /// from `actual` counts as a contradiction. `cleanup.policy` compares as a set
    /// (`compact,delete` satisfies neither `compact` nor `delete` alone: it both compacts and
    /// deletes by time).
    ///
    /// ```
    /// use weir_topology::TopicConfig;
    /// let actual = TopicConfig::new().set("cleanup.policy", "delete").set("retention.ms", "-1");
    /// let wanted = TopicConfig::changelog();
    /// assert_eq!(
    ///     wanted.contradictions(&actual),
    ///     ["cleanup.policy: wanted `compact`, the topic has `delete`"]
    /// );
    /// assert!(TopicConfig::internal().contradictions(&actual).is_empty());
    /// ```
    pub fn contradictions(&self, actual: &TopicConfig) -> Vec<String> {
        let mut found = Vec::new();
        for (name, wanted) in self.entries() {
            let have = actual.get(name);
            let same = match have {
                Some(have) if name == CLEANUP_POLICY => policies(have) == policies(wanted),
                Some(have) => have.trim() == wanted.trim(),
                None => false,
            };
            if !same {
                found.push(match have {
                    Some(have) => format!("{name}: wanted `{wanted}`, the topic has `{have}`"),
                    None => format!("{name}: wanted `{wanted}`, the topic does not say"),
                });
            }
        }
        found
    }
}

/// The policies of a `cleanup.policy` value (`compact,delete`), sorted.
fn policies(value: &str) -> Vec<String> {
    let mut all: Vec<String> = value
        .split(',')
        .map(|p| p.trim().to_ascii_lowercase())
        .filter(|p| !p.is_empty())
        .collect();
    all.sort();
    all.dedup();
    all
}

impl fmt::Display for TopicConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self.entries().map(|(k, v)| format!("{k}={v}")).collect();
        if parts.is_empty() {
            f.write_str("(broker defaults)")
        } else {
            f.write_str(&parts.join(", "))
        }
    }
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for TopicConfig {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        Self {
            entries: iter
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_compacting_and_deleting_policy_is_neither_compact_nor_delete() {
        let both = TopicConfig::new().set(CLEANUP_POLICY, "delete, compact");
        assert_eq!(TopicConfig::changelog().contradictions(&both).len(), 1);
        let same = TopicConfig::new().set(CLEANUP_POLICY, "compact,delete");
        let wanted = TopicConfig::new().set(CLEANUP_POLICY, "delete,compact");
        assert!(wanted.contradictions(&same).is_empty());
    }

    #[test]
    fn a_setting_the_topic_does_not_report_is_a_contradiction() {
        let found = TopicConfig::internal().contradictions(&TopicConfig::new());
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(found[0].contains("does not say"));
    }

    #[test]
    fn display_lists_the_settings_or_says_defaults() {
        assert_eq!(TopicConfig::new().to_string(), "(broker defaults)");
        assert_eq!(
            TopicConfig::internal().to_string(),
            "cleanup.policy=delete, retention.ms=-1"
        );
        let collected: TopicConfig = [("a", "1")].into_iter().collect();
        assert_eq!(collected.get("a"), Some("1"));
    }
}
