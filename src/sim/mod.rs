//! A deterministic, seeded, in-process cluster simulator.
//!
//! [`Simulation`] drives N copies of the core ([`Node`]`<`[`KvStore`]`>`) with a virtual clock,
//! a network that delays, drops, duplicates, reorders and partitions messages
//! ([`NetworkConfig`]), crashes and restarts (only the [`DurableState`] that the node's persist
//! effects wrote survives a restart), and clients that follow `NotLeader` hints and retry with
//! the same serial (dissertation §6.3). After every step it checks the safety properties of
//! Figure 3 ([`SafetyChecker`]); the first violation stops the run with a [`SimError`] that names
//! the seed. Everything random comes from one [`SimRng`] seeded by the caller, so the same seed
//! replays the same run, event for event.
//!
//! ```
//! use refraft::sim::{SimConfig, Simulation};
//! use std::time::Duration;
//! let mut sim = Simulation::new(SimConfig::new(3, 42));
//! let leader = sim.check_one_leader().unwrap();
//! let index = sim.commit_command("SET x=1".parse().unwrap(), Duration::from_secs(2)).unwrap();
//! assert!(index >= 2); // after the leader's no-op
//! sim.run_for(Duration::from_millis(200)).unwrap();
//! assert_eq!(sim.applied_count(index), 3);
//! assert!(sim.node(leader).is_some());
//! ```
//!
//! The simulator is generic over the implementation it drives: [`SimNode`] (`adapter.rs`) is
//! the seam, refraft's `Node<KvStore>` sits behind it (`refraft_node.rs`), and so can another
//! sans-IO Raft (the crate `refraft-compare` puts raft-rs there).
//!
//! This module is a driver of the core, not part of it: the core holds no random numbers and no
//! clocks; the simulator draws the randomized election timeouts of §5.2 from the ranges that
//! `Effect::SetTimer` names.

mod adapter;
mod checker;
mod checks;
mod churn;
mod clients;
mod driver;
mod faults;
mod features;
mod flow;
mod inspect;
mod network;
mod refraft_node;
mod rng;
mod seeds;
mod step;
mod timers;
mod tracing;

pub use adapter::{MessageStats, SimEffect, SimNode, MAX_TIMERS};
pub use checker::SafetyChecker;
pub use churn::churn;
pub use features::ReadAnswer;
pub use network::NetworkConfig;
pub use rng::SimRng;
pub use seeds::{run_seeds, seed_count};

use crate::config::Config;
use crate::durable::DurableState;
use crate::ids::{ClientId, NodeId};
use crate::kv::{KvCommand, KvStore};
use crate::node::Node;
use clients::ClientState;
use driver::Scheduled;
use network::Links;
use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap, VecDeque};
use std::fmt;
use std::time::Duration;

/// How to build a simulation.
///
/// ```
/// use refraft::sim::{NetworkConfig, SimConfig};
/// let config = SimConfig::new(5, 7).network(NetworkConfig::unreliable());
/// assert_eq!((config.nodes, config.seed), (5, 7));
/// ```
#[derive(Clone, Debug)]
pub struct SimConfig {
    /// How many servers (ids `1..=nodes`).
    pub nodes: u64,
    /// The seed of every random choice.
    pub seed: u64,
    /// The network's behaviour.
    pub network: NetworkConfig,
    /// When true, timers never fire on their own: only [`Simulation::fire_timer`] fires them
    /// (the style of etcd-io/raft's network tests).
    pub manual_timers: bool,
    /// The most entries one AppendEntries carries.
    pub max_entries_per_append: usize,
    /// How long a client waits for an answer before it tries another server.
    pub client_timeout: Duration,
    /// A protocol rule every server breaks (to show that the checks catch it). Only with the
    /// `rule-switches` feature.
    #[cfg(feature = "rule-switches")]
    pub broken_rule: Option<crate::config::Rule>,
    /// `Config::max_in_flight_appends` of every server: the pipelining window (dissertation
    /// §10.2; the core's default unless set).
    pub max_in_flight_appends: usize,
    /// `Config::pre_vote` of every server (on by default, as in the core).
    pub pre_vote: bool,
    /// `Config::check_quorum` of every server.
    pub check_quorum: bool,
    /// `Config::read_mode` of every server.
    pub read_mode: crate::config::ReadMode,
    /// Whether to record a trace of every step (`spec/TRACE.md`, [`SimConfig::traced`]).
    pub trace: bool,
    /// `Config::forward_reads` of every server (dissertation §6.4).
    pub forward_reads: bool,
}

