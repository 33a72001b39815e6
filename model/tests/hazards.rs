//! Reachability of the hazards that Figure 2's finer rules guard against: for each, the smallest
//! configuration found in which the correct model reaches it, searched depth-first (with server
//! symmetry, fingerprints only in memory) until the "sometimes" property is discovered. A safety property that holds there is not vacuous. The
//! example path is replayed through the core.

use refraft_model::properties::*;
use refraft_model::{Counterexample, NetworkKind, RaftModel, Settings};
use stateright::{Checker, HasDiscoveries, Model};

/// Searches `settings` depth-first until `property` is reached; returns the path's length.
fn reached(settings: Settings, property: &'static str) -> usize {
    let model = RaftModel::new(settings.clone()).unwrap();
    assert!(
        model.properties().iter().any(|p| p.name == property),
        "{property:?} is not checked in this configuration"
    );
    let c = model
        .checker()
        .threads(2)
        .finish_when(HasDiscoveries::AnyOf([property].into_iter().collect()))
        .symmetry()
        .spawn_dfs()
        .join();
    let path = c.discovery(property).unwrap_or_else(|| {
        panic!(
            "never reached: {property} ({} states)",
            c.unique_state_count()
        )
    });
    let example = Counterexample::from_path(&settings, property, path);
    assert_eq!(example.reproduces(), Ok(true), "{property}: replay");
    // Shown with `--nocapture`: the README quotes these.
    eprintln!(
        "{property}: reached in {} steps, {} states",
        example.steps.len(),
        c.unique_state_count()
    );
    example.steps.len()
}

/// Three servers, three terms, no crashes, one message delivered once (reordering network).
fn three_terms() -> Settings {
    Settings {
        servers: 3,
        clients: 0,
        max_term: 3,
        max_elections: Some(3),
        max_crashes: 0,
        network: NetworkKind::Reordering,
        max_in_flight: Some(6),
        ..Settings::default()
    }
}

#[test]
fn a_leader_backs_up_on_a_conflict_term_hint() {
    // Leaders of terms 1 and 2 write different entries at index 1; the term-3 leader holds the
    // term-2 entry, sends prevLogTerm 2 to the server with the term-1 entry, is rejected with
    // conflict term 1 and backs up.
    let steps = reached(three_terms(), CONFLICT_HINT_USED);
    assert!(steps >= 10, "{steps} steps");
}

#[test]
fn figure_8c_is_reached() {
    // Entries sent one at a time: the term-3 leader re-sends the term-1 entry alone to a
    // majority, while the server holding the term-2 entry at that index can still be elected.
    let settings = Settings {
        max_entries: 1,
        ..three_terms()
    };
    let steps = reached(settings, FIGURE_8C);
    assert!(steps >= 8, "{steps} steps");
}

#[test]
fn a_stale_append_arrives_after_newer_entries() {
    let settings = Settings {
        max_crashes: 0,
        ..Settings::default()
    };
    reached(settings, STALE_APPEND_AFTER_NEWER);
}

#[test]
fn a_retry_reaches_a_new_leader_after_the_original_committed() {
    let settings = Settings {
        clients: 1,
        max_crashes: 0,
        client_retry: true,
        network: NetworkKind::Reordering,
        max_in_flight: Some(6),
        ..Settings::default()
    };
    reached(settings, RETRY_AFTER_COMMIT);
}
