//! Static configuration of one node, and the rule switches used to show that the model checker
//! catches a broken protocol.

use crate::ids::NodeId;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::ops::Range;
use std::str::FromStr;
use std::time::Duration;

/// The configuration of one node: who it is, who is in the cluster, and its timer ranges.
///
/// ```
/// use refraft::{Config, NodeId};
/// let config = Config::new(NodeId(1), vec![NodeId(1), NodeId(2), NodeId(3)]).unwrap();
/// assert_eq!(config.quorum(), 2);
/// assert_eq!(config.peers().collect::<Vec<_>>(), vec![NodeId(2), NodeId(3)]);
/// assert!(Config::new(NodeId(9), vec![NodeId(1)]).is_err());
/// ```
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Config {
    id: NodeId,
    members: Vec<NodeId>,
    /// The lower end of the randomized election timeout (§5.2).
    pub election_timeout_min: Duration,
    /// The upper end (exclusive) of the randomized election timeout (§5.2).
    pub election_timeout_max: Duration,
    /// How often a leader sends heartbeats (§5.2); well below the election timeout (§5.6).
    pub heartbeat_interval: Duration,
    /// The most entries one AppendEntries carries.
    pub max_entries_per_append: usize,
    /// The most AppendEntries a leader leaves unanswered per follower in the Replicate state
    /// (dissertation §10.2; raft-rs's `max_inflight_msgs`). In Probe it is one.
    #[serde(default = "default_window")]
    pub max_in_flight_appends: usize,
    /// Dissertation §9.6: a server whose election timer fires first asks the others whether
    /// it would win (a pre-vote), without changing any term; only a majority of pre-votes
    /// starts the real election. On by default.
    #[serde(default = "default_true")]
    pub pre_vote: bool,
    /// Dissertation §6.2 and §4.2.3: a leader that has not heard from a majority within a
    /// quorum-check period steps down (CheckQuorum), and a follower that hears from a current
    /// leader ignores RequestVote and PreVote from others until its election timer fires
    /// (leader stickiness). Off by default; lease reads need it.
    #[serde(default)]
    pub check_quorum: bool,
    /// Dissertation §6.4: how a leader serves reads (`Input::Read`) without log entries.
    #[serde(default)]
    pub read_mode: ReadMode,
    /// Dissertation §6.4.1: the bound on how much faster one server's clock may run than
    /// another's, in percent. The lease (and the quorum-check period) is shortened by it.
    #[serde(default = "default_drift")]
    pub clock_drift_percent: u32,
    /// Dissertation §6.4: "followers may forward a read and serve it locally after learning
    /// the read index". A follower that knows the leader asks it for a read index
    /// (`Message::ReadIndex`) and answers the read itself once it has applied that index; off
    /// by default, when a follower refuses a read with a `NotLeader` hint.
    #[serde(default)]
    pub forward_reads: bool,
    /// What a follower's rejection of an AppendEntries tells the leader, and so how far the
    /// leader backs `next_index` up (§5.3). The default is the end of §5.3's conflict-term hint.
    #[serde(default)]
    pub reject_hint: RejectHint,
    /// A granted vote carries the request's term instead of the voter's (etcd-io/raft answers
    /// a granted MsgVote with the request's term, as this core answers pre-votes). With
    /// Figure 2's RequestVote rule 1 the two are the same term: a grant happens only once the
    /// voter is in the candidate's term. Off by default.
    #[serde(default)]
    pub vote_grant_echoes_term: bool,
    #[cfg(feature = "rule-switches")]
    #[serde(default)]
    broken_rule: Option<Rule>,
}

fn default_true() -> bool {
    true
}

fn default_drift() -> u32 {
    10
}

/// How a leader serves a read-only query (dissertation §6.4).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub enum ReadMode {
    /// §6.4 ReadIndex: record the commit index (once an entry of the leader's term is
    /// committed), confirm leadership with a round of heartbeats acknowledged by a majority,
    /// and answer once `last_applied` has reached the recorded index.
    #[default]
    ReadIndex,
    /// §6.4.1: while the leader's lease holds (a quorum check passed within the last period,
    /// CheckQuorum and stickiness on), answer without the heartbeat round. Relies on bounded
    /// clock drift and timely timers; without a lease a read falls back to ReadIndex.
    Lease,
}

