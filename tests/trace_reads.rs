//! Reads in traces (dissertation §6.4): the simulator's traces with ReadIndex, lease and
//! forwarded reads pass, and reach every read check; a hand-made trace that breaks each read
//! rule is rejected by name, at its line.

mod trace_support;

use refraft::sim::{NetworkConfig, SimConfig, Simulation};
use refraft::trace::{Header, Kind, Msg, Step, StepEffect, StepInput, TraceRole, TraceRule};
use refraft::{KvCommand, ReadMode};
use std::time::Duration;
use trace_support::*;

/// Three servers under client writes and reads at every server, the leader cut off now and
/// then, on an unreliable network; traced.
fn read_run(seed: u64, mode: ReadMode, forward: bool) -> (Header, Vec<Step>) {
    let mut config = SimConfig::new(3, seed);
    config.read_mode = mode;
    config.check_quorum = mode == ReadMode::Lease;
    config.forward_reads = forward;
    let mut sim = Simulation::new(config.network(NetworkConfig::unreliable()).traced());
    let mut cut = None;
    for round in 0..40u64 {
        let mut leader = None;
        for id in sim.ids() {
            let command = KvCommand::Set {
                key: "k".into(),
                value: round.to_string(),
            };
            if matches!(sim.start(id, command), Ok(Some(_))) {
                leader = Some(id);
            }
            let _ = sim.read(id, "k");
        }
        let _ = sim.run_for(Duration::from_millis(120));
        match (cut.take(), leader) {
            (Some(c), _) => sim.connect(c),
            (None, Some(l)) if round % 5 == 2 => {
                sim.disconnect(l);
                cut = Some(l);
            }
            _ => {}
        }
    }
    let _ = sim.run_for(Duration::from_secs(2));
    sim.take_trace()
}

/// Read answers in `steps`: (served by a leader, by a follower, by a lease).
fn served(steps: &[Step]) -> (usize, usize, usize) {
    let mut counts = (0, 0, 0);
    for s in steps {
        for e in &s.effects {
            if let StepEffect::Reply {
                ok: true,
                read_index: Some(_),
                lease,
                ..
            } = e
            {
                if s.state.role == TraceRole::Leader {
                    counts.0 += 1;
                } else {
                    counts.1 += 1;
                }
                counts.2 += usize::from(*lease);
            }
        }
    }
    counts
}

#[test]
fn simulator_traces_with_reads_pass_and_reach_the_read_checks() {
    for (seed, mode, forward) in [
        (1, ReadMode::ReadIndex, false),
        (2, ReadMode::ReadIndex, true),
        (3, ReadMode::Lease, false),
        (4, ReadMode::Lease, true),
    ] {
        let (header, steps) = read_run(seed, mode, forward);
        let report = validate_ndjson(&header, &steps);
        assert!(
            report.passed(),
            "seed {seed} {mode:?}: {}",
            report.violations[0]
        );
        let (at_leader, at_follower, by_lease) = served(&steps);
        assert!(
            at_leader > 10,
            "seed {seed} {mode:?}: {at_leader} leader reads"
        );
        assert_eq!(at_follower > 10, forward, "seed {seed}: {at_follower}");
        assert_eq!(by_lease > 10, mode == ReadMode::Lease, "{by_lease}");
        let rounds = steps
            .iter()
            .filter(|s| matches!(s.input.msg, Some(Msg::HeartbeatResponse { .. })))
            .count();
        assert!(
            rounds > 10,
            "seed {seed}: {rounds} heartbeat acknowledgements"
        );
    }
}

/// A read of client 9 arriving at server 1.
fn read_input() -> StepInput {
    StepInput {
        requests: vec![(9, 1)],
        ..Default::default()
    }
}

fn answer(read_index: u64, lease: bool) -> StepEffect {
    StepEffect::Reply {
        client: 9,
        serial: 1,
        ok: true,
        read_index: Some(read_index),
        lease,
    }
}

fn heartbeat(round: u64) -> Vec<StepEffect> {
    [2, 3]
        .map(|to| send(to, Msg::Heartbeat { term: 1, round }))
        .to_vec()
}

fn heartbeat_ack(from: u64, round: u64) -> StepInput {
    receive(from, Msg::HeartbeatResponse { term: 1, round })
}

#[test]
fn a_read_after_a_quorum_round_passes() {
    let mut t = committed_leader();
    t.push(1, Kind::Read, read_input(), heartbeat(1), leading(1, 1));
    t.push(
        1,
        Kind::Receive,
        heartbeat_ack(2, 1),
        vec![answer(1, false)],
        leading(1, 1),
    );
    let report = t.report();
    assert!(report.passed(), "{:?}", report.violations);
}

#[test]
fn read_index_quorum_round() {
    // Served at once, without a round.
    let mut t = committed_leader();
    let line = t.push(
        1,
        Kind::Read,
        read_input(),
        vec![answer(1, false)],
        leading(1, 1),
    );
    rejects(&t, TraceRule::ReadIndexQuorumRound, line);
    // A round sent before the read arrived does not confirm it.
    let mut t = committed_leader();
    t.push(
        1,
        Kind::Timeout,
        timer("heartbeat"),
        heartbeat(1),
        leading(1, 1),
    );
    t.push(1, Kind::Read, read_input(), vec![], leading(1, 1));
    let line = t.push(
        1,
        Kind::Receive,
        heartbeat_ack(2, 1),
        vec![answer(1, false)],
        leading(1, 1),
    );
    rejects(&t, TraceRule::ReadIndexQuorumRound, line);
    // A lease stands in for the round (§6.4.1).
    let mut t = committed_leader();
    t.push(
        1,
        Kind::Read,
        read_input(),
        vec![answer(1, true)],
        leading(1, 1),
    );
    assert!(t.report().passed(), "{:?}", t.report().violations);
}

#[test]
fn read_after_own_term_commit() {
    // Leader 1 of term 1 has committed nothing: its read index 0 is no entry of its term.
    let mut t = Trace::new();
    t.elect(1, 2, 1, &[(1, 1)]);
    let mut s = leading(0, 0);
    s.r#match.clear();
    s.next = [(2, 1)].into_iter().collect();
    let line = t.push(1, Kind::Read, read_input(), vec![answer(0, true)], s);
    rejects(&t, TraceRule::ReadAfterOwnTermCommit, line);
}

#[test]
fn read_after_apply() {
    // Index 1 is committed but not yet applied when the read is answered at it.
    let mut t = committed_leader();
    let committed = t.steps.last_mut().unwrap();
    committed.effects.clear();
    committed.state.applied = 0;
    t.push(1, Kind::Read, read_input(), heartbeat(1), leading(1, 0));
    let line = t.push(
        1,
        Kind::Receive,
        heartbeat_ack(2, 1),
        vec![answer(1, false)],
        leading(1, 0),
    );
    rejects(&t, TraceRule::ReadAfterApply, line);
    assert_eq!(
        t.report().violations.len(),
        1,
        "{:?}",
        t.report().violations
    );
}
