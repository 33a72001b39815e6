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
//! This module is a driver of the core, not part of it: the core holds no random numbers and no
//! clocks; the simulator draws the randomized election timeouts of §5.2 from the ranges that
//! `Effect::SetTimer` names.

mod checker;
mod churn;
mod features;
mod flow;
mod network;
mod rng;
mod seeds;
mod tracing;

pub use checker::SafetyChecker;
pub use churn::churn;
pub use features::ReadAnswer;
pub use network::NetworkConfig;
pub use rng::SimRng;
pub use seeds::{run_seeds, seed_count};

use crate::client::{ClientRequest, ClientResponse};
use crate::config::Config;
use crate::durable::DurableState;
use crate::effect::{Effect, Timer};
use crate::error::StepError;
use crate::ids::{ClientId, Index, NodeId, Term};
use crate::kv::{KvCommand, KvOutput, KvStore};
use crate::log::Entry;
use crate::message::Message;
use crate::node::{Input, Node, NodeEffects};
use network::Links;
use std::cmp::{Ordering, Reverse};
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

#[derive(Clone, Debug)]
enum Event {
    Deliver {
        from: NodeId,
        to: NodeId,
        incarnation: u64,
        message: Message<KvCommand>,
        /// The send's id in the trace, when tracing.
        id: Option<crate::trace::MessageId>,
    },
    Timer {
        node: NodeId,
        timer: Timer,
        generation: u64,
    },
    ClientRetry {
        client: ClientId,
        attempt: u64,
        /// A timeout (try the next server) rather than a redirect (try the chosen one).
        next_server: bool,
    },
}

struct Scheduled {
    at: Duration,
    seq: u64,
    event: Event,
}

impl PartialEq for Scheduled {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}
impl Eq for Scheduled {}
impl PartialOrd for Scheduled {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Scheduled {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.at, self.seq).cmp(&(other.at, other.seq))
    }
}

struct Server {
    id: NodeId,
    node: Option<Node<KvStore>>,
    disk: DurableState<KvCommand>,
    incarnation: u64,
    timer_generation: [u64; TIMERS],
    timer_armed: [bool; TIMERS],
}

const TIMERS: usize = 4;

fn timer_slot(timer: Timer) -> usize {
    match timer {
        Timer::Election => 0,
        Timer::Heartbeat => 1,
        Timer::QuorumCheck => 2,
        Timer::TransferTimeout => 3,
    }
}

#[derive(Clone, Debug)]
struct ClientState {
    serial: u64,
    pending: Option<KvCommand>,
    target: usize,
    attempt: u64,
    answers: BTreeMap<u64, ClientResponse<KvOutput>>,
}

