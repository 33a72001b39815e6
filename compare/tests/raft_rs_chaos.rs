//! Chaos against raft-rs 0.7: crashes, restarts, partitions, cut links, loss, duplication and
//! long reordering at random, with clients submitting throughout; the simulator checks Figure
//! 3's properties after every step. Also: a seed replays exactly (the adapter seeds raft-rs's
//! election timeouts), and the checks fire on raft-rs's state.

use raft::eraftpb::{Entry, HardState};
use refraft::sim::{
    churn, run_seeds, seed_count, NetworkConfig, SimConfig, SimError, SimRng, Simulation,
};
use refraft::ClientId;
use refraft_compare::conformance::{RaftRs, RaftRsDisk};
use std::time::Duration;

/// One chaos run of `rounds` rounds of 100 ms on five raft-rs servers; at the end the network
/// heals and one more command must commit everywhere. Seeds alternate PreVote (refraft's
/// default) with raft-rs's default (off), and every third seed turns CheckQuorum on.
fn chaos(seed: u64, rounds: u64) -> Result<usize, SimError> {
    let n = 5;
    let mut config = SimConfig::new(n, seed).network(NetworkConfig::unreliable_long_reordering());
    config.pre_vote = seed.is_multiple_of(2);
    config.check_quorum = seed.is_multiple_of(3);
    let mut sim = Simulation::<RaftRs>::boot(config)?;
    let mut rng = SimRng::new(seed ^ 0xC4A05);
    let ids = sim.ids();
    let clients: Vec<ClientId> = (1..=3).map(ClientId).collect();
    let mut next = 0;
    for _ in 0..rounds {
        match rng.below(10) {
            0 => sim.crash(ids[rng.below(n) as usize]),
            1 | 2 => {
                let p = ids[rng.below(n) as usize];
                sim.restart(p)?;
            }
            3 => {
                let cut = 1 + rng.below(n - 1) as usize;
                let (a, b) = ids.split_at(cut);
                sim.partition(&[a, b]);
            }
            4 => sim.cut_link(ids[rng.below(n) as usize], ids[rng.below(n) as usize]),
            5 | 6 => sim.heal(),
            _ => {}
        }
        for &c in &clients {
            if !sim.client_busy(c) {
                next += 1;
                sim.submit(
                    c,
                    format!("SET k{}={next}", next % 4).parse().expect("valid"),
                )?;
            }
        }
        sim.run_for(Duration::from_millis(100))?;
    }
    sim.heal();
    sim.set_network(NetworkConfig::reliable());
    for p in sim.ids() {
        if !sim.is_up(p) {
            sim.restart(p)?;
        }
    }
    let index = sim.commit_command("SET end=1".parse().expect("valid"), Duration::from_secs(10))?;
    sim.wait_applied(index, n as usize, Duration::from_secs(5))?;
    Ok(sim.checker().elections().len())
}

#[test]
fn chaos_with_crashes_partitions_loss_and_reordering() {
    let elections = std::cell::Cell::new(0);
    run_seeds(
        "chaos_with_crashes_partitions_loss_and_reordering",
        20,
        |seed| {
            elections.set(elections.get() + chaos(seed, 60)?);
            Ok(())
        },
    );
    // The checks reached many terms, not only the first leader's.
    println!("chaos: {} elections over 20 seeds", elections.get());
    assert!(elections.get() >= 40, "only {} elections", elections.get());
}

#[test]
fn leader_churn_with_crashes_and_disconnections() {
    run_seeds("leader_churn_with_crashes_and_disconnections", 20, |seed| {
        let mut sim = Simulation::<RaftRs>::boot(SimConfig::new(5, seed))?;
        churn(&mut sim, seed, 30, false)?;
        // Crashing the leader forces elections: the checks reach many terms.
        if sim.checker().elections().len() < 3 {
            return Err(sim.fail("churn elected fewer than three leaders"));
        }
        let mut sim = Simulation::<RaftRs>::boot(
            SimConfig::new(5, seed).network(NetworkConfig::unreliable()),
        )?;
        churn(&mut sim, seed, 30, true)
    });
}

#[test]
#[ignore]
fn soak_chaos() {
    run_seeds("soak_chaos", seed_count(500), |seed| {
        chaos(seed + 1_000_000, 200).map(|_| ())
    });
}

/// The same seed gives the same run: raft-rs draws its election timeouts from `thread_rng`,
/// which the adapter replaces with the simulation's seed.
#[test]
fn a_seed_replays_exactly() {
    let run = |seed| {
        let config = SimConfig::new(5, seed).network(NetworkConfig::unreliable());
        let mut sim = Simulation::<RaftRs>::boot(config).unwrap();
        churn(&mut sim, seed, 20, false).unwrap();
        (sim.stats(), sim.checker().elections().clone(), sim.now())
    };
    for seed in 0..3 {
        assert_eq!(run(seed), run(seed), "seed {seed}");
    }
}

fn entry(index: u64, term: u64, data: &str) -> Entry {
    Entry {
        index,
        term,
        data: data.as_bytes().to_vec().into(),
        ..Default::default()
    }
}

fn disk(entries: Vec<Entry>, commit: u64) -> RaftRsDisk {
    let hard_state = HardState {
        term: entries.last().map_or(0, |e| e.term),
        commit,
        ..Default::default()
    };
    RaftRsDisk {
        hard_state,
        entries,
    }
}

/// The checks read raft-rs's state: two servers that start with different entries at
/// (index 1, term 1) break Log Matching, and the simulator says so.
#[test]
fn the_checks_fire_on_raft_rs_state() {
    let disks = vec![
        disk(vec![entry(1, 1, "1 1 SET x=1")], 0),
        disk(vec![entry(1, 1, "2 1 SET x=2")], 0),
        RaftRsDisk::default(),
    ];
    let err = Simulation::<RaftRs>::boot_from(SimConfig::new(3, 0), disks)
        .err()
        .expect("conflicting logs are caught");
    assert!(err.message.contains("Log Matching"), "{err}");
    // With commit indexes on those disks, both apply index 1: State Machine Safety is checked
    // as they apply, before the logs are compared.
    let disks = vec![
        disk(vec![entry(1, 1, "1 1 SET x=1")], 1),
        disk(vec![entry(1, 2, "2 1 SET x=2")], 1),
        RaftRsDisk::default(),
    ];
    let err = Simulation::<RaftRs>::boot_from(SimConfig::new(3, 0), disks)
        .err()
        .expect("different entries applied at one index are caught");
    assert!(err.message.contains("State Machine Safety"), "{err}");
}
