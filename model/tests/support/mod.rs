//! Shared helpers of the model's integration tests.

#![allow(dead_code)]

pub mod bin;
pub mod switches;

use refraft_model::{Action, RaftModel, Settings, State};
use stateright::{Checker, Expectation, HasDiscoveries, Model, Path};
use std::collections::BTreeMap;

/// The outcome of one exhaustive run.
pub struct Run {
    pub unique: usize,
    pub depth: usize,
    pub done: bool,
    /// Property name -> (expectation, discovered).
    pub results: BTreeMap<&'static str, (Expectation, bool)>,
    pub discoveries: BTreeMap<&'static str, Path<State, Action>>,
}

impl Run {
    /// Panics unless every "always" and "eventually" property holds and every "sometimes"
    /// property was reached.
    pub fn assert_all_hold(&self) {
        assert!(self.done, "the run did not finish");
        for (name, (expectation, found)) in &self.results {
            match expectation {
                Expectation::Sometimes => assert!(found, "never reached: {name}"),
                _ => assert!(!found, "violated: {name}"),
            }
        }
    }

    /// Whether `property` was discovered (violated, or reached for "sometimes").
    pub fn found(&self, property: &str) -> bool {
        self.results.get(property).is_some_and(|(_, f)| *f)
    }
}

/// Checks `settings` with DFS and server symmetry (the default search) on two threads.
pub fn check_dfs(settings: Settings) -> Run {
    run(settings, true, false)
}

/// Checks `settings` with BFS (shortest paths), stopping at the first violation.
pub fn first_violation_bfs(settings: Settings) -> Run {
    run(settings, false, true)
}

/// Checker runs use both cores; tests of one binary take turns instead of sharing them.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn run(settings: Settings, dfs: bool, stop_early: bool) -> Run {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    // As `refraft-model check` runs: stutter steps pruned, the symmetry class key.
    let model = RaftModel::new(settings)
        .expect("valid settings")
        .with_stutter_pruning(true);
    let properties = model.properties();
    let mut builder = model.checker().threads(2);
    if stop_early {
        builder = builder.finish_when(HasDiscoveries::AnyFailures);
    }
    let (unique, depth, done, discoveries) = if dfs {
        let c = builder
            .symmetry_fn(refraft_model::symmetry::class_key)
            .spawn_dfs()
            .join();
        (
            c.unique_state_count(),
            c.max_depth(),
            c.is_done(),
            c.discoveries(),
        )
    } else {
        let c = builder.spawn_bfs().join();
        (
            c.unique_state_count(),
            c.max_depth(),
            c.is_done(),
            c.discoveries(),
        )
    };
    let results = properties
        .iter()
        .map(|p| {
            (
                p.name,
                (p.expectation.clone(), discoveries.contains_key(p.name)),
            )
        })
        .collect();
    Run {
        unique,
        depth,
        done,
        results,
        discoveries: discoveries.into_iter().collect(),
    }
}
