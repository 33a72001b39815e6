//! What a scenario can see of a simulation: the servers, their disks, the counters, the safety
//! checker's memory, and the recent events kept for failure reports.

use super::{SafetyChecker, Server, SimError, SimNode, Simulation, Stats, TRACE_LEN};
use crate::ids::{Index, NodeId};
use std::time::Duration;

impl<N: SimNode> Simulation<N> {
    /// The seed of this run.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// Virtual time since the start.
    pub fn now(&self) -> Duration {
        self.now
    }

    /// All server ids.
    pub fn ids(&self) -> Vec<NodeId> {
        self.servers.iter().map(|s| s.id).collect()
    }

    /// The server `id` if it is up.
    pub fn node(&self, id: NodeId) -> Option<&N> {
        self.server(id).and_then(|s| s.node.as_ref())
    }

    /// What server `id` has on disk (its persist effects, applied in order).
    pub fn disk(&self, id: NodeId) -> Option<&N::Disk> {
        self.server(id).map(|s| &s.disk)
    }

    /// Whether `id` is up.
    pub fn is_up(&self, id: NodeId) -> bool {
        self.node(id).is_some()
    }

    /// Whether `id` was cut off from every other server by [`Simulation::disconnect`].
    pub fn is_disconnected(&self, id: NodeId) -> bool {
        self.disconnected.contains(&id)
    }

    /// The counters so far.
    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// The safety checker, with everything it remembers of the run.
    pub fn checker(&self) -> &SafetyChecker<N> {
        &self.checker
    }

    /// The servers that are up, not disconnected, and believe they lead.
    pub fn connected_leaders(&self) -> Vec<NodeId> {
        self.servers
            .iter()
            .filter(|s| !self.disconnected.contains(&s.id))
            .filter(|s| s.node.as_ref().is_some_and(|n| n.is_leader()))
            .map(|s| s.id)
            .collect()
    }

    /// How many servers that are up have applied the entry at `index`.
    pub fn applied_count(&self, index: Index) -> usize {
        self.servers
            .iter()
            .filter(|s| s.node.as_ref().is_some_and(|n| n.last_applied() >= index))
            .count()
    }

    /// The entry applied at `index`, if any server applied one.
    pub fn applied_entry(&self, index: Index) -> Option<&N::Entry> {
        self.checker.applied().get(&index).map(|(e, _)| e)
    }

    /// A failure of this run at this time, with the recent trace (for scenario checks).
    pub fn fail(&self, message: impl Into<String>) -> SimError {
        SimError {
            seed: self.seed,
            at: self.now,
            message: message.into(),
            trace: self
                .trace
                .iter()
                .map(|(at, e)| format!("{:>10.3?} {e}", at))
                .collect(),
        }
    }

    /// Switches the event trace kept for failure reports on or off (on by default; off makes
    /// long soak runs a little faster).
    pub fn set_trace(&mut self, on: bool) {
        self.trace_on = on;
        if !on {
            self.trace.clear();
        }
    }

    pub(super) fn position(&self, id: NodeId) -> Option<usize> {
        self.servers.iter().position(|s| s.id == id)
    }

    pub(super) fn server(&self, id: NodeId) -> Option<&Server<N>> {
        self.position(id).map(|i| &self.servers[i])
    }

    pub(super) fn note(&mut self, f: impl FnOnce() -> String) {
        if self.trace_on {
            if self.trace.len() == TRACE_LEN {
                self.trace.pop_front();
            }
            self.trace.push_back((self.now, f()));
        }
    }
}
