//! The bounds and switches of one model-checking run. Every field is a CLI flag of `check`,
//! `explore` and `simulate`.

use refraft::Rule;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// How the network treats messages (stateright's three network kinds).
// Serialized by its command-line name (see `spelling`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NetworkKind {
    /// Any message may be delivered at any time, any number of times: reordering and
    /// duplication. A message is never removed (stateright's `UnorderedDuplicating`).
    Duplicating,
    /// Any message may be delivered at any time, once (a multiset; reordering only).
    Reordering,
    /// Messages between one pair of actors arrive in the order sent, once (FIFO per channel).
    Ordered,
}

impl NetworkKind {
    /// The flag values, in order.
    pub const ALL: [NetworkKind; 3] = [
        NetworkKind::Duplicating,
        NetworkKind::Reordering,
        NetworkKind::Ordered,
    ];

    /// The name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            NetworkKind::Duplicating => "duplicating",
            NetworkKind::Reordering => "reordering",
            NetworkKind::Ordered => "ordered",
        }
    }
}

impl fmt::Display for NetworkKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for NetworkKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        NetworkKind::ALL
            .into_iter()
            .find(|k| k.name() == s)
            .ok_or_else(|| {
                format!("unknown network {s:?}; known: duplicating, reordering, ordered")
            })
    }
}

/// One configuration of the model.
///
/// ```
/// use refraft_model::Settings;
/// let s = Settings::default();
/// assert_eq!((s.servers, s.clients, s.max_crashes), (3, 0, 1));
/// assert!(s.validate().is_ok());
/// assert!(Settings { servers: 0, ..Settings::default() }.validate().is_err());
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Settings {
    /// Number of Raft servers (1 to 5).
    pub servers: usize,
    /// Number of client actors (0 to 2).
    pub clients: usize,
    /// Requests each client makes, one after another (`SET x=<client>`, `DEL x`, `GET x`, ...).
    pub requests: usize,
    /// States in which some server's `current_term` exceeds this are not explored.
    pub max_term: u64,
    /// How many servers may be down at the same moment (stateright's `max_crashes`). A
    /// crashed server restarts from its durable state; crashes and restarts repeat freely.
    pub max_crashes: usize,
    /// How the network treats messages.
    pub network: NetworkKind,
    /// Whether the network may also lose any message (stateright's `lossy_network`).
    /// Partitions are a pattern of losses, so a lossy network covers them.
    pub lossy: bool,
    /// States with more messages in flight are not explored (on the duplicating network: more
    /// distinct messages sent). `None`: no bound.
    pub max_in_flight: Option<usize>,
    /// The most entries one AppendEntries carries (`Config::max_entries_per_append`).
    pub max_entries: usize,
    /// The most AppendEntries a leader leaves unanswered per follower in the Replicate state
    /// (`Config::max_in_flight_appends`, dissertation §10.2).
    #[serde(default = "default_window")]
    pub window: usize,
    /// States in which servers have restarted more often than this in total are not explored.
    /// `None`: crashes and restarts repeat freely (within `max_crashes` down at once).
    pub max_restarts: Option<usize>,
    /// Whether leaders send periodic heartbeats (§5.2). Off (the default), a leader still sends
    /// AppendEntries when it is elected, when a client request arrives and when a follower
    /// answers; on a duplicating network every message can be delivered again anyway. On, each
    /// heartbeat is a new message that multiplies the state space several times.
    pub heartbeats: bool,
    /// States in which more elections have been started in total (candidacies summed over all
    /// servers) are not explored. `None`: only `max_term` bounds elections.
    pub max_elections: Option<usize>,
    /// Orderly elections: an election timeout fires only while no live server leads and no
    /// other server is a candidate, so elections happen one at a time and a leader is replaced
    /// only after it crashes. Fewer behaviours, for reaching deep scenarios (Figure 8).
    pub orderly_elections: bool,
    /// Whether clients retry on a timer (to another server) besides following redirects.
    pub client_retry: bool,
    /// The "stable" scheduler for liveness: no crashes, no heartbeats, no client retries, and an
    /// election timeout fires only while no leader exists and no other server is a candidate.
    /// With `lossy` on as well, liveness fails (a lost message is never re-sent): the check
    /// shows it can fail.
    pub stable: bool,
    /// A protocol rule switched off, to show that the checker finds what it guards.
    #[serde(with = "crate::spelling::rule")]
    pub broken_rule: Option<Rule>,
    /// PreVote (dissertation §9.6, `Config::pre_vote`). Off in the model unless asked for, so
    /// that the configurations measured without it keep their state counts.
    #[serde(default)]
    pub pre_vote: bool,
    /// CheckQuorum and leader stickiness (dissertation §6.2, §4.2.3, `Config::check_quorum`).
    #[serde(default)]
    pub check_quorum: bool,
    /// How clients' `GET`s are answered: through the log (the default), or as reads without
    /// log entries by ReadIndex or by lease (dissertation §6.4).
    #[serde(default)]
    pub reads: Reads,
    /// States in which a leader has sent more heartbeat rounds (ReadIndex, CheckQuorum) in its
    /// term than this are not explored.
    #[serde(default = "default_rounds")]
    pub max_rounds: u64,
    /// Followers forward reads to the leader and serve them at its read index (dissertation
    /// §6.4, `Config::forward_reads`); with `reads` read-index or lease.
    #[serde(default)]
    pub forward_reads: bool,
    /// Leadership transfers (dissertation §3.10): a new leader may be asked, once in its term,
    /// to hand leadership to any one follower; states in which more transfers were asked for
    /// in total are not explored. 0: none.
    #[serde(default)]
    pub transfers: usize,
    /// How far a rejected AppendEntries backs the leader up (`Config::reject_hint`, §5.3): to
    /// the follower's conflict-term hint (the default) or to its commit index + 1.
    #[serde(default)]
    pub backoff: Backoff,
    /// A granted vote carries the request's term, not the voter's
    /// (`Config::vote_grant_echoes_term`, etcd-io/raft's choice).
    #[serde(default)]
    pub echo_vote_term: bool,
}

