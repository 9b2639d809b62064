//! Topic patterns: a source that reads every topic whose whole name matches a regular
//! expression, including topics created while the application runs (Kafka's pattern
//! subscription, checked again every `StreamsConfig::metadata_refresh`).

use super::broker::{Broker, SourceConnector, TopicSource};
use crate::error::{Result, TopologyError};
use regex::Regex;
use std::sync::Arc;

/// A compiled topic pattern: a topic matches when the expression matches its whole name.
#[derive(Debug, Clone)]
pub(crate) struct TopicPattern {
    source: String,
    regex: Regex,
}

impl TopicPattern {
    /// Compiles `pattern`; an invalid expression is a configuration error naming it.
    pub fn new(pattern: &str) -> Result<Self> {
        let regex = Regex::new(&format!("^(?:{pattern})$")).map_err(|e| {
            TopologyError::config(
                "Source::pattern",
                format!("`{pattern}` is not a valid pattern: {e}"),
            )
        })?;
        Ok(Self {
            source: pattern.to_string(),
            regex,
        })
    }

    /// Whether `topic`'s whole name matches.
    pub fn matches(&self, topic: &str) -> bool {
        self.regex.is_match(topic)
    }

    /// The expression as written.
    pub fn as_str(&self) -> &str {
        &self.source
    }
}

/// A pattern source resolved against a broker: lists the matching topics and makes a source
/// connector for each.
pub(crate) struct PatternSubscription {
    pub pattern: TopicPattern,
    pub broker: Arc<dyn Broker>,
}

impl PatternSubscription {
    /// The matching topics with their partition counts, by name.
    pub async fn matching(&self) -> Result<Vec<(String, u32)>> {
        let mut topics: Vec<(String, u32)> = self
            .broker
            .topics()
            .await?
            .into_iter()
            .filter(|(t, _)| self.pattern.matches(t))
            .collect();
        topics.sort();
        Ok(topics)
    }

    /// The connector reading `topic`.
    pub fn connector(&self, topic: &str) -> Arc<dyn SourceConnector> {
        Arc::new(TopicSource::new(self.broker.clone(), topic))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::runtime::io::memory::MemoryBroker;

    #[test]
    fn the_whole_name_must_match() {
        let p = TopicPattern::new(r"arrivals\..*").unwrap();
        assert!(p.matches("arrivals.clark"));
        assert!(!p.matches("old.arrivals.clark"), "anchored at the start");
        let p = TopicPattern::new("a|b").unwrap();
        assert!(p.matches("a") && p.matches("b") && !p.matches("ab"));
        let err = TopicPattern::new("(unclosed").unwrap_err();
        assert!(err.to_string().contains("(unclosed"), "{err}");
    }

    #[tokio::test]
    async fn lists_the_matching_topics_of_the_broker() {
        let broker = MemoryBroker::new(1);
        broker.create_topic("arrivals.b", 2);
        broker.create_topic("arrivals.a", 1);
        broker.create_topic("weather", 1);
        let sub = PatternSubscription {
            pattern: TopicPattern::new(r"arrivals\..*").unwrap(),
            broker: Arc::new(broker),
        };
        assert_eq!(
            sub.matching().await.unwrap(),
            [("arrivals.a".to_string(), 1), ("arrivals.b".to_string(), 2)]
        );
    }
}
