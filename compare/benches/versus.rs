//! refraft and raft-rs 0.7 side by side, in one criterion run (see the README's Performance
//! section for the ratios):
//!
//! - `round/{refraft,raft-rs}/{kv,trivial}/B`: a three-node in-process cluster takes B proposals
//!   one by one and runs until the leader has committed and applied all of them (FIFO network,
//!   effects performed in order, no I/O). Time per committed proposal. Before timing, the
//!   entries carried per proposal are printed and refraft's is asserted to be 2 (one per
//!   follower).
//! - `quorum/{refraft,raft-rs}/N`: per acknowledgement, the quorum arithmetic alone: update the
//!   acking peer's match index, then compute the committed index (refraft's `MatchTracker`,
//!   raft-rs's `ProgressTracker::maximal_committed_index`). N voters.
//! - `ack/{refraft,raft-rs}/N`: one AppendEntries success end to end on a leader whose peers
//!   acknowledge in turn, one entry further each, so every ack commits and applies one KvStore
//!   entry and sends that peer more; raft-rs's Ready work (persist, apply, advance) included and
//!   its storage reads bounded to what one message carries.
//! - `append/{refraft,raft-rs}/{1,64}`: log append of single entries and of batches of 64
//!   (refraft's `Log`, raft-rs's `RaftLog` over `MemStorage`), per entry.

#[path = "../../benches/leader/mod.rs"]
mod leader;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use raft::eraftpb::Entry as RaftEntry;
use raft::RaftLog;
use refraft::quorum::MatchTracker;
use refraft::{Entry, KvStore, Log, NodeEffects, NodeId};
use refraft_compare::{kv_command, raft_rs, refraft_side, Machine};
use std::hint::black_box;
use std::time::{Duration, Instant};

const BATCHES: [u64; 4] = [1, 16, 256, 4096];
const VOTERS: [u64; 4] = [3, 5, 7, 9];
/// Acknowledgements per template leader.
const LOG: u64 = 2048;

/// Runs `iters` rounds of `batch` proposals, on fresh clusters of at most 64 Ki entries each;
/// only the rounds are timed.
fn timed_rounds<C>(
    iters: u64,
    batch: u64,
    fresh: impl Fn() -> C,
    round: impl Fn(&mut C),
) -> Duration {
    let per_cluster = (65_536 / batch).max(1);
    let mut total = Duration::ZERO;
    let mut left = iters;
    while left > 0 {
        let k = left.min(per_cluster);
        let mut cluster = fresh();
        let start = Instant::now();
        for _ in 0..k {
            round(&mut cluster);
        }
        total += start.elapsed();
        black_box(&cluster);
        left -= k;
    }
    total
}

fn bench_round(c: &mut Criterion) {
    let mut group = c.benchmark_group("round");
    for machine in Machine::ALL {
        for batch in BATCHES {
            let mut ours = refraft_side::Cluster::elected(machine);
            ours.round(batch);
            let mut theirs = raft_rs::Cluster::elected(machine);
            theirs.round(batch);
            // Both commit and apply the whole batch, or the bench times something else.
            assert_eq!((ours.applied(), ours.leader_commit()), (batch, 1 + batch));
            assert_eq!(theirs.applied(), batch);
            eprintln!(
                "round/{}/{batch}: entries carried per proposal: refraft {:.2}, raft-rs {:.2}",
                machine.name(),
                ours.entries_sent() as f64 / batch as f64,
                theirs.entries_sent() as f64 / batch as f64,
            );
            assert_eq!(
                ours.entries_sent(),
                2 * batch,
                "each entry once per follower"
            );

            group.throughput(Throughput::Elements(batch));
            let id = |side: &str| BenchmarkId::new(format!("{side}/{}", machine.name()), batch);
            group.bench_function(id("refraft"), |b| {
                b.iter_custom(|iters| {
                    timed_rounds(
                        iters,
                        batch,
                        || refraft_side::Cluster::elected(machine),
                        |c| c.round(batch),
                    )
                })
            });
            group.bench_function(id("raft-rs"), |b| {
                b.iter_custom(|iters| {
                    timed_rounds(
                        iters,
                        batch,
                        || raft_rs::Cluster::elected(machine),
                        |c| c.round(batch),
                    )
                })
            });
        }
    }
    group.finish();
}

/// Ack k (from 1) comes from peer 2 + k mod (n-1) and matches index 1 + k.
fn steady_acks(n: u64) -> Vec<(u64, u64)> {
    (1..=LOG).map(|k| (2 + k % (n - 1), 1 + k)).collect()
}

