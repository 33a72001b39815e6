//! The trace format, version 1: one JSON object per line (NDJSON), described for readers in
//! `spec/TRACE.md`. The types here are that schema; `serde` turns them into and from JSON (or
//! any other serde format). Nothing in them is specific to refraft: a trace from another
//! implementation, in any language, fills the same fields.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The schema version this module reads and writes.
pub const VERSION: u32 = 1;

/// The first line of a trace file: which servers form the cluster (for majorities).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    /// Always `"raft-trace"`.
    pub format: String,
    /// The schema version, [`VERSION`].
    pub version: u32,
    /// The ids of every voting server.
    pub nodes: Vec<u64>,
}

impl Header {
    /// The header of a version-1 trace of a cluster of `nodes`.
    pub fn new(nodes: Vec<u64>) -> Self {
        Header {
            format: "raft-trace".to_string(),
            version: VERSION,
            nodes,
        }
    }
}

/// What started a step.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A server's first start, from empty (or scenario-given) storage.
    #[default]
    Init,
    /// A start after a crash, from what the server had persisted.
    Restart,
    /// A timer fired.
    Timeout,
    /// A message from another server arrived.
    Receive,
    /// One or more client requests arrived.
    Client,
    /// A read-only query arrived (dissertation §6.4).
    Read,
    /// An operator asked for a leadership transfer (dissertation §3.10).
    Transfer,
}

/// Who sent a message, and its number among that sender's messages: lets traces written by
/// separate processes be merged, and a receive be matched with its send.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct MessageId {
    /// The sender's id.
    pub sender: u64,
    /// The sender's message counter (from 1).
    pub seq: u64,
}

/// A message, with the fields of Figure 2 (and the extensions'). Entries are listed by term,
/// with an optional digest of each command (`digests`, same length) for state machine checks.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum Msg {
    /// RequestVote (§5.2). `pre_vote` marks a PreVote (dissertation §9.6).
    RequestVote {
        /// The candidate's term (for a pre-vote, the term it would stand in).
        term: u64,
        /// Index of the candidate's last entry.
        last_log_index: u64,
        /// Term of the candidate's last entry.
        last_log_term: u64,
        /// A PreVote rather than a real request.
        #[serde(default, skip_serializing_if = "is_false")]
        pre_vote: bool,
    },
    /// The answer to a RequestVote (or PreVote).
    RequestVoteResponse {
        /// The voter's term (for a granted pre-vote, the request's).
        term: u64,
        /// Whether the vote was granted.
        granted: bool,
        /// An answer to a PreVote.
        #[serde(default, skip_serializing_if = "is_false")]
        pre_vote: bool,
    },
    /// AppendEntries (§5.3).
    AppendEntries {
        /// The leader's term.
        term: u64,
        /// Index of the entry before the new ones.
        prev_log_index: u64,
        /// Term of that entry.
        prev_log_term: u64,
        /// Terms of the entries carried.
        entries: Vec<u64>,
        /// Optional command digests of the entries carried.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        digests: Vec<String>,
        /// The leader's commit index.
        leader_commit: u64,
    },
    /// The answer to an AppendEntries.
    AppendEntriesResponse {
        /// The follower's term.
        term: u64,
        /// Whether the entries were accepted.
        success: bool,
        /// On success: the index up to which the follower's log matches the leader's.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        match_index: Option<u64>,
        /// On failure: the request's `prev_log_index`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reject_index: Option<u64>,
    },
    /// Dissertation §3.10: start an election now.
    TimeoutNow {
        /// The leader's term.
        term: u64,
    },
    /// Dissertation §6.2, §6.4: a heartbeat round without entries.
    Heartbeat {
        /// The leader's term.
        term: u64,
        /// The round number.
        round: u64,
    },
    /// The answer to a Heartbeat.
    HeartbeatResponse {
        /// The follower's term.
        term: u64,
        /// The round answered.
        round: u64,
    },
    /// Dissertation §6.4: a follower asks the leader for a read index for a client's read.
    ReadIndex {
        /// The follower's term.
        term: u64,
        /// The client whose read is forwarded.
        client: u64,
        /// The read's serial.
        serial: u64,
    },
    /// The leader's answer to a ReadIndex.
    ReadIndexResponse {
        /// The leader's term.
        term: u64,
        /// The client of the forwarded read.
        client: u64,
        /// The read's serial.
        serial: u64,
        /// The read index, `None` when the sender does not lead.
        read_index: Option<u64>,
    },
}

fn is_false(b: &bool) -> bool {
    !*b
}

impl Msg {
    /// The sender's term, which every message carries (§5.1).
    pub fn term(&self) -> u64 {
        match self {
            Msg::RequestVote { term, .. }
            | Msg::RequestVoteResponse { term, .. }
            | Msg::AppendEntries { term, .. }
            | Msg::AppendEntriesResponse { term, .. }
            | Msg::TimeoutNow { term }
            | Msg::Heartbeat { term, .. }
            | Msg::HeartbeatResponse { term, .. }
            | Msg::ReadIndex { term, .. }
            | Msg::ReadIndexResponse { term, .. } => *term,
        }
    }
}

/// The input of a step.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepInput {
    /// For `receive`: the sender.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<u64>,
    /// For `receive`: the message's identity, if the driver knows it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<MessageId>,
    /// For `receive`: the message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub msg: Option<Msg>,
    /// For `timeout`: `election`, `heartbeat`, `quorum_check` or `transfer_timeout`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timer: Option<String>,
    /// For `client` and `read`: the requests, as (client, serial).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub requests: Vec<(u64, u64)>,
    /// For `transfer`: the target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<u64>,
}

