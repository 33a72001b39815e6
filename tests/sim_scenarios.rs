//! Scenarios from the etcd-io/raft and raft-rs test suites, ported as scenarios (not code).
//!
//! They use the simulator with hand-fired timers (`SimConfig::manual_timers`, the style of
//! etcd's network tests: a node campaigns when the test says so and every message is then
//! delivered), over 20 seeds each: the seed varies the network's delays and so the order in
//! which messages arrive. Where a scenario needs an old or forged message, it is injected with
//! `Simulation::inject` or fed to the core directly. Known differences from etcd-io/raft: this
//! core appends a no-op when it becomes leader (§8), and a candidate does not step down on
//! rejected votes (it waits for its next election timeout, §5.2).

use refraft::sim::{run_seeds, SimConfig, SimError, Simulation};
use refraft::{
    AppendEntries, DurableState, Entry, KvCommand, KvStore, Log, Message, Node, NodeId, StepError,
    Term, Timer,
};

#[path = "sim_scenarios/replication.rs"]
mod replication;

const SEEDS: u64 = 20;

fn ensure(sim: &Simulation, ok: bool, what: impl FnOnce() -> String) -> Result<(), SimError> {
    if ok {
        Ok(())
    } else {
        Err(sim.fail(what()))
    }
}

fn manual(n: u64, seed: u64) -> Simulation {
    // Reordering delays, but no loss: etcd's network tests deliver every message.
    Simulation::new(no_pre_vote(SimConfig::new(n, seed).manual_timers()))
}

/// etcd-io/raft runs the scenarios of these names without PreVote (the core's default); the
/// pre-vote variants are in `tests/sim_features.rs`.
fn no_pre_vote(mut config: SimConfig) -> SimConfig {
    config.pre_vote = false;
    config
}

fn campaign(sim: &mut Simulation, id: u64) -> Result<(), SimError> {
    sim.fire_timer(NodeId(id), Timer::Election)?
        .map_err(|e| sim.fail(format!("n{id} cannot campaign: {e}")))?;
    sim.settle()
}

/// Makes the leader `id` send a round of AppendEntries (etcd's `MsgBeat`), and delivers it all.
fn beat(sim: &mut Simulation, id: u64) -> Result<(), SimError> {
    sim.fire_timer(NodeId(id), Timer::Heartbeat)?
        .map_err(|e| sim.fail(format!("n{id} cannot send heartbeats: {e}")))?;
    sim.settle()
}

fn propose(sim: &mut Simulation, id: u64, value: &str) -> Result<(), SimError> {
    let command = KvCommand::Set {
        key: "k".into(),
        value: value.into(),
    };
    if sim.start(NodeId(id), command)?.is_none() {
        return Err(sim.fail(format!("n{id} does not lead")));
    }
    sim.settle()
}

fn node(sim: &Simulation, id: u64) -> &Node<KvStore> {
    sim.node(NodeId(id)).expect("node is up")
}

fn log_terms(sim: &Simulation, id: u64) -> Vec<Term> {
    node(sim, id)
        .log()
        .entries()
        .iter()
        .map(|e| e.term)
        .collect()
}

fn disk(term: Term, voted_for: Option<u64>, log_terms: &[Term]) -> DurableState<KvCommand> {
    DurableState {
        current_term: term,
        voted_for: voted_for.map(NodeId),
        log: Log::from_entries(log_terms.iter().map(|&t| Entry::noop(t)).collect()),
    }
}

// ----- leader election in various cluster shapes (etcd TestLeaderElection) -----

fn leader_election_shape(seed: u64, n: u64, down: &[u64], wins: bool) -> Result<(), SimError> {
    let mut sim = manual(n, seed);
    for &d in down {
        sim.crash(NodeId(d));
    }
    campaign(&mut sim, 1)?;
    let n1 = node(&sim, 1);
    ensure(&sim, n1.current_term() == 1, || {
        format!("term {}", n1.current_term())
    })?;
    if wins {
        ensure(&sim, n1.is_leader(), || {
            format!("{n}-node cluster with {down:?} down: n1 lost")
        })
    } else {
        ensure(&sim, n1.is_candidate(), || {
            format!("{n}-node cluster with {down:?} down: n1 should stay candidate")
        })
    }
}

