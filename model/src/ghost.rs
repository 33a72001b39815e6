//! Ghost (auxiliary) state: what a server has done over its whole history, kept beside the core's
//! state so that the paper's properties about history can be checked on single states.
//!
//! The ghost is written only by the model's adapter, from what it observes of each step; the core
//! never reads it. It survives crashes with the server's durable state (it is stored with it), so
//! that a property such as Election Safety sees every election, not only current leaders.

use refraft::{
    Effect, Entry, Index, Input, KvCommand, KvOutput, KvStore, Message, Node, NodeId, Payload,
    ReadPath, Role, StepError, Term,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// A transition that broke a property phrased over two consecutive states.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Violation {
    /// §5.3 Leader Append-Only: a leader removed or overwrote an entry of its own log.
    LeaderAppendOnly,
    /// §5.1: `current_term` went down (in a step, or across a restart).
    TermDecreased,
    /// Figure 2: `commit_index` went down during one life of the server.
    CommitIndexDecreased,
    /// §5.4.3: the server applied a different entry at an index it had applied before (after a
    /// restart it re-applies from index 1 and must apply the same entries).
    AppliedDifferently,
    /// Figure 2: a restart found a durable state the core refuses (`Node::new` failed), which
    /// only a persistence rule switched off can write. The server then restarts empty.
    InvalidDurableState,
}

/// One applied entry and the server's `current_term` when it first applied it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Applied {
    /// The entry applied.
    pub entry: Entry<KvCommand>,
    /// The applier's term at that moment: the entry was committed in this term or earlier, so
    /// every leader of a later term must hold it (§5.4, Leader Completeness).
    pub term: Term,
}

/// The history of one server.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Ghost {
    /// Every term in which this server became leader.
    pub elected: BTreeSet<Term>,
    /// How many times this server has become a candidate (§5.2), for the model's bound.
    pub candidacies: usize,
    /// Every entry this server applied, by index (`applied[i]` is index `i + 1`).
    pub applied: Vec<Applied>,
    /// The highest `current_term` this server has had.
    pub max_term: Term,
    /// Transitions that broke a property.
    pub violations: BTreeSet<Violation>,
    /// How many times the server has restarted from its durable state (counted up to a cap:
    /// one past the model's restart bound, or 1 when restarts are unbounded).
    pub restarts: usize,
    /// After a restart, the server heard from a leader again.
    pub rejoined: bool,
    /// While following, the server's log lost entries to a leader's AppendEntries.
    pub truncated: bool,
    /// While leading, the server committed a client entry of an earlier term, counted
    /// indirectly through an entry of its own term (§5.4.2, Figure 8).
    pub committed_indirectly: bool,
    /// With PreVote: the highest term in which this server became a (real) candidate.
    pub candidate_term: Term,
    /// The server refused (or, sticky, ignored) a pre-vote (dissertation §9.6, §4.2.3).
    pub pre_vote_rejected: bool,
    /// While leading, the server stepped down at a failed quorum check (§6.2).
    pub lost_quorum: bool,
    /// While leading, the server answered a read confirmed by a heartbeat round (§6.4).
    pub read_by_read_index: bool,
    /// While leading, the server answered a read under its lease (§6.4.1).
    pub read_by_lease: bool,
    /// As a follower, the server answered a read at a read index learned from the leader
    /// (§6.4, `--forward-reads`).
    pub read_by_follower: bool,
    /// How many leadership transfers this server was asked to make while leading (§3.10).
    pub transfers: usize,
    /// The term of the election this server started on a TimeoutNow, while it runs.
    pub transfer_campaign: Option<Term>,
    /// This server was elected in an election it started on a TimeoutNow: a transfer to it
    /// completed.
    pub transfer_completed: bool,
    /// While leading, this server aborted a transfer: its transfer timer fired before the
    /// target was elected, and it kept leading and took proposals again (§3.10).
    pub transfer_aborted: bool,
    /// While holding a lease (a majority heard from it within the period, §6.4.1), this
    /// leader stepped down other than at a quorum check or for a transfer, into this term
    /// (the term that made it step down). A disruption unless some candidacy of that term
    /// began while no leader held a lease ([`crate::History::unleased_candidacies`]).
    pub disrupted_by: Option<Term>,
    /// The "heard from the leader recently" window: the term, the leader and the last
    /// heartbeat round this follower answered. Closed (`None`) when the server stops following
    /// that leader (its election timer fired, a newer term, a restart).
    pub window: Option<(Term, NodeId, u64)>,
}

