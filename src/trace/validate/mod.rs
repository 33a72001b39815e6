//! Validating a trace: the rules of Figure 2 that one server's steps show, and the properties
//! of Figure 3 across the servers' observed states. Works on any implementation's trace in the
//! [format](super::format); every violation names the line, the rule and its section.
//!
//! ```
//! use refraft::trace::{Header, Kind, StateView, Step, StepInput, TraceRole, TraceRule, Validator};
//! let mut v = Validator::new(&Header::new(vec![1, 2, 3])).unwrap();
//! let leader = |seq, node| Step {
//!     seq, node, kind: Kind::Init, input: StepInput::default(), effects: vec![],
//!     state: StateView { term: 1, vote: Some(node), role: TraceRole::Leader, log: vec![], log_from: 1,
//!         commit: 0, applied: 0, next: Default::default(), r#match: Default::default() },
//! };
//! v.check(2, &leader(1, 1)).unwrap();
//! v.check(3, &leader(2, 2)).unwrap();
//! let report = v.finish();
//! assert_eq!(report.violations[0].rule, TraceRule::ElectionSafety);
//! assert_eq!(report.violations[0].line, 3);
//! ```

mod cluster;
mod reads;
pub(crate) mod runs;
mod server;

use super::format::{Header, Kind, Step, VERSION};
use cluster::Cluster;
use server::{ServerTrack, StepShape};
use std::collections::BTreeMap;
use std::fmt;

/// A rule or property a trace can break.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TraceRule {
    /// `current_term` never decreases, in memory or on disk.
    TermMonotonic,
    /// At most one vote per term, across restarts.
    OneVotePerTerm,
    /// Term, vote and entries are on disk before a message reveals them.
    PersistBeforeReveal,
    /// A restart recovers exactly what was persisted.
    RestartFromDurable,
    /// A leader commits index N only when a majority's acknowledged `match_index` reaches N.
    LeaderCommitQuorum,
    /// A leader commits by counting only entries of its current term.
    CommitCurrentTerm,
    /// A leader's `match_index` comes from acknowledgements only.
    MatchFromAck,
    /// A follower's commit is `min(leader_commit, index of last new entry)`.
    FollowerCommitBound,
    /// `commit_index` never decreases within one life.
    CommitMonotonic,
    /// Entries are applied one at a time, in index order, each with its log term.
    ApplyInOrder,
    /// Only committed entries are applied.
    ApplyOnlyCommitted,
    /// At most one leader per term.
    ElectionSafety,
    /// A leader never overwrites or deletes entries of its own log in its term.
    LeaderAppendOnly,
    /// Two logs with an entry of the same index and term agree on every entry up to it.
    LogMatching,
    /// A committed entry is in the log of every leader of a later term.
    LeaderCompleteness,
    /// No two servers commit or apply different entries at one index.
    StateMachineSafety,
    /// A leader serves a read only after it has committed an entry of its own term.
    ReadAfterOwnTermCommit,
    /// A read is served only after a majority acknowledged a heartbeat round sent after it
    /// arrived, unless a lease confirmed it.
    ReadIndexQuorumRound,
    /// A read is answered only once `last_applied` has reached its read index.
    ReadAfterApply,
}

