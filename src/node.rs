//! One Raft server as a deterministic state machine: inputs in, effects out (Figure 2).
//!
//! The node holds the durable state of Figure 2 ([`DurableState`]) apart from its volatile state
//! (role, `commit_index`, the applied state machine). Every change to the durable state emits a
//! persist effect at once, before any effect that could reveal it.

use crate::client::{ClientRequest, ClientResponse};
use crate::config::{Config, Rule};
use crate::durable::{DurableError, DurableState};
use crate::effect::{Effect, Effects, Timer};
use crate::entries::Entries;
use crate::error::StepError;
use crate::ids::{ClientId, Index, NodeId, Term};
use crate::leadership::Leadership;
use crate::log::{Entry, Log, Payload};
use crate::message::Message;
use crate::pending::Pending;
use crate::progress::Progress;
use crate::quorum::MatchTracker;
use crate::state_machine::{Outcome, SessionCheck, SessionMachine, StateMachine};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// The effects buffer of a node running state machine `M`.
pub type NodeEffects<M> = Effects<<M as StateMachine>::Command, <M as StateMachine>::Output>;

/// An input to a node.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Input<C> {
    /// A message from another server.
    Message {
        /// The sender.
        from: NodeId,
        /// The message.
        message: Message<C>,
    },
    /// A timer the node set has fired.
    Timeout(Timer),
    /// A client asks the node to run a command.
    ClientRequest(ClientRequest<C>),
    /// Client requests that arrived together (one read from a socket, say): the leader appends
    /// them all, persists them in one effect and sends them in one AppendEntries per follower
    /// (dissertation §10.2, batching).
    ClientRequests(Vec<ClientRequest<C>>),
    /// A client asks for a read-only query, answered without a log entry by ReadIndex or a
    /// lease (dissertation §6.4); the answer is an `Effect::ReadReply`.
    Read(ClientRequest<C>),
    /// An operator asks the leader to hand leadership to this server (dissertation §3.10).
    TransferLeadership(NodeId),
}

/// A server's role (§5.1) with the volatile state that only that role keeps.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Role {
    /// Passive: answers leaders and candidates.
    Follower {
        /// The leader of the current term, once heard from (for client redirection, §8).
        leader: Option<NodeId>,
    },
    /// Asking for pre-votes for `current_term + 1` before a real election (dissertation §9.6).
    PreCandidate {
        /// The servers that granted a pre-vote, this one included.
        votes: BTreeSet<NodeId>,
    },
    /// Asking for votes in `current_term` (§5.2).
    Candidate {
        /// The servers that granted their vote, this one included.
        votes: BTreeSet<NodeId>,
    },
    /// Leading `current_term` (§5.3).
    Leader {
        /// Replication progress per peer.
        progress: BTreeMap<NodeId, Progress>,
    },
}

/// One Raft server.
///
/// ```
/// use refraft::{Config, DurableState, KvStore, Node, NodeEffects, NodeId, Input, Timer};
/// let config = Config::new(NodeId(1), vec![NodeId(1)]).unwrap();
/// let mut out = NodeEffects::<KvStore>::new();
/// let mut node = Node::new(config, DurableState::default(), KvStore::default(), &mut out).unwrap();
/// // A single-server cluster elects itself when its election timer fires.
/// node.step(Input::Timeout(Timer::Election), &mut out).unwrap();
/// assert!(node.is_leader());
/// assert_eq!(node.current_term(), 1);
/// ```
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Node<M: StateMachine> {
    /// Immutable for the node's life, so shared: cloning a node (as a model checker does at
    /// every step) does not copy it.
    pub(crate) config: Arc<Config>,
    pub(crate) durable: DurableState<M::Command>,
    pub(crate) role: Role,
    /// Figure 2: index of the highest log entry known to be committed. Volatile.
    pub(crate) commit_index: Index,
    /// Figure 2: index of the highest log entry applied to the state machine. Volatile.
    pub(crate) last_applied: Index,
    pub(crate) machine: SessionMachine<M>,
    /// While leading: the peers' `match_index` values of `Role::Leader::progress`, sorted, so
    /// that an acknowledgement recomputes the commit index without a sort (§5.3, §5.4.2).
    /// Empty in any other role. Derived from `progress`, so it adds no distinct states.
    pub(crate) match_tracker: MatchTracker,
    /// While leading: the uncommitted client entries of the log, by (client, serial), so that
    /// a retry of a pending request is found without scanning the log (dissertation §6.3).
    /// Empty in any other role. Derived from the log and `commit_index`: no distinct states.
    pub(crate) pending: Pending,
    /// While leading: heartbeat rounds, the quorum check and lease, a transfer, waiting reads.
    /// Empty in any other role.
    pub(crate) lead: Leadership<M::Command>,
    /// As a follower: the reads forwarded to the leader and not answered yet (§6.4).
    pub(crate) forwarded: Vec<crate::follower_read::ForwardedRead<M::Command>>,
}

