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

/// Visits the first 20,000 states (breadth-first) of a configuration with a client and crashes.
fn each_reached_state(visit: impl FnMut(&refraft_model::State) + Send + Sync + 'static) {
    use std::sync::Mutex;
    let settings = Settings {
        clients: 1,
        max_term: 1,
        max_elections: Some(1),
        ..settings()
    };
    let visit = Mutex::new(visit);
    let checker = RaftModel::new(settings)
        .unwrap()
        .checker()
        .visitor(move |path: stateright::Path<_, _>| (visit.lock().unwrap())(path.last_state()))
        .target_state_count(20_000)
        .spawn_bfs()
        .join();
    assert!(checker.unique_state_count() > 5_000);
}

#[test]
fn the_models_representative_is_staterights_own() {
    // `RaftModel::representative` (used by `check`) skips the rewrite when the servers are in
    // order already; it must agree with stateright's built-in representative everywhere.
    let count = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let seen = count.clone();
    each_reached_state(move |s| {
        assert!(RaftModel::representative(s) == s.representative());
        seen.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    });
    assert!(count.load(std::sync::atomic::Ordering::Relaxed) > 1_000);
}

#[test]
fn the_class_key_names_the_representative() {
    // `symmetry::class_key` (used by `check`) hashes the representative without building it:
    // on reached states (servers in every order, a client, crashes), two states get the same
    // fingerprint exactly when they have the same representative.
    use refraft_model::symmetry::class_fingerprint;
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex};
    type Table = (
        HashMap<u64, refraft_model::State>,
        HashMap<refraft_model::State, u64>,
    );
    let seen: Arc<Mutex<Table>> = Arc::default();
    let table = seen.clone();
    each_reached_state(move |s| {
        let (by_key, by_rep) = &mut *table.lock().unwrap();
        let (rep, key) = (RaftModel::representative(s), class_fingerprint(s));
        assert!(by_key.entry(key).or_insert_with(|| rep.clone()) == &rep);
        assert_eq!(*by_rep.entry(rep).or_insert(key), key);
    });
    let (by_key, _) = &*seen.lock().unwrap();
    assert!(by_key.len() > 1_000, "{} classes", by_key.len());
}

#[test]
fn messages_name_no_node_ids() {
    // `Msg::rewrite` shares a Raft message unchanged: the core's messages carry the sender and
    // receiver beside them, never in their bodies. A message kind that names a server would
    // make the rewrite wrong; this finds it in any message the model reaches.
    use refraft::NodeId;
    use refraft_model::Msg;
    each_reached_state(|s| {
        for env in s.network.iter_all() {
            if let Msg::Raft(m) = env.msg {
                let shifted = (**m).clone().map_node_ids(|n| NodeId(n.0 + 7));
                assert_eq!(shifted, **m, "a message names a node id");
            }
        }
    });
}