/// What a follower's rejected AppendEntries hints, and so where the leader sends from next
/// (§5.3: "the leader decrements nextIndex and retries"; how far is the implementation's choice).
///
/// ```
/// use refraft::{Config, NodeId, RejectHint};
/// let mut config = Config::new(NodeId(1), vec![NodeId(1), NodeId(2), NodeId(3)]).unwrap();
/// assert_eq!(config.reject_hint, RejectHint::ConflictTerm); // the default
/// config.reject_hint = RejectHint::CommitIndex;
/// assert!(config.validate().is_ok());
/// ```
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub enum RejectHint {
    /// The end of §5.3: the term of the follower's conflicting entry and the first index it
    /// stores for that term (or its last index + 1 when its log is too short), so the leader
    /// skips a whole conflicting term per round trip.
    #[default]
    ConflictTerm,
    /// The follower's commit index + 1. Its log matches every later leader's through its
    /// commit index (Log Matching, Leader Completeness), so the leader's next request there
    /// always fits: one round trip back, then forward, at the price of re-sending the
    /// entries between that index and the conflict. A request sent from there may end before
    /// the follower's stale entries do, which is what Figure 2's
    /// `commitIndex = min(leaderCommit, index of last new entry)` guards
    /// ([`Rule::CommitMinLastNew`]).
    CommitIndex,
}

/// Why a configuration is refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConfigError {
    /// The member list is empty.
    NoMembers,
    /// The node's own id is not among the members.
    NotAMember(NodeId),
    /// An id appears twice among the members.
    DuplicateMember(NodeId),
    /// The election timeout range is empty, or the heartbeat is not shorter than its minimum.
    BadTimers,
    /// `max_entries_per_append` is 0.
    ZeroBatch,
    /// `max_in_flight_appends` is 0.
    ZeroWindow,
    /// Lease reads are configured without CheckQuorum and stickiness (dissertation §6.4.1).
    LeaseNeedsCheckQuorum,
}

fn default_window() -> usize {
    16
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::NoMembers => write!(f, "the cluster has no members"),
            ConfigError::NotAMember(id) => write!(f, "{id} is not a member of the cluster"),
            ConfigError::DuplicateMember(id) => write!(f, "{id} is listed twice"),
            ConfigError::BadTimers => write!(
                f,
                "the election timeout range is empty or not longer than the heartbeat interval"
            ),
            ConfigError::ZeroBatch => write!(f, "max_entries_per_append must be at least 1"),
            ConfigError::ZeroWindow => write!(f, "max_in_flight_appends must be at least 1"),
            ConfigError::LeaseNeedsCheckQuorum => {
                write!(
                    f,
                    "lease reads need check_quorum (CheckQuorum and stickiness)"
                )
            }
        }
    }
}

impl std::error::Error for ConfigError {}

impl Config {
    /// A configuration for node `id` in a cluster of `members` (which must include `id`), with
    /// a 150–300 ms election timeout and a 50 ms heartbeat (§9.3's suggested ranges).
    pub fn new(id: NodeId, mut members: Vec<NodeId>) -> Result<Self, ConfigError> {
        members.sort();
        if members.is_empty() {
            return Err(ConfigError::NoMembers);
        }
        if let Some(w) = members.windows(2).find(|w| w[0] == w[1]) {
            return Err(ConfigError::DuplicateMember(w[0]));
        }
        if members.binary_search(&id).is_err() {
            return Err(ConfigError::NotAMember(id));
        }
        Ok(Config {
            id,
            members,
            election_timeout_min: Duration::from_millis(150),
            election_timeout_max: Duration::from_millis(300),
            heartbeat_interval: Duration::from_millis(50),
            max_entries_per_append: 64,
            max_in_flight_appends: default_window(),
            pre_vote: true,
            check_quorum: false,
            read_mode: ReadMode::ReadIndex,
            clock_drift_percent: default_drift(),
            forward_reads: false,
            reject_hint: RejectHint::ConflictTerm,
            vote_grant_echoes_term: false,
            #[cfg(feature = "rule-switches")]
            broken_rule: None,
        })
    }

