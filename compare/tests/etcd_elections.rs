//! etcd-io/raft's election tests (`TestLeaderElection`, its cases with logs,
//! `TestLeaderElectionOverwriteNewerLogs`, `TestSingleNodeCommit`), as scenarios generic over the
//! implementation and run against both refraft and raft-rs 0.7, with timers firing on their
//! own (the seam has no "campaign now" input; `tests/sim_scenarios.rs` runs the hand-fired
//! versions on refraft). 20 seeds each; the simulator checks Figure 3 after every step.

use raft::eraftpb::{Entry as RsEntry, HardState};
use refraft::sim::{run_seeds, SimConfig, SimError, SimNode, Simulation};
use refraft::{DurableState, Entry, KvCommand, KvStore, Log, Node, NodeId, Term};
use refraft_compare::conformance::{RaftRs, RaftRsDisk};
use std::time::Duration;

const SEEDS: u64 = 20;

/// A disk in etcd's test notation: current term, vote, and the terms of the log's entries
/// (entries without a client command: refraft's no-ops, raft-rs's empty entries).
trait EtcdDisk: SimNode {
    fn disk(term: Term, vote: Option<u64>, log_terms: &[Term]) -> Self::Disk;
}

impl EtcdDisk for Node<KvStore> {
    fn disk(term: Term, vote: Option<u64>, log_terms: &[Term]) -> DurableState<KvCommand> {
        DurableState {
            current_term: term,
            voted_for: vote.map(NodeId),
            log: Log::from_entries(log_terms.iter().map(|&t| Entry::noop(t)).collect()),
        }
    }
}

impl EtcdDisk for RaftRs {
    fn disk(term: Term, vote: Option<u64>, log_terms: &[Term]) -> RaftRsDisk {
        RaftRsDisk {
            hard_state: HardState {
                term,
                vote: vote.unwrap_or(0),
                ..Default::default()
            },
            entries: log_terms
                .iter()
                .enumerate()
                .map(|(i, &t)| RsEntry {
                    index: i as u64 + 1,
                    term: t,
                    ..Default::default()
                })
                .collect(),
        }
    }
}

fn ensure<N: SimNode>(sim: &Simulation<N>, ok: bool, what: &str) -> Result<(), SimError> {
    if ok {
        Ok(())
    } else {
        Err(sim.fail(what))
    }
}

/// `n` servers with `down` crashed from the start: a leader is elected iff a majority is up.
fn shape<N: SimNode>(seed: u64, n: u64, down: &[u64], wins: bool) -> Result<(), SimError> {
    let mut sim = Simulation::<N>::boot(SimConfig::new(n, seed))?;
    for &d in down {
        sim.crash(NodeId(d));
    }
    if wins {
        let leader = sim.check_one_leader()?;
        ensure(&sim, !down.contains(&leader.0), "a crashed server leads")
    } else {
        sim.run_for(Duration::from_secs(3))?;
        ensure(
            &sim,
            sim.connected_leaders().is_empty(),
            "a minority elected a leader",
        )
    }
}

fn shapes<N: SimNode>(seed: u64) -> Result<(), SimError> {
    shape::<N>(seed, 1, &[], true)?;
    shape::<N>(seed, 3, &[], true)?;
    shape::<N>(seed, 3, &[2], true)?;
    shape::<N>(seed, 3, &[2, 3], false)?;
    shape::<N>(seed, 4, &[2, 3], false)?;
    shape::<N>(seed, 5, &[2, 3], true)?;
    shape::<N>(seed, 5, &[2, 3, 4], false)
}

/// n1 and n5 are behind n2, n3 and n4 (§5.4.1): neither can win the first election (later,
/// caught up by a leader, they may).
fn with_logs<N: EtcdDisk>(seed: u64) -> Result<(), SimError> {
    let disks = vec![
        N::disk(1, None, &[]),
        N::disk(1, None, &[1]),
        N::disk(1, None, &[1]),
        N::disk(1, None, &[1, 1]),
        N::disk(1, None, &[]),
    ];
    let mut sim = Simulation::<N>::boot_from(SimConfig::new(5, seed), disks)?;
    sim.check_one_leader()?;
    let first = sim.checker().elections().values().next().copied();
    ensure(
        &sim,
        matches!(first, Some(NodeId(2..=4))),
        "an out-of-date server won the first election",
    )
}

/// A newly elected leader may lack the newest, never committed, entry and overwrite it: n3's
/// term-2 entry or n1's term-1 entry survives, never both; every server ends with one log.
fn overwrite_newer_logs<N: EtcdDisk>(seed: u64) -> Result<(), SimError> {
    let disks = vec![
        N::disk(1, Some(1), &[1]),
        N::disk(1, Some(1), &[1]),
        N::disk(2, Some(3), &[2]),
        N::disk(2, Some(3), &[]),
        N::disk(2, Some(3), &[]),
    ];
    let mut sim = Simulation::<N>::boot_from(SimConfig::new(5, seed), disks)?;
    let index = sim.commit_command("SET x=1".parse().expect("valid"), Duration::from_secs(10))?;
    sim.wait_applied(index, 5, Duration::from_secs(5))?;
    let first = sim.applied_entry(1).map(N::entry_term);
    ensure(
        &sim,
        matches!(first, Some(1) | Some(2)),
        "index 1 holds neither old entry",
    )
}

fn single_node_commit<N: SimNode>(seed: u64) -> Result<(), SimError> {
    let mut sim = Simulation::<N>::boot(SimConfig::new(1, seed))?;
    let a = sim.commit_command("SET a=1".parse().expect("valid"), Duration::from_secs(2))?;
    let b = sim.commit_command("SET b=2".parse().expect("valid"), Duration::from_secs(2))?;
    ensure(&sim, b == a + 1, "the second command is not next")
}

macro_rules! on_both {
    ($($test:ident => $scenario:ident;)*) => {
        $(
            #[test]
            fn $test() {
                run_seeds(concat!(stringify!($test), "_refraft"), SEEDS, $scenario::<Node<KvStore>>);
                run_seeds(concat!(stringify!($test), "_raft_rs"), SEEDS, $scenario::<RaftRs>);
            }
        )*
    };
}

on_both! {
    leader_election_in_cluster_shapes => shapes;
    leader_election_with_logs => with_logs;
    election_overwrites_newer_logs => overwrite_newer_logs;
    single_node_commit_twice => single_node_commit;
}