/// Why a node cannot start.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StartError {
    /// The configuration is invalid.
    Config(crate::config::ConfigError),
    /// The durable state read back is inconsistent.
    Durable(DurableError),
}

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StartError::Config(e) => write!(f, "bad configuration: {e}"),
            StartError::Durable(e) => write!(f, "bad durable state: {e}"),
        }
    }
}

impl std::error::Error for StartError {}

impl<M: StateMachine> Node<M> {
    /// Starts, or restarts after a crash, from `durable` alone (Figure 2): the node comes up as a
    /// follower with `commit_index = last_applied = 0` and `machine` in its initial state; it
    /// re-applies committed entries as it learns the commit index again. Arms the election timer.
    pub fn new(
        config: Config,
        durable: DurableState<M::Command>,
        machine: M,
        out: &mut NodeEffects<M>,
    ) -> Result<Self, StartError> {
        config.validate().map_err(StartError::Config)?;
        durable.validate_for(&config).map_err(StartError::Durable)?;
        out.push(Effect::SetTimer {
            timer: Timer::Election,
            after: config.election_timeout(),
        });
        Ok(Node {
            config: Arc::new(config),
            durable,
            role: Role::Follower { leader: None },
            commit_index: 0,
            last_applied: 0,
            machine: SessionMachine::new(machine),
            match_tracker: MatchTracker::default(),
            pending: Pending::default(),
            lead: Leadership::default(),
            forwarded: Vec::new(),
        })
    }

    /// Feeds one input; effects go to `out`, in the order the driver must perform them.
    pub fn step(
        &mut self,
        input: Input<M::Command>,
        out: &mut NodeEffects<M>,
    ) -> Result<(), StepError> {
        let result = match input {
            Input::Message { from, message } => self.handle_message(from, message, out),
            Input::Timeout(timer) => self.handle_timeout(timer, out),
            Input::ClientRequest(request) => self.handle_client_request(request, out),
            Input::ClientRequests(requests) => self.handle_client_requests(requests, out),
            Input::Read(request) => self.handle_read(request, out),
            Input::TransferLeadership(target) => self
                .transfer_leadership(target, out)
                .map_err(StepError::Transfer),
        };
        // Figure 2, all servers: apply what became committed. `commit_to` has done so already,
        // so this changes nothing unless `Rule::ApplyOnlyCommitted` is switched off.
        if self.last_applied < self.commit_index || !self.config.keeps(Rule::ApplyOnlyCommitted) {
            self.apply_committed(out);
        }
        // §6.4: forwarded reads whose read index is now applied are answered.
        if !self.forwarded.is_empty() {
            self.serve_forwarded_reads(out);
        }
        result
    }

