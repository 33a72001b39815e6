//! Commit-index advancement: the leader handles one AppendEntries success and recomputes its
//! commit index (§5.3, §5.4.2), for 3, 5, 7 and 9 voters.
//!
//! - `commit/steady/N`: peers acknowledge in turn, each one entry further than the last
//!   acknowledgement, so every acknowledgement commits (and applies) exactly one entry. One
//!   entry per AppendEntries: each acknowledgement also sends that peer its next entry.
//! - `commit/burst/N`: the log grows in bursts of 16 entries; every peer acknowledges a whole
//!   burst at once, so one acknowledgement per round commits 16 entries and the others commit
//!   nothing. Each acknowledgement sends that peer the next burst.
//! - `quorum/{naive,tracker}/N`: the quorum arithmetic alone over the steady sequence: update
//!   the acking peer's progress, then the definition (collect, sort, majority position) or the
//!   incremental tracker.
//!
//! The leader is built from real messages (see `leader/mod.rs`) and driven by `Node::step`.
//! Time is per acknowledgement.

mod leader;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use leader::{ack, elected_leader, members, proposal};
use refraft::quorum::{majority_index, MatchTracker};
use refraft::{Index, KvStore, Node, NodeEffects, NodeId, Progress};
use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::{Duration, Instant};

const VOTERS: [usize; 4] = [3, 5, 7, 9];
/// Entries a template leader holds beyond its no-op: one template serves this many steady acks.
const LOG: u64 = 4096;
const BURST: u64 = 16;

/// A leader with `LOG` uncommitted client entries after its committed no-op, and the
/// acknowledgements to feed it, in order.
struct Scenario {
    template: Node<KvStore>,
    acks: Vec<(NodeId, Index)>,
    /// The commit index after all `acks`, checked once so the bench cannot time refusals.
    final_commit: Index,
}

fn leader_with_log(n: usize, max_entries_per_append: usize) -> Node<KvStore> {
    let mut node = elected_leader(n, max_entries_per_append);
    let mut out = NodeEffects::<KvStore>::new();
    for serial in 1..=LOG {
        node.step(proposal(serial), &mut out)
            .expect("the leader appends");
        out.clear();
    }
    node
}

/// Ack k (from 1) comes from peer k mod (n-1) and matches index 1 + k: the peers hold the last
/// n-1 acks, and the (quorum-1)-th largest of them moves up by one per ack.
fn steady(n: usize) -> Scenario {
    let peers = members(n)[1..].to_vec();
    let mut template = leader_with_log(n, 1);
    let all: Vec<(NodeId, Index)> = (1..=LOG - 1)
        .map(|k| (peers[(k as usize) % peers.len()], 1 + k))
        .collect();
    // Warm up untimed until the peers are staggered, so each timed ack commits one entry.
    let (warm, acks) = all.split_at(peers.len());
    let mut out = NodeEffects::<KvStore>::new();
    for &(from, m) in warm {
        template.step(ack(from, 1, m), &mut out).expect("ack");
        out.clear();
    }
    let quorum = n / 2 + 1;
    let final_commit = LOG - (quorum as u64 - 2);
    Scenario {
        template,
        acks: acks.to_vec(),
        final_commit,
    }
}

/// Round r (from 1): every peer in turn acknowledges 1 + r * BURST.
fn burst(n: usize) -> Scenario {
    let peers = members(n)[1..].to_vec();
    let template = leader_with_log(n, BURST as usize);
    let rounds = LOG / BURST;
    let acks: Vec<(NodeId, Index)> = (1..=rounds)
        .flat_map(|r| peers.iter().map(move |&p| (p, 1 + r * BURST)))
        .collect();
    Scenario {
        template,
        acks,
        final_commit: 1 + LOG,
    }
}

/// Feeds `acks` to a fresh copy of the template; only the acks are timed.
fn run(s: &Scenario, acks: &[(NodeId, Index)], out: &mut NodeEffects<KvStore>) -> Duration {
    let mut node = s.template.clone();
    let start = Instant::now();
    for &(from, m) in acks {
        let done = node.step(ack(from, 1, m), out);
        out.clear();
        if done.is_err() {
            panic!("ack refused: {done:?}");
        }
    }
    let elapsed = start.elapsed();
    black_box(&node);
    elapsed
}

fn check(s: &Scenario) {
    let mut node = s.template.clone();
    let mut out = NodeEffects::<KvStore>::new();
    for &(from, m) in &s.acks {
        node.step(ack(from, 1, m), &mut out).expect("ack");
        out.clear();
    }
    assert_eq!(node.commit_index(), s.final_commit, "the scenario commits");
}

fn bench_commit(c: &mut Criterion) {
    let mut group = c.benchmark_group("commit");
    group.throughput(Throughput::Elements(1));
    for (pattern, build) in [
        ("steady", steady as fn(usize) -> Scenario),
        ("burst", burst),
    ] {
        for n in VOTERS {
            let s = build(n);
            check(&s);
            group.bench_with_input(BenchmarkId::new(pattern, n), &s, |b, s| {
                let mut out = NodeEffects::<KvStore>::new();
                b.iter_custom(|iters| {
                    let mut total = Duration::ZERO;
                    let mut left = iters as usize;
                    while left > 0 {
                        let k = left.min(s.acks.len());
                        total += run(s, &s.acks[..k], &mut out);
                        left -= k;
                    }
                    total
                })
            });
        }
    }
    group.finish();
}

/// The quorum arithmetic alone, before and after: a progress table updated per ack, then the
/// commit candidate from the definition or from the tracker.
fn bench_quorum(c: &mut Criterion) {
    let mut group = c.benchmark_group("quorum");
    group.throughput(Throughput::Elements(1));
    for n in VOTERS {
        let peers = members(n)[1..].to_vec();
        let acks: Vec<(NodeId, Index)> = (1..=LOG)
            .map(|k| (peers[(k as usize) % peers.len()], k))
            .collect();
        let fresh = || -> BTreeMap<NodeId, Progress> {
            peers.iter().map(|&p| (p, Progress::new(1))).collect()
        };
        let leader_last = LOG + 1;
        group.bench_function(BenchmarkId::new("naive", n), |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                let mut left = iters as usize;
                while left > 0 {
                    let k = left.min(acks.len());
                    let mut progress = fresh();
                    let start = Instant::now();
                    for &(from, m) in &acks[..k] {
                        let p = progress.get_mut(&from).expect("peer");
                        p.match_index = p.match_index.max(m);
                        let mut matches: Vec<Index> =
                            progress.values().map(|p| p.match_index).collect();
                        matches.push(leader_last);
                        black_box(majority_index(&mut matches));
                    }
                    total += start.elapsed();
                    left -= k;
                }
                total
            })
        });
        group.bench_function(BenchmarkId::new("tracker", n), |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                let mut left = iters as usize;
                while left > 0 {
                    let k = left.min(acks.len());
                    let mut progress = fresh();
                    let mut tracker = MatchTracker::new(peers.len());
                    let start = Instant::now();
                    for &(from, m) in &acks[..k] {
                        let p = progress.get_mut(&from).expect("peer");
                        let old = p.match_index;
                        p.match_index = old.max(m);
                        assert!(tracker.raise(old, p.match_index));
                        black_box(tracker.majority_index(leader_last));
                    }
                    total += start.elapsed();
                    left -= k;
                }
                total
            })
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
    targets = bench_commit, bench_quorum
}
criterion_main!(benches);