/// One effect of a step, in the order the driver performed them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "effect", rename_all = "snake_case")]
pub enum StepEffect {
    /// `current_term` and `voted_for` were made durable.
    PersistHardState {
        /// The term stored.
        term: u64,
        /// The vote stored.
        vote: Option<u64>,
    },
    /// The stored log from `from` on was replaced by entries of these terms.
    PersistLog {
        /// First index replaced.
        from: u64,
        /// Terms of the new suffix.
        entries: Vec<u64>,
    },
    /// A message was handed to the network.
    Send {
        /// The receiver.
        to: u64,
        /// The message's identity.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<MessageId>,
        /// The message.
        msg: Msg,
    },
    /// A committed entry was applied to the state machine.
    Apply {
        /// Its index.
        index: u64,
        /// Its term.
        term: u64,
        /// Optional digest of its command.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        digest: Option<String>,
    },
    /// A client was answered (`ok` true for a result, false for a redirect or refusal); a read's
    /// answer carries its read index.
    Reply {
        /// The client.
        client: u64,
        /// The request's serial.
        serial: u64,
        /// Whether the command was executed.
        ok: bool,
        /// For a read answered without a log entry (dissertation §6.4): the read index it was
        /// served at (format 1.1; absent on writes, refusals and older traces).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        read_index: Option<u64>,
        /// For such a read: confirmed by the leader's lease (§6.4.1) rather than by a heartbeat
        /// round (format 1.1; default false).
        #[serde(default, skip_serializing_if = "is_false")]
        lease: bool,
    },
}

/// A server's role (§5.1).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TraceRole {
    /// Follower.
    #[default]
    Follower,
    /// Asking for pre-votes (dissertation §9.6).
    PreCandidate,
    /// Candidate.
    Candidate,
    /// Leader.
    Leader,
}

/// The server's state after the step (Figure 2's state). The log is written as runs of equal
/// terms, `[[term, count], ...]`, which keeps lines short however long the log grows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateView {
    /// `current_term`.
    pub term: u64,
    /// `voted_for`.
    pub vote: Option<u64>,
    /// The role.
    pub role: TraceRole,
    /// The log from index `log_from` on, as runs `[term, count]`.
    pub log: Vec<(u64, u64)>,
    /// Where `log` starts: 1 (the default, left out of the JSON) when `log` is the whole log.
    /// A writer may give only the runs from the first index that changed since its previous
    /// line for this server, which keeps lines short however many terms the log spans;
    /// `init` and `restart` lines give the whole log.
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub log_from: u64,
    /// `commit_index`.
    pub commit: u64,
    /// `last_applied`.
    pub applied: u64,
    /// On a leader: `next_index` per peer.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub next: BTreeMap<u64, u64>,
    /// On a leader: `match_index` per peer.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub r#match: BTreeMap<u64, u64>,
}

fn one() -> u64 {
    1
}

impl Default for StateView {
    /// A follower's empty state in term 0 (the state of an `init` line of an empty server).
    fn default() -> Self {
        StateView {
            term: 0,
            vote: None,
            role: TraceRole::Follower,
            log: Vec::new(),
            log_from: 1,
            commit: 0,
            applied: 0,
            next: BTreeMap::new(),
            r#match: BTreeMap::new(),
        }
    }
}

fn is_one(n: &u64) -> bool {
    *n == 1
}

impl StateView {
    /// The number of entries in the log (when `log` is the whole log, `log_from == 1`).
    pub fn last_index(&self) -> u64 {
        self.log.iter().map(|&(_, n)| n).sum()
    }

    /// The term of the entry at `index` (0 for index 0), or `None` past the end (when `log` is
    /// the whole log).
    pub fn term_at(&self, index: u64) -> Option<u64> {
        term_at(&self.log, index)
    }
}

/// The term at `index` of a run-length log, 0 at index 0, `None` past the end.
pub fn term_at(runs: &[(u64, u64)], index: u64) -> Option<u64> {
    if index == 0 {
        return Some(0);
    }
    let mut end = 0u64;
    for &(term, count) in runs {
        end = end.saturating_add(count);
        if index <= end {
            return Some(term);
        }
    }
    None
}

/// Terms as runs: `[1, 1, 2]` becomes `[(1, 2), (2, 1)]`.
pub fn runs_of(terms: impl IntoIterator<Item = u64>) -> Vec<(u64, u64)> {
    let mut runs: Vec<(u64, u64)> = Vec::new();
    for term in terms {
        match runs.last_mut() {
            Some((t, n)) if *t == term => *n += 1,
            _ => runs.push((term, 1)),
        }
    }
    runs
}

/// One step of one server: a line of the trace after the header. The default is an empty
/// server's `init` (seq 0, node 0), a value to read lines into ([`StepReader`](super::StepReader)).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    /// Position in the trace; strictly increasing.
    pub seq: u64,
    /// The server that stepped.
    pub node: u64,
    /// What started the step.
    pub kind: Kind,
    /// The input (empty for `init` and `restart`).
    #[serde(default)]
    pub input: StepInput,
    /// The effects, in order.
    #[serde(default)]
    pub effects: Vec<StepEffect>,
    /// The state after the step.
    pub state: StateView,
}

/// Appends `count` entries of `term`.
pub(crate) fn push_run(runs: &mut Vec<(u64, u64)>, term: u64, count: u64) {
    if count == 0 {
        return;
    }
    match runs.last_mut() {
        Some((t, n)) if *t == term => *n = n.saturating_add(count),
        _ => runs.push((term, count)),
    }
}