    /// Handles a message from server `from`.
    pub fn handle_message(
        &mut self,
        from: NodeId,
        message: Message<M::Command>,
        out: &mut NodeEffects<M>,
    ) -> Result<(), StepError> {
        if !self.config.is_peer(from) {
            return Err(StepError::UnknownPeer(from));
        }
        // Terms 0 and u64::MAX are refused before they are adopted: no correct server sends
        // them, a vote in term 0 would not survive a restart (`DurableState::validate`), and
        // `current_term + 1` (§5.2) must never overflow into a lower term.
        if message.term() == 0 || message.term() == Term::MAX {
            return Err(StepError::TermOutOfRange {
                term: message.term(),
            });
        }
        match &message {
            // Dissertation §9.6: a pre-vote's term is the one its sender would stand in; it is
            // never adopted (the receiver decides, under its rule switch).
            Message::PreVote(m) => return self.handle_pre_vote(from, m.clone(), out),
            // A granted pre-vote carries the requested term, which the pre-candidate has not
            // reached yet: counted, not adopted.
            Message::PreVoteResponse(m) if m.vote_granted => {
                return self.handle_pre_vote_response(from, m.clone(), out)
            }
            // §4.2.3: a follower that hears from a current leader neither adopts the term of
            // nor answers a RequestVote, unless it comes from a leadership transfer.
            Message::RequestVote(m) if m.term > self.current_term() && !m.leadership_transfer => {
                if let Some(leader) = self.sticky_leader() {
                    return Err(StepError::LeaderSticky(leader));
                }
            }
            _ => {}
        }
        // §5.1: a server that sees a higher term adopts it and reverts to follower.
        if message.term() > self.current_term() && self.config.keeps(Rule::AdoptHigherTerm) {
            self.become_follower(message.term(), None, out);
        }
        match message {
            Message::RequestVote(m) => self.handle_request_vote(from, m, out),
            Message::RequestVoteResponse(m) => self.handle_request_vote_response(from, m, out),
            Message::AppendEntries(m) => self.handle_append_entries(from, m, out),
            Message::AppendEntriesResponse(m) => self.handle_append_entries_response(from, m, out),
            Message::PreVote(m) => self.handle_pre_vote(from, m, out),
            Message::PreVoteResponse(m) => self.handle_pre_vote_response(from, m, out),
            Message::TimeoutNow(m) => self.handle_timeout_now(from, m, out),
            Message::Heartbeat(m) => self.handle_heartbeat(from, m, out),
            Message::HeartbeatResponse(m) => self.handle_heartbeat_response(from, m, out),
            Message::ReadIndex(m) => self.handle_read_index_request(from, m, out),
            Message::ReadIndexResponse(m) => self.handle_read_index_response(from, m, out),
        }
    }

    /// Handles a timer firing.
    pub fn handle_timeout(
        &mut self,
        timer: Timer,
        out: &mut NodeEffects<M>,
    ) -> Result<(), StepError> {
        match (timer, &self.role) {
            (
                Timer::Election,
                Role::Follower { .. } | Role::PreCandidate { .. } | Role::Candidate { .. },
            ) => {
                if self.config.pre_vote {
                    self.start_pre_vote(out)
                } else {
                    self.start_election(false, out)
                }
            }
            (Timer::QuorumCheck, Role::Leader { .. }) => {
                self.handle_quorum_check(out);
                Ok(())
            }
            (Timer::TransferTimeout, Role::Leader { .. }) => {
                self.abort_transfer();
                Ok(())
            }
            (Timer::Heartbeat, Role::Leader { .. }) => {
                // §5.2: leaders send periodic heartbeats to maintain their authority.
                self.heartbeat(out);
                if self.checks_quorum() {
                    // §6.2: numbered rounds, which the quorum check counts.
                    self.start_round(out);
                }
                out.push(Effect::SetTimer {
                    timer: Timer::Heartbeat,
                    after: self.config.heartbeat(),
                });
                Ok(())
            }
            _ => Err(StepError::TimerNotArmed),
        }
    }

    /// Handles a client request (§8): a leader appends it; others redirect the client.
    pub fn handle_client_request(
        &mut self,
        request: ClientRequest<M::Command>,
        out: &mut NodeEffects<M>,
    ) -> Result<(), StepError> {
        // One entry: persisted and sent as a one-entry run, held inline (no allocation).
        if let Some(entry) = self.propose(request, 0, out) {
            self.replicate_proposals(entry.into(), out);
        }
        Ok(())
    }

    /// Handles client requests that arrived together: as many single requests, but persisted
    /// in one effect and sent in one AppendEntries per follower (dissertation §10.2).
    pub fn handle_client_requests(
        &mut self,
        requests: Vec<ClientRequest<M::Command>>,
        out: &mut NodeEffects<M>,
    ) -> Result<(), StepError> {
        let mut batch = Vec::with_capacity(requests.len());
        for request in requests {
            if let Some(entry) = self.propose(request, batch.len(), out) {
                batch.push(entry);
            }
        }
        if !batch.is_empty() {
            self.replicate_proposals(batch.into(), out);
        }
        Ok(())
    }

