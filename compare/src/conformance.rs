//! raft-rs 0.7 (TiKV's Raft, crate `raft`) behind refraft's adapter seam
//! ([`refraft::sim::SimNode`]), so that refraft's simulator runs its scenarios, with its
//! per-step safety checks, against raft-rs.
//!
//! One [`RaftRs`] is one `RawNode` over a `MemStorage`. A step is one call into raft-rs (`step`
//! for a message, `tick` for the timer, `propose` for a client request) followed by the whole
//! Ready loop of raft-rs's examples, turned into simulator effects in raft-rs's order: send the
//! messages, apply the committed entries, persist the entries and the hard state, send the
//! persisted messages, `advance`, then the light ready (commit index, messages, committed
//! entries), then `advance_apply`.
//!
//! What the adapter adds, and why:
//!
//! - **Time.** raft-rs counts ticks; the adapter arms one timer, [`Tick`], every 10 ms, with
//!   `election_tick` 15 and `heartbeat_tick` 5 (elections after 150–300 ms, as refraft's §9.3
//!   defaults). raft-rs draws its randomized election timeout from `rand::thread_rng()`; the
//!   adapter overwrites it after every step that reset it, from a generator seeded by the
//!   simulation, so a seed replays.
//! - **Clients.** raft-rs has no client sessions and no client replies: the adapter encodes the
//!   client id and serial in the entry's data (`"<client> <serial> <command>"`), answers
//!   `NotLeader` with raft-rs's `leader_id` as the hint when the node does not lead (raft-rs
//!   itself would forward the proposal), and answers `Applied` when the leader that accepted a
//!   proposal applies it. A retried request is a new proposal: it may be applied twice.
//! - **Settings.** refraft's [`Config`] is mapped where raft-rs has a counterpart: PreVote,
//!   CheckQuorum, the pipelining window (`max_inflight_msgs`); entries per message are not
//!   bounded (`max_size_per_msg` = `NO_LIMIT`).
//!
//! ```
//! use refraft::sim::{SimConfig, SimNode, Simulation};
//! use refraft_compare::conformance::RaftRs;
//! use std::time::Duration;
//! let mut sim = Simulation::<RaftRs>::boot(SimConfig::new(3, 1)).unwrap();
//! let leader = sim.check_one_leader().unwrap();
//! let index = sim.commit_command("SET x=1".parse().unwrap(), Duration::from_secs(5)).unwrap();
//! assert!(index >= 2); // after the leader's empty entry
//! assert!(sim.node(leader).unwrap().is_leader());
//! ```

use raft::eraftpb::{ConfState, Entry, EntryType, HardState, Message, MessageType};
use raft::storage::MemStorage;
use raft::{RawNode, StateRole, Storage, NO_LIMIT};
use refraft::sim::{MessageStats, SimEffect, SimNode, SimRng};
use refraft::{
    ClientId, ClientRequest, ClientResponse, Config, Index, KvCommand, KvStore, NodeId,
    StateMachine, Term,
};
use std::collections::BTreeMap;
use std::time::Duration;

/// How often a node ticks.
pub const TICK: Duration = Duration::from_millis(10);
/// raft-rs's `election_tick` (its randomized timeout is drawn from `[15, 30)` ticks).
pub const ELECTION_TICK: usize = 15;
/// raft-rs's `heartbeat_tick`.
pub const HEARTBEAT_TICK: usize = 5;

/// One raft-rs server.
pub struct RaftRs {
    id: NodeId,
    node: RawNode<MemStorage>,
    /// The persisted log, entry `i` at `log[i - 1]`: after every step raft-rs has persisted
    /// everything, so this is its whole log.
    log: Vec<Entry>,
    kv: KvStore,
    applied: Index,
    /// Proposals this node accepted as leader, by index.
    proposed: BTreeMap<Index, (ClientId, u64)>,
    rng: SimRng,
}

/// The single timer: one raft-rs tick.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tick;

/// One input of a step.
#[derive(Clone, Debug)]
pub enum RaftRsInput {
    /// A message from another server.
    Message(Message),
    /// A tick.
    Tick,
    /// A client's request.
    Client(ClientRequest<KvCommand>),
}

