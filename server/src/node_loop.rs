//! The node thread: the one place that steps the unchanged [`refraft::Node`], and performs its
//! effects in order.
//!
//! Each turn takes every input that is waiting (up to a bound), steps the node on each, and
//! collects the effects: persist effects go to storage at once (the hard state durably, log
//! records into the WAL's buffer) and into the shared log store; timers are re-armed at once;
//! sends and replies are held back. The turn's AppendEntries go out first (a leader replicates
//! in parallel with its own disk write, dissertation §10.2.1); then one fsync makes the whole
//! turn's log records durable (group commit), and only then do the other held-back sends and
//! the replies go out, in order. So no acknowledgement or answer ever reveals state the disk
//! does not hold (Figure 2), and one fsync covers every client whose command arrived in the
//! turn.

use crate::client_port::{AnswerSink, Ticket};
use crate::storage::Storage;
use crate::storage_error::StorageError;
use crate::timers::Timers;
use crate::trace_log::TraceLog;
use crate::transport::outbound::{Outgoing, PeerLink};
use crate::transport::peer_reader::PeerReader;
use refraft::log_store::{LogStoreError, LogWriter};
use refraft::{
    ClientId, ClientRequest, ClientResponse, Effect, Index, Input, KvCommand, KvOutput, KvStore,
    Message, Node, NodeEffects, NodeId, Term,
};
use std::collections::{BTreeMap, HashMap};
use std::sync::mpsc::{Receiver, TryRecvError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Inputs waiting for the node thread, at most this many (senders block beyond it).
pub const EVENT_QUEUE: usize = 4096;
/// Inputs stepped in one turn before the turn's fsync.
const MAX_TURN: usize = 1024;
/// Client requests waiting for their entry to commit, at most this many.
const MAX_PENDING: usize = 16384;

/// An input for the node thread.
#[derive(Debug)]
pub enum Event {
    /// A message from a peer.
    Peer {
        /// The sender.
        from: NodeId,
        /// The message.
        message: Message<KvCommand>,
        /// Its number among the sender's sends, if the sender traces (`Frame::Traced`).
        id: Option<u64>,
    },
    /// A member's connection, its `Hello` read (with the bytes read past it): from now on the
    /// node thread reads it ([`PeerReader`]).
    PeerConn {
        /// The member that connected.
        from: NodeId,
        /// The connection.
        stream: std::net::TcpStream,
        /// Bytes read past the `Hello`.
        leftover: Vec<u8>,
    },
    /// The client requests that reached the client port in one turn of its loop, each with
    /// the ticket its answer is sent back under (through the [`AnswerSink`]).
    Clients(Vec<(ClientRequest<KvCommand>, Ticket)>),
}

/// What a client connection is told.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer {
    /// The node's reply.
    Response(ClientResponse<KvOutput>),
    /// The request cannot be answered here now (overload, leadership lost before commit).
    Failed(String),
}

/// What the node thread publishes after each turn, for `STATE` and redirects.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Status {
    /// This server.
    pub id: NodeId,
    /// `follower`, `candidate` or `leader`.
    pub role: &'static str,
    /// `current_term`.
    pub term: Term,
    /// The leader known in this term.
    pub leader: Option<NodeId>,
    /// `commit_index`.
    pub commit_index: Index,
    /// The last log index.
    pub last_index: Index,
    /// Its term.
    pub last_term: Term,
    /// The write-ahead log's fsyncs since the server started (each covers every log change of
    /// one turn: group commit).
    pub wal_syncs: u64,
}

/// Why the node thread stopped.
#[derive(Debug)]
pub enum RuntimeError {
    /// The disk failed; the server stops rather than run on state it could not persist.
    Storage(StorageError),
    /// The shared log store refused a change the node made (a bug, reported, never a panic).
    LogStore(LogStoreError),
}

impl std::fmt::Display for RuntimeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RuntimeError::Storage(e) => write!(f, "storage: {e}"),
            RuntimeError::LogStore(e) => write!(f, "log store: {e}"),
        }
    }
}

impl std::error::Error for RuntimeError {}

impl From<StorageError> for RuntimeError {
    fn from(e: StorageError) -> Self {
        RuntimeError::Storage(e)
    }
}

impl From<LogStoreError> for RuntimeError {
    fn from(e: LogStoreError) -> Self {
        RuntimeError::LogStore(e)
    }
}

