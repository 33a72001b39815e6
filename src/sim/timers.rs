//! Timers: the simulator arms a server's timers as its `SetTimer` and `CancelTimer` effects say,
//! drawing each delay from the range the node names (the randomized election timeout of
//! §5.2), or, with [`super::SimConfig::manual_timers`], leaves firing them to the scenario.

use super::driver::Event;
use super::{SimError, SimNode, Simulation};
use crate::ids::NodeId;
use std::ops::Range;
use std::time::Duration;

impl<N: SimNode> Simulation<N> {
    /// Fires `timer` at `id` now, whether or not its clock is due (the style of etcd-io/raft's
    /// `MsgHup` and `MsgBeat`). Returns the node's own verdict on the input.
    pub fn fire_timer(
        &mut self,
        id: NodeId,
        timer: N::Timer,
    ) -> Result<Result<(), N::Refusal>, SimError> {
        let i = self
            .position(id)
            .filter(|&i| self.servers[i].node.is_some())
            .ok_or_else(|| self.fail(format!("fire_timer: {id} is down")))?;
        self.servers[i].timer_generation[N::timer_slot(timer)] += 1;
        self.servers[i].timer_armed[N::timer_slot(timer)] = false;
        self.note(|| format!("{id} {timer:?} fired by hand"));
        self.step_node(i, N::timeout_input(timer))
    }

    /// Whether `timer` is armed at `id` (set and neither fired nor cancelled since).
    pub fn timer_armed(&self, id: NodeId, timer: N::Timer) -> bool {
        self.server(id)
            .is_some_and(|s| s.node.is_some() && s.timer_armed[N::timer_slot(timer)])
    }

    /// Arms `timer` at server `i` for a delay drawn from `after` (`Effect::SetTimer`).
    pub(super) fn set_timer(&mut self, i: usize, timer: N::Timer, after: Range<Duration>) {
        let id = self.servers[i].id;
        let s = &mut self.servers[i];
        s.timer_generation[N::timer_slot(timer)] += 1;
        s.timer_armed[N::timer_slot(timer)] = true;
        let generation = s.timer_generation[N::timer_slot(timer)];
        if !self.manual_timers {
            let delay = self.rng.duration(&after);
            self.schedule(
                delay,
                Event::Timer {
                    node: id,
                    timer,
                    generation,
                },
            );
        }
    }

    /// Disarms `timer` at server `i` (`Effect::CancelTimer`).
    pub(super) fn cancel_timer(&mut self, i: usize, timer: N::Timer) {
        let s = &mut self.servers[i];
        s.timer_generation[N::timer_slot(timer)] += 1;
        s.timer_armed[N::timer_slot(timer)] = false;
    }
}
