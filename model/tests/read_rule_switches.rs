//! The rule switches of reads without log entries, leases and PreVote (dissertation §6.4,
//! §6.4.1, §6.2, §4.2.3, §9.6): with each rule off, the checker finds a stale read (or a
//! disrupted leader), keeps the path as JSON (`tests/counterexamples/`, replayed by
//! `counterexamples.rs`), replays it through the core and shows that with the rule kept the
//! same steps violate nothing.
//!
//! The stale reads are 25 to 40 steps from the initial state: a write acknowledged, a second
//! leader elected beside the first, a second write acknowledged by it, then the read at the
//! first. BFS from the initial state cannot reach that depth in CI time, so each search is
//! seeded (`check --bfs --from-prefix tests/prefixes/FILE`): the prefix is a correct run,
//! checked rule-neutral, that ends before the broken rule could first act, and BFS finds the
//! rest (the election, the second write and the read). Run with `--nocapture` for the counts
//! quoted in the README.

mod support;

use refraft::Rule;
use refraft_model::properties::*;
use refraft_model::settings::Reads;
use refraft_model::{Counterexample, NetworkKind, RaftModel, Settings};
use support::switches::{counterexample, counterexample_kept_as, small, Search};

/// One client writing, deleting, then reading (`SET x=1`, `DEL x`, `GET x`), the read without a
/// log entry; each new request goes to the server after the one that answered the last.
fn reads(reads: Reads) -> Settings {
    Settings {
        requests: 3,
        reads,
        check_quorum: reads == Reads::Lease,
        network: NetworkKind::Reordering,
        max_in_flight: Some(12),
        ..small(3, 1, 2)
    }
}

/// Lease reads with CheckQuorum, as [`reads`], with ten messages in flight at most and two
/// heartbeat rounds per leader term (the election's and one quorum check's): what a stale
/// lease read needs, and a tenth of the states.
fn lease_reads() -> Settings {
    Settings {
        max_in_flight: Some(10),
        max_rounds: 2,
        ..reads(Reads::Lease)
    }
}

/// The server states at the end of `cx`'s path.
fn end_servers(cx: &Counterexample) -> Vec<refraft_model::server::ServerState> {
    let model = RaftModel::new(cx.settings.clone()).unwrap();
    let states = cx.replay_on(&model).unwrap();
    let last = states.last().unwrap();
    model.servers(last).map(|(s, _)| s.clone()).collect()
}

/// Searches for `rule`'s stale read from `tests/prefixes/<prefix>` and checks where it happened:
/// at n0, still leading term 1 after a later term's leader acknowledged a write, by its lease
/// (`by_lease`) or by ReadIndex.
fn stale_read_at_old_leader(rule: Rule, settings: Settings, prefix: &'static str, by_lease: bool) {
    let cx = counterexample(rule, settings, LINEARIZABLE, Search::Seeded(prefix));
    let n0 = &end_servers(&cx)[0];
    assert!(n0.node.is_leader() && n0.node.current_term() == 1);
    let served = if by_lease {
        n0.ghost.read_by_lease
    } else {
        n0.ghost.read_by_read_index
    };
    assert!(served, "{rule}: the old leader served the read");
}

#[test]
fn read_after_own_term_commit_guards_linearizability() {
    // Dissertation §6.4 step 1: a new leader takes its commit index as the read index before
    // committing its no-op, missing the write its predecessor committed and acknowledged.
    counterexample(
        Rule::ReadAfterOwnTermCommit,
        reads(Reads::ReadIndex),
        LINEARIZABLE,
        Search::Biased(1, 6),
    );
}

#[test]
fn read_index_quorum_round_guards_linearizability() {
    // Dissertation §6.4 step 3: n0 leads term 1 and acknowledged SET x=1. n2 is elected in
    // term 2 with n1's vote, and commits and acknowledges DEL x; the client's GET then reaches
    // n0, which has heard nothing of term 2 and, without the heartbeat round, answers x=1.
    stale_read_at_old_leader(
        Rule::ReadIndexQuorumRound,
        reads(Reads::ReadIndex),
        "term-1-leader-acknowledged-set.txt",
        false,
    );
}

#[test]
fn forwarded_read_after_apply_guards_linearizability() {
    // Dissertation §6.4, follower reads: n0 commits and acknowledges DEL x with n2; n1 holds it
    // but has applied only SET x=1. n1 forwards the client's GET, learns read index 3 and,
    // without waiting to apply it, answers x=1.
    let settings = Settings {
        forward_reads: true,
        ..reads(Reads::ReadIndex)
    };
    let cx = counterexample(
        Rule::ForwardedReadAfterApply,
        settings,
        LINEARIZABLE,
        Search::Seeded("term-1-leader-acknowledged-set.txt"),
    );
    let servers = end_servers(&cx);
    assert!(servers.iter().any(|s| s.ghost.read_by_follower));
}