/// An effect held until the turn's fsync. A send is turned into its queue item at once, so
/// that the entries the core copied into an AppendEntries are dropped at once: the peer's
/// thread reads them from the log store when it sends.
enum Held {
    /// A send, with its number among this server's sends when it traces.
    Send(NodeId, Outgoing, Option<u64>),
    Reply(ClientId, u64, ClientResponse<KvOutput>),
}

/// The node thread's state.
pub struct NodeLoop {
    node: Node<KvStore>,
    storage: Storage<KvCommand>,
    log: LogWriter<KvCommand>,
    peers: BTreeMap<NodeId, PeerLink>,
    timers: Timers,
    pending: HashMap<(ClientId, u64), Vec<Ticket>>,
    /// Where client answers go, and this turn's answers, delivered together after the fsync.
    answers: AnswerSink,
    replies: Vec<(Ticket, Answer)>,
    out: NodeEffects<KvStore>,
    held: Vec<Held>,
    status: Arc<Mutex<Status>>,
    /// `serve --trace`: this server's steps, and the numbers of the sends of the step being
    /// taken (in order). `None` when off: nothing is recorded or copied.
    trace: Option<TraceLog>,
    send_ids: std::collections::VecDeque<u64>,
}

impl NodeLoop {
    /// Wraps a started node. `out` holds the effects of `Node::new` (the first election timer).
    /// With `trace`, the start and every step are recorded there. Client answers go to
    /// `answers`.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        node: Node<KvStore>,
        out: NodeEffects<KvStore>,
        storage: Storage<KvCommand>,
        log: LogWriter<KvCommand>,
        peers: BTreeMap<NodeId, PeerLink>,
        status: Arc<Mutex<Status>>,
        answers: AnswerSink,
        trace: Option<TraceLog>,
    ) -> Self {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64)
            ^ node.id().0.wrapping_mul(0x9e37_79b9_7f4a_7c15);
        let mut this = NodeLoop {
            node,
            storage,
            log,
            peers,
            timers: Timers::new(seed),
            pending: HashMap::new(),
            answers,
            replies: Vec::new(),
            out,
            held: Vec::new(),
            status,
            trace,
            send_ids: Default::default(),
        };
        if let Some(trace) = &mut this.trace {
            trace.start(this.out.as_slice(), &this.node, &mut this.send_ids);
        }
        this.publish();
        this
    }

    /// Runs turns until every event sender is gone, or storage fails. The thread waits in
    /// `peers`' epoll: for frames on the peer connections it reads itself, for a wake-up that
    /// comes with every event on `events` (client batches, new peer connections), or for the
    /// next timer.
    pub fn run(
        mut self,
        events: Receiver<Event>,
        mut peers: PeerReader,
    ) -> Result<(), RuntimeError> {
        self.take_effects(Instant::now())?;
        loop {
            let mut turn = Vec::new();
            let Some(()) = take_events(&events, &mut turn) else {
                return Ok(());
            };
            let wait = if turn.is_empty() {
                self.timers
                    .until_next(Instant::now(), Duration::from_secs(1))
            } else {
                Duration::ZERO
            };
            peers.wait(wait, &mut turn);
            let Some(()) = take_events(&events, &mut turn) else {
                return Ok(());
            };
            let was_leader = self.node.is_leader();
            for timer in self.timers.take_due(Instant::now()) {
                self.step(Input::Timeout(timer), None)?;
            }
            for event in turn {
                match event {
                    Event::Peer { from, message, id } => {
                        self.step(Input::Message { from, message }, id)?
                    }
                    Event::PeerConn {
                        from,
                        stream,
                        leftover,
                    } => {
                        let mut frames = Vec::new();
                        peers.add(from, stream, leftover, &mut frames);
                        for event in frames {
                            if let Event::Peer { from, message, id } = event {
                                self.step(Input::Message { from, message }, id)?;
                            }
                        }
                    }
                    Event::Clients(batch) => {
                        for (request, ticket) in batch {
                            self.client(request, ticket)?;
                        }
                    }
                }
            }
            self.finish_turn(was_leader)?;
        }
    }

    fn client(
        &mut self,
        request: ClientRequest<KvCommand>,
        ticket: Ticket,
    ) -> Result<(), RuntimeError> {
        if self.pending.len() >= MAX_PENDING {
            let busy = Answer::Failed("busy: too many requests in flight".into());
            self.replies.push((ticket, busy));
            return Ok(());
        }
        self.pending
            .entry((request.client, request.serial))
            .or_default()
            .push(ticket);
        self.step(Input::ClientRequest(request), None)
    }

    /// Steps the node once and takes its effects. `id` numbers a received message among its
    /// sender's sends (for the trace).
    fn step(&mut self, input: Input<KvCommand>, id: Option<u64>) -> Result<(), RuntimeError> {
        let before = (self.node.role().clone(), self.node.current_term());
        let traced = self.trace.as_ref().map(|_| input.clone());
        if let Err(e) = self.node.step(input, &mut self.out) {
            tracing::debug!(error = %e, "input not acted on");
        }
        if let (Some(trace), Some(input)) = (&mut self.trace, traced) {
            trace.step(
                &input,
                id,
                self.out.as_slice(),
                &self.node,
                &mut self.send_ids,
            );
        }
        self.log_role_change(before);
        self.take_effects(Instant::now())
    }

    /// Persist effects go to storage and the log store now; timers are armed now; the rest is
    /// held until the turn's fsync.
    fn take_effects(&mut self, now: Instant) -> Result<(), RuntimeError> {
        let mut hard_state_stored = false;
        for effect in self.out.drain() {
            match effect {
                Effect::PersistHardState {
                    current_term,
                    voted_for,
                } => {
                    if self.trace.is_some() {
                        // The trace, then the turn's earlier log records, then the hard state,
                        // then (below) this step's log records: the trace file never shows
                        // less than the disk holds, and is ahead of it only while the hard
                        // state is being stored.
                        flush_trace(&mut self.trace);
                        self.storage.write_pending()?;
                        hard_state_stored = true;
                    }
                    self.storage.save_hard_state(current_term, voted_for)?
                }
                Effect::PersistEntries {
                    first_index,
                    entries,
                } => {
                    self.storage.append(first_index, &entries)?;
                    self.log.replace_from(first_index, entries.to_vec())?;
                }
                Effect::SetTimer { timer, after } => self.timers.set(timer, after, now),
                Effect::CancelTimer { timer } => self.timers.cancel(timer),
                Effect::Send { to, message } => {
                    let seq = self.send_ids.pop_front();
                    self.held
                        .push(Held::Send(to, Outgoing::from_message(message), seq));
                }
                Effect::Reply {
                    client,
                    serial,
                    response,
                } => self.held.push(Held::Reply(client, serial, response)),
                // The applier applies from the log store; the core's own output goes out in
                // its Reply.
                Effect::Apply { .. } => {}
                // This runtime serves GET through the log, so it never asks the core for a
                // read without a log entry (`Input::Read`) and gets no read replies.
                Effect::ReadReply { .. } => {}
            }
        }
        if hard_state_stored {
            self.storage.write_pending()?;
        }
        Ok(())
    }

    /// The turn's AppendEntries go out, then one fsync for the turn, then the other held sends
    /// and the replies, in order.
    ///
    /// A leader writes its log to disk in parallel with replicating it (dissertation §10.2.1):
    /// an AppendEntries reveals entries to a follower but acknowledges nothing, so it need not
    /// wait for the leader's own fsync. What must wait is the leader counting its own copy
    /// towards a commit, and that waits by construction: the followers' acknowledgements of
    /// this turn's entries are stepped in a later turn, which starts after this turn's fsync.
    /// Everything that does acknowledge (AppendEntries and vote responses, client replies)
    /// still goes out only after the fsync (Figure 2).
    fn finish_turn(&mut self, was_leader: bool) -> Result<(), RuntimeError> {
        // Within a turn, only the last AppendEntries to each peer goes out: it carries the
        // entries of the earlier ones from the same `next_index` (the leader advances it only
        // on acknowledgements), and dropping a message is always safe in Raft (§5.3: the
        // leader retries; the network may lose any message).
        let mut last_append: BTreeMap<NodeId, usize> = BTreeMap::new();
        for (i, held) in self.held.iter().enumerate() {
            if let Held::Send(to, Outgoing::Append { .. }, _) = held {
                last_append.insert(*to, i);
            }
        }
        if self.trace.is_some() {
            // The turn's lines go out just before its log records (see `trace_log`), and
            // before any of its messages.
            flush_trace(&mut self.trace);
            self.storage.write_pending()?;
        }
        let mut after_sync = Vec::with_capacity(self.held.len());
        for (i, held) in std::mem::take(&mut self.held).into_iter().enumerate() {
            match held {
                Held::Send(to, Outgoing::Append { .. }, _) if last_append.get(&to) != Some(&i) => {}
                Held::Send(to, item, seq) if item.is_append_entries() => {
                    if let Some(peer) = self.peers.get(&to) {
                        peer.send(item, seq);
                    }
                }
                other => after_sync.push(other),
            }
        }
        self.storage.sync()?;
        let reader = self.log.reader();
        let (last, durable) = (reader.last_index(), reader.durable_index());
        if durable < last {
            self.log.advance_durable(last)?;
        }
        let commit = self.node.commit_index().min(last);
        if commit > self.log.reader().commit_index() {
            self.log.advance_commit(commit)?;
        }
        for held in after_sync {
            match held {
                Held::Send(to, item, seq) => {
                    if let Some(peer) = self.peers.get(&to) {
                        peer.send(item, seq);
                    }
                }
                Held::Reply(client, serial, response) => {
                    for ticket in self.pending.remove(&(client, serial)).unwrap_or_default() {
                        self.replies
                            .push((ticket, Answer::Response(response.clone())));
                    }
                }
            }
        }
        if was_leader && !self.node.is_leader() {
            // Requests waiting for a commit may or may not commit under the next leader; the
            // client retries there with the same serial (dissertation §6.3).
            let hint = self.node.leader_hint();
            for (_, tickets) in self.pending.drain() {
                for ticket in tickets {
                    let not_leader = ClientResponse::NotLeader { leader_hint: hint };
                    self.replies.push((ticket, Answer::Response(not_leader)));
                }
            }
        }
        // The turn's answers, one batch and one wake-up of the client port.
        self.answers.deliver(std::mem::take(&mut self.replies));
        self.publish();
        Ok(())
    }

    fn publish(&self) {
        let log = self.node.log();
        let status = Status {
            id: self.node.id(),
            role: role_name(self.node.role()),
            term: self.node.current_term(),
            leader: self.node.leader_hint(),
            commit_index: self.node.commit_index(),
            last_index: log.last_index(),
            last_term: log.last_term(),
            wal_syncs: self.storage.wal_syncs(),
        };
        let mut shared = self.status.lock().unwrap_or_else(|p| p.into_inner());
        if *shared != status {
            *shared = status;
        }
    }

    fn log_role_change(&self, (role, term): (refraft::Role, Term)) {
        let now = self.node.role();
        let new_term = self.node.current_term();
        match (role_name(&role), role_name(now)) {
            (_, "candidate") if new_term != term => {
                tracing::info!(term = new_term, "election timeout: standing for election");
            }
            (r, "leader") if r != "leader" => {
                tracing::info!(term = new_term, "won the election: leader");
            }
            ("leader", r) if r != "leader" => {
                tracing::info!(term = new_term, "stepped down from leadership");
            }
            _ => {}
        }
        let (old, new) = (leader_of(&role), self.node.leader_hint());
        if new != old && new.is_some() && new != Some(self.node.id()) {
            tracing::info!(term = new_term, leader = %new.map_or(0, |n| n.0), "following a new leader");
        }
    }
}

