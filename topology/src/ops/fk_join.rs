//! The foreign-key table-table join (Kafka Streams' KIP-213), as four processors around two
//! internal topics:
//!
//! 1. [`FkSubscribe`] (left task): each left row subscribes, under its foreign key, to the
//!    right row it points to (and unsubscribes from the one it pointed to before), with a hash
//!    of its value.
//! 2. [`FkSubscriptions`] (right task, read from the subscription topic): keeps who subscribed
//!    to each right key and answers each subscription with the right row;
//!    [`FkRightUpdates`] answers every subscriber again when the right row changes.
//! 3. [`FkResolve`] (left task, read from the response topic): joins an answer with the left
//!    row, unless the row changed since it subscribed (its hash differs: a stale answer), and
//!    keeps the result; [`FkLeftDeletes`] deletes the result of a deleted left row at once.

use crate::change::Change;
use crate::error::{Result, TopologyError};
use crate::processor::{Processor, ProcessorContext, ProcessorContextExt};
use crate::record::Record;
use crate::stores::KvStore;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

/// The foreign key of a left value.
pub(crate) type ForeignKey<V, KO> = Arc<dyn Fn(&V) -> KO + Send + Sync>;
/// Joins a left value with the right row (`None`: none); `None` means no joined row.
pub(crate) type FkJoiner<V, VO, VR> = Arc<dyn Fn(&V, Option<&VO>) -> Option<VR> + Send + Sync>;

/// A left row's subscription to a right key: `hash` of its value, or `None` to unsubscribe.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Subscription<K> {
    pub key: K,
    pub hash: Option<u64>,
}

/// The answer to a subscription: the right row, for the left value of hash `hash`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Response<VO> {
    pub hash: u64,
    pub right: Option<VO>,
}

/// A hash of `value`'s serialized form, the same in every process of one build.
pub(crate) fn value_hash<V: Serialize>(node: &str, value: &V) -> Result<u64> {
    let bytes = bincode::serialize(value)
        .map_err(|e| TopologyError::process(node, format!("hashing a joined value: {e}")))?;
    let mut h = std::collections::hash_map::DefaultHasher::new();
    bytes.hash(&mut h);
    Ok(h.finish())
}

fn store<S: Clone>(s: &Option<S>, node: &str) -> Result<S> {
    s.clone()
        .ok_or_else(|| TopologyError::process(node, "store used before init"))
}

/// Left changes to subscriptions keyed by foreign key.
pub(crate) struct FkSubscribe<V, KO> {
    pub foreign_key: ForeignKey<V, KO>,
}

impl<K, V, KO> Processor<K, Change<V>, KO, Subscription<K>> for FkSubscribe<V, KO>
where
    K: Clone + Send + 'static,
    V: Serialize + Send + 'static,
    KO: PartialEq + Clone + Send + 'static,
{
    fn process(
        &mut self,
        record: Record<K, Change<V>>,
        ctx: &mut dyn ProcessorContext<KO, Subscription<K>>,
    ) -> Result<()> {
        let (key, change, rest) = record.take_key_value();
        let old_fk = change.old.as_ref().map(|v| (self.foreign_key)(v));
        let new_fk = change.new.as_ref().map(|v| (self.foreign_key)(v));
        if let Some(old) = old_fk.filter(|o| new_fk.as_ref() != Some(o)) {
            let unsubscribe = Subscription {
                key: key.clone(),
                hash: None,
            };
            ctx.forward(rest.clone().with_key_value(old, unsubscribe))?;
        }
        if let (Some(fk), Some(v)) = (new_fk, &change.new) {
            let hash = Some(value_hash(ctx.node_name(), v)?);
            ctx.forward(rest.with_key_value(fk, Subscription { key, hash }))?;
        }
        Ok(())
    }
}

/// The subscribers of each right key, and their value hashes.
pub(crate) type Subscribers<K> = BTreeMap<K, u64>;

/// Keeps the subscriptions and answers each with the right row.
pub(crate) struct FkSubscriptions<K, KO, VO> {
    pub subscriptions: String,
    pub right: String,
    pub subs: Option<KvStore<KO, Subscribers<K>>>,
    pub rows: Option<KvStore<KO, VO>>,
}

