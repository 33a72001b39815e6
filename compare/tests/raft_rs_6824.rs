//! The 6.824 lab's scenarios (`tests/scenarios_6824`), run against raft-rs 0.7 through the
//! adapter of `refraft_compare::conformance`, with the simulator's per-step checks of Figure 3.
//! Each runs 20 seeds (`SIM_SEEDS=k` for more, `SIM_SEED=n` to replay one); the `soak_*` tests
//! are `#[ignore]`d: `cargo test --release -p refraft-compare --test raft_rs_6824 -- --ignored`.

#[path = "../../tests/scenarios_6824/mod.rs"]
mod scenarios_6824;

use refraft::sim::{run_seeds, seed_count};
use refraft_compare::conformance::RaftRs;
use scenarios_6824::*;

const SEEDS: u64 = 20;
const SOAK_SEEDS: u64 = 500;

macro_rules! against_raft_rs {
    ($($test:ident => $scenario:expr;)*) => {
        $(
            #[test]
            fn $test() {
                run_seeds(stringify!($test), SEEDS, $scenario);
            }
        )*
    };
}

against_raft_rs! {
    initial_election_2a => initial_election::<RaftRs>;
    re_election_2a => re_election::<RaftRs>;
    many_elections_2a => many_elections::<RaftRs>;
    basic_agree_2b => basic_agree::<RaftRs>;
    rpc_byte_count_2b => rpc_bytes::<RaftRs>;
    follower_failure_2b => follower_failure::<RaftRs>;
    fail_agree_2b => fail_agree::<RaftRs>;
    fail_no_agree_2b => fail_no_agree::<RaftRs>;
    concurrent_starts_2b => concurrent_starts::<RaftRs>;
    rejoin_of_partitioned_leader_2b => rejoin::<RaftRs>;
    backup_2b => backup::<RaftRs>;
    rpc_count_2b => rpc_count::<RaftRs>;
    persist1_2c => persist1::<RaftRs>;
    persist2_2c => persist2::<RaftRs>;
    persist3_2c => persist3::<RaftRs>;
    figure8_2c => |seed| figure8::<RaftRs>(seed, false, 300);
    unreliable_agree_2c => unreliable_agree::<RaftRs>;
    figure8_unreliable_2c => |seed| figure8::<RaftRs>(seed, true, 300);
    reliable_churn_2c => |seed| churn::<RaftRs>(seed, false);
    unreliable_churn_2c => |seed| churn::<RaftRs>(seed, true);
}

#[test]
#[ignore]
fn soak_figure8_and_churn_2c() {
    let k = seed_count(SOAK_SEEDS);
    run_seeds("soak_figure8_and_churn_2c", k, |seed| {
        figure8::<RaftRs>(seed + 1_000_000, false, 300)?;
        figure8::<RaftRs>(seed + 1_000_000, true, 300)?;
        churn::<RaftRs>(seed + 1_000_000, false)?;
        churn::<RaftRs>(seed + 1_000_000, true)
    });
}