/// What survives a crash: the hard state (term, vote, commit) and the log.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RaftRsDisk {
    /// raft-rs's `HardState`.
    pub hard_state: HardState,
    /// The log, from index 1.
    pub entries: Vec<Entry>,
}

/// One write to a [`RaftRsDisk`].
#[derive(Clone, Debug)]
pub enum RaftRsWrite {
    /// Entries appended from their first index on (a conflicting suffix is replaced).
    Entries(Vec<Entry>),
    /// A new hard state.
    HardState(HardState),
    /// The commit index of the light ready.
    Commit(u64),
}

/// The client request an entry's data encodes.
fn decode(data: &[u8]) -> Option<ClientRequest<KvCommand>> {
    let text = std::str::from_utf8(data).ok()?;
    let mut parts = text.splitn(3, ' ');
    let client = ClientId(parts.next()?.parse().ok()?);
    let serial = parts.next()?.parse().ok()?;
    let command = parts.next()?.parse().ok()?;
    Some(ClientRequest {
        client,
        serial,
        command,
    })
}

fn encode(request: &ClientRequest<KvCommand>) -> Vec<u8> {
    format!(
        "{} {} {}",
        request.client.0, request.serial, request.command
    )
    .into_bytes()
}

fn append(log: &mut Vec<Entry>, entries: &[Entry]) {
    if let Some(first) = entries.first() {
        log.truncate(first.index.saturating_sub(1) as usize);
        log.extend_from_slice(entries);
    }
}

impl RaftRs {
    /// raft-rs's own node, for scenarios that look inside it.
    pub fn raw(&self) -> &RawNode<MemStorage> {
        &self.node
    }

    /// raft-rs's configuration for refraft's `config`.
    pub fn raft_config(config: &Config) -> raft::Config {
        raft::Config {
            id: config.id().0,
            election_tick: ELECTION_TICK,
            heartbeat_tick: HEARTBEAT_TICK,
            min_election_tick: ELECTION_TICK,
            max_election_tick: 2 * ELECTION_TICK,
            max_size_per_msg: NO_LIMIT,
            max_inflight_msgs: config.max_in_flight_appends.max(1),
            pre_vote: config.pre_vote,
            check_quorum: config.check_quorum,
            ..Default::default()
        }
    }

    /// Replaces the election timeout raft-rs drew from `thread_rng` with a seeded one, after a
    /// step that reset the election clock.
    fn seed_election_timeout(&mut self, force: bool) {
        if force || self.node.raft.election_elapsed == 0 {
            let t = self
                .rng
                .in_range(ELECTION_TICK as u64..2 * ELECTION_TICK as u64);
            self.node.raft.set_randomized_election_timeout(t as usize);
        }
    }

    fn apply(&mut self, entries: Vec<Entry>, out: &mut Vec<SimEffect<Self>>) {
        for e in entries {
            self.applied = e.index;
            let mut answer = None;
            if e.get_entry_type() == EntryType::EntryNormal {
                if let Some(request) = decode(&e.data) {
                    let output = self.kv.apply(&request.command);
                    if self.proposed.remove(&e.index) == Some((request.client, request.serial)) {
                        answer = Some((request.client, request.serial, output));
                    }
                }
            }
            out.push(SimEffect::Apply {
                index: e.index,
                term: e.term,
            });
            if let Some((client, serial, output)) = answer {
                out.push(SimEffect::Reply {
                    client,
                    serial,
                    response: ClientResponse::Applied(output),
                });
            }
        }
        // A proposal overwritten by another leader's entry is never answered: its client
        // times out and retries.
        let applied = self.applied;
        self.proposed.retain(|&index, _| index > applied);
    }

    fn send(out: &mut Vec<SimEffect<Self>>, messages: Vec<Message>) {
        for m in messages {
            out.push(SimEffect::Send {
                to: NodeId(m.to),
                message: m,
            });
        }
    }

