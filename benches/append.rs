//! The leader path of a proposal (§5.3): a client request is appended to the leader's log as a
//! new entry (with its persist effect), and an AppendEntries is built for each follower.
//!
//! `append/3/B` feeds a batch of B client requests (B = 1, 16, 256) to a 3-voter leader before
//! any follower answers, as a leader under load sees them. Each request is one `Node::step`; the
//! followers' `next_index` stays put until they answer, so each AppendEntries carries every
//! entry the follower lacks, up to `max_entries_per_append` (64, the default). Time per batch;
//! throughput in entries.

mod leader;

use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion, Throughput};
use leader::{elected_leader, members, proposal};
use refraft::{Config, Effect, KvStore, Node, NodeEffects, NodeId};
use std::time::Duration;

const BATCHES: [u64; 3] = [1, 16, 256];
const VOTERS: usize = 3;

/// Appends serials `1..=batch`; returns the leader (dropped untimed) and how many
/// AppendEntries it built.
fn propose_batch(
    mut node: Node<KvStore>,
    batch: u64,
    out: &mut NodeEffects<KvStore>,
) -> (Node<KvStore>, usize) {
    let mut sends = 0;
    for serial in 1..=batch {
        node.step(proposal(serial), out)
            .expect("the leader appends");
        sends += out
            .as_slice()
            .iter()
            .filter(|e| matches!(e, Effect::Send { .. }))
            .count();
        out.clear();
    }
    (node, sends)
}

fn bench_append(c: &mut Criterion) {
    let template = elected_leader(VOTERS, 64);
    let mut group = c.benchmark_group("append");
    for batch in BATCHES {
        // The bench must time what it claims: every entry appended, one AppendEntries per
        // follower per proposal until a follower's window of in-flight requests is full
        // (dissertation §10.2; the rest waits for acknowledgements).
        let window = Config::new(NodeId(1), members(VOTERS))
            .expect("valid config")
            .max_in_flight_appends;
        let mut out = NodeEffects::<KvStore>::new();
        let (node, sends) = propose_batch(template.clone(), batch, &mut out);
        assert_eq!(node.log().last_index(), 1 + batch);
        assert_eq!(sends, (VOTERS - 1) * (batch as usize).min(window));

        group.throughput(Throughput::Elements(batch));
        group.bench_with_input(
            BenchmarkId::new(VOTERS.to_string(), batch),
            &batch,
            |b, &batch| {
                b.iter_batched(
                    || template.clone(),
                    |node| propose_batch(node, batch, &mut out),
                    BatchSize::SmallInput,
                )
            },
        );
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
    targets = bench_append
}
criterion_main!(benches);
