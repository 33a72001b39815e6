//! A whole round in one process, no I/O: a 3-node cluster with an elected leader takes a batch
//! of B client proposals (B = 1, 16, 256) and runs until the leader has committed and answered
//! all of them. Throughput is proposals committed per second.
//!
//! The driver is the compact loop of `examples/three_nodes.rs`: a FIFO network, every node's
//! effects performed in order (each node's durable copy kept in memory with
//! `DurableState::apply`), timers ignored (no timer fires during a round).

use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion, Throughput};
use refraft::{
    ClientId, ClientRequest, ClientResponse, Config, DurableState, Effect, Input, KvCommand,
    KvStore, Message, Node, NodeEffects, NodeId, Timer,
};
use std::collections::VecDeque;
use std::time::Duration;

const BATCHES: [u64; 3] = [1, 16, 256];

#[derive(Clone)]
struct Cluster {
    nodes: Vec<Node<KvStore>>,
    disks: Vec<DurableState<KvCommand>>,
    network: VecDeque<(NodeId, NodeId, Message<KvCommand>)>,
    /// Client answers that the command was applied.
    applied_replies: u64,
    /// The next serial of client c1.
    serial: u64,
}

impl Cluster {
    /// Three nodes; n1's election timer fires first and it wins; its no-op commits everywhere.
    fn elected() -> Self {
        let ids: Vec<NodeId> = (1..=3).map(NodeId).collect();
        let mut cluster = Cluster {
            nodes: Vec::new(),
            disks: Vec::new(),
            network: VecDeque::new(),
            applied_replies: 0,
            serial: 0,
        };
        let mut out = NodeEffects::<KvStore>::new();
        for &id in &ids {
            let config = Config::new(id, ids.clone()).expect("valid config");
            let node = Node::new(
                config,
                DurableState::default(),
                KvStore::default(),
                &mut out,
            )
            .expect("fresh state");
            cluster.nodes.push(node);
            cluster.disks.push(DurableState::default());
            cluster.perform(id, &mut out);
        }
        cluster.input(NodeId(1), Input::Timeout(Timer::Election), &mut out);
        cluster.settle(&mut out);
        assert!(cluster.nodes[0].is_leader(), "n1 is elected");
        // A heartbeat carries the commit of the no-op to the followers.
        cluster.input(NodeId(1), Input::Timeout(Timer::Heartbeat), &mut out);
        cluster.settle(&mut out);
        assert!(cluster.nodes.iter().all(|n| n.commit_index() == 1));
        cluster
    }

    fn perform(&mut self, id: NodeId, out: &mut NodeEffects<KvStore>) {
        let at = (id.0 - 1) as usize;
        for effect in out.drain() {
            match effect {
                e @ (Effect::PersistHardState { .. } | Effect::PersistEntries { .. }) => {
                    self.disks[at].apply(&e);
                }
                Effect::Send { to, message } => self.network.push_back((id, to, message)),
                Effect::Reply {
                    response: ClientResponse::Applied(_),
                    ..
                } => self.applied_replies += 1,
                Effect::Reply { .. }
                | Effect::ReadReply { .. }
                | Effect::Apply { .. }
                | Effect::SetTimer { .. }
                | Effect::CancelTimer { .. } => {}
            }
        }
    }

    fn input(&mut self, id: NodeId, input: Input<KvCommand>, out: &mut NodeEffects<KvStore>) {
        // Refusals (a stale answer, say) change nothing and are part of a real run.
        let _ = self.nodes[(id.0 - 1) as usize].step(input, out);
        self.perform(id, out);
    }

    fn settle(&mut self, out: &mut NodeEffects<KvStore>) {
        while let Some((from, to, message)) = self.network.pop_front() {
            self.input(to, Input::Message { from, message }, out);
        }
    }

    /// Proposes `batch` commands to the leader, then delivers messages until none are left.
    fn round(&mut self, batch: u64, out: &mut NodeEffects<KvStore>) {
        for _ in 0..batch {
            self.serial += 1;
            let request = ClientRequest {
                client: ClientId(1),
                serial: self.serial,
                command: KvCommand::Set {
                    key: format!("k{}", self.serial % 16),
                    value: self.serial.to_string(),
                },
            };
            self.input(NodeId(1), Input::ClientRequest(request), out);
        }
        self.settle(out);
    }
}

fn bench_round(c: &mut Criterion) {
    let template = Cluster::elected();
    let mut group = c.benchmark_group("round");
    for batch in BATCHES {
        // A round must commit and answer the whole batch, or the bench times something else.
        let mut out = NodeEffects::<KvStore>::new();
        let mut check = template.clone();
        check.round(batch, &mut out);
        assert_eq!(check.nodes[0].commit_index(), 1 + batch);
        assert_eq!(check.applied_replies, batch);

        group.throughput(Throughput::Elements(batch));
        group.bench_with_input(BenchmarkId::new("3", batch), &batch, |b, &batch| {
            b.iter_batched(
                || template.clone(),
                |mut cluster| {
                    cluster.round(batch, &mut out);
                    cluster
                },
                BatchSize::SmallInput,
            )
        });
    }
    group.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
}

criterion_group! {
    name = benches;
    config = config();
    targets = bench_round
}
criterion_main!(benches);
