//! The simulator's checks can fail: with one protocol rule switched off (the core's
//! `rule-switches` feature), a randomized workload finds a seed on which the simulator reports
//! the violation that the rule prevents. Without the feature this file is empty.
//!
//! `cargo test --release --features rule-switches --test sim_rule_switches`

#![cfg(feature = "rule-switches")]

use refraft::sim::{seed_count, NetworkConfig, SimConfig, SimError, SimRng, Simulation};
use refraft::{ClientId, KvCommand, NodeId, Rule};
use std::time::Duration;

/// Crashes, restarts, partitions and a lossy, reordering network under steady client load.
fn chaos(seed: u64, rule: Option<Rule>) -> Result<(), SimError> {
    let n = 5;
    let mut config = SimConfig::new(n, seed).network(NetworkConfig::unreliable_long_reordering());
    config.broken_rule = rule;
    // Figure 2's elections: with PreVote (dissertation §9.6) a candidate must first win
    // pre-votes on the same up-to-date comparison, which in 200 seeds masked a broken election
    // restriction entirely; the chaos here vets the Figure 2 rules themselves.
    config.pre_vote = false;
    let mut sim = Simulation::new(config);
    sim.set_trace(false);
    let mut rng = SimRng::new(seed ^ 0xC0FFEE);
    let clients: Vec<ClientId> = (1..=3).map(ClientId).collect();
    let mut value = 0u64;
    for _ in 0..150 {
        for &c in &clients {
            if !sim.client_busy(c) {
                value += 1;
                let command = KvCommand::Set {
                    key: format!("k{}", c.0),
                    value: value.to_string(),
                };
                sim.submit(c, command)?;
            }
        }
        let p = NodeId(rng.below(n) + 1);
        match rng.below(10) {
            0 => sim.crash(p),
            1 | 2 if !sim.is_up(p) => sim.restart(p)?,
            3 => sim.disconnect(p),
            4 | 5 => sim.connect(p),
            _ => {}
        }
        // Leaders are the interesting victims: crash one now and then.
        if rng.below(10) == 0 {
            if let Some(&l) = sim.connected_leaders().first() {
                sim.crash(l);
            }
        }
        sim.run_for(Duration::from_millis(rng.below(300)))?;
    }
    Ok(())
}

fn first_failing_seed(rule: Option<Rule>, seeds: u64) -> Option<SimError> {
    (0..seeds).find_map(|seed| chaos(seed, rule).err())
}

#[test]
fn chaos_passes_with_every_rule_kept() {
    if let Some(e) = first_failing_seed(None, seed_count(20)) {
        panic!("{e}");
    }
}

fn caught(rule: Rule, seeds: u64) {
    match first_failing_seed(Some(rule), seeds) {
        Some(e) => println!("{rule}: caught: {}", e.message),
        None => panic!("{rule} broken, but {seeds} seeds found no violation"),
    }
}

#[test]
fn breaking_vote_once_is_caught() {
    caught(Rule::VoteOncePerTerm, seed_count(200));
}

#[test]
fn breaking_persist_vote_is_caught() {
    caught(Rule::PersistVote, seed_count(200));
}

#[test]
fn breaking_election_restriction_is_caught() {
    caught(Rule::ElectionRestriction, seed_count(200));
}

#[test]
fn breaking_truncate_only_on_conflict_is_caught() {
    caught(Rule::TruncateOnlyOnConflict, seed_count(200));
}

// `current-term-commit` needs the exact schedule of Figure 8, which random chaos rarely hits:
// `figure8_paper_scenario_catches_counting_old_terms` in tests/sim_scenarios.rs shows the
// simulator catching it. `commit-min-last-new` was not caught in 2000 chaos seeds: it needs a
// follower holding stale entries past a matching prefix when the commit index passes them;
// that is left to the model checker.