impl TraceRule {
    /// Every rule, in the order above.
    pub const ALL: &'static [TraceRule] = &[
        TraceRule::TermMonotonic,
        TraceRule::OneVotePerTerm,
        TraceRule::PersistBeforeReveal,
        TraceRule::RestartFromDurable,
        TraceRule::LeaderCommitQuorum,
        TraceRule::CommitCurrentTerm,
        TraceRule::MatchFromAck,
        TraceRule::FollowerCommitBound,
        TraceRule::CommitMonotonic,
        TraceRule::ApplyInOrder,
        TraceRule::ApplyOnlyCommitted,
        TraceRule::ElectionSafety,
        TraceRule::LeaderAppendOnly,
        TraceRule::LogMatching,
        TraceRule::LeaderCompleteness,
        TraceRule::StateMachineSafety,
        TraceRule::ReadAfterOwnTermCommit,
        TraceRule::ReadIndexQuorumRound,
        TraceRule::ReadAfterApply,
    ];

    /// The rule's name, as reports print it.
    pub fn name(self) -> &'static str {
        match self {
            TraceRule::TermMonotonic => "term-monotonic",
            TraceRule::OneVotePerTerm => "one-vote-per-term",
            TraceRule::PersistBeforeReveal => "persist-before-reveal",
            TraceRule::RestartFromDurable => "restart-from-durable",
            TraceRule::LeaderCommitQuorum => "leader-commit-quorum",
            TraceRule::CommitCurrentTerm => "commit-current-term",
            TraceRule::MatchFromAck => "match-from-ack",
            TraceRule::FollowerCommitBound => "follower-commit-bound",
            TraceRule::CommitMonotonic => "commit-monotonic",
            TraceRule::ApplyInOrder => "apply-in-order",
            TraceRule::ApplyOnlyCommitted => "apply-only-committed",
            TraceRule::ElectionSafety => "election-safety",
            TraceRule::LeaderAppendOnly => "leader-append-only",
            TraceRule::LogMatching => "log-matching",
            TraceRule::LeaderCompleteness => "leader-completeness",
            TraceRule::StateMachineSafety => "state-machine-safety",
            TraceRule::ReadAfterOwnTermCommit => "read-after-own-term-commit",
            TraceRule::ReadIndexQuorumRound => "read-index-quorum-round",
            TraceRule::ReadAfterApply => "read-after-apply",
        }
    }

    /// Where the paper (or the dissertation) states the rule.
    pub fn section(self) -> &'static str {
        match self {
            TraceRule::TermMonotonic => "§5.1, Figure 2 (currentTerm increases monotonically)",
            TraceRule::OneVotePerTerm => "§5.2, Figure 2 (votedFor)",
            TraceRule::PersistBeforeReveal => {
                "Figure 2 (persistent state updated on stable storage before responding to RPCs)"
            }
            TraceRule::RestartFromDurable => "Figure 2 (persistent state on all servers)",
            TraceRule::LeaderCommitQuorum => "§5.3, Figure 2 Rules for Servers, Leaders",
            TraceRule::CommitCurrentTerm => "§5.4.2",
            TraceRule::MatchFromAck => "Figure 2 (matchIndex), §5.3",
            TraceRule::FollowerCommitBound => "Figure 2 AppendEntries RPC, receiver 5",
            TraceRule::CommitMonotonic => "Figure 2 (commitIndex increases monotonically)",
            TraceRule::ApplyInOrder => "Figure 2 Rules for Servers, All Servers (lastApplied)",
            TraceRule::ApplyOnlyCommitted => "Figure 2 Rules for Servers, All Servers",
            TraceRule::ElectionSafety => "§5.2, Figure 3 Election Safety",
            TraceRule::LeaderAppendOnly => "§5.3, Figure 3 Leader Append-Only",
            TraceRule::LogMatching => "§5.3, Figure 3 Log Matching",
            TraceRule::LeaderCompleteness => "§5.4, Figure 3 Leader Completeness",
            TraceRule::StateMachineSafety => "§5.4.3, Figure 3 State Machine Safety",
            TraceRule::ReadAfterOwnTermCommit => {
                "dissertation §6.4 step 1 (a read index only once an entry of the leader's term is committed)"
            }
            TraceRule::ReadIndexQuorumRound => {
                "dissertation §6.4 step 3 (a heartbeat round acknowledged by a majority), §6.4.1 (leases)"
            }
            TraceRule::ReadAfterApply => {
                "dissertation §6.4 step 4 (answered once lastApplied reaches the read index)"
            }
        }
    }
}

impl fmt::Display for TraceRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One broken rule: the line (1-based, counting the header) where it shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// The line number in the trace file.
    pub line: usize,
    /// The `seq` of the step.
    pub seq: u64,
    /// The server whose step broke it.
    pub node: u64,
    /// The rule.
    pub rule: TraceRule,
    /// What was seen.
    pub detail: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "line {} (seq {}, node {}): {} [{}]: {}",
            self.line,
            self.seq,
            self.node,
            self.rule,
            self.rule.section(),
            self.detail
        )
    }
}

/// A trace that cannot be validated at all.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TraceError {
    /// The header is missing, of another format, or of an unknown version.
    BadHeader(String),
    /// A line is not a step of the format.
    Malformed {
        /// The line number.
        line: usize,
        /// What is wrong with it.
        message: String,
    },
    /// A step names a server the header does not list.
    UnknownNode {
        /// The line number.
        line: usize,
        /// The server named.
        node: u64,
    },
    /// `seq` did not increase.
    SeqNotIncreasing {
        /// The line number.
        line: usize,
        /// The `seq` found.
        seq: u64,
        /// The `seq` of the line before.
        previous: u64,
    },
    /// A server stepped before its `init` line.
    NotStarted {
        /// The line number.
        line: usize,
        /// The server.
        node: u64,
    },
}

