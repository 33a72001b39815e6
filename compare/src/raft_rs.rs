//! The raft-rs side: three `raft::RawNode`s over `MemStorage`, driven by the Ready loop of
//! raft-rs's own examples (send the messages, apply the committed entries, persist the entries
//! and hard state, send the persisted messages, `advance`, then the light ready, then
//! `advance_apply`). raft-rs does not apply inside `step`: the apply work is done here, on every
//! node, as refraft's nodes do it inside theirs.

use crate::{kv_command, Machine};
use raft::eraftpb::{ConfState, Entry, EntryType, Message, MessageType};
use raft::storage::MemStorage;
use raft::{Config, RawNode, StateRole, NO_LIMIT};
use refraft::{KvCommand, KvStore, StateMachine};
use std::collections::VecDeque;

/// What one node applies to.
#[derive(Clone)]
enum Applied {
    Kv(KvStore),
    Trivial(u64),
}

/// Three raft-rs nodes with a FIFO network.
pub struct Cluster {
    nodes: Vec<RawNode<MemStorage>>,
    machines: Vec<Applied>,
    network: VecDeque<Message>,
    /// Proposals applied on the leader.
    applied: u64,
    /// Entries carried by MsgAppend, summed over all messages.
    entries_sent: u64,
    serial: u64,
}

/// The configuration of node `id`: raft-rs's defaults, except that one message may carry any
/// number of entries (refraft sends up to 64 per AppendEntries; raft-rs's default of 0 bytes
/// would send one) and the log is not checked for quorum on every tick.
pub fn config(id: u64) -> Config {
    Config {
        id,
        election_tick: 10,
        heartbeat_tick: 1,
        max_size_per_msg: NO_LIMIT,
        max_inflight_msgs: 256,
        ..Default::default()
    }
}

fn discard() -> slog::Logger {
    slog::Logger::root(slog::Discard, slog::o!())
}

/// A node of a three-voter configuration.
pub fn raw_node(id: u64, voters: &[u64]) -> RawNode<MemStorage> {
    let storage = MemStorage::new_with_conf_state(ConfState::from((voters.to_vec(), vec![])));
    RawNode::new(&config(id), storage, &discard()).expect("valid raft-rs config")
}

impl Cluster {
    /// Three nodes, node 1 elected and its empty entry committed everywhere.
    pub fn elected(machine: Machine) -> Self {
        let voters = [1, 2, 3];
        let start = match machine {
            Machine::Kv => Applied::Kv(KvStore::default()),
            Machine::Trivial => Applied::Trivial(0),
        };
        let mut c = Cluster {
            nodes: voters.iter().map(|&id| raw_node(id, &voters)).collect(),
            machines: vec![start; 3],
            network: VecDeque::new(),
            applied: 0,
            entries_sent: 0,
            serial: 0,
        };
        c.nodes[0].campaign().expect("campaign");
        c.settle();
        assert_eq!(c.nodes[0].raft.state, StateRole::Leader);
        // Make sure the followers learn the commit of the leader's empty entry.
        c.nodes[0].ping();
        c.settle();
        c.entries_sent = 0;
        c.applied = 0;
        c
    }

    fn send(&mut self, messages: Vec<Message>) {
        for m in messages {
            if m.get_msg_type() == MessageType::MsgAppend {
                self.entries_sent += m.entries.len() as u64;
            }
            self.network.push_back(m);
        }
    }

    fn apply(&mut self, at: usize, entries: Vec<Entry>) {
        for e in entries {
            if e.get_entry_type() != EntryType::EntryNormal || e.data.is_empty() {
                continue;
            }
            match &mut self.machines[at] {
                Applied::Kv(kv) => apply_kv_entry(kv, &e),
                Applied::Trivial(sum) => {
                    let mut word = [0u8; 8];
                    word.copy_from_slice(&e.data[..8]);
                    *sum = sum.wrapping_add(u64::from_le_bytes(word));
                }
            }
            if at == 0 {
                self.applied += 1;
            }
        }
    }

    /// One pass of the Ready loop on node `at`.
    fn handle_ready(&mut self, at: usize) {
        if !self.nodes[at].has_ready() {
            return;
        }
        let mut rd = self.nodes[at].ready();
        self.send(rd.take_messages());
        self.apply(at, rd.take_committed_entries());
        let store = self.nodes[at].raft.raft_log.store.clone();
        if !rd.entries().is_empty() {
            store.wl().append(rd.entries()).expect("append");
        }
        if let Some(hs) = rd.hs() {
            store.wl().set_hardstate(hs.clone());
        }
        self.send(rd.take_persisted_messages());
        let mut light = self.nodes[at].advance(rd);
        if let Some(commit) = light.commit_index() {
            store.wl().mut_hard_state().set_commit(commit);
        }
        self.send(light.take_messages());
        self.apply(at, light.take_committed_entries());
        self.nodes[at].advance_apply();
    }

    fn settle(&mut self) {
        loop {
            for at in 0..self.nodes.len() {
                self.handle_ready(at);
            }
            if self.network.is_empty() {
                break;
            }
            while let Some(m) = self.network.pop_front() {
                let at = (m.to - 1) as usize;
                // Refusals (a stale answer, say) change nothing and are part of a real run.
                let _ = self.nodes[at].step(m);
            }
        }
    }