/// What the ghost needs to know of an input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Observed {
    /// A PreVote request.
    PreVote,
    /// A heartbeat round from a leader.
    Heartbeat {
        /// The sender.
        from: NodeId,
        /// The leader's term.
        term: Term,
        /// The round.
        round: u64,
    },
    /// The quorum-check timer.
    QuorumCheck,
    /// A leader's TimeoutNow (dissertation §3.10).
    TimeoutNow,
    /// An operator's request to transfer leadership.
    TransferRequest,
    /// A RequestVote of a leadership transfer (§3.10).
    TransferVote,
    /// Anything else.
    Other,
}

impl Observed {
    /// Classifies `input`.
    pub fn of(input: &Input<KvCommand>) -> Self {
        match input {
            Input::Message {
                message: Message::PreVote(_),
                ..
            } => Observed::PreVote,
            Input::Message {
                from,
                message: Message::Heartbeat(h),
            } => Observed::Heartbeat {
                from: *from,
                term: h.term,
                round: h.round,
            },
            Input::Timeout(refraft::Timer::QuorumCheck) => Observed::QuorumCheck,
            Input::Message {
                message: Message::TimeoutNow(_),
                ..
            } => Observed::TimeoutNow,
            Input::TransferLeadership(_) => Observed::TransferRequest,
            Input::Message {
                message: Message::RequestVote(v),
                ..
            } if v.leadership_transfer => Observed::TransferVote,
            _ => Observed::Other,
        }
    }
}

impl Ghost {
    /// Records the application of `entry` at `index` in term `term`.
    pub fn record_apply(&mut self, index: Index, entry: &Entry<KvCommand>, term: Term) {
        let slot = (index as usize).saturating_sub(1);
        match self.applied.get(slot) {
            Some(prior) if prior.entry != *entry => {
                self.violations.insert(Violation::AppliedDifferently);
            }
            Some(_) => {}
            None if slot == self.applied.len() => self.applied.push(Applied {
                entry: entry.clone(),
                term,
            }),
            // Applying out of order skips an index: record it as applying something else.
            None => {
                self.violations.insert(Violation::AppliedDifferently);
            }
        }
    }

    /// Records a restart from durable state holding `current_term`. The count stops at `cap`,
    /// so that endless crash-restart cycles leave the state space finite.
    pub fn record_restart(&mut self, current_term: Term, cap: usize) {
        self.restarts = (self.restarts + 1).min(cap);
        if current_term < self.max_term {
            self.violations.insert(Violation::TermDecreased);
        }
    }

