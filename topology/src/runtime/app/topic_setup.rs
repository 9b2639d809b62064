//! Creates the topics an application writes with the settings each needs (see
//! [`TopicConfig`]), and warns about an existing topic whose settings contradict them: a
//! changelog that is not compacted, an internal topic with a time-based retention.

use crate::error::Result;
use crate::runtime::io::broker::Broker;
use crate::runtime::io::topic_config::TopicConfig;

/// Creates `topic` with `partitions` partitions and `wanted` unless it exists; when it exists,
/// logs a warning for each setting it contradicts. Returns those contradictions.
pub(crate) async fn ensure_topic(
    broker: &dyn Broker,
    topic: &str,
    partitions: u32,
    wanted: &TopicConfig,
    role: &str,
) -> Result<Vec<String>> {
    let contradictions = if broker.partitions(topic).await?.is_some() {
        contradictions(broker, topic, wanted).await?
    } else {
        Vec::new()
    };
    for found in &contradictions {
        tracing::warn!(
            topic,
            "the existing {role} topic `{topic}` does not have the settings weir needs: {found}"
        );
    }
    // Also for an existing topic: a broker may have more to do (the in-memory broker reopens
    // an internal topic that an earlier run closed).
    broker.ensure_topic_with(topic, partitions, wanted).await?;
    Ok(contradictions)
}

/// The settings of `wanted` that the existing `topic` contradicts (none when the broker
/// cannot describe its topics).
async fn contradictions(
    broker: &dyn Broker,
    topic: &str,
    wanted: &TopicConfig,
) -> Result<Vec<String>> {
    if wanted.is_empty() {
        return Ok(Vec::new());
    }
    Ok(match broker.topic_config(topic).await? {
        Some(actual) => wanted.contradictions(&actual),
        None => Vec::new(),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::MemoryBroker;

    #[tokio::test]
    async fn creates_with_the_settings_and_warns_about_an_existing_topic() {
        let broker = MemoryBroker::new(1);
        let found = ensure_topic(
            &broker,
            "app-log",
            2,
            &TopicConfig::changelog(),
            "changelog",
        )
        .await
        .unwrap();
        assert!(found.is_empty());
        assert_eq!(
            broker.topic_config_of("app-log"),
            Some(TopicConfig::changelog())
        );

        // An existing topic keeps what it has; what contradicts the wanted settings is reported.
        broker.create_topic("made-by-hand", 1);
        let found = ensure_topic(
            &broker,
            "made-by-hand",
            1,
            &TopicConfig::changelog(),
            "changelog",
        )
        .await
        .unwrap();
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].starts_with("cleanup.policy"), "{found:?}");
        assert_eq!(
            broker.topic_config_of("made-by-hand"),
            Some(TopicConfig::new())
        );
    }
}
