//! `branch`: sends each record to the first branch whose predicate matches (port `branch-i`).

use super::filter::Predicate;
use crate::error::Result;
use crate::processor::{Processor, ProcessorContext};
use crate::record::Record;

/// The output port of branch `i`.
pub(crate) fn branch_port(i: usize) -> String {
    format!("branch-{i}")
}

pub(crate) struct Branch<K, V> {
    pub predicates: Vec<Predicate<K, V>>,
    pub ports: Vec<String>,
}

impl<K: Send + 'static, V: Send + 'static> Processor<K, V> for Branch<K, V> {
    fn process(
        &mut self,
        record: Record<K, V>,
        ctx: &mut dyn ProcessorContext<K, V>,
    ) -> Result<()> {
        let hit = self
            .predicates
            .iter()
            .position(|p| p(record.key(), record.value()));
        if let Some(i) = hit {
            ctx.forward_to(&self.ports[i], record)?;
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::testing::MockProcessorContext;
    use std::sync::Arc;

    #[test]
    fn first_matching_branch_wins_and_unmatched_are_dropped() {
        let mut b = Branch::<(), i32> {
            predicates: vec![Arc::new(|_, v| *v < 0), Arc::new(|_, v| *v < 10)],
            ports: vec![branch_port(0), branch_port(1)],
        };
        let mut ctx = MockProcessorContext::new();
        for v in [-1, 5, 50] {
            b.process(Record::new((), v, 0), &mut ctx).unwrap();
        }
        let got: Vec<(Option<String>, i32)> = ctx
            .forwarded()
            .iter()
            .map(|f| (f.port.clone(), *f.record.value()))
            .collect();
        assert_eq!(
            got,
            vec![(Some("branch-0".into()), -1), (Some("branch-1".into()), 5)]
        );
    }
}