impl SimConfig {
    /// `nodes` servers on a reliable network, timers firing on their own.
    pub fn new(nodes: u64, seed: u64) -> Self {
        SimConfig {
            nodes,
            seed,
            network: NetworkConfig::reliable(),
            manual_timers: false,
            max_entries_per_append: 64,
            client_timeout: Duration::from_millis(500),
            #[cfg(feature = "rule-switches")]
            broken_rule: None,
            max_in_flight_appends: Config::new(NodeId(1), vec![NodeId(1)])
                .expect("a one-server configuration is valid")
                .max_in_flight_appends,
            pre_vote: true,
            check_quorum: false,
            read_mode: crate::config::ReadMode::ReadIndex,
            trace: false,
            forward_reads: false,
        }
    }

    /// The same configuration with `network`.
    pub fn network(mut self, network: NetworkConfig) -> Self {
        self.network = network;
        self
    }

    /// The same configuration with timers fired only by hand.
    pub fn manual_timers(mut self) -> Self {
        self.manual_timers = true;
        self
    }
}

/// A failed run: a safety violation or a scenario's failed expectation, with the seed that
/// replays it and the last events before it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SimError {
    /// The seed of the run.
    pub seed: u64,
    /// Virtual time of the failure.
    pub at: Duration,
    /// What went wrong.
    pub message: String,
    /// The last events before the failure, oldest first.
    pub trace: Vec<String>,
}

impl fmt::Display for SimError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "seed {} failed at {:?} (virtual): {}",
            self.seed, self.at, self.message
        )?;
        writeln!(f, "replay with SIM_SEED={}", self.seed)?;
        if !self.trace.is_empty() {
            writeln!(f, "last events:")?;
            for t in &self.trace {
                writeln!(f, "  {t}")?;
            }
        }
        Ok(())
    }
}

impl std::error::Error for SimError {}

/// Counters of a run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Events processed (deliveries, timer firings, client retries).
    pub events: u64,
    /// Messages handed to the network.
    pub messages_sent: u64,
    /// RequestVote and AppendEntries messages handed to the network (RPCs, as 6.824 counts them).
    pub requests_sent: u64,
    /// Messages lost to partitions, crashes or the unreliable network.
    pub messages_dropped: u64,
    /// Command bytes carried by AppendEntries messages (key and value lengths).
    pub command_bytes_sent: u64,
    /// Entries carried by AppendEntries messages (network duplicates not counted).
    pub entries_sent: u64,
}

struct Server<N: SimNode> {
    id: NodeId,
    node: Option<N>,
    disk: N::Disk,
    incarnation: u64,
    timer_generation: [u64; MAX_TIMERS],
    timer_armed: [bool; MAX_TIMERS],
}

/// The simulated cluster of servers of one implementation `N` (refraft's own by default). See
/// the [module documentation](self) for an example, and [`SimNode`] for other implementations.
pub struct Simulation<N: SimNode = Node<KvStore>> {
    seed: u64,
    rng: SimRng,
    now: Duration,
    seq: u64,
    queue: BinaryHeap<Reverse<Scheduled<N>>>,
    servers: Vec<Server<N>>,
    links: Links,
    disconnected: BTreeSet<NodeId>,
    network: NetworkConfig,
    manual_timers: bool,
    max_entries_per_append: usize,
    client_timeout: Duration,
    #[cfg(feature = "rule-switches")]
    broken_rule: Option<crate::config::Rule>,
    features: features::Features,
    checker: SafetyChecker<N>,
    clients: BTreeMap<ClientId, ClientState>,
    next_oneshot_client: u64,
    stats: Stats,
    trace: VecDeque<(Duration, String)>,
    trace_on: bool,
    tracer: Option<tracing::SimTracer>,
}

const TRACE_LEN: usize = 40;
/// One-shot requests ([`Simulation::start`]) use client ids from here on.
const ONESHOT_CLIENTS: u64 = 1 << 40;