/// Moves what waits on `events` into `turn`, up to [`MAX_TURN`]; `None` once every sender is
/// gone.
fn take_events(events: &Receiver<Event>, turn: &mut Vec<Event>) -> Option<()> {
    while turn.len() < MAX_TURN {
        match events.try_recv() {
            Ok(event) => turn.push(event),
            Err(TryRecvError::Empty) => break,
            Err(TryRecvError::Disconnected) => return None,
        }
    }
    Some(())
}

/// Writes out the trace's buffered lines; a failure (a full disk) stops tracing with a log
/// line, and the server goes on.
fn flush_trace(trace: &mut Option<TraceLog>) {
    if let Some(Err(e)) = trace.as_mut().map(TraceLog::flush) {
        tracing::error!(error = %e, "trace stopped");
        *trace = None;
    }
}

fn role_name(role: &refraft::Role) -> &'static str {
    match role {
        refraft::Role::Follower { .. } => "follower",
        refraft::Role::PreCandidate { .. } => "pre-candidate",
        refraft::Role::Candidate { .. } => "candidate",
        refraft::Role::Leader { .. } => "leader",
    }
}

fn leader_of(role: &refraft::Role) -> Option<NodeId> {
    match role {
        refraft::Role::Follower { leader } => *leader,
        _ => None,
    }
}