    /// The Ready loop, until raft-rs has nothing left to do.
    fn handle_ready(&mut self, out: &mut Vec<SimEffect<Self>>) {
        while self.node.has_ready() {
            let mut rd = self.node.ready();
            Self::send(out, rd.take_messages());
            let committed = rd.take_committed_entries();
            self.apply(committed, out);
            let store = self.node.raft.raft_log.store.clone();
            if !rd.entries().is_empty() {
                store.wl().append(rd.entries()).expect("MemStorage appends");
                append(&mut self.log, rd.entries());
                out.push(SimEffect::Persist {
                    first_index: rd.entries().first().map(|e| e.index),
                    write: RaftRsWrite::Entries(rd.entries().clone()),
                });
            }
            if let Some(hs) = rd.hs() {
                store.wl().set_hardstate(hs.clone());
                out.push(SimEffect::Persist {
                    write: RaftRsWrite::HardState(hs.clone()),
                    first_index: None,
                });
            }
            Self::send(out, rd.take_persisted_messages());
            let mut light = self.node.advance(rd);
            if let Some(commit) = light.commit_index() {
                store.wl().mut_hard_state().set_commit(commit);
                out.push(SimEffect::Persist {
                    write: RaftRsWrite::Commit(commit),
                    first_index: None,
                });
            }
            Self::send(out, light.take_messages());
            let committed = light.take_committed_entries();
            self.apply(committed, out);
            self.node.advance_apply();
        }
        self.seed_election_timeout(false);
    }
}

impl SimNode for RaftRs {
    type Message = Message;
    type Input = RaftRsInput;
    type Effects = Vec<SimEffect<Self>>;
    type Drain = std::vec::IntoIter<SimEffect<Self>>;
    type Entry = Entry;
    type Disk = RaftRsDisk;
    type Write = RaftRsWrite;
    type Timer = Tick;
    type Refusal = raft::Error;

    fn boot(config: &Config, disk: RaftRsDisk, seed: u64) -> Result<(Self, Self::Effects), String> {
        let voters: Vec<u64> = config.members().iter().map(|id| id.0).collect();
        let storage = MemStorage::new_with_conf_state(ConfState::from((voters, vec![])));
        storage
            .wl()
            .append(&disk.entries)
            .map_err(|e| e.to_string())?;
        storage.wl().set_hardstate(disk.hard_state.clone());
        let logger = slog::Logger::root(slog::Discard, slog::o!());
        let node = RawNode::new(&Self::raft_config(config), storage, &logger)
            .map_err(|e| e.to_string())?;
        let mut this = RaftRs {
            id: config.id(),
            node,
            log: disk.entries,
            kv: KvStore::default(),
            applied: 0,
            proposed: BTreeMap::new(),
            rng: SimRng::new(seed),
        };
        let mut out = Vec::new();
        this.handle_ready(&mut out);
        this.seed_election_timeout(true);
        out.push(SimEffect::SetTimer {
            timer: Tick,
            after: TICK..TICK,
        });
        Ok((this, out))
    }

    fn new_effects() -> Self::Effects {
        Vec::new()
    }

    fn step(&mut self, input: RaftRsInput, out: &mut Self::Effects) -> Result<(), raft::Error> {
        let result = match input {
            RaftRsInput::Message(m) => self.node.step(m),
            RaftRsInput::Tick => {
                self.node.tick();
                out.push(SimEffect::SetTimer {
                    timer: Tick,
                    after: TICK..TICK,
                });
                Ok(())
            }
            RaftRsInput::Client(request) => {
                if self.node.raft.state != StateRole::Leader {
                    let leader = self.node.raft.leader_id;
                    out.push(SimEffect::Reply {
                        client: request.client,
                        serial: request.serial,
                        response: ClientResponse::NotLeader {
                            leader_hint: (leader != 0 && leader != self.id.0)
                                .then_some(NodeId(leader)),
                        },
                    });
                    Ok(())
                } else {
                    let data = encode(&request);
                    let result = self.node.propose(vec![], data);
                    match &result {
                        Ok(()) => {
                            let index = self.node.raft.raft_log.last_index();
                            self.proposed
                                .insert(index, (request.client, request.serial));
                        }
                        // Dropped during a leadership transfer: the client retries.
                        Err(_) => out.push(SimEffect::Reply {
                            client: request.client,
                            serial: request.serial,
                            response: ClientResponse::NotLeader { leader_hint: None },
                        }),
                    }
                    result
                }
            }
        };
        self.handle_ready(out);
        result
    }

