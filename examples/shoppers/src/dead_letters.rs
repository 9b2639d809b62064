//! The dead letters of a run: where each dead-letter topic ended when the run started
//! ([`Marks`]), and the records written after that ([`DeadLetter`]), read back for the summary.

use std::time::{Duration, Instant};
use weir::topology::connect::StartFrom;
use weir::topology::{Broker, Result, TopologyError};

/// The dead-letter topics' ends (partition 0, where dead letters go) at the start of a run.
#[derive(Debug, Clone)]
pub struct Marks(Vec<(String, i64)>);

impl Marks {
    /// Creates each topic (one partition) when missing and notes its end.
    pub async fn take(broker: &dyn Broker, topics: &[&str]) -> Result<Self> {
        let mut marks = Vec::new();
        for topic in topics {
            broker.ensure_topic(topic, 1).await?;
            marks.push(((*topic).to_owned(), broker.end_offset(topic, 0).await?));
        }
        Ok(Self(marks))
    }

    /// The dead letters written to `topic` since the mark (none for a topic not marked).
    pub async fn since(&self, broker: &dyn Broker, topic: &str) -> Result<Vec<DeadLetter>> {
        let Some((_, from)) = self.0.iter().find(|(t, _)| t == topic) else {
            return Ok(Vec::new());
        };
        read_range(broker, topic, *from).await
    }
}

/// A record the error handler sent to a dead-letter topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetter {
    /// Where it was read: `topic/partition/offset` (for the log: the file, 0, the line number).
    pub source: String,
    /// Why it could not be read.
    pub error: String,
    /// Its value, as text.
    pub value: String,
}

impl std::fmt::Display for DeadLetter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: `{}`: {}", self.source, self.value, self.error)
    }
}

/// The longest the read-back waits for records the broker said it holds.
const READ_LIMIT: Duration = Duration::from_secs(20);

/// Partition 0 of `topic` from offset `from` to its current end.
async fn read_range(broker: &dyn Broker, topic: &str, from: i64) -> Result<Vec<DeadLetter>> {
    let end = broker.end_offset(topic, 0).await?;
    let mut out = Vec::new();
    if end <= from {
        return Ok(out);
    }
    let mut reader = broker.reader(topic, 0, StartFrom::Offset(from)).await?;
    let started = Instant::now();
    let mut next = from;
    while next < end {
        if started.elapsed() > READ_LIMIT {
            return Err(TopologyError::connector(
                topic,
                format!("read {next} of {end} offsets in {READ_LIMIT:?}"),
            ));
        }
        let polled = reader.poll(500, 200).await?;
        for record in polled.records {
            next = next.max(record.offset + 1);
            if record.offset >= end {
                continue;
            }
            let header = |name: &str| {
                record
                    .headers
                    .iter()
                    .find(|(k, _)| k == name)
                    .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
                    .unwrap_or_default()
            };
            out.push(DeadLetter {
                source: header("weir.source"),
                error: header("weir.error"),
                value: record
                    .value
                    .as_deref()
                    .map(|v| String::from_utf8_lossy(v).into_owned())
                    .unwrap_or_default(),
            });
        }
        if polled.end_of_stream {
            break;
        }
    }
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use weir::topology::connect::OutRecord;
    use weir::topology::MemoryBroker;

    fn letter(value: &str, offset: i64) -> OutRecord {
        OutRecord {
            partition: 0,
            key: None,
            value: Some(value.as_bytes().to_vec()),
            timestamp: 0,
            headers: vec![
                ("weir.error".into(), b"bad".to_vec()),
                ("weir.source".into(), format!("in/0/{offset}").into_bytes()),
            ],
        }
    }

    #[tokio::test]
    async fn only_the_letters_written_after_the_mark_are_read() {
        let broker = MemoryBroker::new(1);
        let marks = Marks::take(&broker, &["dead"]).await.unwrap();
        broker.append("dead", vec![letter("old", 1)]).unwrap();
        let marks_later = Marks::take(&broker, &["dead"]).await.unwrap();
        broker.append("dead", vec![letter("new", 7)]).unwrap();
        let all = marks.since(&broker, "dead").await.unwrap();
        assert_eq!(all.len(), 2);
        let new = marks_later.since(&broker, "dead").await.unwrap();
        assert_eq!(
            new,
            [DeadLetter {
                source: "in/0/7".into(),
                error: "bad".into(),
                value: "new".into()
            }]
        );
        assert_eq!(new[0].to_string(), "in/0/7: `new`: bad");
        assert!(marks.since(&broker, "other").await.unwrap().is_empty());
    }
}
