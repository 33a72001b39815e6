//! The MIT 6.824 Raft lab's tests, parts 2A–2C, ported as scenarios (not code) onto the
//! simulator. Each keeps the original's pass criteria: one leader, agreement on what was
//! committed, and bounded virtual time. The simulator checks Election Safety, Log Matching,
//! Leader Completeness and State Machine Safety after every step besides.
//!
//! Each test runs 20 seeds (`SIM_SEEDS=k` for more, `SIM_SEED=n` to replay one). The `soak_*`
//! tests are `#[ignore]`d and run thousands: `cargo test --release --test sim_6824 -- --ignored`.

mod scenarios_6824;

use refraft::sim::{run_seeds, seed_count};
use refraft::{KvStore, Node};
use scenarios_6824::*;

/// The implementation under test: refraft's own.
type Refraft = Node<KvStore>;

const SEEDS: u64 = 20;
const SOAK_SEEDS: u64 = 2000;

#[test]
fn initial_election_2a() {
    run_seeds("initial_election_2a", SEEDS, initial_election::<Refraft>);
}

#[test]
fn re_election_2a() {
    run_seeds("re_election_2a", SEEDS, re_election::<Refraft>);
}

#[test]
fn many_elections_2a() {
    run_seeds("many_elections_2a", SEEDS, many_elections::<Refraft>);
}

#[test]
fn basic_agree_2b() {
    run_seeds("basic_agree_2b", SEEDS, basic_agree::<Refraft>);
}

#[test]
fn rpc_byte_count_2b() {
    run_seeds("rpc_byte_count_2b", SEEDS, rpc_bytes::<Refraft>);
}

#[test]
fn follower_failure_2b() {
    run_seeds("follower_failure_2b", SEEDS, follower_failure::<Refraft>);
}

#[test]
fn fail_agree_2b() {
    run_seeds("fail_agree_2b", SEEDS, fail_agree::<Refraft>);
}

#[test]
fn fail_no_agree_2b() {
    run_seeds("fail_no_agree_2b", SEEDS, fail_no_agree::<Refraft>);
}

#[test]
fn concurrent_starts_2b() {
    run_seeds("concurrent_starts_2b", SEEDS, concurrent_starts::<Refraft>);
}

#[test]
fn rejoin_of_partitioned_leader_2b() {
    run_seeds("rejoin_of_partitioned_leader_2b", SEEDS, rejoin::<Refraft>);
}

#[test]
fn backup_2b() {
    run_seeds("backup_2b", SEEDS, backup::<Refraft>);
}

#[test]
fn rpc_count_2b() {
    run_seeds("rpc_count_2b", SEEDS, rpc_count::<Refraft>);
}

#[test]
fn persist1_2c() {
    run_seeds("persist1_2c", SEEDS, persist1::<Refraft>);
}

#[test]
fn persist2_2c() {
    run_seeds("persist2_2c", SEEDS, persist2::<Refraft>);
}

#[test]
fn persist3_2c() {
    run_seeds("persist3_2c", SEEDS, persist3::<Refraft>);
}

#[test]
fn figure8_2c() {
    run_seeds("figure8_2c", SEEDS, |seed| {
        figure8::<Refraft>(seed, false, 1000)
    });
}

#[test]
fn unreliable_agree_2c() {
    run_seeds("unreliable_agree_2c", SEEDS, unreliable_agree::<Refraft>);
}

#[test]
fn figure8_unreliable_2c() {
    run_seeds("figure8_unreliable_2c", SEEDS, |seed| {
        figure8::<Refraft>(seed, true, 1000)
    });
}

#[test]
fn reliable_churn_2c() {
    run_seeds("reliable_churn_2c", SEEDS, |seed| {
        churn::<Refraft>(seed, false)
    });
}

#[test]
fn unreliable_churn_2c() {
    run_seeds("unreliable_churn_2c", SEEDS, |seed| {
        churn::<Refraft>(seed, true)
    });
}

// ----- soak: thousands of seeds, `cargo test --release --test sim_6824 -- --ignored` -----

#[test]
#[ignore]
fn soak_figure8_2c() {
    let k = seed_count(SOAK_SEEDS);
    run_seeds("soak_figure8_2c", k, |seed| {
        figure8::<Refraft>(seed + 1_000_000, false, 300)
    });
}

#[test]
#[ignore]
fn soak_figure8_unreliable_2c() {
    let k = seed_count(SOAK_SEEDS);
    run_seeds("soak_figure8_unreliable_2c", k, |seed| {
        figure8::<Refraft>(seed + 1_000_000, true, 300)
    });
}

#[test]
#[ignore]
fn soak_churn_2c() {
    let k = seed_count(SOAK_SEEDS);
    run_seeds("soak_churn_2c", k, |seed| {
        churn::<Refraft>(seed + 1_000_000, false)?;
        churn::<Refraft>(seed + 1_000_000, true)
    });
}

#[test]
#[ignore]
fn soak_backup_and_persist_2c() {
    let k = seed_count(SOAK_SEEDS);
    run_seeds("soak_backup_and_persist_2c", k, |seed| {
        backup::<Refraft>(seed + 1_000_000)?;
        persist2::<Refraft>(seed + 1_000_000)?;
        rejoin::<Refraft>(seed + 1_000_000)
    });
}
