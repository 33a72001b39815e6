//! The trace format and its validator (`spec/TRACE.md`): the simulator's traces pass, after a
//! round trip through NDJSON; a hand-made trace that breaks each rule is rejected by name, at
//! its line; a trace of a deliberately broken core (feature `rule-switches`) is rejected.

#[cfg(feature = "rule-switches")]
use refraft::sim::SimConfig;
use refraft::trace::{
    Header, Kind, MessageId, Msg, Step, StepEffect, StepInput, TraceRole, TraceRule, Validator,
};

mod trace_support;
use trace_support::*;

#[test]
fn simulator_traces_pass_with_crashes_restarts_and_an_unreliable_network() {
    for seed in 0..6 {
        let unreliable = seed % 2 == 1;
        let (header, steps, sim) = chaos(seed, unreliable, 60);
        let report = validate_ndjson(&header, &steps);
        assert!(report.passed(), "seed {seed}: {}", report.violations[0]);
        // Reachability: the traces hold the steps the rules are about.
        assert_eq!(report.steps, steps.len());
        assert!(
            sim.checker().elections().len() >= 3,
            "seed {seed}: few elections"
        );
        let has = |k: Kind| steps.iter().any(|s| s.kind == k);
        assert!(has(Kind::Receive) && has(Kind::Timeout) && has(Kind::Client));
        assert_eq!(has(Kind::Restart), !unreliable, "seed {seed}");
        let commits = steps.iter().filter(|s| s.state.commit > 0).count();
        assert!(commits > 0, "seed {seed}: nothing committed");
        let received_with_id = steps
            .iter()
            .filter(|s| s.kind == Kind::Receive && s.input.id.is_some())
            .count();
        assert!(
            received_with_id > 100,
            "seed {seed}: deliveries carry send ids"
        );
    }
}

#[test]
fn every_received_message_was_sent_with_its_id() {
    let (_, steps, _) = chaos(3, true, 40);
    let mut sent = std::collections::HashMap::new();
    for s in &steps {
        if let (Some(id), Some(msg)) = (s.input.id, &s.input.msg) {
            let before: &Msg = sent.get(&id).expect("a receive names an earlier send");
            assert_eq!(before, msg);
            assert_eq!(Some(id.sender), s.input.from);
        }
        for e in &s.effects {
            if let StepEffect::Send {
                id: Some(id), msg, ..
            } = e
            {
                assert!(sent.insert(*id, msg.clone()).is_none(), "ids are unique");
            }
        }
    }
}

#[test]
fn a_correct_hand_made_trace_passes() {
    let report = committed_leader().report();
    assert!(report.passed(), "{:?}", report.violations);
}

#[test]
fn term_monotonic() {
    let mut t = Trace::new();
    t.elect(1, 2, 2, &[(2, 1)]);
    let line = t.push(
        1,
        Kind::Timeout,
        timer("heartbeat"),
        vec![],
        state(1, None, TraceRole::Follower, &[(2, 1)]),
    );
    rejects(&t, TraceRule::TermMonotonic, line);
}

#[test]
fn one_vote_per_term() {
    let mut t = Trace::new();
    t.elect(1, 2, 1, &[(1, 1)]);
    let rv = Msg::RequestVote {
        term: 1,
        last_log_index: 0,
        last_log_term: 0,
        pre_vote: false,
    };
    let hard = StepEffect::PersistHardState {
        term: 1,
        vote: Some(3),
    };
    let line = t.push(
        2,
        Kind::Receive,
        receive(3, rv),
        vec![hard, send(3, granted(1))],
        state(1, Some(3), TraceRole::Follower, &[]),
    );
    rejects(&t, TraceRule::OneVotePerTerm, line);
}

#[test]
fn persist_before_reveal() {
    let mut t = Trace::new();
    let rv = Msg::RequestVote {
        term: 1,
        last_log_index: 0,
        last_log_term: 0,
        pre_vote: false,
    };
    // The vote is sent before it is stored.
    let line = t.push(
        2,
        Kind::Receive,
        receive(1, rv),
        vec![
            send(1, granted(1)),
            StepEffect::PersistHardState {
                term: 1,
                vote: Some(1),
            },
        ],
        state(1, Some(1), TraceRole::Follower, &[]),
    );
    rejects(&t, TraceRule::PersistBeforeReveal, line);
}

#[test]
fn restart_from_durable() {
    let mut t = Trace::new();
    t.elect(1, 2, 1, &[(1, 1)]);
    // Server 2 stored its vote for 1 in term 1, and comes back without it.
    let line = t.push(
        2,
        Kind::Restart,
        StepInput::default(),
        vec![],
        state(1, None, TraceRole::Follower, &[]),
    );
    rejects(&t, TraceRule::RestartFromDurable, line);
}