impl Simulation {
    /// Builds a cluster of refraft servers, each starting from empty durable state.
    ///
    /// # Panics
    /// If `config.nodes` is 0.
    pub fn new(config: SimConfig) -> Self {
        Self::boot(config).expect("an empty durable state is valid")
    }

    /// Builds the cluster with server `i + 1` starting from `disks[i]` (the etcd-io/raft style
    /// of setting up logs and votes before a scenario). Fails if a disk is inconsistent.
    ///
    /// ```
    /// use refraft::sim::{SimConfig, Simulation};
    /// use refraft::{DurableState, Entry, Log, NodeId};
    /// let mut disk = DurableState::default();
    /// disk.current_term = 2;
    /// disk.log = Log::from_entries(vec![Entry::noop(1), Entry::noop(2)]);
    /// let sim = Simulation::from_disks(SimConfig::new(2, 0), vec![disk, DurableState::default()]).unwrap();
    /// assert_eq!(sim.node(NodeId(1)).unwrap().log().last_index(), 2);
    /// ```
    ///
    /// # Panics
    /// If `config.nodes` is 0 or differs from the number of disks.
    pub fn from_disks(
        config: SimConfig,
        disks: Vec<DurableState<KvCommand>>,
    ) -> Result<Self, SimError> {
        Self::boot_from(config, disks)
    }
}

impl<N: SimNode> Simulation<N> {
    /// Builds a cluster of `N` servers, each starting from an empty disk
    /// (`Simulation::<MyRaft>::boot(config)`; [`Simulation::new`] for refraft's own).
    ///
    /// ```
    /// use refraft::sim::{SimConfig, Simulation};
    /// use refraft::{KvStore, Node};
    /// let mut sim = Simulation::<Node<KvStore>>::boot(SimConfig::new(3, 5)).unwrap();
    /// assert!(sim.check_one_leader().is_ok());
    /// ```
    ///
    /// # Panics
    /// If `config.nodes` is 0.
    pub fn boot(config: SimConfig) -> Result<Self, SimError> {
        let n = config.nodes as usize;
        Self::boot_from(config, vec![N::Disk::default(); n])
    }

    /// Builds a cluster of `N` servers, server `i + 1` starting from `disks[i]`.
    ///
    /// # Panics
    /// If `config.nodes` is 0 or differs from the number of disks.
    pub fn boot_from(config: SimConfig, disks: Vec<N::Disk>) -> Result<Self, SimError> {
        assert!(config.nodes > 0, "a cluster needs at least one server");
        assert_eq!(config.nodes as usize, disks.len(), "one disk per server");
        let features = features::Features::new(&config);
        let mut sim = Simulation {
            seed: config.seed,
            rng: SimRng::new(config.seed),
            now: Duration::ZERO,
            seq: 0,
            queue: BinaryHeap::new(),
            servers: disks
                .into_iter()
                .enumerate()
                .map(|(i, disk)| Server {
                    id: NodeId(i as u64 + 1),
                    node: None,
                    disk,
                    incarnation: 0,
                    timer_generation: [0; MAX_TIMERS],
                    timer_armed: [false; MAX_TIMERS],
                })
                .collect(),
            links: Links::default(),
            disconnected: BTreeSet::new(),
            network: config.network,
            manual_timers: config.manual_timers,
            max_entries_per_append: config.max_entries_per_append,
            client_timeout: config.client_timeout,
            #[cfg(feature = "rule-switches")]
            broken_rule: config.broken_rule,
            features,
            checker: SafetyChecker::default(),
            clients: BTreeMap::new(),
            next_oneshot_client: ONESHOT_CLIENTS,
            stats: Stats::default(),
            trace: VecDeque::new(),
            trace_on: true,
            tracer: config.trace.then(tracing::SimTracer::default),
        };
        for i in 0..sim.servers.len() {
            sim.boot_server(i)?;
            // The initial logs count as stored: Log Matching is checked against them.
            let node = sim.servers[i].node.as_ref().expect("booted");
            if let Err(e) = sim.checker.check_node(node, Some(1)) {
                return Err(sim.fail(e));
            }
        }
        Ok(sim)
    }
}
