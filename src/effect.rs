//! Effects: everything a node wants done, as data. The driver (model checker, simulator or real
//! runtime) performs them **in order**: a persist effect always stands before any send or reply
//! that reveals the state it persists (Figure 2, "respond to RPCs only after updating stable
//! storage"), so a driver that performs them in order never reveals state it could lose.

use crate::client::ClientResponse;
use crate::entries::Entries;
use crate::ids::{ClientId, Index, NodeId, Term};
use crate::message::Message;
use crate::read::ReadPath;
use serde::{Deserialize, Serialize};
use std::ops::Range;
use std::time::Duration;

/// The node's timers. The driver owns the clocks; the node only names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Timer {
    /// Fires when a follower or candidate has heard from no leader for a while (§5.2).
    Election,
    /// Fires when a leader should send heartbeats (§5.2).
    Heartbeat,
    /// Fires when a leader with CheckQuorum should check that a majority acknowledged its last
    /// heartbeat round (dissertation §6.2); the period is `Config::quorum_check_period`.
    QuorumCheck,
    /// Fires when a leadership transfer has taken an election timeout: it is aborted
    /// (dissertation §3.10).
    TransferTimeout,
}

/// One effect of a step.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Effect<C, R> {
    /// Make `current_term` and `voted_for` durable before any later effect.
    PersistHardState {
        /// The term to store.
        current_term: Term,
        /// The vote to store.
        voted_for: Option<NodeId>,
    },
    /// Make the log durable: drop the stored entries from `first_index` on, then store
    /// `entries` at `first_index..`.
    PersistEntries {
        /// Where the replaced suffix starts.
        first_index: Index,
        /// The new suffix, shared with the messages that carry the same entries.
        entries: Entries<C>,
    },
    /// Deliver `message` to server `to`.
    Send {
        /// The receiver.
        to: NodeId,
        /// The message.
        message: Message<C>,
    },
    /// (Re)arm `timer` to fire after a duration the driver picks from `after`. The election
    /// timeout is randomized (§5.2): the driver, not the node, draws from the range.
    SetTimer {
        /// Which timer.
        timer: Timer,
        /// The range to draw the delay from.
        after: Range<Duration>,
    },
    /// Disarm `timer`.
    CancelTimer {
        /// Which timer.
        timer: Timer,
    },
    /// The entry at `index` has been applied to the node's state machine (§5.3, "apply
    /// log[lastApplied] to state machine"). Informational: the node has already applied it.
    Apply {
        /// The entry's index.
        index: Index,
        /// The entry's term.
        term: Term,
        /// The state machine's output, `None` for a no-op or a duplicate request.
        output: Option<R>,
    },
    /// Answer a client.
    Reply {
        /// The client to answer.
        client: ClientId,
        /// The serial of the request answered.
        serial: u64,
        /// The answer.
        response: ClientResponse<R>,
    },
    /// Answer a read-only query (`Input::Read`) without a log entry (dissertation §6.4).
    ReadReply {
        /// The client to answer.
        client: ClientId,
        /// The serial of the read answered.
        serial: u64,
        /// The commit index the read was served at (0 when it was refused).
        read_index: Index,
        /// How leadership was confirmed.
        path: ReadPath,
        /// The answer: the query's output, or why it was not served here.
        response: ClientResponse<R>,
    },
}

/// The buffer a step writes its effects to. It keeps the persist-before-reveal order by
/// construction: persist effects are pushed as soon as durable state changes, and consecutive
/// hard-state writes in one step collapse into one.
///
/// ```
/// use refraft::{Effects, Effect};
/// let mut out: Effects<String, ()> = Effects::new();
/// assert!(out.is_empty());
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Effects<C, R> {
    list: Vec<Effect<C, R>>,
}

impl<C, R> Default for Effects<C, R> {
    fn default() -> Self {
        Effects { list: Vec::new() }
    }
}

impl<C, R> Effects<C, R> {
    /// An empty buffer.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends `effect`. A hard-state write directly after another replaces it: only the last
    /// one in a run matters, and nothing was revealed between them.
    #[inline(always)]
    pub fn push(&mut self, effect: Effect<C, R>) {
        if let (Effect::PersistHardState { .. }, Some(Effect::PersistHardState { .. })) =
            (&effect, self.list.last())
        {
            self.list.pop();
        }
        self.list.push(effect);
    }

    /// The effects so far, in order.
    pub fn as_slice(&self) -> &[Effect<C, R>] {
        &self.list
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// How many there are.
    pub fn len(&self) -> usize {
        self.list.len()
    }

    /// Takes all effects out, leaving the buffer empty for the next step.
    pub fn drain(&mut self) -> std::vec::Drain<'_, Effect<C, R>> {
        self.list.drain(..)
    }

    /// Empties the buffer.
    pub fn clear(&mut self) {
        self.list.clear()
    }
}

impl<C, R> IntoIterator for Effects<C, R> {
    type Item = Effect<C, R>;
    type IntoIter = std::vec::IntoIter<Effect<C, R>>;
    fn into_iter(self) -> Self::IntoIter {
        self.list.into_iter()
    }
}