    /// Proposes `batch` commands to the leader one by one, then runs until nothing is left to
    /// do.
    pub fn round(&mut self, batch: u64) {
        for _ in 0..batch {
            self.serial += 1;
            let data = match self.machines[0] {
                Applied::Kv(_) => kv_command(self.serial).to_string().into_bytes(),
                Applied::Trivial(_) => self.serial.to_le_bytes().to_vec(),
            };
            self.nodes[0]
                .propose(vec![], data)
                .expect("the leader accepts");
        }
        self.settle();
    }

    /// Proposals applied on the leader.
    pub fn applied(&self) -> u64 {
        self.applied
    }

    /// Entries carried by MsgAppend so far.
    pub fn entries_sent(&self) -> u64 {
        self.entries_sent
    }

    /// The leader's commit index.
    pub fn leader_commit(&self) -> u64 {
        self.nodes[0].raft.raft_log.committed
    }
}

/// `MemStorage` with its reads bounded to `max_entries` entries. `MemStorage::entries` clones
/// the whole requested range before it cuts it to `max_size`, so a leader with a long
/// unacknowledged tail would time that clone; refraft reads only what it sends.
#[derive(Clone)]
pub struct BoundedStorage {
    /// The storage read and written.
    pub inner: MemStorage,
    /// The most entries one read returns.
    pub max_entries: u64,
}

impl raft::Storage for BoundedStorage {
    fn initial_state(&self) -> raft::Result<raft::RaftState> {
        self.inner.initial_state()
    }
    fn entries(
        &self,
        low: u64,
        high: u64,
        max_size: impl Into<Option<u64>>,
        context: raft::GetEntriesContext,
    ) -> raft::Result<Vec<Entry>> {
        let high = high.min(low + self.max_entries);
        self.inner.entries(low, high, max_size, context)
    }
    fn term(&self, idx: u64) -> raft::Result<u64> {
        self.inner.term(idx)
    }
    fn first_index(&self) -> raft::Result<u64> {
        self.inner.first_index()
    }
    fn last_index(&self) -> raft::Result<u64> {
        self.inner.last_index()
    }
    fn snapshot(&self, request_index: u64, to: u64) -> raft::Result<raft::eraftpb::Snapshot> {
        self.inner.snapshot(request_index, to)
    }
}

/// Node 1 of `n` voters, elected through vote messages, holding `log` KvStore proposals after
/// its empty entry (all persisted), sending `max_entries` entries per message; every peer has
/// acknowledged the empty entry.
pub fn leader_with_log(n: u64, log: u64, max_entries: u64) -> RawNode<BoundedStorage> {
    let voters: Vec<u64> = (1..=n).collect();
    let storage = BoundedStorage {
        inner: MemStorage::new_with_conf_state(ConfState::from((voters.clone(), vec![]))),
        max_entries,
    };
    let mut cfg = config(1);
    cfg.max_size_per_msg = 0;
    let mut node = RawNode::new(&cfg, storage, &discard()).expect("valid raft-rs config");
    node.campaign().expect("campaign");
    for &p in &voters[1..] {
        let mut vote = Message::default();
        vote.set_msg_type(MessageType::MsgRequestVoteResponse);
        vote.from = p;
        vote.to = 1;
        vote.term = node.raft.term;
        let _ = node.step(vote);
    }
    assert_eq!(node.raft.state, StateRole::Leader);
    for serial in 1..=log {
        let data = kv_command(serial).to_string().into_bytes();
        node.propose(vec![], data).expect("the leader accepts");
    }
    let mut kv = KvStore::default();
    leader_ready(&mut node, &mut kv);
    for &p in &voters[1..] {
        node.step(ack(p, node.raft.term, 1)).expect("ack");
    }
    leader_ready(&mut node, &mut kv);
    node
}

/// `from`'s MsgAppendResponse in `term`: it holds the leader's log up to `index`.
pub fn ack(from: u64, term: u64, index: u64) -> Message {
    let mut m = Message::default();
    m.set_msg_type(MessageType::MsgAppendResponse);
    m.from = from;
    m.to = 1;
    m.term = term;
    m.index = index;
    m
}

/// The leader's Ready work after a step: persist, apply committed entries to `kv`, advance.
/// Messages are dropped (the bench feeds the answers itself).
pub fn leader_ready(node: &mut RawNode<BoundedStorage>, kv: &mut KvStore) {
    if !node.has_ready() {
        return;
    }
    let mut rd = node.ready();
    drop(rd.take_messages());
    apply_kv(kv, rd.take_committed_entries());
    let store = node.raft.raft_log.store.inner.clone();
    if !rd.entries().is_empty() {
        store.wl().append(rd.entries()).expect("append");
    }
    if let Some(hs) = rd.hs() {
        store.wl().set_hardstate(hs.clone());
    }
    drop(rd.take_persisted_messages());
    let mut light = node.advance(rd);
    if let Some(commit) = light.commit_index() {
        store.wl().mut_hard_state().set_commit(commit);
    }
    drop(light.take_messages());
    apply_kv(kv, light.take_committed_entries());
    node.advance_apply();
}

fn apply_kv(kv: &mut KvStore, entries: Vec<Entry>) {
    for e in entries.iter().filter(|e| !e.data.is_empty()) {
        apply_kv_entry(kv, e);
    }
}

/// Decodes a `KvCommand` from an entry's bytes and applies it (refraft's entries carry the
/// decoded command, so decoding is part of raft-rs's apply work).
fn apply_kv_entry(kv: &mut KvStore, e: &Entry) {
    let text = std::str::from_utf8(&e.data).expect("commands are text");
    let command: KvCommand = text.parse().expect("a well-formed command");
    kv.apply(&command);
}
