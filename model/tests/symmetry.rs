//! Symmetry reduction is sound here: with and without it the checker reaches the same verdicts,
//! and the reduction is real (fewer states).

mod support;

use refraft_model::{RaftModel, Settings};
use stateright::{Checker, Model, Representative};

fn settings() -> Settings {
    Settings {
        servers: 3,
        clients: 0,
        max_term: 1,
        max_crashes: 1,
        max_restarts: Some(1),
        heartbeats: false,
        ..Settings::default()
    }
}

#[test]
fn symmetry_keeps_verdicts_and_reduces_states() {
    let with = support::check_dfs(settings());
    let model = RaftModel::new(settings()).unwrap();
    let without = model.checker().threads(2).spawn_dfs().join();
    assert!(without.is_done());
    for (name, (_, found)) in &with.results {
        assert_eq!(*found, without.discovery(name).is_some(), "{name}");
    }
    assert!(
        with.unique * 3 < without.unique_state_count(),
        "symmetry: {} states, without: {}",
        with.unique,
        without.unique_state_count()
    );
}

#[test]
fn representative_is_the_same_for_permuted_states() {
    // Walk a few steps, then compare the representative of a state with that of the same state
    // reached with servers 0 and 1 swapped (server 1 times out instead of server 0).
    use refraft_model::ModelTimer;
    use stateright::actor::{ActorModelAction, Id};
    let model = RaftModel::new(settings()).unwrap();
    let init = model.init_states().remove(0);
    let timeout = |i: usize| {
        ActorModelAction::Timeout(Id::from(i), ModelTimer::Server(refraft::Timer::Election))
    };
    let a = model.next_state(&init, timeout(0)).unwrap();
    let b = model.next_state(&init, timeout(1)).unwrap();
    assert_ne!(a, b);
    assert_eq!(a.representative(), b.representative());
}