#[test]
fn leader_election_in_cluster_shapes() {
    run_seeds("leader_election_in_cluster_shapes", SEEDS, |seed| {
        leader_election_shape(seed, 1, &[], true)?;
        leader_election_shape(seed, 3, &[], true)?;
        leader_election_shape(seed, 3, &[2], true)?;
        leader_election_shape(seed, 3, &[2, 3], false)?;
        leader_election_shape(seed, 4, &[2, 3], false)?;
        leader_election_shape(seed, 5, &[2, 3], true)?;
        leader_election_shape(seed, 5, &[2, 3, 4], false)
    });
}

/// etcd TestLeaderElection's cases with logs: a candidate whose log is behind a majority's
/// loses; one at least as up-to-date as a majority wins.
#[test]
fn leader_election_with_logs() {
    run_seeds("leader_election_with_logs", SEEDS, |seed| {
        // n1 is behind n2, n3 and n4 (their last term is 1): it cannot win.
        let disks = vec![
            disk(1, None, &[]),
            disk(1, None, &[1]),
            disk(1, None, &[1]),
            disk(1, None, &[1, 1]),
            disk(1, None, &[]),
        ];
        let mut sim =
            Simulation::from_disks(no_pre_vote(SimConfig::new(5, seed).manual_timers()), disks)?;
        campaign(&mut sim, 1)?;
        ensure(&sim, !node(&sim, 1).is_leader(), || {
            "out-of-date n1 won".into()
        })?;
        // n4 has the longest log: it wins.
        campaign(&mut sim, 4)?;
        ensure(&sim, node(&sim, 4).is_leader(), || {
            "up-to-date n4 lost".into()
        })
    });
}

// ----- dueling candidates, candidate concedes, old messages, leader cycle -----

fn run_dueling_candidates(seed: u64) -> Result<(), SimError> {
    let mut sim = manual(3, seed);
    sim.cut_link(NodeId(1), NodeId(3));
    sim.cut_link(NodeId(3), NodeId(1));
    campaign(&mut sim, 1)?;
    campaign(&mut sim, 3)?;
    // n1 won with n2's vote; n3's request reached n2, which had voted (or has a longer log).
    ensure(&sim, node(&sim, 1).is_leader(), || "n1 should lead".into())?;
    ensure(&sim, node(&sim, 3).is_candidate(), || {
        "n3 should be a candidate".into()
    })?;
    // Heal: n3 campaigns again with a higher term. It disrupts n1 (§5.1: higher term wins),
    // but cannot win: its log lacks n1's entry (§5.4.1).
    sim.heal();
    campaign(&mut sim, 3)?;
    for id in 1..=3 {
        ensure(&sim, !node(&sim, id).is_leader(), || {
            format!("n{id} leads after the duel")
        })?;
    }
    let term = node(&sim, 3).current_term();
    ensure(
        &sim,
        (1..=3).all(|id| node(&sim, id).current_term() == term),
        || "terms differ after the duel".into(),
    )?;
    ensure(
        &sim,
        log_terms(&sim, 1) == vec![1] && log_terms(&sim, 2) == vec![1],
        || "n1/n2 logs changed".into(),
    )?;
    ensure(&sim, log_terms(&sim, 3).is_empty(), || {
        "n3 got entries".into()
    })?;
    // The cluster recovers: n1 is elected again and n3 catches up.
    campaign(&mut sim, 1)?;
    ensure(&sim, node(&sim, 1).is_leader(), || {
        "n1 should win again".into()
    })?;
    ensure(&sim, log_terms(&sim, 3) == log_terms(&sim, 1), || {
        "n3 did not catch up".into()
    })
}

#[test]
fn dueling_candidates() {
    run_seeds("dueling_candidates", SEEDS, run_dueling_candidates);
}

