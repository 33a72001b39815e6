//! The simulator as a trace emitter (`spec/TRACE.md`): with [`SimConfig::traced`], every start,
//! restart and step of every server becomes a [`Step`] line, and every delivery carries the id
//! of the send it came from. The core is not involved: the simulator records around
//! `Node::step`, through [`SimNode::trace_step`] (an implementation without traces records none).

use super::{SimConfig, SimNode, Simulation};
use crate::trace::{Header, MessageId, Recorder, Step};
use std::collections::VecDeque;

/// The trace being written by one simulation.
#[derive(Debug, Default)]
pub(super) struct SimTracer {
    recorder: Recorder,
    lines: Vec<Step>,
    /// Ids of the sends of the step being performed, in order, for `Simulation::send`.
    outgoing: VecDeque<MessageId>,
}

impl SimTracer {
    /// The recorder, for [`super::SimNode::trace_start`] and [`super::SimNode::trace_step`].
    pub(super) fn recorder(&mut self) -> &mut Recorder {
        &mut self.recorder
    }

    /// Records the line of the step just taken (if the implementation emits one) and takes
    /// the ids of its sends for `Simulation::send`.
    pub(super) fn push(&mut self, line: Option<Step>) {
        self.outgoing.clear();
        let Some(line) = line else {
            return;
        };
        self.outgoing
            .extend(Recorder::sent_ids(&line).map(|(_, id)| id));
        self.lines.push(line);
    }

    /// The id of the next send performed.
    pub(super) fn next_send(&mut self) -> Option<MessageId> {
        self.outgoing.pop_front()
    }
}

impl SimConfig {
    /// The same configuration, recording a trace of every server's steps
    /// ([`Simulation::take_trace`]).
    ///
    /// ```
    /// use refraft::sim::{SimConfig, Simulation};
    /// use refraft::trace::Validator;
    /// use std::time::Duration;
    /// let mut sim = Simulation::new(SimConfig::new(3, 1).traced());
    /// sim.run_for(Duration::from_secs(2)).unwrap();
    /// let (header, steps) = sim.take_trace();
    /// let mut validator = Validator::new(&header).unwrap();
    /// for (i, step) in steps.iter().enumerate() {
    ///     validator.check(i + 2, step).unwrap();
    /// }
    /// assert!(validator.finish().passed());
    /// ```
    pub fn traced(mut self) -> Self {
        self.trace = true;
        self
    }
}

impl<N: SimNode> Simulation<N> {
    /// The trace recorded so far (header and steps), leaving an empty one; empty unless the
    /// simulation was built with [`SimConfig::traced`].
    pub fn take_trace(&mut self) -> (Header, Vec<Step>) {
        let header = Header::new(self.ids().iter().map(|id| id.0).collect());
        let lines = self
            .tracer
            .as_mut()
            .map(|t| std::mem::take(&mut t.lines))
            .unwrap_or_default();
        (header, lines)
    }
}
