//! The simulated network: per-link connectivity, and in unreliable mode message loss,
//! duplication, delay and reordering. Raft assumes nothing more of its network than that it may
//! lose, duplicate, delay and reorder messages (§5.1: "servers retry RPCs if they do not receive
//! a response in a timely manner").

use crate::ids::NodeId;
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
