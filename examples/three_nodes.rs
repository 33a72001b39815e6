//! Three nodes elect a leader and commit `SET x=1`, `SET y=2` and `DEL x`, all in one process.
//!
//! The driver is a plain loop: a FIFO queue of messages, and fixed timer choices (node 1's
//! election timer fires first; heartbeats fire when the queue runs dry). No model checker, no
//! threads, no clock: just the core's inputs and effects.
//!
//! Run it with `cargo run --example three_nodes`.

use refraft::{
    ClientId, ClientRequest, ClientResponse, Config, DurableState, Effect, Input, KvCommand,
    KvStore, Message, Node, NodeEffects, NodeId, StepError, Timer,
};
use std::collections::VecDeque;

struct Cluster {
    nodes: Vec<Node<KvStore>>,
    disks: Vec<DurableState<KvCommand>>,
    network: VecDeque<(NodeId, NodeId, Message<KvCommand>)>,
    replies: Vec<(NodeId, u64, ClientResponse<refraft::KvOutput>)>,
}

impl Cluster {
    fn new(n: u64) -> Self {
        let ids: Vec<NodeId> = (1..=n).map(NodeId).collect();
        let mut cluster = Cluster {
            nodes: Vec::new(),
            disks: Vec::new(),
            network: VecDeque::new(),
            replies: Vec::new(),
        };
        for &id in &ids {
            let mut out = NodeEffects::<KvStore>::new();
            let config = Config::new(id, ids.clone()).expect("valid config");
            let node = Node::new(
                config,
                DurableState::default(),
                KvStore::default(),
                &mut out,
            )
            .expect("fresh state is valid");
            cluster.nodes.push(node);
            cluster.disks.push(DurableState::default());
            cluster.perform(id, out);
        }
        cluster
    }

    fn index(id: NodeId) -> usize {
        (id.0 - 1) as usize
    }

    /// Performs a node's effects in order: persist, then send, then reply.
    fn perform(&mut self, id: NodeId, out: NodeEffects<KvStore>) {
        for effect in out {
            match effect {
                e @ (Effect::PersistHardState { .. } | Effect::PersistEntries { .. }) => {
                    self.disks[Self::index(id)].apply(&e);
                }
                Effect::Send { to, message } => self.network.push_back((id, to, message)),
                Effect::Apply {
                    index,
                    term,
                    output,
                } => {
                    println!("  {id} applies index {index} (term {term}) -> {output:?}")
                }
                Effect::Reply {
                    serial, response, ..
                }
                | Effect::ReadReply {
                    serial, response, ..
                } => self.replies.push((id, serial, response)),
                Effect::SetTimer { .. } | Effect::CancelTimer { .. } => {}
            }
        }
    }

    fn input(&mut self, id: NodeId, input: Input<KvCommand>) {
        let mut out = NodeEffects::<KvStore>::new();
        let input_kind = InputKind::of(&input);
        let result = self.nodes[Self::index(id)].step(input, &mut out);
        match (result, &input_kind) {
            (Ok(()), _) => {}
            // The node already won with a majority; the third vote arrives after the election
            // was decided. Harmless: a candidate needs a majority, not every vote.
            (Err(StepError::UnexpectedResponse), InputKind::Vote) => {
                println!("  {id}: a late vote, after this election was already won: ignored");
            }
            (Err(e), _) => println!("  {id}: input not acted on: {e}"),
        }
        self.perform(id, out);
    }

    /// Delivers queued messages until none are left.
    fn settle(&mut self) {
        while let Some((from, to, message)) = self.network.pop_front() {
            self.input(to, Input::Message { from, message });
        }
    }

    fn leader(&self) -> Option<NodeId> {
        self.nodes.iter().find(|n| n.is_leader()).map(|n| n.id())
    }
}

fn main() {
    let mut cluster = Cluster::new(3);
    println!("node n1's election timer fires first");
    cluster.input(NodeId(1), Input::Timeout(Timer::Election));
    cluster.settle();
    let leader = cluster.leader().expect("a leader is elected");
    println!(
        "leader: {leader} in term {}",
        cluster.nodes[Cluster::index(leader)].current_term()
    );

    let commands = ["SET x=1", "SET y=2", "DEL x"];
    for (serial, text) in commands.iter().enumerate() {
        let command: KvCommand = text.parse().expect("valid command");
        println!("client c1 sends {command} to n2 (a follower)");
        let request = ClientRequest {
            client: ClientId(1),
            serial: serial as u64 + 1,
            command,
        };
        cluster.input(NodeId(2), Input::ClientRequest(request.clone()));
        let Some((_, _, ClientResponse::NotLeader { leader_hint })) = cluster.replies.pop() else {
            panic!("a follower redirects the client");
        };
        let hint = leader_hint.expect("the follower knows the leader");
        println!("  n2 redirects to {hint}; the client resends there");
        cluster.input(hint, Input::ClientRequest(request));
        cluster.settle();
        // A heartbeat carries the new commit index to the followers.
        cluster.input(hint, Input::Timeout(Timer::Heartbeat));
        cluster.settle();
        let reply = cluster
            .replies
            .pop()
            .expect("the leader replies once applied");
        println!("  {} answers serial {}: {:?}", reply.0, reply.1, reply.2);
    }

    for node in &cluster.nodes {
        println!(
            "{}: term {}, commit index {}, store {:?}",
            node.id(),
            node.current_term(),
            node.commit_index(),
            node.state_machine().machine().pairs()
        );
        assert_eq!(node.commit_index(), 4, "no-op + three commands committed");
        assert_eq!(node.state_machine().machine().get("y"), Some("2"));
        assert_eq!(node.state_machine().machine().get("x"), None);
    }
    println!("all three nodes applied SET x=1, SET y=2, DEL x");
}

/// What an input was, for explaining why it was not acted on.
enum InputKind {
    Vote,
    Other,
}

impl InputKind {
    fn of(input: &Input<KvCommand>) -> Self {
        match input {
            Input::Message {
                message: Message::RequestVoteResponse(_),
                ..
            } => InputKind::Vote,
            _ => InputKind::Other,
        }
    }
}
