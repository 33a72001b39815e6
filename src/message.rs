//! The RPCs of Figure 2, as one-way messages: each request and each response is a message of
//! its own, so that a network may delay, drop, duplicate or reorder them independently.

use crate::entries::Entries;
use crate::ids::{ClientId, Index, NodeId, Term};
use serde::{Deserialize, Serialize};

/// A message between two servers. Every message carries the sender's `current_term` (§5.1).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Message<C> {
    /// RequestVote RPC (§5.2), sent by candidates.
    RequestVote(RequestVote),
    /// The answer to a RequestVote.
    RequestVoteResponse(RequestVoteResponse),
    /// AppendEntries RPC (§5.3), sent by leaders to replicate entries and as heartbeats.
    AppendEntries(AppendEntries<C>),
    /// The answer to an AppendEntries.
    AppendEntriesResponse(AppendEntriesResponse),
    /// Dissertation §9.6: "would you vote for me?", sent before a real election. `term` is
    /// the term the sender would stand in (its `current_term + 1`); nobody adopts it.
    PreVote(RequestVote),
    /// The answer to a PreVote: a grant carries the request's term, a refusal the voter's
    /// `current_term` (so that a pre-candidate behind in terms catches up).
    PreVoteResponse(RequestVoteResponse),
    /// Dissertation §3.10: the leader tells the transfer target to start an election now.
    TimeoutNow(TimeoutNow),
    /// Dissertation §6.2, §6.4: a numbered heartbeat round that confirms leadership (for
    /// ReadIndex, CheckQuorum and leases). It carries no entries and touches no log.
    Heartbeat(Heartbeat),
    /// The answer to a Heartbeat, naming its round.
    HeartbeatResponse(HeartbeatResponse),
    /// Dissertation §6.4: a follower forwards a client's read and asks the leader for a read
    /// index.
    ReadIndex(ReadIndexRequest),
    /// The leader's answer: the read index once leadership is confirmed, or none (it does not
    /// lead, or stepped down before confirming).
    ReadIndexResponse(ReadIndexResponse),
}

impl<C> Message<C> {
    /// The sender's term, which every message carries (§5.1).
    pub fn term(&self) -> Term {
        match self {
            Message::RequestVote(m) => m.term,
            Message::RequestVoteResponse(m) => m.term,
            Message::AppendEntries(m) => m.term,
            Message::AppendEntriesResponse(m) => m.term,
            Message::PreVote(m) => m.term,
            Message::PreVoteResponse(m) => m.term,
            Message::TimeoutNow(m) => m.term,
            Message::Heartbeat(m) => m.term,
            Message::HeartbeatResponse(m) => m.term,
            Message::ReadIndex(m) => m.term,
            Message::ReadIndexResponse(m) => m.term,
        }
    }

    /// The same message with every node id passed through `f` (for symmetry reduction).
    pub fn map_node_ids(self, _f: impl Fn(NodeId) -> NodeId) -> Self {
        // Messages name no node ids in their bodies: the sender and receiver travel beside the
        // message (`Effect::Send::to`, `Input::Message::from`). Kept as a method so that a
        // future field holding an id cannot be forgotten by the model's symmetry code.
        self
    }
}

/// RequestVote arguments (Figure 2).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct RequestVote {
    /// The candidate's term.
    pub term: Term,
    /// Index of the candidate's last log entry (§5.4.1).
    pub last_log_index: Index,
    /// Term of the candidate's last log entry (§5.4.1).
    pub last_log_term: Term,
    /// Dissertation §4.2.3: the election was started by a TimeoutNow (leadership transfer,
    /// §3.10), so voters answer it even while they still hear from the current leader.
    #[serde(default)]
    pub leadership_transfer: bool,
}

/// TimeoutNow arguments (dissertation §3.10).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct TimeoutNow {
    /// The leader's term.
    pub term: Term,
}

/// Heartbeat arguments: a round of leadership confirmation (dissertation §6.4).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Heartbeat {
    /// The leader's term.
    pub term: Term,
    /// The round's number, growing within the leader's term.
    pub round: u64,
}

/// Heartbeat results.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct HeartbeatResponse {
    /// The follower's `current_term`.
    pub term: Term,
    /// The round answered.
    pub round: u64,
}

/// A follower's request for a read index (dissertation §6.4), naming the client's read so
/// that the answer finds it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ReadIndexRequest {
    /// The follower's `current_term`.
    pub term: Term,
    /// The client whose read is forwarded.
    pub client: ClientId,
    /// The read's serial.
    pub serial: u64,
}

/// The leader's answer to a [`ReadIndexRequest`].
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ReadIndexResponse {
    /// The sender's `current_term`.
    pub term: Term,
    /// The client of the forwarded read.
    pub client: ClientId,
    /// The read's serial.
    pub serial: u64,
    /// The read index, recorded after an entry of the leader's term committed and confirmed
    /// by a heartbeat round or the lease; `None` when the sender does not lead.
    pub read_index: Option<Index>,
}

/// RequestVote results (Figure 2).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct RequestVoteResponse {
    /// The voter's `current_term`, for the candidate to update itself.
    pub term: Term,
    /// True means the candidate received the vote.
    pub vote_granted: bool,
}

/// AppendEntries arguments (Figure 2).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct AppendEntries<C> {
    /// The leader's term.
    pub term: Term,
    /// Index of the log entry immediately preceding the new ones.
    pub prev_log_index: Index,
    /// Term of the entry at `prev_log_index`.
    pub prev_log_term: Term,
    /// Entries to store at `prev_log_index + 1 ..` (empty for a heartbeat), shared with the
    /// leader's persist effect and with the same request to other followers where they agree.
    pub entries: Entries<C>,
    /// The leader's `commit_index`.
    pub leader_commit: Index,
}

/// AppendEntries results (Figure 2), extended so that the leader never has to guess which
/// request an answer belongs to.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct AppendEntriesResponse {
    /// The follower's `current_term`, for the leader to update itself.
    pub term: Term,
    /// Whether the follower's log now matches the leader's up to `match_index`, or why not.
    pub result: AppendResult,
}

/// The outcome of an AppendEntries at the follower.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum AppendResult {
    /// The follower's log matches the leader's through `match_index`
    /// (`prev_log_index + entries.len()` of the request). The leader takes its `match_index`
    /// from here, never from its own `next_index` (§5.3).
    Success {
        /// The last index known to match the leader's log.
        match_index: Index,
    },
    /// The request was rejected (term too old, or the consistency check failed).
    Reject {
        /// The request's `prev_log_index` that failed the consistency check.
        prev_log_index: Index,
        /// A hint for fast backtracking (end of §5.3), absent when the term was stale.
        hint: Option<ConflictHint>,
    },
}

/// The follower's hint after a failed consistency check (end of §5.3): the term of its
/// conflicting entry and the first index it stores for that term, or, when its log is too short,
/// no term and the index just past its log. With `RejectHint::CommitIndex`, always no term and
/// the follower's commit index + 1.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ConflictHint {
    /// The term of the follower's entry at `prev_log_index`, or `None` if it has none.
    pub conflict_term: Option<Term>,
    /// The first index of `conflict_term` in the follower's log, or its `last_index + 1` (its
    /// `commit_index + 1` with `RejectHint::CommitIndex`).
    pub first_index: Index,
}