#[test]
fn lease_needs_stickiness_guards_linearizability() {
    // Dissertation §4.2.3, §6.4.1: n0 holds a lease counting n1. n1, which may not time out
    // while the lease counts it, still grants n2's RequestVote of term 2; n2 commits and
    // acknowledges DEL x with n1, and n0, its lease unexpired, answers the GET with x=1.
    stale_read_at_old_leader(
        Rule::LeaseNeedsStickiness,
        lease_reads(),
        "term-1-lease-leader-acknowledged-set.txt",
        true,
    );
}

#[test]
fn check_quorum_guards_linearizability() {
    // Dissertation §6.2: n0, cut off, leads term 1 while n2 leads term 2. n0's quorum check
    // finds no acknowledgement since its election; without CheckQuorum it keeps leading and
    // takes a lease, and answers the GET with x=1 after n2 acknowledged DEL x.
    stale_read_at_old_leader(
        Rule::CheckQuorum,
        lease_reads(),
        "term-2-leader-elected-beside-term-1-leader.txt",
        true,
    );
}

/// PreVote, CheckQuorum (with stickiness) and lease reads, no clients, no crashes, two terms,
/// two heartbeat rounds per leader term: the configuration of *a leader with a live majority is
/// not disrupted*.
fn lease_leader() -> Settings {
    Settings {
        pre_vote: true,
        check_quorum: true,
        reads: Reads::Lease,
        max_crashes: 0,
        max_term: 2,
        max_rounds: 2,
        ..Settings::default()
    }
}

#[test]
fn pre_vote_majority_guards_a_leader_with_a_live_majority() {
    // Dissertation §9.6: n0 leads term 1 and holds a lease (n1 acknowledged a round and the
    // check passed). n2, which the lease does not count, times out; with the rule broken it
    // stands at once, as without PreVote, and its RequestVote of term 2 deposes n0 although a
    // majority still hears from it. The candidacy began while the lease was held, so the race
    // the property exempts is not what is found.
    let cx = counterexample_kept_as(
        "pre-vote-majority-live-majority",
        Rule::PreVoteMajority,
        lease_leader(),
        LEASE_LEADER_NOT_DISRUPTED,
        Search::Bfs,
    );
    let servers = end_servers(&cx);
    assert!(servers.iter().any(|s| s.ghost.disrupted_by.is_some()));
}

#[test]
fn stickiness_guards_a_leader_with_a_live_majority() {
    // Dissertation §4.2.3: n0 leads term 1 and holds a lease counting n1; n2 heard round 1 but
    // did not answer it, so its timer may fire. With stickiness broken, n1 grants n2's
    // pre-vote for term 2 although it still hears from n0; n2 stands, and its RequestVote
    // deposes n0. Seeded with the correct run that gives n0 its lease (9 steps).
    let cx = counterexample_kept_as(
        "lease-needs-stickiness-live-majority",
        Rule::LeaseNeedsStickiness,
        lease_leader(),
        LEASE_LEADER_NOT_DISRUPTED,
        Search::Seeded("term-1-pre-vote-lease-leader.txt"),
    );
    let servers = end_servers(&cx);
    assert!(servers.iter().any(|s| s.ghost.disrupted_by.is_some()));
}

#[test]
fn prevote_keeping_no_term_disrupts_a_leader_with_a_live_majority() {
    // Dissertation §9.6, §4.2.3: n0 leads term 1 and holds a lease (n1 acknowledged a round and
    // the check passed). n2, which n0's lease does not count, times out and sends a PreVote for
    // term 2; with the rule broken, n0 adopts that term and steps down although a majority
    // still hears from it. No prefix can seed this search (every pre-vote of the initial state
    // raises a term-0 voter's term when the rule is broken), so BFS runs from the initial state,
    // with the bounds the path needs: one election, two rounds per term, no crashes.
    let settings = Settings {
        max_elections: Some(1),
        ..lease_leader()
    };
    let cx = counterexample_kept_as(
        "prevote-keeps-term-live-majority",
        Rule::PreVoteKeepsTerm,
        settings,
        LEASE_LEADER_NOT_DISRUPTED,
        Search::Bfs,
    );
    let servers = end_servers(&cx);
    assert!(servers.iter().any(|s| s.ghost.disrupted_by.is_some()));
}