    /// Checks the timer and batch settings after they were changed by hand.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.election_timeout_min >= self.election_timeout_max
            || self.heartbeat_interval >= self.election_timeout_min
        {
            return Err(ConfigError::BadTimers);
        }
        if self.max_entries_per_append == 0 {
            return Err(ConfigError::ZeroBatch);
        }
        if self.max_in_flight_appends == 0 {
            return Err(ConfigError::ZeroWindow);
        }
        if self.read_mode == ReadMode::Lease && !self.check_quorum {
            return Err(ConfigError::LeaseNeedsCheckQuorum);
        }
        Ok(())
    }

    /// This node's id.
    pub fn id(&self) -> NodeId {
        self.id
    }

    /// All members, this node included, in id order.
    pub fn members(&self) -> &[NodeId] {
        &self.members
    }

    /// The other members.
    pub fn peers(&self) -> impl Iterator<Item = NodeId> + '_ {
        self.members.iter().copied().filter(move |&m| m != self.id)
    }

    /// Whether `id` is another member of the cluster.
    pub fn is_peer(&self, id: NodeId) -> bool {
        id != self.id && self.members.binary_search(&id).is_ok()
    }

    /// The size of a majority of the members (§5.2).
    pub fn quorum(&self) -> usize {
        self.members.len() / 2 + 1
    }

    /// The election timeout range, for `Effect::SetTimer`.
    pub fn election_timeout(&self) -> Range<Duration> {
        self.election_timeout_min..self.election_timeout_max
    }

    /// The heartbeat delay as a one-point range, for `Effect::SetTimer`.
    pub fn heartbeat(&self) -> Range<Duration> {
        self.heartbeat_interval..self.heartbeat_interval + Duration::from_nanos(1)
    }

    /// The quorum-check period of CheckQuorum, which is also how long one passed check keeps
    /// a lease (dissertation §6.2, §6.4.1): half the minimum election timeout, divided by the
    /// clock-drift bound. A check passes when a majority acknowledged a heartbeat round sent
    /// at or after the previous check, so those followers heard from the leader at most two
    /// periods before the next check, and none of them can time out (and vote) before it.
    ///
    /// ```
    /// use refraft::{Config, NodeId};
    /// use std::time::Duration;
    /// let config = Config::new(NodeId(1), vec![NodeId(1)]).unwrap();
    /// // 150 ms / 2 / 1.10
    /// assert_eq!(config.quorum_check_period(), Duration::from_nanos(68_181_818));
    /// ```
    pub fn quorum_check_period(&self) -> Duration {
        self.election_timeout_min * 100 / (2 * (100 + self.clock_drift_percent))
    }

    /// The quorum-check delay as a one-point range, for `Effect::SetTimer`.
    pub fn quorum_check(&self) -> Range<Duration> {
        let p = self.quorum_check_period();
        p..p + Duration::from_nanos(1)
    }

    /// The same configuration with every node id passed through `f` (for symmetry reduction).
    pub fn map_node_ids(&self, f: impl Fn(NodeId) -> NodeId) -> Self {
        let mut c = self.clone();
        c.id = f(c.id);
        c.members = c.members.iter().map(|&m| f(m)).collect();
        c.members.sort();
        c
    }

    /// Whether the node follows `rule`. Always true unless the `rule-switches` feature is on
    /// and this rule was switched off; without the feature this is a constant.
    #[inline(always)]
    pub fn keeps(&self, rule: Rule) -> bool {
        #[cfg(feature = "rule-switches")]
        {
            self.broken_rule != Some(rule)
        }
        #[cfg(not(feature = "rule-switches"))]
        {
            let _ = rule;
            true
        }
    }

    /// Switches one protocol rule off, to show that the model checker then finds the violation
    /// that the rule prevents. Only with the `rule-switches` feature.
    #[cfg(feature = "rule-switches")]
    pub fn with_broken_rule(mut self, rule: Option<Rule>) -> Self {
        self.broken_rule = rule;
        self
    }

    /// The rule switched off, if any.
    #[cfg(feature = "rule-switches")]
    pub fn broken_rule(&self) -> Option<Rule> {
        self.broken_rule
    }
}