    /// Answers `request` at once, or returns its entry, to be appended at the log's end after
    /// `queued` entries of the same step.
    fn propose(
        &mut self,
        request: ClientRequest<M::Command>,
        queued: usize,
        out: &mut NodeEffects<M>,
    ) -> Option<Entry<M::Command>> {
        let ClientRequest {
            client,
            serial,
            command,
        } = request;
        if !self.is_leader() {
            // §8: a server that is not the leader rejects the request and supplies the most
            // recent leader it has heard from.
            out.push(Effect::Reply {
                client,
                serial,
                response: ClientResponse::NotLeader {
                    leader_hint: self.leader_hint(),
                },
            });
            return None;
        }
        if let Some(target) = self.lead.transfer {
            // Dissertation §3.10: during a transfer the leader takes no proposals.
            out.push(Effect::Reply {
                client,
                serial,
                response: ClientResponse::TransferInProgress { target },
            });
            return None;
        }
        // Dissertation §6.3: a request already applied is answered from the session table,
        // never applied twice.
        match self.session_check(client, serial) {
            SessionCheck::Duplicate(output) => {
                let response = ClientResponse::Applied(output.clone());
                out.push(Effect::Reply {
                    client,
                    serial,
                    response,
                });
                return None;
            }
            SessionCheck::Expired => {
                out.push(Effect::Reply {
                    client,
                    serial,
                    response: ClientResponse::SessionExpired,
                });
                return None;
            }
            SessionCheck::New => {}
        }
        // A retry of a request that is already in the uncommitted tail waits for that entry.
        let index = self.durable.log.last_index() + queued as Index + 1;
        if !self.pending.insert_new(client, serial, index) {
            return None;
        }
        // §8: the answer waits until the command is applied. Rule switched off: the leader
        // answers at once, with what applying the command to its present state would give.
        if !self.config.keeps(Rule::ReplyAfterApply) {
            if let Some(output) = self.machine.clone().apply(client, serial, &command) {
                out.push(Effect::Reply {
                    client,
                    serial,
                    response: ClientResponse::Applied(output),
                });
            }
        }
        // §5.3: the leader appends the command to its log as a new entry.
        Some(Entry {
            term: self.durable.current_term,
            payload: Payload::Command {
                client,
                serial,
                command: Arc::new(command),
            },
        })
    }

    /// §5.3: appends `entries` to the leader's log, persists them in one effect, then issues
    /// AppendEntries to each of the other servers (sharing the entries with the effect).
    fn replicate_proposals(&mut self, entries: Entries<M::Command>, out: &mut NodeEffects<M>) {
        let first_index = self.durable.log.last_index() + 1;
        self.durable.log.extend_from_slice(&entries);
        out.push(Effect::PersistEntries {
            first_index,
            entries: entries.clone(),
        });
        self.replicate(Some((first_index, entries)), out);
        self.advance_leader_commit(out);
    }

    // ----- role transitions -----

    /// §5.1: adopt `term` (clearing the vote when the term changes) and become a follower.
    pub(crate) fn become_follower(
        &mut self,
        term: Term,
        leader: Option<NodeId>,
        out: &mut NodeEffects<M>,
    ) {
        if term > self.durable.current_term {
            self.durable.current_term = term;
            self.durable.voted_for = None;
            // Figure 2: the new term is on disk before any message of this step reveals it.
            if self.config.keeps(Rule::PersistTerm) {
                self.persist_hard_state(out);
            }
        }
        let was_leader = matches!(self.role, Role::Leader { .. });
        if was_leader {
            out.push(Effect::CancelTimer {
                timer: Timer::Heartbeat,
            });
            if self.checks_quorum() {
                out.push(Effect::CancelTimer {
                    timer: Timer::QuorumCheck,
                });
            }
            if self.lead.transfer.is_some() {
                out.push(Effect::CancelTimer {
                    timer: Timer::TransferTimeout,
                });
            }
        }
        if !matches!(self.role, Role::Follower { .. }) {
            self.reset_election_timer(out);
        }
        self.role = Role::Follower { leader };
        // Only a leader tracks match indexes and pending requests; dropping them keeps equal
        // followers equal.
        self.match_tracker = MatchTracker::default();
        self.pending.clear();
        if was_leader {
            self.refuse_pending_reads(out);
            self.lead = Leadership::default();
        }
    }

