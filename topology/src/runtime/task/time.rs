//! A task's time: stream time (the largest event time seen), punctuations on stream time and on
//! the wall clock, the idle timeout that moves quiet streams on, and the end of input.

use super::state::NO_TIME;
use super::Task;
use crate::error::Result;
use crate::processor::PunctuationType;
use crate::record::Timestamp;

impl Task {
    /// Runs the punctuations of `kind` that are due at `now`.
    pub fn punctuate(&mut self, kind: PunctuationType, now: Timestamp) -> Result<()> {
        for node in self.state.due(kind, now) {
            let arena: &super::node::Arena = &self.arena;
            let mut n = arena[node]
                .try_borrow_mut()
                .map_err(|_| crate::error::TopologyError::process("(punctuate)", "node busy"))?;
            n.punctuate(kind, now, arena, &mut self.state)?;
        }
        Ok(())
    }

    /// Wall-clock punctuations, and the idle timeout: when no record arrived for `idle_ms`,
    /// stream time moves on by the wall-clock time that passed, so quiet streams close windows.
    pub fn on_wall_clock(&mut self, idle_ms: Option<i64>) -> Result<()> {
        let now = self.state.clock.now_ms();
        self.punctuate(PunctuationType::WallClock, now)?;
        if let Some(idle) = idle_ms {
            let quiet = now - self.last_input_wall;
            if quiet >= idle && self.buffered() == 0 && self.state.stream_time != NO_TIME {
                let target = self.state.stream_time.saturating_add(quiet);
                self.last_input_wall = now;
                self.advance_stream_time(target)?;
            }
        }
        Ok(())
    }

    /// Moves stream time forward to `t` without a record (idle timeout, end of input, test
    /// driver): operators first hand on what they buffer, then time moves and settles.
    pub fn advance_stream_time(&mut self, t: Timestamp) -> Result<()> {
        self.flush_nodes()?;
        self.state.advance_stream_time(t);
        self.state.settled_time = self.state.stream_time;
        self.punctuate(PunctuationType::StreamTime, self.state.stream_time)
    }

    /// Calls `flush` on every node in topological order: buffering operators hand on what they
    /// hold, caches forward their results. Afterwards the stream time is settled.
    pub(super) fn flush_nodes(&mut self) -> Result<()> {
        self.each_node("flush", |_, node, arena, state| node.flush(arena, state))?;
        self.state.settled_time = self.state.stream_time;
        Ok(())
    }

    /// End of input: stream time jumps to the end of time, which closes every window.
    pub fn finish_input(&mut self) -> Result<()> {
        if !self.input_finished {
            self.input_finished = true;
            self.advance_stream_time(Timestamp::MAX)?;
        }
        Ok(())
    }
}