#[test]
fn leader_commit_quorum() {
    let mut t = Trace::new();
    t.elect(1, 2, 1, &[(1, 1)]);
    let mut l = state(1, Some(1), TraceRole::Leader, &[(1, 1)]);
    l.commit = 1;
    let line = t.push(1, Kind::Timeout, timer("heartbeat"), vec![], l);
    rejects(&t, TraceRule::LeaderCommitQuorum, line);
}

#[test]
fn commit_current_term() {
    let mut t = Trace::new();
    // Server 1 holds a term-1 entry, leads term 2 and commits the term-1 entry by counting.
    t.elect(1, 2, 2, &[(1, 1), (2, 1)]);
    let mut l = state(2, Some(1), TraceRole::Leader, &[(1, 1), (2, 1)]);
    l.commit = 1;
    l.r#match = [(2, 1)].into_iter().collect();
    let line = t.push(1, Kind::Receive, receive(2, ack(2, 1)), vec![], l);
    rejects(&t, TraceRule::CommitCurrentTerm, line);
}

#[test]
fn match_from_ack() {
    let mut t = Trace::new();
    t.elect(1, 2, 1, &[(1, 1)]);
    let mut l = state(1, Some(1), TraceRole::Leader, &[(1, 1)]);
    l.r#match = [(3, 1)].into_iter().collect();
    let line = t.push(1, Kind::Timeout, timer("heartbeat"), vec![], l);
    rejects(&t, TraceRule::MatchFromAck, line);
}

#[test]
fn follower_commit_bound() {
    let mut t = Trace::new();
    t.elect(1, 2, 1, &[(1, 2)]);
    // The request carries index 1 only; leader_commit is 2; the follower commits 2.
    let mut s = state(1, Some(1), TraceRole::Follower, &[(1, 2)]);
    s.commit = 2;
    let line = t.push(
        3,
        Kind::Receive,
        receive(1, append(1, (0, 0), &[1], 2)),
        vec![StepEffect::PersistLog {
            from: 1,
            entries: vec![1],
        }],
        s,
    );
    rejects(&t, TraceRule::FollowerCommitBound, line);
}

#[test]
fn commit_monotonic() {
    let mut t = Trace::new();
    t.elect(1, 2, 1, &[(1, 1)]);
    let mut s = state(1, None, TraceRole::Follower, &[(1, 1)]);
    s.commit = 1;
    t.push(
        3,
        Kind::Receive,
        receive(1, append(1, (0, 0), &[1], 1)),
        vec![
            StepEffect::PersistHardState {
                term: 1,
                vote: None,
            },
            StepEffect::PersistLog {
                from: 1,
                entries: vec![1],
            },
        ],
        s.clone(),
    );
    s.commit = 0;
    let line = t.push(
        3,
        Kind::Receive,
        receive(1, append(1, (1, 1), &[], 0)),
        vec![],
        s,
    );
    rejects(&t, TraceRule::CommitMonotonic, line);
}

#[test]
fn apply_in_order_and_only_committed() {
    let mut t = Trace::new();
    t.elect(1, 2, 1, &[(1, 2)]);
    let mut s = state(1, None, TraceRole::Follower, &[(1, 2)]);
    s.commit = 2;
    s.applied = 2;
    let effects = vec![
        StepEffect::PersistHardState {
            term: 1,
            vote: None,
        },
        StepEffect::PersistLog {
            from: 1,
            entries: vec![1, 1],
        },
        StepEffect::Apply {
            index: 2,
            term: 1,
            digest: None,
        },
    ];
    let line = t.push(
        3,
        Kind::Receive,
        receive(1, append(1, (0, 0), &[1, 1], 2)),
        effects,
        s,
    );
    rejects(&t, TraceRule::ApplyInOrder, line);
    let mut t = Trace::new();
    let mut s = state(0, None, TraceRole::Follower, &[(1, 1)]);
    s.applied = 1;
    let line = t.push(
        3,
        Kind::Receive,
        receive(1, append(0, (0, 0), &[], 0)),
        vec![StepEffect::Apply {
            index: 1,
            term: 1,
            digest: None,
        }],
        s,
    );
    rejects(&t, TraceRule::ApplyOnlyCommitted, line);
}

#[test]
fn election_safety() {
    let mut t = Trace::new();
    t.elect(1, 2, 1, &[(1, 1)]);
    let line = t.elect(3, 2, 1, &[(1, 1)]);
    rejects(&t, TraceRule::ElectionSafety, line);
}

#[test]
fn leader_append_only() {
    let mut t = Trace::new();
    t.elect(1, 2, 1, &[(1, 2)]);
    let line = t.push(
        1,
        Kind::Timeout,
        timer("heartbeat"),
        vec![StepEffect::PersistLog {
            from: 2,
            entries: vec![],
        }],
        state(1, Some(1), TraceRole::Leader, &[(1, 1)]),
    );
    rejects(&t, TraceRule::LeaderAppendOnly, line);
}