impl fmt::Display for TraceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TraceError::BadHeader(m) => write!(f, "line 1: bad header: {m}"),
            TraceError::Malformed { line, message } => write!(f, "line {line}: {message}"),
            TraceError::UnknownNode { line, node } => {
                write!(f, "line {line}: node {node} is not in the header's nodes")
            }
            TraceError::SeqNotIncreasing {
                line,
                seq,
                previous,
            } => write!(
                f,
                "line {line}: seq {seq} does not increase (previous {previous})"
            ),
            TraceError::NotStarted { line, node } => {
                write!(f, "line {line}: node {node} steps before its init line")
            }
        }
    }
}

impl std::error::Error for TraceError {}

/// The result of a validation: lines read and every violation found, in line order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {
    /// Step lines checked.
    pub steps: usize,
    /// Violations, in line order.
    pub violations: Vec<Violation>,
}

impl Report {
    /// Whether the trace broke no rule.
    pub fn passed(&self) -> bool {
        self.violations.is_empty()
    }

    /// The first violation of `rule`, if any.
    pub fn first(&self, rule: TraceRule) -> Option<&Violation> {
        self.violations.iter().find(|v| v.rule == rule)
    }
}

/// Checks a trace step by step (feed it lines in file order with [`Validator::check`]).
#[derive(Debug)]
pub struct Validator {
    servers: BTreeMap<u64, ServerTrack>,
    cluster: Cluster,
    last_seq: Option<u64>,
    report: Report,
}

/// Where a finding goes: the validator's report, tagged with the step it was found at.
pub(crate) struct Findings<'a> {
    line: usize,
    seq: u64,
    node: u64,
    out: &'a mut Vec<Violation>,
}

impl Findings<'_> {
    pub(crate) fn report(&mut self, rule: TraceRule, detail: impl Into<String>) {
        self.out.push(Violation {
            line: self.line,
            seq: self.seq,
            node: self.node,
            rule,
            detail: detail.into(),
        });
    }
}

impl Validator {
    /// A validator for the cluster the header describes.
    pub fn new(header: &Header) -> Result<Self, TraceError> {
        if header.format != "raft-trace" {
            return Err(TraceError::BadHeader(format!(
                "format is {:?}, expected \"raft-trace\"",
                header.format
            )));
        }
        if header.version != VERSION {
            return Err(TraceError::BadHeader(format!(
                "version {} is not supported (this validator reads version {VERSION})",
                header.version
            )));
        }
        if header.nodes.is_empty() {
            return Err(TraceError::BadHeader("nodes is empty".to_string()));
        }
        let servers = header
            .nodes
            .iter()
            .map(|&n| (n, ServerTrack::default()))
            .collect::<BTreeMap<_, _>>();
        if servers.len() != header.nodes.len() {
            return Err(TraceError::BadHeader(
                "nodes lists a server twice".to_string(),
            ));
        }
        Ok(Validator {
            cluster: Cluster::new(header.nodes.len()),
            servers,
            last_seq: None,
            report: Report::default(),
        })
    }

    /// Checks one step, read from line `line` of the file. Broken rules go to the report; an
    /// error means the trace cannot be read further.
    pub fn check(&mut self, line: usize, step: &Step) -> Result<(), TraceError> {
        if let Some(previous) = self.last_seq {
            if step.seq <= previous {
                return Err(TraceError::SeqNotIncreasing {
                    line,
                    seq: step.seq,
                    previous,
                });
            }
        }
        self.last_seq = Some(step.seq);
        let Some(server) = self.servers.get_mut(&step.node) else {
            return Err(TraceError::UnknownNode {
                line,
                node: step.node,
            });
        };
        let mut findings = Findings {
            line,
            seq: step.seq,
            node: step.node,
            out: &mut self.report.violations,
        };
        match server.check(step, &mut self.cluster, &mut findings) {
            Ok(()) => {}
            Err(StepShape::NotStarted) => {
                return Err(TraceError::NotStarted {
                    line,
                    node: step.node,
                })
            }
            Err(StepShape::LogGap { from, len }) => {
                return Err(TraceError::Malformed {
                    line,
                    message: format!(
                        "log_from {from} lies past the end of node {}'s log ({len} entries)",
                        step.node
                    ),
                })
            }
        }
        let changed_from = match step.kind {
            Kind::Init | Kind::Restart => 1,
            _ => step.state.log_from.max(1),
        };
        self.cluster
            .observe(step, &server.log, changed_from, &mut findings);
        self.report.steps += 1;
        Ok(())
    }

    /// The report so far.
    pub fn report(&self) -> &Report {
        &self.report
    }

    /// Ends the validation.
    pub fn finish(self) -> Report {
        self.report
    }
}
