//! Runs one side-by-side scenario without timing it, for an instruction-count profile under
//! `valgrind --tool=callgrind` (load-independent, unlike wall-clock medians on a shared machine):
//!
//! ```sh
//! cargo build --release -p refraft-compare --example profile
//! valgrind --tool=callgrind target/release/examples/profile round refraft trivial 4096 4
//! ```
//!
//! `round SIDE MACHINE B ROUNDS`: ROUNDS rounds of B proposals on one elected cluster. On
//! Linux it also prints, on stderr, the thread's on-CPU time of the rounds alone (no set-up, no
//! drop, as the `round` bench times them) per proposal, from `/proc/thread-self/schedstat`:
//! time spent waiting for a core on a loaded machine is not counted.
//! `ack SIDE N ACKS`: ACKS acknowledgements on the `ack` bench's leader of N voters (its
//! set-up, ACKS + 1 proposals, is counted too: subtract a run with fewer ACKS).

#[path = "../../benches/leader/mod.rs"]
mod leader;

use refraft::{KvStore, NodeEffects, NodeId};
use refraft_compare::{raft_rs, refraft_side, Machine};
use std::hint::black_box;

fn arg(args: &[String], at: usize) -> &str {
    args.get(at).map(String::as_str).unwrap_or("")
}

fn number(args: &[String], at: usize) -> u64 {
    arg(args, at).parse().unwrap_or_else(|_| usage())
}

/// Nanoseconds this thread has run on a CPU (Linux's schedstat), if readable.
fn on_cpu_ns() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    text.split_whitespace().next()?.parse().ok()
}

/// Runs `rounds` rounds and prints their on-CPU time per proposal.
fn timed<C>(cluster: &mut C, batch: u64, rounds: u64, round: impl Fn(&mut C, u64)) {
    let start = on_cpu_ns();
    for _ in 0..rounds {
        round(cluster, batch);
    }
    if let (Some(start), Some(end)) = (start, on_cpu_ns()) {
        let per = (end - start) as f64 / (batch * rounds) as f64;
        eprintln!("on-CPU ns per proposal: {per:.1}");
    }
}

fn usage() -> ! {
    eprintln!("usage: profile round (refraft|raft-rs) (kv|trivial) B ROUNDS");
    eprintln!("       profile ack (refraft|raft-rs) N ACKS");
    std::process::exit(2)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match arg(&args, 0) {
        "round" => {
            let machine = match arg(&args, 2) {
                "kv" => Machine::Kv,
                "trivial" => Machine::Trivial,
                _ => usage(),
            };
            let (batch, rounds) = (number(&args, 3), number(&args, 4));
            match arg(&args, 1) {
                "refraft" => {
                    let mut c = refraft_side::Cluster::elected(machine);
                    timed(&mut c, batch, rounds, refraft_side::Cluster::round);
                    assert_eq!(c.applied(), batch * rounds);
                    black_box(&c);
                }
                "raft-rs" => {
                    let mut c = raft_rs::Cluster::elected(machine);
                    timed(&mut c, batch, rounds, raft_rs::Cluster::round);
                    assert_eq!(c.applied(), batch * rounds);
                    black_box(&c);
                }
                _ => usage(),
            }
        }
        "ack" => {
            let (n, acks) = (number(&args, 2), number(&args, 3));
            // The `ack` bench's sequence: ack k from peer 2 + k mod (n-1), matching 1 + k.
            let sequence = (1..=acks).map(|k| (2 + k % (n - 1), 1 + k));
            match arg(&args, 1) {
                "refraft" => {
                    let mut node = leader::elected_leader(n as usize, 1);
                    let mut out = NodeEffects::<KvStore>::new();
                    for serial in 1..=acks + 1 {
                        node.step(leader::proposal(serial), &mut out)
                            .expect("appended");
                        out.clear();
                    }
                    for (peer, m) in sequence {
                        let _ = node.step(leader::ack(NodeId(peer), 1, m), &mut out);
                        out.clear();
                    }
                    black_box(&node);
                }
                "raft-rs" => {
                    let mut node = raft_rs::leader_with_log(n, acks + 1, 1);
                    let mut kv = KvStore::default();
                    let term = node.raft.term;
                    for (peer, m) in sequence {
                        let _ = node.step(raft_rs::ack(peer, term, m));
                        raft_rs::leader_ready(&mut node, &mut kv);
                    }
                    black_box(&node);
                }
                _ => usage(),
            }
        }
        _ => usage(),
    }
}