fn run_candidate_concedes(seed: u64) -> Result<(), SimError> {
    let mut sim = manual(3, seed);
    sim.partition(&[&[NodeId(1)], &[NodeId(2), NodeId(3)]]);
    campaign(&mut sim, 1)?;
    campaign(&mut sim, 3)?;
    ensure(&sim, node(&sim, 1).is_candidate(), || {
        "isolated n1 should be a candidate".into()
    })?;
    ensure(&sim, node(&sim, 3).is_leader(), || "n3 should lead".into())?;
    // Heal; n3's next AppendEntries of the same term makes n1 concede (§5.2).
    sim.heal();
    propose(&mut sim, 3, "force follower")?;
    beat(&mut sim, 3)?;
    let n1 = node(&sim, 1);
    ensure(
        &sim,
        !n1.is_candidate() && n1.leader_hint() == Some(NodeId(3)),
        || format!("n1 did not concede: {:?}", n1.role()),
    )?;
    ensure(
        &sim,
        n1.current_term() == node(&sim, 3).current_term(),
        || "terms differ".into(),
    )?;
    for id in 1..=2 {
        ensure(&sim, node(&sim, id).log() == node(&sim, 3).log(), || {
            format!("n{id} log differs")
        })?;
    }
    ensure(&sim, sim.applied_count(2) == 3, || {
        "proposal not applied everywhere".into()
    })
}

#[test]
fn candidate_concedes() {
    run_seeds("candidate_concedes", SEEDS, run_candidate_concedes);
}

fn run_old_messages_ignored(seed: u64) -> Result<(), SimError> {
    let mut sim = manual(3, seed);
    // Leaders of terms 1, 2 and 3: n1, n2, n1.
    campaign(&mut sim, 1)?;
    campaign(&mut sim, 2)?;
    campaign(&mut sim, 1)?;
    ensure(
        &sim,
        node(&sim, 1).is_leader() && node(&sim, 1).current_term() == 3,
        || "n1 should lead term 3".into(),
    )?;
    // An old AppendEntries of term 2 from n2, carrying an entry n1 never saw, arrives late.
    let before = node(&sim, 1).log().clone();
    let old = Message::AppendEntries(AppendEntries {
        term: 2,
        prev_log_index: 2,
        prev_log_term: 2,
        entries: vec![Entry::noop(2)].into(),
        leader_commit: 2,
    });
    let verdict = sim.inject(NodeId(2), NodeId(1), old)?;
    ensure(
        &sim,
        matches!(verdict, Err(StepError::StaleTerm { .. })),
        || format!("old message not refused as stale: {verdict:?}"),
    )?;
    ensure(&sim, node(&sim, 1).log() == &before, || {
        "old message changed the log".into()
    })?;
    sim.settle()?;
    propose(&mut sim, 1, "somedata")?;
    beat(&mut sim, 1)?;
    for id in 1..=3 {
        ensure(&sim, log_terms(&sim, id) == vec![1, 2, 3, 3], || {
            format!("n{id} log terms {:?}", log_terms(&sim, id))
        })?;
    }
    ensure(&sim, sim.applied_count(4) == 3, || {
        "not applied everywhere".into()
    })
}

#[test]
fn old_messages_ignored() {
    run_seeds("old_messages_ignored", SEEDS, run_old_messages_ignored);
}

fn run_leader_cycle(seed: u64) -> Result<(), SimError> {
    let mut sim = manual(3, seed);
    for round in 0..2 {
        for id in 1..=3 {
            campaign(&mut sim, id)?;
            for other in 1..=3 {
                let leads = node(&sim, other).is_leader();
                ensure(&sim, leads == (other == id), || {
                    format!("round {round}: after n{id} campaigned, n{other} leads={leads}")
                })?;
            }
        }
    }
    Ok(())
}

#[test]
fn leader_cycle() {
    run_seeds("leader_cycle", SEEDS, run_leader_cycle);
}