fn bench_quorum(c: &mut Criterion) {
    let mut group = c.benchmark_group("quorum");
    group.throughput(Throughput::Elements(1));
    for n in VOTERS {
        let acks = steady_acks(n);
        group.bench_with_input(BenchmarkId::new("refraft", n), &acks, |b, acks| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                let mut left = iters as usize;
                while left > 0 {
                    let k = left.min(acks.len());
                    let mut matched = vec![0; n as usize - 1];
                    let mut tracker = MatchTracker::new(n as usize - 1);
                    let start = Instant::now();
                    for &(peer, m) in &acks[..k] {
                        let slot = &mut matched[(peer - 2) as usize];
                        if m > *slot {
                            tracker.raise(*slot, m);
                            *slot = m;
                        }
                        black_box(tracker.majority_index(LOG + 1));
                    }
                    total += start.elapsed();
                    left -= k;
                }
                total
            })
        });
        group.bench_with_input(BenchmarkId::new("raft-rs", n), &acks, |b, acks| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                let mut left = iters as usize;
                while left > 0 {
                    let k = left.min(acks.len());
                    let mut node = raft_rs::leader_with_log(n, 0, 1);
                    let start = Instant::now();
                    for &(peer, m) in &acks[..k] {
                        let prs = node.raft.mut_prs();
                        if let Some(p) = prs.get_mut(peer) {
                            p.maybe_update(m);
                        }
                        black_box(prs.maximal_committed_index());
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

fn bench_ack(c: &mut Criterion) {
    let mut group = c.benchmark_group("ack");
    group.throughput(Throughput::Elements(1));
    for n in VOTERS {
        let acks = steady_acks(n);
        let mut template = leader::elected_leader(n as usize, 1);
        let mut out = NodeEffects::<KvStore>::new();
        for serial in 1..=LOG + 1 {
            template
                .step(leader::proposal(serial), &mut out)
                .expect("appended");
            out.clear();
        }
        let theirs = || raft_rs::leader_with_log(n, LOG + 1, 1);
        // Both commit as they are acknowledged.
        let quorum_lag = n / 2 - 1;
        let mut check = template.clone();
        for &(peer, m) in &acks {
            check
                .step(leader::ack(NodeId(peer), 1, m), &mut out)
                .expect("ack");
            out.clear();
        }
        let mut node = theirs();
        let mut kv = KvStore::default();
        for &(peer, m) in &acks {
            node.step(raft_rs::ack(peer, node.raft.term, m))
                .expect("ack");
            raft_rs::leader_ready(&mut node, &mut kv);
        }
        assert_eq!(check.commit_index(), 1 + LOG - quorum_lag);
        assert_eq!(node.raft.raft_log.committed, check.commit_index());

        group.bench_with_input(BenchmarkId::new("refraft", n), &acks, |b, acks| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                let mut left = iters as usize;
                while left > 0 {
                    let k = left.min(acks.len());
                    let mut node = template.clone();
                    let start = Instant::now();
                    for &(peer, m) in &acks[..k] {
                        let _ = node.step(leader::ack(NodeId(peer), 1, m), &mut out);
                        out.clear();
                    }
                    total += start.elapsed();
                    black_box(&node);
                    left -= k;
                }
                total
            })
        });
        group.bench_with_input(BenchmarkId::new("raft-rs", n), &acks, |b, acks| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                let mut left = iters as usize;
                while left > 0 {
                    let k = left.min(acks.len());
                    let mut node = theirs();
                    let mut kv = KvStore::default();
                    let term = node.raft.term;
                    let start = Instant::now();
                    for &(peer, m) in &acks[..k] {
                        let _ = node.step(raft_rs::ack(peer, term, m));
                        raft_rs::leader_ready(&mut node, &mut kv);
                    }
                    total += start.elapsed();
                    black_box(&node);
                    left -= k;
                }
                total
            })
        });
    }
    group.finish();
}

fn bench_append(c: &mut Criterion) {
    let mut group = c.benchmark_group("append");
    const ENTRIES: u64 = 4096;
    let ours: Vec<Entry<refraft::KvCommand>> = (1..=ENTRIES)
        .map(|s| Entry {
            term: 1,
            payload: refraft::Payload::Command {
                client: refraft::ClientId(1),
                serial: s,
                command: kv_command(s).into(),
            },
        })
        .collect();
    let theirs: Vec<RaftEntry> = (1..=ENTRIES)
        .map(|s| RaftEntry {
            term: 1,
            index: s,
            data: kv_command(s).to_string().into_bytes().into(),
            ..Default::default()
        })
        .collect();
    for per in [1usize, 64] {
        group.throughput(Throughput::Elements(ENTRIES));
        group.bench_function(BenchmarkId::new("refraft", per), |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let mut log = Log::default();
                    let start = Instant::now();
                    for chunk in ours.chunks(per) {
                        log.extend_from_slice(chunk);
                    }
                    total += start.elapsed();
                    black_box(&log);
                }
                total
            })
        });
        group.bench_function(BenchmarkId::new("raft-rs", per), |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let store = raft::storage::MemStorage::new();
                    let logger = slog::Logger::root(slog::Discard, slog::o!());
                    let mut log = RaftLog::new(store, logger);
                    let start = Instant::now();
                    for chunk in theirs.chunks(per) {
                        log.append(chunk);
                    }
                    total += start.elapsed();
                    black_box(&log);
                }
                total
            })
        });
    }
    group.finish();
}

criterion_group! {
    name = versus;
    config = Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    targets = bench_round, bench_quorum, bench_ack, bench_append
}
criterion_main!(versus);
