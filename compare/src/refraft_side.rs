//! The refraft side: three `refraft::Node`s, the leader elected and its no-op committed.

use crate::{kv_command, Machine};
use refraft::{
    ClientId, ClientRequest, ClientResponse, Config, DurableState, Effect, Input, KvStore, Message,
    Node, NodeEffects, NodeId, StateMachine, Timer,
};
use std::collections::VecDeque;

/// A counter: applying a command adds it (the trivial machine).
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Counter(pub u64);

impl StateMachine for Counter {
    type Command = u64;
    type Output = u64;
    fn apply(&mut self, add: &u64) -> u64 {
        self.0 = self.0.wrapping_add(*add);
        self.0
    }
}

/// Three nodes running machine `M`, with a FIFO network and in-memory disks.
#[derive(Clone)]
pub struct Nodes<M: StateMachine> {
    nodes: Vec<Node<M>>,
    disks: Vec<DurableState<M::Command>>,
    network: VecDeque<(NodeId, NodeId, Message<M::Command>)>,
    out: NodeEffects<M>,
    /// Answers on the leader that a proposal was applied.
    pub applied: u64,
    /// Entries carried by AppendEntries, summed over all messages.
    pub entries_sent: u64,
    serial: u64,
}

impl<M: StateMachine + Default> Nodes<M> {
    fn elected() -> Self {
        let ids: Vec<NodeId> = (1..=3).map(NodeId).collect();
        let mut c = Nodes {
            nodes: Vec::new(),
            disks: Vec::new(),
            network: VecDeque::new(),
            out: NodeEffects::<M>::new(),
            applied: 0,
            entries_sent: 0,
            serial: 0,
        };
        for &id in &ids {
            let config = Config::new(id, ids.clone()).expect("valid config");
            let node = Node::new(config, DurableState::default(), M::default(), &mut c.out)
                .expect("fresh state");
            c.nodes.push(node);
            c.disks.push(DurableState::default());
            c.perform(id);
        }
        c.input(NodeId(1), Input::Timeout(Timer::Election));
        c.settle();
        // A heartbeat carries the commit of the no-op to the followers.
        c.input(NodeId(1), Input::Timeout(Timer::Heartbeat));
        c.settle();
        assert!(c.nodes[0].is_leader() && c.nodes.iter().all(|n| n.commit_index() == 1));
        c.entries_sent = 0;
        c
    }

    /// Performs the effects of `id`'s last step in order (by reference: a persist effect is
    /// copied to the disk, a message is cloned into the network, which costs a reference count
    /// for its entries), then empties the buffer.
    fn perform(&mut self, id: NodeId) {
        let at = (id.0 - 1) as usize;
        for effect in self.out.as_slice() {
            match effect {
                Effect::PersistHardState { .. } | Effect::PersistEntries { .. } => {
                    self.disks[at].apply(effect);
                }
                Effect::Send { to, message } => {
                    if let Message::AppendEntries(a) = message {
                        self.entries_sent += a.entries.len() as u64;
                    }
                    self.network.push_back((id, *to, message.clone()))
                }
                Effect::Reply {
                    response: ClientResponse::Applied(_),
                    ..
                } => self.applied += 1,
                Effect::Reply { .. }
                | Effect::ReadReply { .. }
                | Effect::Apply { .. }
                | Effect::SetTimer { .. }
                | Effect::CancelTimer { .. } => {}
            }
        }
        self.out.clear();
    }

    fn input(&mut self, id: NodeId, input: Input<M::Command>) {
        // Refusals (a stale answer, say) change nothing and are part of a real run.
        let _ = self.nodes[(id.0 - 1) as usize].step(input, &mut self.out);
        self.perform(id);
    }

    fn settle(&mut self) {
        while let Some((from, to, message)) = self.network.pop_front() {
            self.input(to, Input::Message { from, message });
        }
    }

    fn round(&mut self, batch: u64, command: impl Fn(u64) -> M::Command) {
        for _ in 0..batch {
            self.serial += 1;
            let request = ClientRequest {
                client: ClientId(1),
                serial: self.serial,
                command: command(self.serial),
            };
            self.input(NodeId(1), Input::ClientRequest(request));
        }
        self.settle();
    }

    fn leader_commit(&self) -> u64 {
        self.nodes[0].commit_index()
    }
}

/// A refraft cluster with either machine.
#[derive(Clone)]
pub enum Cluster {
    /// With `KvStore`.
    Kv(Nodes<KvStore>),
    /// With `Counter`.
    Trivial(Nodes<Counter>),
}

impl Cluster {
    /// Three nodes, n1 elected, its no-op committed everywhere.
    pub fn elected(machine: Machine) -> Self {
        match machine {
            Machine::Kv => Cluster::Kv(Nodes::elected()),
            Machine::Trivial => Cluster::Trivial(Nodes::elected()),
        }
    }

    /// Proposes `batch` commands to the leader one by one, then delivers every message.
    pub fn round(&mut self, batch: u64) {
        match self {
            Cluster::Kv(c) => c.round(batch, kv_command),
            Cluster::Trivial(c) => c.round(batch, |s| s),
        }
    }

    /// Proposals answered as applied on the leader.
    pub fn applied(&self) -> u64 {
        match self {
            Cluster::Kv(c) => c.applied,
            Cluster::Trivial(c) => c.applied,
        }
    }

    /// Entries carried by AppendEntries so far.
    pub fn entries_sent(&self) -> u64 {
        match self {
            Cluster::Kv(c) => c.entries_sent,
            Cluster::Trivial(c) => c.entries_sent,
        }
    }

    /// The leader's commit index.
    pub fn leader_commit(&self) -> u64 {
        match self {
            Cluster::Kv(c) => c.leader_commit(),
            Cluster::Trivial(c) => c.leader_commit(),
        }
    }
}
