//! Waiting for a checker: a progress line every second, then each discovery (violations first)
//! as the steps `check` numbers from 1 and the `explore` command that opens it. stateright's
//! `join_and_report` is not used: with the simulation checker its progress loop ends at once
//! (it takes the thread handles that the checker's `is_done` looks at), and its final figure
//! includes up to a second of the progress thread's sleep.

use crate::cli::flags::explore_command;
use crate::say;
use refraft_model::counterexample::first_discovery;
use refraft_model::RaftModel;
use stateright::{Checker, Expectation, Model};
use std::time::{Duration, Instant};

/// How often a progress line is printed.
const EVERY: Duration = Duration::from_secs(1);

/// Waits for `checker`, printing progress and then the discoveries; returns how long it ran.
pub fn run<C: Checker<RaftModel>>(checker: C, model_flags: &[String]) -> (C, Duration) {
    let start = Instant::now();
    let mut next_report = start + EVERY;
    while !checker.is_done() {
        std::thread::sleep(Duration::from_millis(20));
        if Instant::now() >= next_report {
            next_report += EVERY;
            let secs = start.elapsed().as_secs_f64();
            say!(
                "Checking. states={}, unique={}, depth={}, sec={:.0}, unique/s={:.0}",
                checker.state_count(),
                checker.unique_state_count(),
                checker.max_depth(),
                secs,
                checker.unique_state_count() as f64 / secs.max(1e-9),
            );
        }
    }
    let checker = checker.join();
    let duration = start.elapsed();
    print_discoveries(&checker, model_flags);
    (checker, duration)
}

fn print_discoveries<C: Checker<RaftModel>>(checker: &C, model_flags: &[String]) {
    let model = checker.model();
    let mut discoveries = checker.discoveries().into_iter().collect::<Vec<_>>();
    let expectation = |name: &str| {
        model
            .properties()
            .into_iter()
            .find(|p| p.name == name)
            .map(|p| p.expectation)
    };
    // Violations first, then the examples of "sometimes" properties; by name within each.
    discoveries.sort_by_key(|(name, _)| (expectation(name) == Some(Expectation::Sometimes), *name));
    for (name, path) in discoveries {
        let kind = match expectation(name) {
            Some(Expectation::Sometimes) => "example",
            _ => "counterexample",
        };
        let path = first_discovery(model, name, path);
        let encoded = path.encode(model);
        let actions = path.into_actions();
        say!("\nDiscovered {name:?} {kind} ({} steps):", actions.len());
        for (i, action) in actions.iter().enumerate() {
            say!("  {:>3}. {}", i + 1, model.format_action(action));
        }
        // The explorer starts at the real initial state, not at a seed.
        if !model.is_seeded() {
            say!("  explore: {}", explore_command(model_flags, &encoded));
        }
    }
}