    /// Observes what one step did for PreVote, CheckQuorum and reads: the step's input, the
    /// node's verdict and its effects.
    pub fn observe_features(
        &mut self,
        input: Observed,
        result: &Result<(), StepError>,
        effects: &[Effect<KvCommand, KvOutput>],
        before: &Node<KvStore>,
        after: &Node<KvStore>,
    ) {
        if input == Observed::PreVote {
            let refused = effects.iter().any(|e| {
                matches!(e, Effect::Send { message: Message::PreVoteResponse(r), .. } if !r.vote_granted)
            });
            self.pre_vote_rejected |= refused || matches!(result, Err(StepError::LeaderSticky(_)));
        }
        if input == Observed::QuorumCheck && before.is_leader() && !after.is_leader() {
            self.lost_quorum = true;
        }
        let legitimate = matches!(input, Observed::QuorumCheck | Observed::TransferVote);
        if before.is_leader()
            && before.leadership().lease().is_some()
            && !after.is_leader()
            && !legitimate
        {
            self.disrupted_by = Some(after.current_term());
        }
        if input == Observed::TransferRequest && before.is_leader() {
            self.transfers += 1;
        }
        if before.is_leader()
            && after.is_leader()
            && before.leadership().transfer().is_some()
            && after.leadership().transfer().is_none()
        {
            self.transfer_aborted = true;
        }
        if input == Observed::TimeoutNow && after.is_candidate() && !before.is_candidate() {
            self.transfer_campaign = Some(after.current_term());
        }
        if let Some(term) = self.transfer_campaign {
            if after.is_leader() && after.current_term() == term {
                self.transfer_completed = true;
            }
            if !after.is_candidate() {
                self.transfer_campaign = None;
            }
        }
        for e in effects {
            if let Effect::ReadReply {
                path,
                response: refraft::ClientResponse::Applied(_),
                ..
            } = e
            {
                match path {
                    ReadPath::ReadIndex => self.read_by_read_index = true,
                    ReadPath::Lease => self.read_by_lease = true,
                    ReadPath::Forwarded => self.read_by_follower = true,
                    ReadPath::Refused => {}
                }
            }
        }
        if after.config().pre_vote && after.is_candidate() {
            self.candidate_term = self.candidate_term.max(after.current_term());
        }
        if let Observed::Heartbeat { from, term, round } = input {
            if after.current_term() == term
                && matches!(after.role(), Role::Follower { leader: Some(l) } if *l == from)
            {
                self.window = Some((term, from, round));
            }
        }
        let still_open = self.window.is_some_and(|(term, leader, _)| {
            after.current_term() == term
                && matches!(after.role(), Role::Follower { leader: Some(l) } if *l == leader)
        });
        if !still_open {
            self.window = None;
        }
    }

    /// The same history with every node id passed through `f` (for symmetry reduction).
    pub fn map_node_ids(&self, f: impl Fn(NodeId) -> NodeId) -> Self {
        let mut g = self.clone();
        g.window = g.window.map(|(t, l, r)| (t, f(l), r));
        g
    }

    /// Observes one step of the server, from `before` to `after`.
    pub fn observe_step(&mut self, before: &Node<KvStore>, after: &Node<KvStore>) {
        let (t0, t1) = (before.current_term(), after.current_term());
        if t1 < t0 {
            self.violations.insert(Violation::TermDecreased);
        }
        self.max_term = self.max_term.max(t1);
        if after.commit_index() < before.commit_index() {
            self.violations.insert(Violation::CommitIndexDecreased);
        }
        let kept_log = is_prefix(before.log().entries(), after.log().entries());
        let led_through = before.is_leader() && after.is_leader() && t0 == t1;
        let new_candidacy = after.is_candidate() && (!before.is_candidate() || t1 != t0);
        self.candidacies += usize::from(new_candidacy);
        if after.is_leader() && !led_through {
            self.elected.insert(t1);
        }
        if led_through && !kept_log {
            self.violations.insert(Violation::LeaderAppendOnly);
        }
        if !kept_log && !after.is_leader() {
            self.truncated = true;
        }
        if self.restarts > 0 && matches!(after.role(), Role::Follower { leader: Some(_) }) {
            self.rejoined = true;
        }
        if after.is_leader() && after.commit_index() > before.commit_index() {
            let newly = before.commit_index() + 1..=after.commit_index();
            let indirect = newly
                .filter_map(|i| after.log().get(i))
                .any(|e| e.term < t1 && matches!(e.payload, Payload::Command { .. }));
            self.committed_indirectly |= indirect;
        }
    }
}

/// Whether `a` is a prefix of `b`.
pub fn is_prefix<T: PartialEq>(a: &[T], b: &[T]) -> bool {
    a.len() <= b.len() && a == &b[..a.len()]
}