    /// §5.2, §8: a new leader initializes `next_index` to its last index + 1 and `match_index`
    /// to 0 for every peer, appends a no-op entry of its term, and sends AppendEntries at once.
    pub(crate) fn become_leader(&mut self, out: &mut NodeEffects<M>) {
        let next_index = self.durable.log.last_index() + 1;
        let progress = self
            .config
            .peers()
            .map(|p| (p, Progress::new(next_index)))
            .collect();
        self.role = Role::Leader { progress };
        // The uncommitted client entries of earlier terms, so that their retries wait for them.
        self.pending.clear();
        for (k, e) in self
            .durable
            .log
            .entries_from(self.commit_index + 1, usize::MAX)
            .iter()
            .enumerate()
        {
            if let Payload::Command { client, serial, .. } = e.payload {
                self.pending
                    .push(client, serial, self.commit_index + 1 + k as Index);
            }
        }
        self.match_tracker = MatchTracker::new(self.config.peers().count());
        out.push(Effect::CancelTimer {
            timer: Timer::Election,
        });
        self.lead = Leadership::default();
        self.append_as_leader(Payload::Noop, out);
        self.replicate(None, out);
        out.push(Effect::SetTimer {
            timer: Timer::Heartbeat,
            after: self.config.heartbeat(),
        });
        if self.checks_quorum() {
            // §6.2: the first quorum check counts acknowledgements of this first round.
            self.lead.check_round = self.start_round(out);
            out.push(Effect::SetTimer {
                timer: Timer::QuorumCheck,
                after: self.config.quorum_check(),
            });
        }
        self.advance_leader_commit(out);
    }

    /// Appends an entry of the current term to the leader's own log and persists it.
    fn append_as_leader(&mut self, payload: Payload<M::Command>, out: &mut NodeEffects<M>) {
        let entry = Entry {
            term: self.durable.current_term,
            payload,
        };
        let first_index = self.durable.log.last_index() + 1;
        out.push(Effect::PersistEntries {
            first_index,
            entries: entry.clone().into(),
        });
        self.durable.log.append(entry);
    }

    pub(crate) fn persist_hard_state(&self, out: &mut NodeEffects<M>) {
        out.push(Effect::PersistHardState {
            current_term: self.durable.current_term,
            voted_for: self.durable.voted_for,
        });
    }

    pub(crate) fn reset_election_timer(&self, out: &mut NodeEffects<M>) {
        out.push(Effect::SetTimer {
            timer: Timer::Election,
            after: self.config.election_timeout(),
        });
    }

    // ----- commit and apply -----

    /// Raises `commit_index` to `index` (never lowers it) and applies what became committed.
    pub(crate) fn commit_to(&mut self, index: Index, out: &mut NodeEffects<M>) {
        if index <= self.commit_index {
            return;
        }
        // Never past the log: what is committed must be held.
        self.commit_index = index.min(self.durable.log.last_index());
        self.apply_committed(out);
        self.advance_reads(out);
    }

    /// Figure 2, all servers: while `commit_index > last_applied`, apply the next entry. The
    /// leader answers the client whose command it applied.
    fn apply_committed(&mut self, out: &mut NodeEffects<M>) {
        let apply_to = if self.config.keeps(Rule::ApplyOnlyCommitted) {
            self.commit_index
        } else {
            // Rule switched off: every entry the log holds is applied, committed or not.
            self.durable.log.last_index()
        };
        // Only the leader answers clients and tracks pending requests.
        let leading = matches!(self.role, Role::Leader { .. });
        while self.last_applied < apply_to {
            let index = self.last_applied + 1;
            let Some(entry) = self.durable.log.get(index) else {
                break;
            };
            let term = entry.term;
            let (output, reply) = match &entry.payload {
                Payload::Noop => (None, None),
                Payload::Command {
                    client,
                    serial,
                    command,
                } => {
                    let (client, serial) = (*client, *serial);
                    if leading {
                        self.pending.applied(client, serial, index);
                    }
                    let outcome = if self.config.keeps(Rule::ApplyOnce) {
                        self.machine.apply_once(client, serial, command)
                    } else {
                        // Rule switched off: every request is taken as new.
                        Outcome::New(self.machine.apply_new(client, serial, command))
                    };
                    let reply = leading.then(|| {
                        let response = match &outcome {
                            Outcome::New(output) => ClientResponse::Applied(output.clone()),
                            Outcome::Duplicate(output) => {
                                ClientResponse::Applied((*output).clone())
                            }
                            Outcome::Expired => ClientResponse::SessionExpired,
                        };
                        (client, serial, response)
                    });
                    let output = match outcome {
                        Outcome::New(output) => Some(output),
                        Outcome::Duplicate(_) | Outcome::Expired => None,
                    };
                    (output, reply)
                }
            };
            self.last_applied = index;
            out.push(Effect::Apply {
                index,
                term,
                output,
            });
            if let Some((client, serial, response)) = reply {
                out.push(Effect::Reply {
                    client,
                    serial,
                    response,
                });
            }
        }
    }

