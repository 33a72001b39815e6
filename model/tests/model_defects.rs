//! Defects of the model harness that once made checks miss states or never end: each test
//! shows the fixed behaviour.

use refraft_model::{RaftModel, Settings};
use stateright::actor::{ActorModelAction, Id};
use stateright::Model;

#[test]
fn back_to_back_restarts_count_against_max_restarts() {
    // Server 0 crashes and restarts twice in a row, with no step in between that persists
    // anything. The restart itself saves the count, so the second restart leaves the bounds of
    // `--max-restarts 1` (it was once counted only by a later persisting step).
    let settings = Settings {
        max_restarts: Some(1),
        ..Settings::default()
    };
    let model = RaftModel::new(settings).unwrap();
    let mut state = model.init_states().remove(0);
    let mut inside = Vec::new();
    for _ in 0..2 {
        for action in [
            ActorModelAction::Crash(Id::from(0)),
            ActorModelAction::Recover(Id::from(0)),
        ] {
            state = model
                .next_state(&state, action)
                .expect("the step changes the state");
        }
        inside.push(model.within_boundary(&state));
    }
    assert_eq!(inside, [true, false]);
}

#[test]
fn the_ordered_network_closes() {
    // stateright 0.31's `Network::iter_all` loops forever on the ordered network once one
    // channel holds two messages; a property that read the network with it hung the check at
    // depth 2.
    let settings = Settings {
        max_term: 1,
        max_crashes: 0,
        network: refraft_model::NetworkKind::Ordered,
        max_in_flight: Some(8),
        ..Settings::default()
    };
    let checker = RaftModel::new(settings)
        .unwrap()
        .with_stutter_pruning(true)
        .checker()
        .symmetry_fn(refraft_model::symmetry::class_key)
        .spawn_dfs()
        .join();
    use stateright::Checker;
    checker.assert_properties();
    assert!(
        checker.unique_state_count() > 10,
        "{}",
        checker.unique_state_count()
    );
}