/// A protocol rule that the `rule-switches` feature can switch off, one at a time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Rule {
    /// Figure 2: `voted_for` is made durable before the vote is granted. Broken, a voter that
    /// restarts forgets its vote and can vote twice in one term.
    PersistVote,
    /// §5.2: a server votes for at most one candidate in a term.
    VoteOncePerTerm,
    /// §5.4.1: a vote goes only to a candidate whose log is at least as up-to-date.
    ElectionRestriction,
    /// §5.4.2: a leader commits by counting replicas only entries of its current term.
    CurrentTermCommit,
    /// §5.3: a follower truncates its log only at the first conflicting entry.
    TruncateOnlyOnConflict,
    /// Figure 2: a follower sets `commit_index = min(leader_commit, index of last new entry)`.
    CommitMinLastNew,
    /// Dissertation §10.2: a rejection sends the leader back to probing one AppendEntries at a
    /// time, forgetting the window sent from the failed guess.
    ProbeOnReject,
    /// Dissertation §10.2: an optimistic send moves `next_index` just past the entries sent,
    /// never past the leader's last index + 1.
    NextIndexBound,
    /// Dissertation §6.4 step 3: a read is served only after a heartbeat round acknowledged by
    /// a majority confirms that the leader still leads. Broken, a deposed leader serves stale
    /// reads.
    ReadIndexQuorumRound,
    /// Dissertation §6.4 step 1: the read index is taken only after the leader has committed an
    /// entry of its own term. Broken, a new leader serves reads from a commit index that misses
    /// entries committed by its predecessor.
    ReadAfterOwnTermCommit,
    /// Dissertation §4.2.3, §6.4.1: a follower that hears from a current leader ignores
    /// RequestVote and PreVote until its election timer fires (stickiness). Broken, followers
    /// still vote, so a new leader is elected while the old one's lease holds.
    LeaseNeedsStickiness,
    /// Dissertation §9.6: a pre-vote leaves the voter's term and vote unchanged. Broken, the
    /// voter adopts the pre-vote's term, so a server that cannot win still disrupts.
    PreVoteKeepsTerm,
    /// Dissertation §6.2: a leader that hears from no majority within a quorum-check period
    /// steps down (and its lease ends). Broken, it keeps leading and serving lease reads.
    CheckQuorum,
    /// Figure 2, RequestVote 1: reply false if the request's term is below `current_term`.
    VoteStaleTerm,
    /// §5.4.1: "up-to-date" compares the terms of the last entries first, and the lengths only
    /// when those are equal. Broken, the longer log wins whatever its last term.
    UpToDateTermFirst,
    /// Figure 2, AppendEntries 1: reply false if the request's term is below `current_term`.
    AppendStaleTerm,
    /// Figure 2, AppendEntries 2: the consistency check compares the term at `prev_log_index`
    /// with `prev_log_term`, not only that an entry exists there.
    PrevLogTermCheck,
    /// Figure 2, all servers (§5.1): a server that sees a higher term in any message, request
    /// or response, adopts it and becomes a follower.
    AdoptHigherTerm,
    /// Figure 2, all servers: only committed entries are applied (`last_applied <= commit_index`),
    /// in index order.
    ApplyOnlyCommitted,
    /// §5.2: a candidate counts only votes granted in its current term.
    CurrentTermVotes,
    /// Figure 2, leaders (§5.3): `match_index` is set from the range the follower acknowledged,
    /// not from what the leader holds or sent later.
    MatchIndexFromAck,
    /// Figure 2: a newly adopted `current_term` reaches the disk before any message reveals it.
    PersistTerm,
    /// Figure 2: entries a follower accepts reach the disk before it acknowledges them.
    PersistEntries,
    /// §8: a leader answers a client only after applying its command (so only once committed).
    ReplyAfterApply,
    /// Dissertation §6.3: a retried request (same client, same serial) is applied once.
    ApplyOnce,
    /// Dissertation §6.4: a follower serves a forwarded read "locally after learning the read
    /// index" only once its own `last_applied` has reached that index. Broken, a lagging
    /// follower answers from a state machine that misses acknowledged writes: a stale read.
    ForwardedReadAfterApply,
    /// Dissertation §9.6: the real election starts only after a majority of pre-votes. Broken,
    /// a pre-candidate stands at once without waiting for them (the behaviour without PreVote),
    /// so a server that cannot win, cut off from the leader's rounds, still raises the term and
    /// deposes a leader that a majority hears from.
    PreVoteMajority,
}