    /// Dissertation §6.3: what the session table says of `(client, serial)`: a request applied
    /// before is answered from the table and never applied again.
    fn session_check(&self, client: ClientId, serial: u64) -> SessionCheck<'_, M::Output> {
        if self.config.keeps(Rule::ApplyOnce) {
            self.machine.check(client, serial)
        } else {
            // Rule switched off: every request is taken as new.
            SessionCheck::New
        }
    }

    // ----- inspection -----

    /// This node's configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// This node's id.
    pub fn id(&self) -> NodeId {
        self.config.id()
    }

    /// §5.1: a message of an older term is refused (its sender is behind); the error names
    /// both terms.
    pub(crate) fn refuse_stale(&self, message_term: Term) -> Result<(), StepError> {
        let current_term = self.durable.current_term;
        if message_term < current_term {
            return Err(StepError::StaleTerm {
                message_term,
                current_term,
            });
        }
        Ok(())
    }

    /// The latest term this node has seen (§5.1).
    pub fn current_term(&self) -> Term {
        self.durable.current_term
    }

    /// Whom this node voted for in `current_term` (§5.2).
    pub fn voted_for(&self) -> Option<NodeId> {
        self.durable.voted_for
    }

    /// The log.
    pub fn log(&self) -> &Log<M::Command> {
        &self.durable.log
    }

    /// The durable state, as the node holds it in memory.
    pub fn durable(&self) -> &DurableState<M::Command> {
        &self.durable
    }

    /// The role and its volatile state.
    pub fn role(&self) -> &Role {
        &self.role
    }

    /// Whether this node is the leader of its `current_term`.
    pub fn is_leader(&self) -> bool {
        matches!(self.role, Role::Leader { .. })
    }

    /// Whether this node is a candidate.
    pub fn is_candidate(&self) -> bool {
        matches!(self.role, Role::Candidate { .. })
    }

    /// Whether this node is a pre-candidate (dissertation §9.6).
    pub fn is_pre_candidate(&self) -> bool {
        matches!(self.role, Role::PreCandidate { .. })
    }

    /// The leader's state for heartbeat rounds, CheckQuorum, leases, transfers and reads
    /// (empty unless this node leads).
    pub fn leadership(&self) -> &Leadership<M::Command> {
        &self.lead
    }

    /// The leader this node knows of in its current term: itself if it leads.
    pub fn leader_hint(&self) -> Option<NodeId> {
        match &self.role {
            Role::Leader { .. } => Some(self.id()),
            Role::Follower { leader } => *leader,
            Role::PreCandidate { .. } | Role::Candidate { .. } => None,
        }
    }

    /// The highest index known to be committed (Figure 2).
    pub fn commit_index(&self) -> Index {
        self.commit_index
    }

    /// The highest index applied to the state machine (Figure 2).
    pub fn last_applied(&self) -> Index {
        self.last_applied
    }

    /// The application state, with its client sessions.
    pub fn state_machine(&self) -> &SessionMachine<M> {
        &self.machine
    }

    /// The replication progress of `peer`, when this node leads.
    pub fn progress(&self, peer: NodeId) -> Option<&Progress> {
        match &self.role {
            Role::Leader { progress } => progress.get(&peer),
            _ => None,
        }
    }

    /// The same node with every node id passed through `f`, a permutation of the member ids
    /// (for the model checker's symmetry reduction).
    pub fn map_node_ids(&self, f: impl Fn(NodeId) -> NodeId) -> Self {
        let mut n = self.clone();
        n.config = Arc::new(self.config.map_node_ids(&f));
        n.durable.voted_for = self.durable.voted_for.map(&f);
        n.lead = self.lead.map_node_ids(&f);
        n.forwarded = self.forwarded.iter().map(|r| r.map_node_ids(&f)).collect();
        n.role = match &self.role {
            Role::Follower { leader } => Role::Follower {
                leader: leader.map(&f),
            },
            Role::PreCandidate { votes } => Role::PreCandidate {
                votes: votes.iter().map(|&v| f(v)).collect(),
            },
            Role::Candidate { votes } => Role::Candidate {
                votes: votes.iter().map(|&v| f(v)).collect(),
            },
            Role::Leader { progress } => Role::Leader {
                progress: progress.iter().map(|(&p, pr)| (f(p), pr.clone())).collect(),
            },
        };
        n
    }
}