/// The simulated cluster. See the [module documentation](self) for an example.
pub struct Simulation {
    seed: u64,
    rng: SimRng,
    now: Duration,
    seq: u64,
    queue: BinaryHeap<Reverse<Scheduled>>,
    servers: Vec<Server>,
    links: Links,
    disconnected: BTreeSet<NodeId>,
    network: NetworkConfig,
    manual_timers: bool,
    max_entries_per_append: usize,
    client_timeout: Duration,
    #[cfg(feature = "rule-switches")]
    broken_rule: Option<crate::config::Rule>,
    features: features::Features,
    checker: SafetyChecker,
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
    /// Builds the cluster and starts every server from empty durable state.
    ///
    /// # Panics
    /// If `config.nodes` is 0.
    pub fn new(config: SimConfig) -> Self {
        let n = config.nodes as usize;
        Self::from_disks(config, vec![DurableState::default(); n])
            .expect("an empty durable state is valid")
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
                    timer_generation: [0; TIMERS],
                    timer_armed: [false; TIMERS],
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
            sim.boot(i)?;
            // The initial logs count as stored: Log Matching is checked against them.
            let node = sim.servers[i].node.as_ref().expect("booted");
            if let Err(e) = sim.checker.check_node(node, Some(1)) {
                return Err(sim.fail(e));
            }
        }
        Ok(sim)
    }

    // ----- inspection -----

    /// The seed of this run.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// Virtual time since the start.
    pub fn now(&self) -> Duration {
        self.now
    }

    /// All server ids.
    pub fn ids(&self) -> Vec<NodeId> {
        self.servers.iter().map(|s| s.id).collect()
    }

    /// The server `id` if it is up.
    pub fn node(&self, id: NodeId) -> Option<&Node<KvStore>> {
        self.server(id).and_then(|s| s.node.as_ref())
    }

    /// What server `id` has on disk (its persist effects, applied in order).
    pub fn disk(&self, id: NodeId) -> Option<&DurableState<KvCommand>> {
        self.server(id).map(|s| &s.disk)
    }

    /// Whether `id` is up.
    pub fn is_up(&self, id: NodeId) -> bool {
        self.node(id).is_some()
    }

    /// Whether `id` was cut off from every other server by [`Simulation::disconnect`].
    pub fn is_disconnected(&self, id: NodeId) -> bool {
        self.disconnected.contains(&id)
    }

    /// The counters so far.
    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// The safety checker, with everything it remembers of the run.
    pub fn checker(&self) -> &SafetyChecker {
        &self.checker
    }

    /// The servers that are up, not disconnected, and believe they lead.
    pub fn connected_leaders(&self) -> Vec<NodeId> {
        self.servers
            .iter()
            .filter(|s| !self.disconnected.contains(&s.id))
            .filter(|s| s.node.as_ref().is_some_and(|n| n.is_leader()))
            .map(|s| s.id)
            .collect()
    }

    /// How many servers that are up have applied the entry at `index`.
    pub fn applied_count(&self, index: Index) -> usize {
        self.servers
            .iter()
            .filter(|s| s.node.as_ref().is_some_and(|n| n.last_applied() >= index))
            .count()
    }

    /// The entry applied at `index`, if any server applied one.
    pub fn applied_entry(&self, index: Index) -> Option<&Entry<KvCommand>> {
        self.checker.applied().get(&index).map(|(e, _)| e)
    }

    /// The answer a client received for `serial`, if any.
    pub fn client_answer(
        &self,
        client: ClientId,
        serial: u64,
    ) -> Option<&ClientResponse<KvOutput>> {
        self.clients.get(&client)?.answers.get(&serial)
    }

    /// Whether `client` has a request without an answer yet.
    pub fn client_busy(&self, client: ClientId) -> bool {
        self.clients
            .get(&client)
            .is_some_and(|c| c.pending.is_some())
    }

    /// A failure of this run at this time, with the recent trace (for scenario checks).
    pub fn fail(&self, message: impl Into<String>) -> SimError {
        SimError {
            seed: self.seed,
            at: self.now,
            message: message.into(),
            trace: self
                .trace
                .iter()
                .map(|(at, e)| format!("{:>10.3?} {e}", at))
                .collect(),
        }
    }

    /// Switches the event trace kept for failure reports on or off (on by default; off makes
    /// long soak runs a little faster).
    pub fn set_trace(&mut self, on: bool) {
        self.trace_on = on;
        if !on {
            self.trace.clear();
        }
    }

    // ----- faults -----

    /// Replaces the network's behaviour (partitions stay as they are).
    pub fn set_network(&mut self, network: NetworkConfig) {
        self.network = network;
    }

    /// Cuts every link to and from `id` (the 6.824 lab's `disconnect`). Messages in flight on
    /// those links are lost when they arrive.
    pub fn disconnect(&mut self, id: NodeId) {
        self.note(|| format!("disconnect {id}"));
        self.disconnected.insert(id);
        for other in self.ids() {
            self.links.cut(id, other);
            self.links.cut(other, id);
        }
    }

    /// Restores every link of `id` to servers that are not themselves disconnected.
    pub fn connect(&mut self, id: NodeId) {
        self.note(|| format!("connect {id}"));
        self.disconnected.remove(&id);
        for other in self.ids() {
            if !self.disconnected.contains(&other) {
                self.links.restore(id, other);
                self.links.restore(other, id);
            }
        }
    }

    /// Splits the cluster: servers talk only within their group. Servers in no group are cut
    /// off from all.
    pub fn partition(&mut self, groups: &[&[NodeId]]) {
        self.note(|| format!("partition {groups:?}"));
        let group_of = |id: NodeId| groups.iter().position(|g| g.contains(&id));
        self.links.heal();
        self.disconnected.clear();
        for a in self.ids() {
            for b in self.ids() {
                if a != b && (group_of(a).is_none() || group_of(a) != group_of(b)) {
                    self.links.cut(a, b);
                }
            }
            if group_of(a).is_none() {
                self.disconnected.insert(a);
            }
        }
    }

    /// Cuts the one directed link `from → to`.
    pub fn cut_link(&mut self, from: NodeId, to: NodeId) {
        self.note(|| format!("cut {from}->{to}"));
        self.links.cut(from, to);
    }

    /// Restores every link.
    pub fn heal(&mut self) {
        self.note(|| "heal".to_string());
        self.links.heal();
        self.disconnected.clear();
    }

    /// Crashes `id`: its volatile state, timers and undelivered messages are lost; its disk
    /// stays.
    pub fn crash(&mut self, id: NodeId) {
        self.note(|| format!("crash {id}"));
        if let Some(i) = self.position(id) {
            let s = &mut self.servers[i];
            s.node = None;
            s.incarnation += 1;
            s.timer_generation = s.timer_generation.map(|g| g + 1);
            s.timer_armed = [false; TIMERS];
        }
    }

    /// Restarts `id` from its disk alone (crashing it first if it is up).
    pub fn restart(&mut self, id: NodeId) -> Result<(), SimError> {
        self.crash(id);
        self.note(|| format!("restart {id}"));
        match self.position(id) {
            Some(i) => self.boot(i),
            None => Err(self.fail(format!("no server {id}"))),
        }
    }

    // ----- running -----

    /// Runs every event due within `d` of virtual time, then advances the clock by `d`.
    pub fn run_for(&mut self, d: Duration) -> Result<(), SimError> {
        let end = self.now + d;
        while self.queue.peek().is_some_and(|Reverse(e)| e.at <= end) {
            self.step_event()?;
        }
        self.now = end;
        Ok(())
    }

    /// Runs until `done` holds (checked before every event) or `max` of virtual time passed.
    /// Returns whether `done` held.
    pub fn run_until(
        &mut self,
        max: Duration,
        mut done: impl FnMut(&Simulation) -> bool,
    ) -> Result<bool, SimError> {
        let end = self.now + max;
        loop {
            if done(self) {
                return Ok(true);
            }
            if !self.queue.peek().is_some_and(|Reverse(e)| e.at <= end) {
                self.now = end;
                return Ok(done(self));
            }
            self.step_event()?;
        }
    }

    /// Runs until no event is left (with [`SimConfig::manual_timers`]: until every message is
    /// delivered). Fails after a million events.
    pub fn settle(&mut self) -> Result<(), SimError> {
        for _ in 0..1_000_000 {
            if self.queue.is_empty() {
                return Ok(());
            }
            self.step_event()?;
        }
        Err(self.fail("settle: still busy after a million events"))
    }

    /// Processes the next event, if any. Returns whether there was one.
    pub fn step_event(&mut self) -> Result<bool, SimError> {
        let Some(Reverse(scheduled)) = self.queue.pop() else {
            return Ok(false);
        };
        self.now = self.now.max(scheduled.at);
        self.stats.events += 1;
        match scheduled.event {
            Event::Deliver {
                from,
                to,
                incarnation,
                message,
                id,
            } => {
                let Some(i) = self.position(to) else {
                    return Ok(true);
                };
                let up = self.servers[i].node.is_some();
                if !up || self.servers[i].incarnation != incarnation {
                    self.stats.messages_dropped += 1;
                    return Ok(true);
                }
                if !self.links.connected(from, to) {
                    self.stats.messages_dropped += 1;
                    return Ok(true);
                }
                self.note(|| format!("{from}->{to} {}", describe(&message)));
                let result = self.step_node_traced(i, Input::Message { from, message }, id)?;
                self.judge(to, result)?;
            }
            Event::Timer {
                node,
                timer,
                generation,
            } => {
                let Some(i) = self.position(node) else {
                    return Ok(true);
                };
                let s = &self.servers[i];
                if s.node.is_none() || s.timer_generation[timer_slot(timer)] != generation {
                    return Ok(true);
                }
                self.servers[i].timer_armed[timer_slot(timer)] = false;
                self.note(|| format!("{node} {timer:?} timeout"));
                let result = self.step_node(i, Input::Timeout(timer))?;
                self.judge(node, result)?;
            }
            Event::ClientRetry {
                client,
                attempt,
                next_server,
            } => {
                let n = self.servers.len();
                let Some(c) = self.clients.get_mut(&client) else {
                    return Ok(true);
                };
                if c.attempt != attempt || c.pending.is_none() {
                    return Ok(true);
                }
                if next_server {
                    c.target = (c.target + 1) % n;
                }
                self.send_client_request(client)?;
            }
        }
        Ok(true)
    }

    /// Fires `timer` at `id` now, whether or not its clock is due (the style of etcd-io/raft's
    /// `MsgHup` and `MsgBeat`). Returns the node's own verdict on the input.
    pub fn fire_timer(
        &mut self,
        id: NodeId,
        timer: Timer,
    ) -> Result<Result<(), StepError>, SimError> {
        let i = self
            .position(id)
            .filter(|&i| self.servers[i].node.is_some())
            .ok_or_else(|| self.fail(format!("fire_timer: {id} is down")))?;
        self.servers[i].timer_generation[timer_slot(timer)] += 1;
        self.servers[i].timer_armed[timer_slot(timer)] = false;
        self.note(|| format!("{id} {timer:?} fired by hand"));
        self.step_node(i, Input::Timeout(timer))
    }

    /// Hands `message` from `from` to `to` at once, bypassing the network (for scenarios that
    /// inject old or forged messages). Returns the node's own verdict on the input.
    pub fn inject(
        &mut self,
        from: NodeId,
        to: NodeId,
        message: Message<KvCommand>,
    ) -> Result<Result<(), StepError>, SimError> {
        let i = self
            .position(to)
            .filter(|&i| self.servers[i].node.is_some())
            .ok_or_else(|| self.fail(format!("inject: {to} is down")))?;
        self.note(|| format!("{from}->{to} {} (injected)", describe(&message)));
        self.step_node(i, Input::Message { from, message })
    }

    /// Whether `timer` is armed at `id` (set and neither fired nor cancelled since).
    pub fn timer_armed(&self, id: NodeId, timer: Timer) -> bool {
        self.server(id)
            .is_some_and(|s| s.node.is_some() && s.timer_armed[timer_slot(timer)])
    }

    // ----- clients -----

    /// Has `client` submit `command` as its next request (serial = previous + 1). The client
    /// tries the last server it heard of as leader, follows `NotLeader` hints, and after
    /// [`SimConfig::client_timeout`] without an answer retries the same serial elsewhere.
    /// Returns the serial. A client has one request outstanding at a time: a new submission
    /// abandons the previous one.
    pub fn submit(&mut self, client: ClientId, command: KvCommand) -> Result<u64, SimError> {
        let n = self.servers.len();
        let start = self.rng.below(n as u64) as usize;
        let c = self.clients.entry(client).or_insert(ClientState {
            serial: 0,
            pending: None,
            target: start,
            attempt: 0,
            answers: BTreeMap::new(),
        });
        c.serial += 1;
        c.pending = Some(command);
        let serial = c.serial;
        self.send_client_request(client)?;
        Ok(serial)
    }

    /// Submits `command` for a fresh client and runs until the cluster acknowledges it, for at
    /// most `max`. Returns the index it was applied at (the 6.824 lab's `one`).
    pub fn commit_command(&mut self, command: KvCommand, max: Duration) -> Result<Index, SimError> {
        let client = ClientId(self.next_oneshot_client);
        self.next_oneshot_client += 1;
        let serial = self.submit(client, command)?;
        let done = self.run_until(max, |s| s.client_answer(client, serial).is_some())?;
        if !done {
            return Err(self.fail(format!("no agreement on {client}#{serial} within {max:?}")));
        }
        match self.client_answer(client, serial) {
            Some(ClientResponse::Applied(_)) => self
                .checker
                .applied_index_of(client, serial)
                .ok_or_else(|| self.fail("acknowledged but not applied")),
            other => Err(self.fail(format!("{client}#{serial} answered {other:?}"))),
        }
    }

    /// Calls server `id` directly with `command` as a one-shot request (the 6.824 lab's
    /// `Start`): if it leads, returns the index and term the entry got; no retries follow.
    pub fn start(
        &mut self,
        id: NodeId,
        command: KvCommand,
    ) -> Result<Option<(Index, Term)>, SimError> {
        let Some(i) = self
            .position(id)
            .filter(|&i| self.servers[i].node.is_some())
        else {
            return Ok(None);
        };
        let client = ClientId(self.next_oneshot_client);
        self.next_oneshot_client += 1;
        let node = self.servers[i].node.as_ref().expect("up");
        if !node.is_leader() {
            return Ok(None);
        }
        let term = node.current_term();
        self.note(|| format!("start {client} at {id}"));
        let request = ClientRequest {
            client,
            serial: 1,
            command,
        };
        let result = self.step_node(i, Input::ClientRequest(request))?;
        self.judge(id, result)?;
        let index = self.servers[i]
            .node
            .as_ref()
            .expect("up")
            .log()
            .last_index();
        Ok(Some((index, term)))
    }

    // ----- 6.824-style checks -----

    /// Waits (up to 10 × 500 ms) until exactly one connected server leads the newest term any
    /// connected server leads, and returns it (the 6.824 lab's `checkOneLeader`).
    pub fn check_one_leader(&mut self) -> Result<NodeId, SimError> {
        for _ in 0..10 {
            self.run_for(Duration::from_millis(500))?;
            let mut by_term: BTreeMap<Term, Vec<NodeId>> = BTreeMap::new();
            for id in self.connected_leaders() {
                let term = self.node(id).expect("up").current_term();
                by_term.entry(term).or_default().push(id);
            }
            if let Some((term, leaders)) = by_term.iter().next_back() {
                if leaders.len() > 1 {
                    return Err(self.fail(format!("term {term} has leaders {leaders:?}")));
                }
                return Ok(leaders[0]);
            }
        }
        Err(self.fail("no leader elected within 5 s"))
    }

    /// Fails if a connected server believes it leads (the 6.824 lab's `checkNoLeader`).
    pub fn check_no_leader(&self) -> Result<(), SimError> {
        match self.connected_leaders().first() {
            Some(id) => Err(self.fail(format!("{id} leads, but no majority is connected"))),
            None => Ok(()),
        }
    }

    /// The term every connected server is in; fails if they disagree (6.824's `checkTerms`).
    pub fn check_terms(&self) -> Result<Term, SimError> {
        let terms: BTreeSet<Term> = self
            .servers
            .iter()
            .filter(|s| !self.disconnected.contains(&s.id))
            .filter_map(|s| s.node.as_ref().map(|n| n.current_term()))
            .collect();
        match terms.len() {
            1 => Ok(*terms.iter().next().expect("one")),
            _ => Err(self.fail(format!("connected servers disagree on the term: {terms:?}"))),
        }
    }

    /// Waits up to `max` until at least `n` servers applied `index`; returns the entry.
    pub fn wait_applied(
        &mut self,
        index: Index,
        n: usize,
        max: Duration,
    ) -> Result<Entry<KvCommand>, SimError> {
        if !self.run_until(max, |s| s.applied_count(index) >= n)? {
            return Err(self.fail(format!(
                "only {} servers applied index {index} within {max:?}, wanted {n}",
                self.applied_count(index)
            )));
        }
        Ok(self.applied_entry(index).expect("applied").clone())
    }

    // ----- internals -----

    fn position(&self, id: NodeId) -> Option<usize> {
        self.servers.iter().position(|s| s.id == id)
    }

    fn server(&self, id: NodeId) -> Option<&Server> {
        self.position(id).map(|i| &self.servers[i])
    }

    fn note(&mut self, f: impl FnOnce() -> String) {
        if self.trace_on {
            if self.trace.len() == TRACE_LEN {
                self.trace.pop_front();
            }
            self.trace.push_back((self.now, f()));
        }
    }

    fn schedule(&mut self, after: Duration, event: Event) {
        self.seq += 1;
        self.queue.push(Reverse(Scheduled {
            at: self.now + after,
            seq: self.seq,
            event,
        }));
    }

    fn config_for(&self, id: NodeId) -> Config {
        let mut config = Config::new(id, self.ids()).expect("ids are distinct members");
        config.max_entries_per_append = self.max_entries_per_append;
        self.features.configure(&mut config);
        #[cfg(feature = "rule-switches")]
        let config = config.with_broken_rule(self.broken_rule);
        config
    }

    fn boot(&mut self, i: usize) -> Result<(), SimError> {
        let id = self.servers[i].id;
        let config = self.config_for(id);
        let mut out = NodeEffects::<KvStore>::new();
        let disk = self.servers[i].disk.clone();
        match Node::new(config, disk, KvStore::default(), &mut out) {
            Ok(node) => {
                if let Some(tracer) = self.tracer.as_mut() {
                    tracer.start(self.servers[i].incarnation > 0, out.as_slice(), &node);
                }
                self.servers[i].node = Some(node);
                self.perform(i, out, None)
            }
            Err(e) => Err(self.fail(format!("{id} cannot restart from its disk: {e}"))),
        }
    }

    /// Steps server `i` and performs the effects; the outer error is a safety violation, the
    /// inner one the node's verdict on the input.
    fn step_node(
        &mut self,
        i: usize,
        input: Input<KvCommand>,
    ) -> Result<Result<(), StepError>, SimError> {
        self.step_node_traced(i, input, None)
    }

    /// [`Self::step_node`] for a delivery whose send had trace id `id`.
    fn step_node_traced(
        &mut self,
        i: usize,
        input: Input<KvCommand>,
        id: Option<crate::trace::MessageId>,
    ) -> Result<Result<(), StepError>, SimError> {
        let mut out = NodeEffects::<KvStore>::new();
        let node = self.servers[i].node.as_mut().expect("stepped server is up");
        let was_leader = node
            .is_leader()
            .then(|| (node.current_term(), node.log().last_index()));
        let traced = self.tracer.is_some().then(|| input.clone());
        let result = node.step(input, &mut out);
        if let (Some(tracer), Some(input)) = (self.tracer.as_mut(), traced) {
            tracer.step(&input, id, out.as_slice(), node);
        }
        self.perform(i, out, was_leader)?;
        Ok(result)
    }

    /// Whether a node's refusal of an input is a sign of a bug: the network may deliver stale
    /// or unexpected messages, but never ones that only a broken peer or driver would produce.
    fn judge(&self, id: NodeId, result: Result<(), StepError>) -> Result<(), SimError> {
        match result {
            Ok(())
            | Err(StepError::StaleTerm { .. })
            | Err(StepError::UnexpectedResponse)
            | Err(StepError::StaleResponse)
            | Err(StepError::LeaderSticky(_)) => Ok(()),
            Err(e) => Err(self.fail(format!(
                "{id} refused an input a correct cluster sends: {e}"
            ))),
        }
    }

    fn perform(
        &mut self,
        i: usize,
        out: NodeEffects<KvStore>,
        leader_before: Option<(Term, Index)>,
    ) -> Result<(), SimError> {
        let id = self.servers[i].id;
        let mut changed_from: Option<Index> = None;
        for effect in out {
            match effect {
                e @ (Effect::PersistHardState { .. } | Effect::PersistEntries { .. }) => {
                    if let Effect::PersistEntries { first_index, .. } = &e {
                        changed_from =
                            Some(changed_from.map_or(*first_index, |c| c.min(*first_index)));
                    }
                    self.servers[i].disk.apply(&e);
                }
                Effect::Send { to, message } => self.send(id, to, message),
                Effect::SetTimer { timer, after } => {
                    let s = &mut self.servers[i];
                    s.timer_generation[timer_slot(timer)] += 1;
                    s.timer_armed[timer_slot(timer)] = true;
                    let generation = s.timer_generation[timer_slot(timer)];
                    if !self.manual_timers {
                        let delay = self.rng.duration(&after);
                        self.schedule(
                            delay,
                            Event::Timer {
                                node: id,
                                timer,
                                generation,
                            },
                        );
                    }
                }
                Effect::CancelTimer { timer } => {
                    let s = &mut self.servers[i];
                    s.timer_generation[timer_slot(timer)] += 1;
                    s.timer_armed[timer_slot(timer)] = false;
                }
                Effect::Apply { index, term, .. } => {
                    let node = self.servers[i].node.as_ref().expect("up");
                    if let Err(e) = self.checker.record_apply(node, index, term) {
                        return Err(self.fail(e));
                    }
                }
                Effect::Reply {
                    client,
                    serial,
                    response,
                } => self.client_reply(id, client, serial, response)?,
                Effect::ReadReply {
                    client,
                    serial,
                    read_index,
                    path,
                    response,
                } => self.read_reply(id, client, serial, read_index, path, response)?,
            }
        }
        let s = &self.servers[i];
        let node = s.node.as_ref().expect("up");
        // §5.3, Leader Append-Only: a server that leads the same term before and after a step
        // never overwrites or deletes entries of its own log.
        if let (Some((term, last)), Some(from)) = (leader_before, changed_from) {
            if node.is_leader() && node.current_term() == term && from <= last {
                return Err(self.fail(format!(
                    "Leader Append-Only violated: leader {id} rewrote its log from {from} \
                     (last index {last})"
                )));
            }
        }
        if node.durable() != &s.disk {
            return Err(self.fail(format!(
                "{id}'s durable state differs from what its persist effects wrote"
            )));
        }
        if let Err(e) = self.checker.check_node(node, changed_from) {
            return Err(self.fail(e));
        }
        if let Err(e) = flow::check_flow(node) {
            return Err(self.fail(e));
        }
        Ok(())
    }

    fn send(&mut self, from: NodeId, to: NodeId, message: Message<KvCommand>) {
        let id = self.tracer.as_mut().and_then(|t| t.next_send());
        self.stats.messages_sent += 1;
        if let Message::AppendEntries(a) = &message {
            self.stats.requests_sent += 1;
            self.stats.entries_sent += a.entries.len() as u64;
            self.stats.command_bytes_sent += a
                .entries
                .iter()
                .map(|e| match &e.payload {
                    crate::log::Payload::Command { command, .. } => command_bytes(command),
                    crate::log::Payload::Noop => 0,
                })
                .sum::<u64>();
        } else if let Message::RequestVote(_) = &message {
            self.stats.requests_sent += 1;
        }
        if !self.links.connected(from, to) || self.rng.chance(self.network.drop_per_mille) {
            self.stats.messages_dropped += 1;
            return;
        }
        let Some(i) = self.position(to) else {
            return;
        };
        let incarnation = self.servers[i].incarnation;
        let copies = if self.rng.chance(self.network.duplicate_per_mille) {
            2
        } else {
            1
        };
        for _ in 0..copies {
            let delay = if self.rng.chance(self.network.long_delay_per_mille) {
                self.rng
                    .duration(&(self.network.max_delay..self.network.long_delay_max))
            } else {
                self.rng
                    .duration(&(self.network.min_delay..self.network.max_delay))
            };
            self.schedule(
                delay,
                Event::Deliver {
                    from,
                    to,
                    incarnation,
                    message: message.clone(),
                    id,
                },
            );
        }
    }

    fn send_client_request(&mut self, client: ClientId) -> Result<(), SimError> {
        let n = self.servers.len();
        let timeout = self.client_timeout;
        let c = self.clients.get_mut(&client).expect("known client");
        let Some(command) = c.pending.clone() else {
            return Ok(());
        };
        c.attempt += 1;
        let (attempt, serial, target) = (c.attempt, c.serial, c.target % n);
        self.schedule(
            timeout,
            Event::ClientRetry {
                client,
                attempt,
                next_server: true,
            },
        );
        let id = self.servers[target].id;
        if self.servers[target].node.is_none() || self.disconnected.contains(&id) {
            // The server is down or unreachable: the request is lost; the client tries the
            // next server after its timeout.
            return Ok(());
        }
        self.note(|| format!("{client}#{serial} -> {id}"));
        let request = ClientRequest {
            client,
            serial,
            command,
        };
        let result = self.step_node(target, Input::ClientRequest(request))?;
        self.judge(id, result)
    }

    fn client_reply(
        &mut self,
        from: NodeId,
        client: ClientId,
        serial: u64,
        response: ClientResponse<KvOutput>,
    ) -> Result<(), SimError> {
        if let ClientResponse::Applied(_) = &response {
            match self.checker.record_ack(client, serial) {
                Ok(index) => self.features.note_ack(index),
                Err(e) => return Err(self.fail(e)),
            }
        }
        let n = self.servers.len();
        let Some(c) = self.clients.get_mut(&client) else {
            return Ok(());
        };
        if c.serial != serial || c.pending.is_none() {
            return Ok(());
        }
        match response {
            ClientResponse::NotLeader { leader_hint } => {
                // §8: follow the hint; without one, try the next server a little later.
                let from_pos = self.servers.iter().position(|s| s.id == from).unwrap_or(0);
                c.target = leader_hint
                    .filter(|&h| h != from)
                    .and_then(|h| self.servers.iter().position(|s| s.id == h))
                    .unwrap_or((from_pos + 1) % n);
                c.attempt += 1;
                let attempt = c.attempt;
                let backoff = Duration::from_millis(10);
                self.schedule(
                    backoff,
                    Event::ClientRetry {
                        client,
                        attempt,
                        next_server: false,
                    },
                );
            }
            answer => {
                c.pending = None;
                c.answers.insert(serial, answer);
            }
        }
        Ok(())
    }
}