#[test]
fn log_matching() {
    let mut t = Trace::new();
    t.elect(1, 2, 2, &[(1, 1), (2, 1)]);
    // Server 3's log has term 2 beginning at index 1: it disagrees on index 1.
    let line = t.push(
        3,
        Kind::Receive,
        receive(1, append(2, (0, 0), &[2, 2], 0)),
        vec![
            StepEffect::PersistHardState {
                term: 2,
                vote: None,
            },
            StepEffect::PersistLog {
                from: 1,
                entries: vec![2, 2],
            },
        ],
        state(2, None, TraceRole::Follower, &[(2, 2)]),
    );
    rejects(&t, TraceRule::LogMatching, line);
}

#[test]
fn leader_completeness_and_state_machine_safety() {
    let mut t = Trace::new();
    t.elect(1, 2, 1, &[(1, 1)]);
    let mut l = state(1, Some(1), TraceRole::Leader, &[(1, 1)]);
    l.commit = 1;
    l.applied = 1;
    l.r#match = [(2, 1)].into_iter().collect();
    t.push(
        1,
        Kind::Receive,
        receive(2, ack(1, 1)),
        vec![StepEffect::Apply {
            index: 1,
            term: 1,
            digest: None,
        }],
        l,
    );
    // Server 3 leads term 2 without the committed entry, and applies another at index 1.
    let line = t.elect(3, 2, 2, &[(2, 1)]);
    rejects(&t, TraceRule::LeaderCompleteness, line);
    let mut l = state(2, Some(3), TraceRole::Leader, &[(2, 1)]);
    l.commit = 1;
    l.applied = 1;
    l.r#match = [(2, 1)].into_iter().collect();
    let line = t.push(
        3,
        Kind::Receive,
        receive(2, ack(2, 1)),
        vec![StepEffect::Apply {
            index: 1,
            term: 2,
            digest: None,
        }],
        l,
    );
    rejects(&t, TraceRule::StateMachineSafety, line);
}

#[test]
fn structural_errors_name_their_line() {
    let header = Header::new(vec![1, 2, 3]);
    let mut v = Validator::new(&header).unwrap();
    let init = |seq, node| Step {
        seq,
        node,
        kind: Kind::Init,
        input: StepInput::default(),
        effects: vec![],
        state: state(0, None, TraceRole::Follower, &[]),
    };
    v.check(2, &init(5, 1)).unwrap();
    assert_eq!(
        v.check(3, &init(5, 2)).unwrap_err().to_string(),
        "line 3: seq 5 does not increase (previous 5)"
    );
    assert_eq!(
        v.check(4, &init(6, 9)).unwrap_err().to_string(),
        "line 4: node 9 is not in the header's nodes"
    );
    let mut timeout = init(7, 2);
    timeout.kind = Kind::Timeout;
    assert_eq!(
        v.check(5, &timeout).unwrap_err().to_string(),
        "line 5: node 2 steps before its init line"
    );
    let mut bad = Header::new(vec![1]);
    bad.version = 7;
    assert!(Validator::new(&bad)
        .unwrap_err()
        .to_string()
        .contains("version 7 is not supported"));
    // Counts that overflow are saturated, never a panic.
    let mut v = Validator::new(&Header::new(vec![1])).unwrap();
    let mut huge = init(1, 1);
    huge.state.log = vec![(1, u64::MAX), (2, u64::MAX)];
    huge.state.commit = u64::MAX;
    v.check(2, &huge).unwrap();
    let _ = MessageId { sender: 1, seq: 1 };
}

/// A core with one rule switched off writes traces the validator rejects, naming the rule of
/// the trace format that the switch breaks (the validator knows nothing of the switches).
#[cfg(feature = "rule-switches")]
#[test]
fn traces_of_broken_cores_are_rejected() {
    use refraft::Rule;
    let cases = [
        (Rule::PersistVote, TraceRule::PersistBeforeReveal),
        (Rule::PersistTerm, TraceRule::PersistBeforeReveal),
        (Rule::PersistEntries, TraceRule::PersistBeforeReveal),
        (Rule::VoteOncePerTerm, TraceRule::OneVotePerTerm),
        (Rule::CurrentTermCommit, TraceRule::CommitCurrentTerm),
        (Rule::MatchIndexFromAck, TraceRule::MatchFromAck),
        (Rule::ApplyOnlyCommitted, TraceRule::ApplyOnlyCommitted),
        (Rule::ElectionRestriction, TraceRule::LeaderCompleteness),
    ];
    for (rule, expected) in cases {
        let found = (0..20).find_map(|seed| {
            let mut config = SimConfig::new(5, seed);
            config.broken_rule = Some(rule);
            config.pre_vote = false;
            config.max_entries_per_append = 1;
            let (header, steps, _) = chaos_with(config, seed % 2 == 1, 60);
            let report = validate_ndjson(&header, &steps);
            report.first(expected).map(|v| (seed, v.clone()))
        });
        let (seed, v) =
            found.unwrap_or_else(|| panic!("{rule:?}: {expected} not reported in 20 seeds"));
        println!("{rule:?}: seed {seed}: {v}");
    }
}
