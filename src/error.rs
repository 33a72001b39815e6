//! Typed outcomes for inputs a node does not act on. Input from the network is untrusted: none of
//! it panics the node; each odd case is named here.

use crate::ids::{Index, NodeId, Term};
use std::fmt;

/// Why a step was not carried out in full. The node's state is consistent after every error;
/// where the protocol asks for an answer (a stale request is answered with the current term),
/// the answer is among the effects.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StepError {
    /// The sender is not another member of the cluster.
    UnknownPeer(NodeId),
    /// The message's term is older than `current_term` (§5.1): a request is refused, a response
    /// is dropped.
    StaleTerm {
        /// The term the message carried.
        message_term: Term,
        /// This node's term.
        current_term: Term,
    },
    /// A response arrived that this node's role does not expect (a vote after the election was
    /// decided, an append acknowledgement at a node that is no longer leader).
    UnexpectedResponse,
    /// A response is older than what the leader already knows (a rejection for an index the
    /// follower has since acknowledged).
    StaleResponse,
    /// An AppendEntries from a second leader of this node's own term, while this node leads:
    /// impossible in a correct cluster (§5.2, Election Safety).
    SecondLeader(NodeId),
    /// The entries of an AppendEntries break what any leader's log satisfies: terms decrease, or
    /// exceed the leader's term, or fall below `prev_log_term`.
    MalformedEntries,
    /// An AppendEntries asks to overwrite a committed entry; a correct leader never does
    /// (§5.4, Leader Completeness).
    ConflictsWithCommitted {
        /// The first conflicting index.
        index: Index,
        /// This node's commit index.
        commit_index: Index,
    },
    /// An acknowledgement names an index past the end of the leader's log.
    IndexOutOfRange {
        /// The index named.
        index: Index,
        /// The leader's last index.
        last_index: Index,
    },
    /// A timer fired that the node's role does not use (a stale timer the driver did not cancel).
    TimerNotArmed,
    /// The message's term is 0 or `u64::MAX`, which no correct server sends: every message
    /// comes from a server that has been a candidate or heard from one, so in term 1 or later;
    /// and a node that adopted `u64::MAX` could never start an election (§5.2 increments the
    /// term) without wrapping it to 0. Refused before the term is adopted: no vote is cast in
    /// term 0 and no term is ever lowered or wrapped.
    TermOutOfRange {
        /// The term the message carried.
        term: Term,
    },
    /// A RequestVote or PreVote ignored because this server heard from a current leader
    /// within its election timeout (dissertation §4.2.3, leader stickiness).
    LeaderSticky(NodeId),
    /// A read (`Input::Read`) whose command the state machine does not answer as a query.
    NotAQuery,
    /// A leadership transfer that cannot start.
    Transfer(TransferError),
}

/// Why a leadership transfer (dissertation §3.10) was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TransferError {
    /// The target is not a member of the cluster.
    NotAMember(NodeId),
    /// The target is this server, which leads already.
    ToSelf,
    /// This server does not lead; `leader_hint` might.
    NotLeader {
        /// The leader this server knows of, if any.
        leader_hint: Option<NodeId>,
    },
}

impl fmt::Display for TransferError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TransferError::NotAMember(id) => write!(f, "{id} is not a member of the cluster"),
            TransferError::ToSelf => write!(f, "this server already leads"),
            TransferError::NotLeader { leader_hint } => match leader_hint {
                Some(l) => write!(f, "not the leader; {l} is"),
                None => write!(f, "not the leader; no leader known"),
            },
        }
    }
}

impl std::error::Error for TransferError {}

impl fmt::Display for StepError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StepError::UnknownPeer(id) => write!(f, "message from {id}, not a peer"),
            StepError::StaleTerm {
                message_term,
                current_term,
            } => write!(f, "message of term {message_term} at term {current_term}"),
            StepError::UnexpectedResponse => write!(f, "response not expected in this role"),
            StepError::StaleResponse => write!(f, "response older than what is known"),
            StepError::SecondLeader(id) => write!(f, "{id} claims leadership of this term"),
            StepError::MalformedEntries => write!(f, "entries out of term order"),
            StepError::ConflictsWithCommitted {
                index,
                commit_index,
            } => write!(
                f,
                "request conflicts at {index}, at or below commit index {commit_index}"
            ),
            StepError::IndexOutOfRange { index, last_index } => {
                write!(f, "index {index} past the last index {last_index}")
            }
            StepError::TimerNotArmed => write!(f, "timer not used in this role"),
            StepError::TermOutOfRange { term } => {
                write!(f, "term {term} is out of range (1 to u64::MAX - 1)")
            }
            StepError::LeaderSticky(id) => write!(f, "vote request ignored: {id} leads"),
            StepError::NotAQuery => write!(f, "the command is not a read-only query"),
            StepError::Transfer(e) => write!(f, "leadership transfer refused: {e}"),
        }
    }
}

impl std::error::Error for StepError {}