fn command_bytes(command: &KvCommand) -> u64 {
    match command {
        KvCommand::Set { key, value } => (key.len() + value.len()) as u64,
        KvCommand::Delete { key } | KvCommand::Get { key } => key.len() as u64,
    }
}

fn describe(message: &Message<KvCommand>) -> String {
    match message {
        Message::RequestVote(m) => format!(
            "RequestVote t{} last ({}, t{})",
            m.term, m.last_log_index, m.last_log_term
        ),
        Message::RequestVoteResponse(m) => {
            format!("Vote t{} granted={}", m.term, m.vote_granted)
        }
        Message::AppendEntries(m) => format!(
            "AppendEntries t{} prev ({}, t{}) +{} commit {}",
            m.term,
            m.prev_log_index,
            m.prev_log_term,
            m.entries.len(),
            m.leader_commit
        ),
        Message::AppendEntriesResponse(m) => format!("AppendAck t{} {:?}", m.term, m.result),
        Message::PreVote(m) => format!(
            "PreVote t{} last ({}, t{})",
            m.term, m.last_log_index, m.last_log_term
        ),
        Message::PreVoteResponse(m) => {
            format!("PreVoteAck t{} granted={}", m.term, m.vote_granted)
        }
        Message::TimeoutNow(m) => format!("TimeoutNow t{}", m.term),
        Message::Heartbeat(m) => format!("Heartbeat t{} round {}", m.term, m.round),
        Message::HeartbeatResponse(m) => format!("HeartbeatAck t{} round {}", m.term, m.round),
        Message::ReadIndex(m) => format!("ReadIndex t{} {}#{}", m.term, m.client, m.serial),
        Message::ReadIndexResponse(m) => {
            format!(
                "ReadIndexAck t{} {}#{} {:?}",
                m.term, m.client, m.serial, m.read_index
            )
        }
    }
}