impl Rule {
    /// Every rule, in a fixed order.
    pub const ALL: &'static [Rule] = &[
        Rule::PersistVote,
        Rule::VoteOncePerTerm,
        Rule::ElectionRestriction,
        Rule::CurrentTermCommit,
        Rule::TruncateOnlyOnConflict,
        Rule::CommitMinLastNew,
        Rule::ProbeOnReject,
        Rule::NextIndexBound,
        Rule::ReadIndexQuorumRound,
        Rule::ReadAfterOwnTermCommit,
        Rule::LeaseNeedsStickiness,
        Rule::PreVoteKeepsTerm,
        Rule::CheckQuorum,
        Rule::VoteStaleTerm,
        Rule::UpToDateTermFirst,
        Rule::AppendStaleTerm,
        Rule::PrevLogTermCheck,
        Rule::AdoptHigherTerm,
        Rule::ApplyOnlyCommitted,
        Rule::CurrentTermVotes,
        Rule::MatchIndexFromAck,
        Rule::PersistTerm,
        Rule::PersistEntries,
        Rule::ReplyAfterApply,
        Rule::ApplyOnce,
        Rule::ForwardedReadAfterApply,
        Rule::PreVoteMajority,
    ];

    /// The rule's name on a command line.
    pub fn name(self) -> &'static str {
        match self {
            Rule::PersistVote => "persist-vote",
            Rule::VoteOncePerTerm => "vote-once",
            Rule::ElectionRestriction => "election-restriction",
            Rule::CurrentTermCommit => "current-term-commit",
            Rule::TruncateOnlyOnConflict => "truncate-only-on-conflict",
            Rule::CommitMinLastNew => "commit-min-last-new",
            Rule::ProbeOnReject => "probe-on-reject",
            Rule::NextIndexBound => "next-index-bound",
            Rule::ReadIndexQuorumRound => "read-index-quorum-round",
            Rule::ReadAfterOwnTermCommit => "read-after-own-term-commit",
            Rule::LeaseNeedsStickiness => "lease-needs-stickiness",
            Rule::PreVoteKeepsTerm => "prevote-keeps-term",
            Rule::CheckQuorum => "check-quorum",
            Rule::VoteStaleTerm => "vote-stale-term",
            Rule::UpToDateTermFirst => "up-to-date-term-first",
            Rule::AppendStaleTerm => "append-stale-term",
            Rule::PrevLogTermCheck => "prev-log-term",
            Rule::AdoptHigherTerm => "adopt-higher-term",
            Rule::ApplyOnlyCommitted => "apply-only-committed",
            Rule::CurrentTermVotes => "current-term-votes",
            Rule::MatchIndexFromAck => "match-index-from-ack",
            Rule::PersistTerm => "persist-term",
            Rule::PersistEntries => "persist-entries",
            Rule::ReplyAfterApply => "reply-after-apply",
            Rule::ApplyOnce => "apply-once",
            Rule::ForwardedReadAfterApply => "forwarded-read-after-apply",
            Rule::PreVoteMajority => "pre-vote-majority",
        }
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A rule name that is not one of [`Rule::ALL`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownRule(pub String);

impl fmt::Display for UnknownRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<_> = Rule::ALL.iter().map(|r| r.name()).collect();
        write!(f, "unknown rule {:?}; known: {}", self.0, names.join(", "))
    }
}

impl std::error::Error for UnknownRule {}

impl FromStr for Rule {
    type Err = UnknownRule;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Rule::ALL
            .iter()
            .copied()
            .find(|r| r.name() == s)
            .ok_or_else(|| UnknownRule(s.to_string()))
    }
}
