//! The simulated network: per-link connectivity, and in unreliable mode message loss,
//! duplication, delay and reordering. Raft assumes nothing more of its network than that it may
//! lose, duplicate, delay and reorder messages (§5.1: "servers retry RPCs if they do not receive
//! a response in a timely manner").

use super::driver::Event;
use super::{SimError, SimNode, Simulation};
use crate::ids::NodeId;
use crate::kv::KvCommand;
use crate::message::Message;
use std::collections::BTreeSet;
use std::time::Duration;

/// How the network treats messages that it does not drop for a partition.
///
/// ```
/// use refraft::sim::NetworkConfig;
/// let reliable = NetworkConfig::reliable();
/// assert_eq!(reliable.drop_per_mille, 0);
/// let lossy = NetworkConfig::unreliable();
/// assert!(lossy.drop_per_mille > 0 && lossy.duplicate_per_mille > 0);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NetworkConfig {
    /// The shortest delivery delay.
    pub min_delay: Duration,
    /// The longest ordinary delivery delay (exclusive). Delays are drawn per message, so
    /// messages on one link overtake each other: the network reorders.
    pub max_delay: Duration,
    /// Chance (in thousandths) that a message is lost.
    pub drop_per_mille: u32,
    /// Chance (in thousandths) that a delivered message is delivered a second time, later.
    pub duplicate_per_mille: u32,
    /// Chance (in thousandths) that a message takes a long detour (long reordering).
    pub long_delay_per_mille: u32,
    /// The longest detour (exclusive); detours last from `max_delay` to this.
    pub long_delay_max: Duration,
}

impl NetworkConfig {
    /// No loss, no duplication, short delays of 1–10 ms (still reordered among themselves).
    pub fn reliable() -> Self {
        NetworkConfig {
            min_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(10),
            drop_per_mille: 0,
            duplicate_per_mille: 0,
            long_delay_per_mille: 0,
            long_delay_max: Duration::from_millis(10),
        }
    }

    /// The 6.824 lab's unreliable network, in spirit: 10% of messages lost, delays up to 27 ms,
    /// plus 5% duplicated messages.
    pub fn unreliable() -> Self {
        NetworkConfig {
            min_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(27),
            drop_per_mille: 100,
            duplicate_per_mille: 50,
            long_delay_per_mille: 0,
            long_delay_max: Duration::from_millis(27),
        }
    }

    /// [`NetworkConfig::unreliable`] with long reordering: 10% of the messages arrive up to
    /// 2 s late, long after newer ones (the 6.824 lab's "long reordering").
    pub fn unreliable_long_reordering() -> Self {
        NetworkConfig {
            long_delay_per_mille: 100,
            long_delay_max: Duration::from_millis(2000),
            ..Self::unreliable()
        }
    }
}

/// Which directed links are cut. A node is reachable from another unless the link between them
/// is cut in that direction.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Links {
    cut: BTreeSet<(NodeId, NodeId)>,
}

impl Links {
    pub(crate) fn connected(&self, from: NodeId, to: NodeId) -> bool {
        !self.cut.contains(&(from, to))
    }

    pub(crate) fn cut(&mut self, from: NodeId, to: NodeId) {
        self.cut.insert((from, to));
    }

    pub(crate) fn restore(&mut self, from: NodeId, to: NodeId) {
        self.cut.remove(&(from, to));
    }

    pub(crate) fn heal(&mut self) {
        self.cut.clear();
    }
}

impl<N: SimNode> Simulation<N> {
    pub(super) fn send(&mut self, from: NodeId, to: NodeId, message: N::Message) {
        let id = self.tracer.as_mut().and_then(|t| t.next_send());
        self.stats.messages_sent += 1;
        let counts = N::message_stats(&message);
        self.stats.requests_sent += u64::from(counts.request);
        self.stats.entries_sent += counts.entries;
        self.stats.command_bytes_sent += counts.command_bytes;
        if !self.links.connected(from, to) || self.rng.chance(self.network.drop_per_mille) {
            self.stats.messages_dropped += 1;
            return;
        }
        let Some(i) = self.position(to) else {
            return;
        };
        let incarnation = self.servers[i].incarnation;
        let copies = if self.rng.chance(self.network.duplicate_per_mille) {
            2
        } else {
            1
        };
        for _ in 0..copies {
            let delay = if self.rng.chance(self.network.long_delay_per_mille) {
                self.rng
                    .duration(&(self.network.max_delay..self.network.long_delay_max))
            } else {
                self.rng
                    .duration(&(self.network.min_delay..self.network.max_delay))
            };
            self.schedule(
                delay,
                Event::Deliver {
                    from,
                    to,
                    incarnation,
                    message: message.clone(),
                    id,
                },
            );
        }
    }

    /// Hands `message` from `from` to `to` at once, bypassing the network (for scenarios that
    /// inject old or forged messages). Returns the node's own verdict on the input.
    pub fn inject(
        &mut self,
        from: NodeId,
        to: NodeId,
        message: N::Message,
    ) -> Result<Result<(), N::Refusal>, SimError> {
        let i = self
            .position(to)
            .filter(|&i| self.servers[i].node.is_some())
            .ok_or_else(|| self.fail(format!("inject: {to} is down")))?;
        self.note(|| format!("{from}->{to} {} (injected)", N::describe(&message)));
        self.step_node(i, N::message_input(from, message))
    }
}

pub(super) fn command_bytes(command: &KvCommand) -> u64 {
    match command {
        KvCommand::Set { key, value } => (key.len() + value.len()) as u64,
        KvCommand::Delete { key } | KvCommand::Get { key } => key.len() as u64,
    }
}

pub(super) fn describe(message: &Message<KvCommand>) -> String {
    match message {
        Message::RequestVote(m) => format!(
            "RequestVote t{} last ({}, t{})",
            m.term, m.last_log_index, m.last_log_term
        ),
        Message::RequestVoteResponse(m) => {
            format!("Vote t{} granted={}", m.term, m.vote_granted)
        }
        Message::AppendEntries(m) => format!(
            "AppendEntries t{} prev ({}, t{}) +{} commit {}",
            m.term,
            m.prev_log_index,
            m.prev_log_term,
            m.entries.len(),
            m.leader_commit
        ),
        Message::AppendEntriesResponse(m) => format!("AppendAck t{} {:?}", m.term, m.result),
        Message::PreVote(m) => format!(
            "PreVote t{} last ({}, t{})",
            m.term, m.last_log_index, m.last_log_term
        ),
        Message::PreVoteResponse(m) => {
            format!("PreVoteAck t{} granted={}", m.term, m.vote_granted)
        }
        Message::TimeoutNow(m) => format!("TimeoutNow t{}", m.term),
        Message::Heartbeat(m) => format!("Heartbeat t{} round {}", m.term, m.round),
        Message::HeartbeatResponse(m) => format!("HeartbeatAck t{} round {}", m.term, m.round),
        Message::ReadIndex(m) => format!("ReadIndex t{} {}#{}", m.term, m.client, m.serial),
        Message::ReadIndexResponse(m) => {
            format!(
                "ReadIndexAck t{} {}#{} {:?}",
                m.term, m.client, m.serial, m.read_index
            )
        }
    }
}