impl<K, KO, VO> Processor<KO, Subscription<K>, K, Response<VO>> for FkSubscriptions<K, KO, VO>
where
    K: Ord + Clone + Send + 'static,
    KO: Clone + Send + 'static,
    VO: Clone + Send + 'static,
{
    fn init(&mut self, ctx: &mut dyn ProcessorContext<K, Response<VO>>) -> Result<()> {
        self.subs = Some(ctx.store(&self.subscriptions)?);
        self.rows = Some(ctx.store(&self.right)?);
        Ok(())
    }

    fn process(
        &mut self,
        record: Record<KO, Subscription<K>>,
        ctx: &mut dyn ProcessorContext<K, Response<VO>>,
    ) -> Result<()> {
        let (subs, rows) = (
            store(&self.subs, ctx.node_name())?,
            store(&self.rows, ctx.node_name())?,
        );
        let (fk, sub, rest) = record.take_key_value();
        {
            let mut s = subs.lock();
            let mut subscribers = s.get(&fk)?.unwrap_or_default();
            match sub.hash {
                Some(h) => subscribers.insert(sub.key.clone(), h),
                None => subscribers.remove(&sub.key),
            };
            if subscribers.is_empty() {
                s.delete(&fk)?;
            } else {
                s.put(fk.clone(), subscribers)?;
            }
        }
        let Some(hash) = sub.hash else {
            return Ok(());
        };
        let right = rows.lock().get(&fk)?;
        ctx.forward(rest.with_key_value(sub.key, Response { hash, right }))
    }
}

/// Answers every subscriber of a right key again when its row changes.
pub(crate) struct FkRightUpdates<K, KO> {
    pub subscriptions: String,
    pub subs: Option<KvStore<KO, Subscribers<K>>>,
}

impl<K, KO, VO> Processor<KO, Change<VO>, K, Response<VO>> for FkRightUpdates<K, KO>
where
    K: Ord + Clone + Send + 'static,
    KO: Clone + Send + 'static,
    VO: Clone + Send + 'static,
{
    fn init(&mut self, ctx: &mut dyn ProcessorContext<K, Response<VO>>) -> Result<()> {
        self.subs = Some(ctx.store(&self.subscriptions)?);
        Ok(())
    }

    fn process(
        &mut self,
        record: Record<KO, Change<VO>>,
        ctx: &mut dyn ProcessorContext<K, Response<VO>>,
    ) -> Result<()> {
        let subs = store(&self.subs, ctx.node_name())?;
        let (fk, change, rest) = record.take_key_value();
        let subscribers = subs.lock().get(&fk)?.unwrap_or_default();
        for (key, hash) in subscribers {
            let response = Response {
                hash,
                right: change.new.clone(),
            };
            ctx.forward(rest.clone().with_key_value(key, response))?;
        }
        Ok(())
    }
}

/// Joins answers with the current left row and keeps the results.
pub(crate) struct FkResolve<V, VO, VR, K> {
    pub left: String,
    pub results: String,
    pub joiner: FkJoiner<V, VO, VR>,
    pub rows: Option<KvStore<K, V>>,
    pub out: Option<KvStore<K, VR>>,
}

impl<K, V, VO, VR> Processor<K, Response<VO>, K, Change<VR>> for FkResolve<V, VO, VR, K>
where
    K: Clone + Send + 'static,
    V: Serialize + Clone + Send + 'static,
    VO: Send + 'static,
    VR: Clone + Send + 'static,
{
    fn init(&mut self, ctx: &mut dyn ProcessorContext<K, Change<VR>>) -> Result<()> {
        self.rows = Some(ctx.store(&self.left)?);
        self.out = Some(ctx.store(&self.results)?);
        Ok(())
    }

    fn process(
        &mut self,
        record: Record<K, Response<VO>>,
        ctx: &mut dyn ProcessorContext<K, Change<VR>>,
    ) -> Result<()> {
        let (rows, out) = (
            store(&self.rows, ctx.node_name())?,
            store(&self.out, ctx.node_name())?,
        );
        let (key, response, rest) = record.take_key_value();
        let Some(current) = rows.lock().get(&key)? else {
            return Ok(()); // the left row was deleted since: its result is gone already
        };
        if value_hash(ctx.node_name(), &current)? != response.hash {
            return Ok(()); // an answer to an older value of the row
        }
        let new = (self.joiner)(&current, response.right.as_ref());
        let old = {
            let mut o = out.lock();
            match &new {
                Some(v) => o.replace(key.clone(), v.clone())?,
                None => o.delete(&key)?,
            }
        };
        let change = Change { old, new };
        if change.is_empty() {
            return Ok(());
        }
        ctx.forward(rest.with_key_value(key, change))
    }
}