fn default_rounds() -> u64 {
    3
}

/// How the model's `GET`s are answered.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Reads {
    /// As log entries, like writes.
    #[default]
    Log,
    /// As reads (`Input::Read`) confirmed by a heartbeat round (dissertation §6.4).
    ReadIndex,
    /// As reads served under the leader's lease (§6.4.1); needs CheckQuorum.
    Lease,
}

impl Reads {
    /// The flag values, in order.
    pub const ALL: [Reads; 3] = [Reads::Log, Reads::ReadIndex, Reads::Lease];

    /// The name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Reads::Log => "log",
            Reads::ReadIndex => "read-index",
            Reads::Lease => "lease",
        }
    }

    /// Whether `GET`s are reads without log entries.
    pub fn without_log(self) -> bool {
        self != Reads::Log
    }
}

impl fmt::Display for Reads {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Reads {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Reads::ALL
            .into_iter()
            .find(|k| k.name() == s)
            .ok_or_else(|| format!("unknown read mode {s:?}; known: log, read-index, lease"))
    }
}

/// How far a rejected AppendEntries backs the leader up (`refraft::RejectHint`, §5.3).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Backoff {
    /// To the follower's conflict-term hint (the end of §5.3; `RejectHint::ConflictTerm`).
    #[default]
    ConflictTerm,
    /// To the follower's commit index + 1 (`RejectHint::CommitIndex`): one round trip back,
    /// then forward.
    Commit,
}

impl Backoff {
    /// The flag values, in order.
    pub const ALL: [Backoff; 2] = [Backoff::ConflictTerm, Backoff::Commit];

    /// The name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Backoff::ConflictTerm => "conflict-term",
            Backoff::Commit => "commit",
        }
    }

    /// The core's setting.
    pub fn reject_hint(self) -> refraft::RejectHint {
        match self {
            Backoff::ConflictTerm => refraft::RejectHint::ConflictTerm,
            Backoff::Commit => refraft::RejectHint::CommitIndex,
        }
    }
}

impl fmt::Display for Backoff {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Backoff {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Backoff::ALL
            .into_iter()
            .find(|k| k.name() == s)
            .ok_or_else(|| format!("unknown backoff {s:?}; known: conflict-term, commit"))
    }
}

/// Two AppendEntries in flight per follower: the smallest window in which requests overtake
/// each other.
fn default_window() -> usize {
    2
}

impl Default for Settings {
    /// The default configuration: three servers, one of them down at a time and restarted
    /// once, two elections (so a leader of a later term can replace the first), no clients.
    /// Explored to full closure by `refraft-model check`.
    fn default() -> Self {
        Settings {
            servers: 3,
            clients: 0,
            requests: 1,
            max_term: 2,
            max_crashes: 1,
            network: NetworkKind::Duplicating,
            lossy: false,
            max_in_flight: None,
            max_entries: 64,
            window: default_window(),
            max_restarts: Some(1),
            heartbeats: false,
            max_elections: Some(2),
            orderly_elections: false,
            client_retry: false,
            stable: false,
            broken_rule: None,
            pre_vote: false,
            check_quorum: false,
            reads: Reads::Log,
            max_rounds: default_rounds(),
            forward_reads: false,
            transfers: 0,
            backoff: Backoff::ConflictTerm,
            echo_vote_term: false,
        }
    }
}

impl Settings {
    /// Checks the bounds the model supports.
    pub fn validate(&self) -> Result<(), String> {
        if !(1..=5).contains(&self.servers) {
            return Err(format!("servers must be 1 to 5, not {}", self.servers));
        }
        if self.clients > 2 {
            return Err(format!("clients must be 0 to 2, not {}", self.clients));
        }
        if self.max_term == 0 {
            return Err("max-term must be at least 1 (no leader exists in term 0)".into());
        }
        if self.max_entries == 0 {
            return Err("max-entries must be at least 1".into());
        }
        if self.window == 0 {
            return Err("window must be at least 1".into());
        }
        if self.max_crashes > self.servers {
            return Err(format!(
                "max-crashes ({}) exceeds the number of servers ({})",
                self.max_crashes, self.servers
            ));
        }
        let unbounded_sends = self.heartbeats || (self.client_retry && self.clients > 0);
        if self.network != NetworkKind::Duplicating
            && unbounded_sends
            && self.max_in_flight.is_none()
        {
            return Err("heartbeats or client retries on a non-duplicating network send without end: set max-in-flight".into());
        }
        if self.reads == Reads::Lease && !self.check_quorum {
            return Err("lease reads need check-quorum (CheckQuorum and stickiness)".into());
        }
        if self.transfers > 0 && self.servers < 2 {
            return Err("--transfers needs two servers or more".into());
        }
        if self.forward_reads && !self.reads.without_log() {
            return Err("--forward-reads needs --reads read-index or lease".into());
        }
        if self.stable && self.max_crashes > 0 {
            return Err("the stable scheduler allows no crashes".into());
        }
        if self.stable && self.network == NetworkKind::Duplicating {
            return Err("the stable scheduler needs a network that removes delivered messages (reordering or ordered): with duplication no run ever ends".into());
        }
        Ok(())
    }

    /// The settings of the stable (liveness) scheduler derived from these bounds.
    pub fn stable(mut self) -> Self {
        self.stable = true;
        self.max_crashes = 0;
        if self.network == NetworkKind::Duplicating {
            self.network = NetworkKind::Reordering;
        }
        self
    }
}
