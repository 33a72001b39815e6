//! Running a scenario over many seeds, and replaying one.
//!
//! - `SIM_SEED=n` runs only seed `n` (replay of a reported failure).
//! - `SIM_SEEDS=k` runs `k` seeds instead of the default count (the soak tests default to
//!   thousands; the CI tests to 20).

use super::SimError;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// How many seeds to run: `SIM_SEEDS` if set, else `default`.
///
/// ```
/// use refraft::sim::seed_count;
/// assert!(seed_count(20) >= 1);
/// ```
pub fn seed_count(default: u64) -> u64 {
    std::env::var("SIM_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
        .max(1)
}

/// Runs `scenario` for seeds `0..seed_count(default)` (or only `SIM_SEED`), and panics with the
/// first failure, naming the seed and how to replay it. A panic inside the scenario is reported
/// with its seed too.
///
/// ```
/// use refraft::sim::{run_seeds, SimConfig, Simulation};
/// run_seeds("doc_example", 2, |seed| {
///     let mut sim = Simulation::new(SimConfig::new(3, seed));
///     sim.check_one_leader().map(|_| ())
/// });
/// ```
pub fn run_seeds(name: &str, default: u64, scenario: impl Fn(u64) -> Result<(), SimError>) {
    let seeds: Vec<u64> = match std::env::var("SIM_SEED").ok().and_then(|s| s.parse().ok()) {
        Some(seed) => vec![seed],
        None => (0..seed_count(default)).collect(),
    };
    for seed in seeds {
        match catch_unwind(AssertUnwindSafe(|| scenario(seed))) {
            Ok(Ok(())) => {}
            Ok(Err(e)) => panic!("{name}: {e}replay: SIM_SEED={seed} cargo test --release {name}"),
            Err(_) => panic!(
                "{name}: seed {seed} panicked (message above); replay: SIM_SEED={seed} cargo test --release {name}"
            ),
        }
    }
}