/// Deletes the result of a deleted left row.
pub(crate) struct FkLeftDeletes<K, VR> {
    pub results: String,
    pub out: Option<KvStore<K, VR>>,
}

impl<K, V, VR> Processor<K, Change<V>, K, Change<VR>> for FkLeftDeletes<K, VR>
where
    K: Clone + Send + 'static,
    V: Send + 'static,
    VR: Clone + Send + 'static,
{
    fn init(&mut self, ctx: &mut dyn ProcessorContext<K, Change<VR>>) -> Result<()> {
        self.out = Some(ctx.store(&self.results)?);
        Ok(())
    }

    fn process(
        &mut self,
        record: Record<K, Change<V>>,
        ctx: &mut dyn ProcessorContext<K, Change<VR>>,
    ) -> Result<()> {
        if record.value().new.is_some() {
            return Ok(());
        }
        let out = store(&self.out, ctx.node_name())?;
        let (key, _, rest) = record.take_key_value();
        let old = out.lock().delete(&key)?;
        match old {
            Some(old) => ctx.forward(rest.with_key_value(key, Change::delete(old))),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::testing::MockProcessorContext;

    #[test]
    fn a_row_that_changes_its_foreign_key_moves_its_subscription() {
        let mut p = FkSubscribe::<(String, u32), String> {
            foreign_key: Arc::new(|(team, _)| team.clone()),
        };
        let mut ctx = MockProcessorContext::<String, Subscription<String>>::new();
        let row = |t: &str| (t.to_string(), 1_u32);
        p.process(
            Record::new(
                "ann".into(),
                Change::update(Some(row("dev")), row("ops")),
                0,
            ),
            &mut ctx,
        )
        .unwrap();
        let out: Vec<(String, Option<u64>)> = ctx
            .take_forwarded()
            .into_iter()
            .map(|f| {
                let (fk, s) = f.record.into_key_value();
                (fk, s.hash)
            })
            .collect();
        assert_eq!(out[0], ("dev".to_string(), None), "unsubscribed from dev");
        assert_eq!(out[1].0, "ops");
        assert_eq!(out[1].1, Some(value_hash("t", &row("ops")).unwrap()));
    }

    #[test]
    fn a_stale_answer_is_dropped() {
        let mut r = FkResolve::<u32, String, String, String> {
            left: "left".into(),
            results: "out".into(),
            joiner: Arc::new(|v, o| o.map(|o| format!("{v}{o}"))),
            rows: None,
            out: None,
        };
        let mut ctx = MockProcessorContext::new()
            .with_kv_store::<String, u32>("left")
            .with_kv_store::<String, String>("out");
        r.init(&mut ctx).unwrap();
        let rows = ctx.store::<KvStore<String, u32>>("left").unwrap();
        rows.lock().put("k".into(), 2).unwrap();
        let stale = Response {
            hash: value_hash("t", &1_u32).unwrap(),
            right: Some("x".to_string()),
        };
        r.process(Record::new("k".into(), stale, 0), &mut ctx)
            .unwrap();
        assert!(ctx.take_forwarded().is_empty());
        let fresh = Response {
            hash: value_hash("t", &2_u32).unwrap(),
            right: Some("x".to_string()),
        };
        r.process(Record::new("k".into(), fresh, 0), &mut ctx)
            .unwrap();
        let out: Vec<Change<String>> = ctx
            .take_forwarded()
            .into_iter()
            .map(|f| f.record.into_key_value().1)
            .collect();
        assert_eq!(out, [Change::update(None, "2x".to_string())]);
    }
}
