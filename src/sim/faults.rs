//! Faults a scenario injects: partitions, cut links, crashes and restarts.

use super::{NetworkConfig, SimError, SimNode, Simulation, MAX_TIMERS};
use crate::ids::NodeId;

impl<N: SimNode> Simulation<N> {
    /// Replaces the network's behaviour (partitions stay as they are).
    pub fn set_network(&mut self, network: NetworkConfig) {
        self.network = network;
    }

    /// Cuts every link to and from `id` (the 6.824 lab's `disconnect`). Messages in flight on
    /// those links are lost when they arrive.
    pub fn disconnect(&mut self, id: NodeId) {
        self.note(|| format!("disconnect {id}"));
        self.disconnected.insert(id);
        for other in self.ids() {
            self.links.cut(id, other);
            self.links.cut(other, id);
        }
    }

    /// Restores every link of `id` to servers that are not themselves disconnected.
    pub fn connect(&mut self, id: NodeId) {
        self.note(|| format!("connect {id}"));
        self.disconnected.remove(&id);
        for other in self.ids() {
            if !self.disconnected.contains(&other) {
                self.links.restore(id, other);
                self.links.restore(other, id);
            }
        }
    }

    /// Splits the cluster: servers talk only within their group. Servers in no group are cut
    /// off from all.
    pub fn partition(&mut self, groups: &[&[NodeId]]) {
        self.note(|| format!("partition {groups:?}"));
        let group_of = |id: NodeId| groups.iter().position(|g| g.contains(&id));
        self.links.heal();
        self.disconnected.clear();
        for a in self.ids() {
            for b in self.ids() {
                if a != b && (group_of(a).is_none() || group_of(a) != group_of(b)) {
                    self.links.cut(a, b);
                }
            }
            if group_of(a).is_none() {
                self.disconnected.insert(a);
            }
        }
    }

    /// Cuts the one directed link `from → to`.
    pub fn cut_link(&mut self, from: NodeId, to: NodeId) {
        self.note(|| format!("cut {from}->{to}"));
        self.links.cut(from, to);
    }

    /// Restores every link.
    pub fn heal(&mut self) {
        self.note(|| "heal".to_string());
        self.links.heal();
        self.disconnected.clear();
    }

    /// Crashes `id`: its volatile state, timers and undelivered messages are lost; its disk
    /// stays.
    pub fn crash(&mut self, id: NodeId) {
        self.note(|| format!("crash {id}"));
        if let Some(i) = self.position(id) {
            let s = &mut self.servers[i];
            s.node = None;
            s.incarnation += 1;
            s.timer_generation = s.timer_generation.map(|g| g + 1);
            s.timer_armed = [false; MAX_TIMERS];
        }
    }

    /// Restarts `id` from its disk alone (crashing it first if it is up).
    pub fn restart(&mut self, id: NodeId) -> Result<(), SimError> {
        self.crash(id);
        self.note(|| format!("restart {id}"));
        match self.position(id) {
            Some(i) => self.boot_server(i),
            None => Err(self.fail(format!("no server {id}"))),
        }
    }
}