    fn drain(out: Self::Effects) -> Self::Drain {
        out.into_iter()
    }

    fn message_input(_from: NodeId, message: Message) -> RaftRsInput {
        RaftRsInput::Message(message)
    }

    fn timeout_input(_timer: Tick) -> RaftRsInput {
        RaftRsInput::Tick
    }

    fn client_input(request: ClientRequest<KvCommand>) -> RaftRsInput {
        RaftRsInput::Client(request)
    }

    /// A proposal dropped (raft-rs refuses proposals during a leadership transfer) is answered
    /// `NotLeader`; every other refusal fails the run.
    fn refusal_is_benign(refusal: &raft::Error) -> bool {
        matches!(refusal, raft::Error::ProposalDropped)
    }

    fn timer_slot(_timer: Tick) -> usize {
        0
    }

    fn id(&self) -> NodeId {
        self.id
    }

    fn current_term(&self) -> Term {
        self.node.raft.term
    }

    fn is_leader(&self) -> bool {
        self.node.raft.state == StateRole::Leader
    }

    fn commit_index(&self) -> Index {
        self.node.raft.raft_log.committed
    }

    fn last_applied(&self) -> Index {
        self.applied
    }

    fn last_index(&self) -> Index {
        self.log.len() as Index
    }

    fn term_at(&self, index: Index) -> Option<Term> {
        match index {
            0 => Some(0),
            i => self.log.get(i as usize - 1).map(|e| e.term),
        }
    }

    fn entry(&self, index: Index) -> Option<&Entry> {
        self.log.get((index as usize).checked_sub(1)?)
    }

    fn entry_term(entry: &Entry) -> Term {
        entry.term
    }

    fn client_request(entry: &Entry) -> Option<ClientRequest<KvCommand>> {
        decode(&entry.data)
    }

    fn write(disk: &mut RaftRsDisk, write: &RaftRsWrite) {
        match write {
            RaftRsWrite::Entries(entries) => append(&mut disk.entries, entries),
            RaftRsWrite::HardState(hs) => disk.hard_state = hs.clone(),
            RaftRsWrite::Commit(commit) => disk.hard_state.commit = *commit,
        }
    }

    /// raft-rs's storage holds the hard state the writes wrote, and a log that ends where
    /// theirs ends, in the same term; raft-rs's log has nothing unpersisted.
    fn durable_matches(&self, disk: &RaftRsDisk) -> bool {
        let store = &self.node.raft.raft_log.store;
        let last = disk.entries.last().map_or(0, |e| e.index);
        let last_term = disk.entries.last().map_or(0, |e| e.term);
        store.rl().hard_state() == &disk.hard_state
            && store.last_index().ok() == Some(last)
            && store.term(last).ok() == Some(last_term)
            && self.node.raft.raft_log.last_index() == last
            && self.log.len() == disk.entries.len()
    }

    fn describe(m: &Message) -> String {
        format!(
            "{:?} t{} index {} log_term {} +{} commit {} reject {} hint {}",
            m.get_msg_type(),
            m.term,
            m.index,
            m.log_term,
            m.entries.len(),
            m.commit,
            m.reject,
            m.reject_hint
        )
    }

    fn message_stats(m: &Message) -> MessageStats {
        match m.get_msg_type() {
            MessageType::MsgAppend => MessageStats {
                request: true,
                entries: m.entries.len() as u64,
                command_bytes: m.entries.iter().map(|e| e.data.len() as u64).sum(),
            },
            MessageType::MsgRequestVote => MessageStats {
                request: true,
                ..MessageStats::default()
            },
            _ => MessageStats::default(),
        }
    }
}
