//! The driver loop: a queue of events ordered by virtual time (deliveries, timer firings,
//! client retries), run one at a time.

use super::{SimError, SimNode, Simulation};
use crate::ids::{ClientId, NodeId};
use std::cmp::{Ordering, Reverse};
use std::time::Duration;

pub(super) enum Event<N: SimNode> {
    Deliver {
        from: NodeId,
        to: NodeId,
        incarnation: u64,
        message: N::Message,
        /// The send's id in the trace, when tracing.
        id: Option<crate::trace::MessageId>,
    },
    Timer {
        node: NodeId,
        timer: N::Timer,
        generation: u64,
    },
    ClientRetry {
        client: ClientId,
        attempt: u64,
        /// A timeout (try the next server) rather than a redirect (try the chosen one).
        next_server: bool,
    },
}

pub(super) struct Scheduled<N: SimNode> {
    at: Duration,
    seq: u64,
    event: Event<N>,
}

impl<N: SimNode> PartialEq for Scheduled<N> {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}
impl<N: SimNode> Eq for Scheduled<N> {}
impl<N: SimNode> PartialOrd for Scheduled<N> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<N: SimNode> Ord for Scheduled<N> {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.at, self.seq).cmp(&(other.at, other.seq))
    }
}

impl<N: SimNode> Simulation<N> {
    pub(super) fn schedule(&mut self, after: Duration, event: Event<N>) {
        self.seq += 1;
        self.queue.push(Reverse(Scheduled {
            at: self.now + after,
            seq: self.seq,
            event,
        }));
    }

    /// Runs every event due within `d` of virtual time, then advances the clock by `d`.
    pub fn run_for(&mut self, d: Duration) -> Result<(), SimError> {
        let end = self.now + d;
        while self.queue.peek().is_some_and(|Reverse(e)| e.at <= end) {
            self.step_event()?;
        }
        self.now = end;
        Ok(())
    }

    /// Runs until `done` holds (checked before every event) or `max` of virtual time passed.
    /// Returns whether `done` held.
    pub fn run_until(
        &mut self,
        max: Duration,
        mut done: impl FnMut(&Simulation<N>) -> bool,
    ) -> Result<bool, SimError> {
        let end = self.now + max;
        loop {
            if done(self) {
                return Ok(true);
            }
            if !self.queue.peek().is_some_and(|Reverse(e)| e.at <= end) {
                self.now = end;
                return Ok(done(self));
            }
            self.step_event()?;
        }
    }

    /// Runs until no event is left (with [`SimConfig::manual_timers`]: until every message is
    /// delivered). Fails after a million events.
    pub fn settle(&mut self) -> Result<(), SimError> {
        for _ in 0..1_000_000 {
            if self.queue.is_empty() {
                return Ok(());
            }
            self.step_event()?;
        }
        Err(self.fail("settle: still busy after a million events"))
    }

    /// Processes the next event, if any. Returns whether there was one.
    pub fn step_event(&mut self) -> Result<bool, SimError> {
        let Some(Reverse(scheduled)) = self.queue.pop() else {
            return Ok(false);
        };
        self.now = self.now.max(scheduled.at);
        self.stats.events += 1;
        match scheduled.event {
            Event::Deliver {
                from,
                to,
                incarnation,
                message,
                id,
            } => {
                let Some(i) = self.position(to) else {
                    return Ok(true);
                };
                let up = self.servers[i].node.is_some();
                if !up || self.servers[i].incarnation != incarnation {
                    self.stats.messages_dropped += 1;
                    return Ok(true);
                }
                if !self.links.connected(from, to) {
                    self.stats.messages_dropped += 1;
                    return Ok(true);
                }
                self.note(|| format!("{from}->{to} {}", N::describe(&message)));
                let result = self.step_node_traced(i, N::message_input(from, message), id)?;
                self.judge(to, result)?;
            }
            Event::Timer {
                node,
                timer,
                generation,
            } => {
                let Some(i) = self.position(node) else {
                    return Ok(true);
                };
                let s = &self.servers[i];
                if s.node.is_none() || s.timer_generation[N::timer_slot(timer)] != generation {
                    return Ok(true);
                }
                self.servers[i].timer_armed[N::timer_slot(timer)] = false;
                self.note(|| format!("{node} {timer:?} timeout"));
                let result = self.step_node(i, N::timeout_input(timer))?;
                self.judge(node, result)?;
            }
            Event::ClientRetry {
                client,
                attempt,
                next_server,
            } => {
                let n = self.servers.len();
                let Some(c) = self.clients.get_mut(&client) else {
                    return Ok(true);
                };
                if c.attempt != attempt || c.pending.is_none() {
                    return Ok(true);
                }
                if next_server {
                    c.target = (c.target + 1) % n;
                }
                self.send_client_request(client)?;
            }
        }
        Ok(true)
    }
}
