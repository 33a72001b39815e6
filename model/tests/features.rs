//! PreVote, CheckQuorum and reads without log entries (at the leader, and forwarded by
//! followers) in the model: on biased random walks
//! (deliveries preferred, `refraft-model simulate --delivery-first 6`), every safety property
//! holds and each feature's reachability property is reached, so the checks of
//! `rule_switches.rs` do not pass vacuously. The walks are bounded (a cut-short run "passes"),
//! so each test also asserts a floor on the states visited.

mod support;

use refraft_model::chooser::DeliveryFirst;
use refraft_model::properties::*;
use refraft_model::settings::Reads;
use refraft_model::{NetworkKind, RaftModel, Settings};
use stateright::{Checker, Expectation, Model};
use support::check_dfs;

/// Walks `settings` for `states` states; asserts no "always" property is violated, every
/// property in `reached` is reached, and returns the unique states visited.
fn walk(settings: Settings, states: usize, reached: &[&'static str]) -> usize {
    let model = RaftModel::new(settings).unwrap();
    let always: Vec<_> = model
        .properties()
        .into_iter()
        .filter(|p| p.expectation == Expectation::Always)
        .map(|p| p.name)
        .collect();
    let c = model
        .checker()
        .target_max_depth(60)
        .target_state_count(states)
        .spawn_simulation(3, DeliveryFirst { other_one_in: 6 })
        .join();
    for p in always {
        assert!(c.discovery(p).is_none(), "violated: {p}");
    }
    for p in reached {
        assert!(c.discovery(p).is_some(), "never reached: {p}");
    }
    let unique = c.unique_state_count();
    assert!(unique >= states / 2, "only {unique} states");
    unique
}

fn base(clients: usize) -> Settings {
    Settings {
        clients,
        requests: 3,
        max_crashes: 0,
        network: NetworkKind::Reordering,
        max_in_flight: Some(12),
        ..Settings::default()
    }
}

#[test]
fn pre_vote_and_check_quorum_hold_and_reach_their_states() {
    let settings = Settings {
        pre_vote: true,
        check_quorum: true,
        max_crashes: 1,
        ..base(0)
    };
    walk(
        settings,
        300_000,
        &[
            PRE_VOTE_REJECTED,
            LOST_QUORUM,
            LEADER_REPLACED,
            SERVER_REJOINS,
        ],
    );
}

#[test]
fn read_index_reads_are_linearizable_and_served() {
    let settings = Settings {
        reads: Reads::ReadIndex,
        pre_vote: true,
        ..base(1)
    };
    walk(settings, 300_000, &[READ_BY_READ_INDEX, LEADER_REPLACED]);
}

#[test]
fn lease_reads_are_linearizable_and_served() {
    let settings = Settings {
        reads: Reads::Lease,
        check_quorum: true,
        ..base(1)
    };
    walk(
        settings,
        300_000,
        &[READ_BY_LEASE, LOST_QUORUM, LEADER_REPLACED],
    );
}

#[test]
fn forwarded_reads_are_linearizable_and_served_by_followers() {
    let settings = Settings {
        reads: Reads::ReadIndex,
        forward_reads: true,
        pre_vote: true,
        ..base(1)
    };
    walk(settings, 300_000, &[READ_BY_FOLLOWER, LEADER_REPLACED]);
    let settings = Settings {
        reads: Reads::Lease,
        check_quorum: true,
        forward_reads: true,
        ..base(1)
    };
    walk(settings, 300_000, &[READ_BY_FOLLOWER, LOST_QUORUM]);
}

#[test]
fn forwarding_needs_reads_without_log_entries() {
    let settings = Settings {
        forward_reads: true,
        ..base(1)
    };
    assert!(RaftModel::new(settings).is_err());
}

#[test]
fn lease_reads_without_check_quorum_are_refused() {
    let settings = Settings {
        reads: Reads::Lease,
        ..base(1)
    };
    assert!(RaftModel::new(settings).is_err());
}

/// Leadership transfer (dissertation §3.10) under the stable scheduler (which never fires the
/// abort timer): on every run that ends, every transfer asked for has completed (its target
/// leads), and one does complete; every safety property holds (full closure).
#[test]
fn transfer_completes_under_the_stable_scheduler() {
    let settings = Settings {
        servers: 3,
        max_term: 2,
        max_crashes: 0,
        transfers: 1,
        ..Settings::default()
    }
    .stable();
    let run = check_dfs(settings);
    run.assert_all_hold();
    assert!(run.results.contains_key(TRANSFER_RESOLVED));
    assert!(run.found(TRANSFER_COMPLETED));
    assert!(run.unique > 100, "only {} states", run.unique);
}

/// The same check fails when a lost TimeoutNow (or vote) is never re-sent and the abort timer
/// never fires: the property can fail, so its pass above is not vacuous.
#[test]
fn transfer_stays_pending_when_messages_are_lost_and_nothing_aborts() {
    let settings = Settings {
        servers: 3,
        max_term: 2,
        max_crashes: 0,
        transfers: 1,
        lossy: true,
        max_in_flight: Some(16),
        ..Settings::default()
    }
    .stable();
    let run = check_dfs(settings);
    assert!(
        run.found(TRANSFER_RESOLVED),
        "a lost TimeoutNow must leave it pending"
    );
    for p in [ELECTION_SAFETY, LOG_MATCHING, LEADER_COMPLETENESS] {
        assert!(!run.found(p), "violated: {p}");
    }
}

/// Transfers with PreVote, CheckQuorum, a client and ReadIndex reads, on biased walks: every
/// safety property holds (linearizable included: a transfer refuses proposals and hands the
/// reads on), a transfer completes and one is aborted (its timer fires first).
#[test]
fn transfers_keep_safety_and_complete_on_walks() {
    let settings = Settings {
        pre_vote: true,
        check_quorum: true,
        reads: Reads::ReadIndex,
        transfers: 2,
        ..base(1)
    };
    walk(
        settings,
        300_000,
        &[TRANSFER_COMPLETED, TRANSFER_ABORTED, READ_BY_READ_INDEX],
    );
}

/// With PreVote, stickiness and leases, a leader holding a lease (a live majority) is never
/// made to step down other than by its own quorum check: on biased walks the property holds.
#[test]
fn a_leader_with_a_live_majority_is_not_disrupted() {
    let settings = Settings {
        pre_vote: true,
        check_quorum: true,
        reads: Reads::Lease,
        max_crashes: 1,
        ..base(1)
    };
    walk(settings, 300_000, &[READ_BY_LEASE, PRE_VOTE_REJECTED]);
}

/// The same walk without crashes reaches a race in the first moments of a term: a follower
/// times out before it heard the new leader's first heartbeat round, gathers its pre-votes and
/// stands for the next term; the leader then gets its lease and the candidate's RequestVote
/// deposes it. That candidacy began before the lease, so it is no disruption (the property
/// counts only candidacies begun while a lease was held); the walk must reach it, and hold.
#[test]
fn a_candidacy_begun_before_the_lease_is_no_disruption() {
    let settings = Settings {
        pre_vote: true,
        check_quorum: true,
        reads: Reads::Lease,
        max_crashes: 0,
        ..base(1)
    };
    walk(
        settings,
        300_000,
        &[READ_BY_LEASE, PRE_VOTE_REJECTED, LEASE_RACE_LOST],
    );
}
