//! Exhaustive (full closure) checks of small configurations, sized for CI (2 cores): every state
//! within the bounds is explored, every safety property holds, and every reachability property
//! is reached, so no check holds vacuously. Each test also asserts a floor on the number of
//! states, so that a model that silently stopped exploring would fail.

mod support;

use refraft_model::properties::*;
use refraft_model::{NetworkKind, Settings};
use support::check_dfs;

/// Three servers, one down at a time, restarting from durable state; two elections.
fn three_servers_with_crashes() -> Settings {
    Settings {
        servers: 3,
        clients: 0,
        max_term: 2,
        max_elections: Some(2),
        max_crashes: 1,
        max_restarts: Some(1),
        heartbeats: false,
        ..Settings::default()
    }
}

#[test]
fn three_servers_with_crashes_full_closure() {
    let run = check_dfs(three_servers_with_crashes());
    run.assert_all_hold();
    for p in [
        LEADER_ELECTED,
        ENTRY_COMMITTED,
        LEADER_REPLACED,
        SERVER_REJOINS,
        LOG_TRUNCATED,
    ] {
        assert!(run.found(p), "not reached: {p}");
    }
    assert!(run.unique > 1_000_000, "only {} states", run.unique);
}

#[test]
fn three_servers_one_client_lossy_network_full_closure() {
    let run = check_dfs(Settings {
        servers: 3,
        clients: 1,
        requests: 1,
        max_term: 1,
        max_elections: Some(1),
        max_crashes: 0,
        network: NetworkKind::Reordering,
        lossy: true,
        max_in_flight: Some(4),
        heartbeats: false,
        client_retry: true,
        ..Settings::default()
    });
    run.assert_all_hold();
    assert!(run.found(CLIENT_REDIRECTED_SERVED));
    assert!(run.unique > 10_000, "only {} states", run.unique);
}

#[test]
fn two_clients_are_linearizable() {
    let run = check_dfs(Settings {
        servers: 2,
        clients: 2,
        requests: 1,
        max_term: 1,
        max_crashes: 0,
        heartbeats: false,
        ..Settings::default()
    });
    run.assert_all_hold();
    // 2,740 unique states since the pipelined leader (it no longer re-sends the unacknowledged
    // tail on every answer, so fewer distinct messages sit in the network); every reachability
    // property is reached (`assert_all_hold`).
    assert!(run.unique > 2_000, "only {} states", run.unique);
}

#[test]
fn liveness_holds_under_the_stable_scheduler() {
    let settings = Settings {
        servers: 3,
        clients: 1,
        requests: 1,
        max_term: 2,
        max_in_flight: Some(16),
        ..Settings::default()
    }
    .stable();
    let run = check_dfs(settings);
    run.assert_all_hold();
    assert!(run.results.contains_key(EVENTUALLY_ANSWERED));
    assert!(run.unique > 1_000, "only {} states", run.unique);
}

#[test]
fn liveness_fails_when_messages_are_lost() {
    // The stable scheduler sends no heartbeats and clients do not retry: a lost message is
    // never sent again, and the checker finds a run that ends without an answer.
    let settings = Settings {
        servers: 3,
        clients: 1,
        requests: 1,
        max_term: 2,
        lossy: true,
        max_in_flight: Some(16),
        ..Settings::default()
    }
    .stable();
    let run = check_dfs(settings);
    assert!(
        run.found(EVENTUALLY_ANSWERED),
        "a lost request must leave a client unanswered"
    );
    for p in [
        ELECTION_SAFETY,
        LOG_MATCHING,
        LEADER_COMPLETENESS,
        STATE_MACHINE_SAFETY,
        LINEARIZABLE,
    ] {
        assert!(!run.found(p), "violated: {p}");
    }
}

#[test]
fn pipelined_leader_full_closure() {
    // Dissertation §10.2 on a duplicating (so reordering) network: one client with two requests,
    // so that a follower can lag while the other commits, and one entry per AppendEntries. With
    // a window of 1 and of 2: optimistic sends, full windows, and with two, rejections of
    // overtaken requests that send a follower back to probing, and stale rejections.
    for window in [1, 2] {
        let run = check_dfs(Settings {
            servers: 3,
            clients: 1,
            requests: 2,
            max_term: 1,
            max_elections: Some(1),
            max_crashes: 0,
            max_entries: 1,
            window,
            heartbeats: false,
            ..Settings::default()
        });
        run.assert_all_hold();
        assert!(run.found(OPTIMISTIC_ADVANCE) && run.found(WINDOW_FULL));
        if window == 2 {
            assert!(run.found(BACK_TO_PROBE) && run.found(STALE_REJECTION));
        }
        assert!(
            run.unique > 10_000,
            "window {window}: only {} states",
            run.unique
        );
    }
}
