//! One test per protocol rule of the core, each named after the rule it checks. They drive single
//! nodes through the public API, feeding the exact messages a peer would send.

mod common;

use common::sends;
use refraft::*;

type Out = NodeEffects<KvStore>;

fn ids(n: u64) -> Vec<NodeId> {
    (1..=n).map(NodeId).collect()
}

fn entries(terms: &[Term]) -> Vec<Entry<KvCommand>> {
    terms.iter().map(|&t| Entry::noop(t)).collect()
}

fn durable(term: Term, voted_for: Option<u64>, log_terms: &[Term]) -> DurableState<KvCommand> {
    DurableState {
        current_term: term,
        voted_for: voted_for.map(NodeId),
        log: Log::from_entries(entries(log_terms)),
    }
}

/// Node `id` of an `n`-node cluster, started from `state`; the start-up effects are dropped.
fn start(id: u64, n: u64, state: DurableState<KvCommand>) -> Node<KvStore> {
    let mut out = Out::new();
    let mut config = Config::new(NodeId(id), ids(n)).unwrap();
    // These tests drive §5.2 elections directly; PreVote has its own tests (tests/features.rs).
    config.pre_vote = false;
    Node::new(config, state, KvStore::default(), &mut out).unwrap()
}

fn msg(from: u64, message: Message<KvCommand>) -> Input<KvCommand> {
    Input::Message {
        from: NodeId(from),
        message,
    }
}

fn vote_request(term: Term, last_log_index: Index, last_log_term: Term) -> Message<KvCommand> {
    Message::RequestVote(RequestVote {
        term,
        last_log_index,
        last_log_term,
        leadership_transfer: false,
    })
}

fn granted(term: Term) -> Message<KvCommand> {
    Message::RequestVoteResponse(RequestVoteResponse {
        term,
        vote_granted: true,
    })
}

fn append(
    term: Term,
    prev_log_index: Index,
    prev_log_term: Term,
    terms: &[Term],
    leader_commit: Index,
) -> Message<KvCommand> {
    Message::AppendEntries(AppendEntries {
        term,
        prev_log_index,
        prev_log_term,
        entries: entries(terms).into(),
        leader_commit,
    })
}

fn ack(term: Term, match_index: Index) -> Message<KvCommand> {
    Message::AppendEntriesResponse(AppendEntriesResponse {
        term,
        result: AppendResult::Success { match_index },
    })
}

fn vote_reply(out: &Out) -> bool {
    match sends(out).as_slice() {
        [(_, Message::RequestVoteResponse(r))] => r.vote_granted,
        other => panic!("expected one vote reply, got {other:?}"),
    }
}

fn append_reply(out: &Out) -> AppendResult {
    match sends(out).as_slice() {
        [(_, Message::AppendEntriesResponse(r))] => r.result.clone(),
        other => panic!("expected one append reply, got {other:?}"),
    }
}

/// Node 1 of `n`, made leader of `term` (its log given by `log_terms`, all below `term`) by
/// votes from a majority. The no-op of `term` is appended.
fn leader(n: u64, term: Term, log_terms: &[Term]) -> Node<KvStore> {
    let mut node = start(1, n, durable(term - 1, None, log_terms));
    let mut out = Out::new();
    node.step(Input::Timeout(Timer::Election), &mut out)
        .unwrap();
    for voter in 2..=(n / 2 + 1) {
        node.step(msg(voter, granted(term)), &mut out).unwrap();
    }
    assert!(node.is_leader());
    node
}

/// Index of the first effect matching `pred`.
fn position(out: &Out, pred: impl Fn(&Effect<KvCommand, KvOutput>) -> bool) -> usize {
    out.as_slice()
        .iter()
        .position(pred)
        .expect("effect present")
}

// ----- §5.2 elections -----

#[test]
fn election_timeout_starts_election_with_incremented_term_and_self_vote() {
    let mut node = start(1, 3, durable(4, None, &[1, 4]));
    let mut out = Out::new();
    node.step(Input::Timeout(Timer::Election), &mut out)
        .unwrap();
    assert!(node.is_candidate());
    assert_eq!(node.current_term(), 5);
    assert_eq!(node.voted_for(), Some(NodeId(1)));
    let requests = sends(&out);
    assert_eq!(requests.len(), 2);
    for (_, m) in requests {
        assert_eq!(m, vote_request(5, 2, 4));
    }
}

#[test]
fn candidate_persists_term_and_vote_before_requesting_votes() {
    let mut node = start(1, 3, durable(0, None, &[]));
    let mut out = Out::new();
    node.step(Input::Timeout(Timer::Election), &mut out)
        .unwrap();
    let persist = position(&out, |e| {
        matches!(
            e,
            Effect::PersistHardState {
                current_term: 1,
                voted_for: Some(NodeId(1))
            }
        )
    });
    let first_send = position(&out, |e| matches!(e, Effect::Send { .. }));
    assert!(persist < first_send);
}

#[test]
fn vote_granted_to_up_to_date_candidate_and_persisted_before_reply() {
    let mut node = start(2, 3, durable(1, None, &[1]));
    let mut out = Out::new();
    node.step(msg(1, vote_request(2, 1, 1)), &mut out).unwrap();
    assert!(vote_reply(&out));
    assert_eq!(node.voted_for(), Some(NodeId(1)));
    let persist = position(&out, |e| {
        matches!(
            e,
            Effect::PersistHardState {
                current_term: 2,
                voted_for: Some(NodeId(1))
            }
        )
    });
    let reply = position(&out, |e| matches!(e, Effect::Send { .. }));
    assert!(persist < reply, "{:?}", out.as_slice());
}

#[test]
fn vote_denied_when_candidate_log_is_behind() {
    // §5.4.1: the voter's last term (3) is higher than the candidate's (2), though the
    // candidate's log is longer.
    let mut node = start(2, 3, durable(3, None, &[1, 3]));
    let mut out = Out::new();
    node.step(msg(1, vote_request(4, 5, 2)), &mut out).unwrap();
    assert!(!vote_reply(&out));
    assert_eq!(node.voted_for(), None);
    assert_eq!(
        node.current_term(),
        4,
        "the higher term is adopted all the same"
    );
}

#[test]
fn vote_denied_when_candidate_log_is_shorter_with_same_last_term() {
    let mut node = start(2, 3, durable(2, None, &[1, 2, 2]));
    let mut out = Out::new();
    node.step(msg(1, vote_request(3, 2, 2)), &mut out).unwrap();
    assert!(!vote_reply(&out));
}

#[test]
fn vote_granted_when_candidate_last_term_is_higher_even_if_log_is_shorter() {
    let mut node = start(2, 3, durable(2, None, &[1, 1, 1, 1]));
    let mut out = Out::new();
    node.step(msg(1, vote_request(3, 1, 2)), &mut out).unwrap();
    assert!(vote_reply(&out));
}

#[test]
fn vote_never_given_to_second_candidate_in_same_term() {
    let mut node = start(3, 3, durable(1, None, &[]));
    let mut out = Out::new();
    node.step(msg(1, vote_request(2, 0, 0)), &mut out).unwrap();
    assert!(vote_reply(&out));
    out.clear();
    node.step(msg(2, vote_request(2, 0, 0)), &mut out).unwrap();
    assert!(!vote_reply(&out));
    assert_eq!(node.voted_for(), Some(NodeId(1)));
}

#[test]
fn vote_repeated_for_same_candidate_in_same_term() {
    // A retried RequestVote from the candidate we voted for gets the same answer.
    let mut node = start(3, 3, durable(1, None, &[]));
    let mut out = Out::new();
    node.step(msg(1, vote_request(2, 0, 0)), &mut out).unwrap();
    out.clear();
    node.step(msg(1, vote_request(2, 0, 0)), &mut out).unwrap();
    assert!(vote_reply(&out));
}

#[test]
fn vote_remembered_across_restart() {
    // Figure 2: voted_for is durable, so a restarted voter does not vote twice in a term.
    let mut node = start(3, 3, durable(1, None, &[]));
    let mut out = Out::new();
    node.step(msg(1, vote_request(2, 0, 0)), &mut out).unwrap();
    let mut disk = DurableState::default();
    for e in out.as_slice() {
        disk.apply(e);
    }
    let mut restarted = start(3, 3, disk);
    out.clear();
    restarted
        .step(msg(2, vote_request(2, 0, 0)), &mut out)
        .unwrap();
    assert!(!vote_reply(&out));
}

#[test]
fn stale_vote_request_is_rejected_with_current_term() {
    let mut node = start(2, 3, durable(5, None, &[]));
    let mut out = Out::new();
    let err = node
        .step(msg(1, vote_request(4, 9, 4)), &mut out)
        .unwrap_err();
    assert_eq!(
        err,
        StepError::StaleTerm {
            message_term: 4,
            current_term: 5
        }
    );
    match sends(&out).as_slice() {
        [(_, Message::RequestVoteResponse(r))] => assert_eq!((r.term, r.vote_granted), (5, false)),
        other => panic!("{other:?}"),
    }
}

#[test]
fn granting_vote_resets_election_timer() {
    let mut node = start(2, 3, durable(1, None, &[]));
    let mut out = Out::new();
    node.step(msg(1, vote_request(2, 0, 0)), &mut out).unwrap();
    assert!(out.as_slice().iter().any(|e| matches!(
        e,
        Effect::SetTimer {
            timer: Timer::Election,
            ..
        }
    )));
}

#[test]
fn candidate_becomes_leader_only_with_majority_of_votes() {
    let mut node = start(1, 5, durable(0, None, &[]));
    let mut out = Out::new();
    node.step(Input::Timeout(Timer::Election), &mut out)
        .unwrap();
    node.step(msg(2, granted(1)), &mut out).unwrap();
    assert!(node.is_candidate(), "2 of 5 is no majority");
    let denied = Message::RequestVoteResponse(RequestVoteResponse {
        term: 1,
        vote_granted: false,
    });
    node.step(msg(3, denied), &mut out).unwrap();
    assert!(node.is_candidate());
    node.step(msg(4, granted(1)), &mut out).unwrap();
    assert!(node.is_leader(), "3 of 5 is a majority");
}

#[test]
fn new_leader_appends_noop_of_its_term_and_sends_it() {
    let node = leader(3, 3, &[1, 2]);
    assert_eq!(node.log().last_index(), 3);
    assert_eq!(node.log().get(3), Some(&Entry::noop(3)));
    for peer in [NodeId(2), NodeId(3)] {
        let p = node.progress(peer).unwrap();
        assert_eq!((p.next_index, p.match_index), (3, 0));
    }
}

#[test]
fn higher_term_message_makes_leader_step_down() {
    let mut node = leader(3, 2, &[1]);
    let mut out = Out::new();
    node.step(msg(2, vote_request(7, 0, 0)), &mut out).unwrap();
    assert!(!node.is_leader());
    assert_eq!(node.current_term(), 7);
    assert!(out.as_slice().iter().any(|e| matches!(
        e,
        Effect::CancelTimer {
            timer: Timer::Heartbeat
        }
    )));
}

#[test]
fn candidate_steps_down_on_append_from_leader_of_same_term() {
    let mut node = start(1, 3, durable(0, None, &[]));
    let mut out = Out::new();
    node.step(Input::Timeout(Timer::Election), &mut out)
        .unwrap();
    out.clear();
    node.step(msg(2, append(1, 0, 0, &[], 0)), &mut out)
        .unwrap();
    assert!(!node.is_candidate());
    assert_eq!(node.leader_hint(), Some(NodeId(2)));
    assert_eq!(node.current_term(), 1);
}

#[test]
fn single_node_cluster_elects_itself_and_commits() {
    let mut node = start(1, 1, durable(0, None, &[]));
    let mut out = Out::new();
    node.step(Input::Timeout(Timer::Election), &mut out)
        .unwrap();
    assert!(node.is_leader());
    assert_eq!(node.commit_index(), 1, "the no-op commits at once");
    out.clear();
    let request = ClientRequest {
        client: ClientId(1),
        serial: 1,
        command: "SET a=b".parse().unwrap(),
    };
    node.step(Input::ClientRequest(request), &mut out).unwrap();
    assert_eq!(node.state_machine().machine().get("a"), Some("b"));
    assert!(out.as_slice().iter().any(|e| matches!(
        e,
        Effect::Reply {
            response: ClientResponse::Applied(KvOutput::Done),
            ..
        }
    )));
}

// ----- §5.3 replication -----

#[test]
fn append_rejected_when_log_is_too_short_with_length_hint() {
    let mut node = start(2, 3, durable(1, None, &[1]));
    let mut out = Out::new();
    node.step(msg(1, append(2, 3, 2, &[2], 0)), &mut out)
        .unwrap();
    assert_eq!(
        append_reply(&out),
        AppendResult::Reject {
            prev_log_index: 3,
            hint: Some(ConflictHint {
                conflict_term: None,
                first_index: 2
            })
        }
    );
}

#[test]
fn append_rejected_on_prev_term_mismatch_with_conflict_term_hint() {
    let mut node = start(2, 3, durable(3, None, &[1, 2, 2, 2]));
    let mut out = Out::new();
    node.step(msg(1, append(4, 4, 3, &[], 0)), &mut out)
        .unwrap();
    assert_eq!(
        append_reply(&out),
        AppendResult::Reject {
            prev_log_index: 4,
            hint: Some(ConflictHint {
                conflict_term: Some(2),
                first_index: 2
            })
        }
    );
    assert_eq!(node.log().last_index(), 4, "a rejection changes no entry");
}

#[test]
fn follower_truncates_conflicting_suffix_only() {
    let mut node = start(2, 3, durable(2, None, &[1, 1, 2, 2]));
    let mut out = Out::new();
    node.step(msg(1, append(3, 1, 1, &[1, 3], 0)), &mut out)
        .unwrap();
    let terms: Vec<Term> = node.log().entries().iter().map(|e| e.term).collect();
    assert_eq!(terms, vec![1, 1, 3]);
    assert_eq!(append_reply(&out), AppendResult::Success { match_index: 3 });
    assert!(out.as_slice().contains(&Effect::PersistEntries {
        first_index: 3,
        entries: entries(&[3]).into()
    }));
}

#[test]
fn stale_append_does_not_truncate_matching_entries() {
    let mut node = start(2, 3, durable(1, None, &[1, 1, 1]));
    let mut out = Out::new();
    // A delayed request that carries only entry 2: everything matches, nothing is dropped.
    node.step(msg(1, append(1, 1, 1, &[1], 0)), &mut out)
        .unwrap();
    assert_eq!(node.log().last_index(), 3);
    assert_eq!(append_reply(&out), AppendResult::Success { match_index: 2 });
    assert!(
        !out.as_slice()
            .iter()
            .any(|e| matches!(e, Effect::PersistEntries { .. })),
        "nothing changed, so nothing is written"
    );
}

#[test]
fn heartbeat_does_not_truncate_log() {
    let mut node = start(2, 3, durable(1, None, &[1, 1, 1]));
    let mut out = Out::new();
    node.step(msg(1, append(1, 1, 1, &[], 0)), &mut out)
        .unwrap();
    assert_eq!(node.log().last_index(), 3);
}

#[test]
fn follower_commit_is_min_of_leader_commit_and_last_new_entry() {
    // The follower holds a stale entry 3 of term 1 beyond what this request proves matching.
    let mut node = start(2, 3, durable(1, None, &[1, 1, 1]));
    let mut out = Out::new();
    node.step(msg(1, append(2, 1, 1, &[], 3)), &mut out)
        .unwrap();
    assert_eq!(
        node.commit_index(),
        1,
        "only index 1 is known to match the leader"
    );
    node.step(msg(1, append(2, 1, 1, &[1], 3)), &mut out)
        .unwrap();
    assert_eq!(node.commit_index(), 2);
}

#[test]
fn follower_persists_entries_before_acknowledging() {
    let mut node = start(2, 3, durable(1, None, &[]));
    let mut out = Out::new();
    node.step(msg(1, append(1, 0, 0, &[1, 1], 0)), &mut out)
        .unwrap();
    let persist = position(&out, |e| matches!(e, Effect::PersistEntries { .. }));
    let reply = position(&out, |e| matches!(e, Effect::Send { .. }));
    assert!(persist < reply);
}

#[test]
fn stale_append_is_rejected_with_current_term() {
    let mut node = start(2, 3, durable(3, None, &[1]));
    let mut out = Out::new();
    let err = node
        .step(msg(1, append(2, 1, 1, &[2], 0)), &mut out)
        .unwrap_err();
    assert!(matches!(err, StepError::StaleTerm { .. }));
    assert_eq!(node.log().last_index(), 1);
    match sends(&out).as_slice() {
        [(_, Message::AppendEntriesResponse(r))] => assert_eq!(r.term, 3),
        other => panic!("{other:?}"),
    }
}

#[test]
fn append_that_would_overwrite_committed_entry_is_refused() {
    let mut node = start(2, 3, durable(2, None, &[1, 2]));
    let mut out = Out::new();
    node.step(msg(1, append(2, 2, 2, &[], 2)), &mut out)
        .unwrap();
    assert_eq!(node.commit_index(), 2);
    // A (faulty) leader of a later term tries to replace committed entry 2.
    let err = node
        .step(msg(3, append(3, 1, 1, &[3], 0)), &mut out)
        .unwrap_err();
    assert_eq!(
        err,
        StepError::ConflictsWithCommitted {
            index: 2,
            commit_index: 2
        }
    );
    assert_eq!(node.log().term_at(2), Some(2));
}

#[test]
fn malformed_entries_are_refused() {
    let mut node = start(2, 3, durable(1, None, &[]));
    let mut out = Out::new();
    let decreasing = append(3, 0, 0, &[3, 2], 0);
    assert_eq!(
        node.step(msg(1, decreasing), &mut out),
        Err(StepError::MalformedEntries)
    );
    let from_future = append(3, 0, 0, &[4], 0);
    assert_eq!(
        node.step(msg(1, from_future), &mut out),
        Err(StepError::MalformedEntries)
    );
    assert_eq!(node.log().last_index(), 0);
}

#[test]
fn leader_match_index_comes_from_response_and_never_decreases() {
    let mut node = leader(3, 2, &[1, 1]);
    let mut out = Out::new();
    node.step(msg(2, ack(2, 3)), &mut out).unwrap();
    assert_eq!(node.progress(NodeId(2)).unwrap().match_index, 3);
    // A reordered, older acknowledgement.
    node.step(msg(2, ack(2, 1)), &mut out).unwrap();
    let p = node.progress(NodeId(2)).unwrap();
    assert_eq!((p.match_index, p.next_index), (3, 4));
}

#[test]
fn leader_backtracks_over_whole_conflicting_term_with_hint() {
    // Leader log terms [1,1,1,4,4] + no-op 5; follower had [1,1,1,2,2,2,2].
    let mut node = leader(3, 5, &[1, 1, 1, 4, 4]);
    assert_eq!(node.progress(NodeId(2)).unwrap().next_index, 6);
    let mut out = Out::new();
    let reject = Message::AppendEntriesResponse(AppendEntriesResponse {
        term: 5,
        result: AppendResult::Reject {
            prev_log_index: 5,
            hint: Some(ConflictHint {
                conflict_term: Some(2),
                first_index: 4,
            }),
        },
    });
    node.step(msg(2, reject), &mut out).unwrap();
    // The leader has no entry of term 2: it jumps to the follower's first index of term 2.
    assert_eq!(node.progress(NodeId(2)).unwrap().next_index, 4);
    match sends(&out).as_slice() {
        [(_, Message::AppendEntries(a))] => {
            assert_eq!(
                (a.prev_log_index, a.prev_log_term, a.entries.len()),
                (3, 1, 3)
            )
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn leader_ignores_stale_rejection() {
    let mut node = leader(3, 2, &[1, 1]);
    let mut out = Out::new();
    node.step(msg(2, ack(2, 3)), &mut out).unwrap();
    let reject = Message::AppendEntriesResponse(AppendEntriesResponse {
        term: 2,
        result: AppendResult::Reject {
            prev_log_index: 2,
            hint: None,
        },
    });
    assert_eq!(
        node.step(msg(2, reject), &mut out),
        Err(StepError::StaleResponse)
    );
    assert_eq!(node.progress(NodeId(2)).unwrap().next_index, 4);
}

// ----- §5.4.2 commit rule -----

#[test]
fn leader_commits_current_term_entry_replicated_on_majority() {
    let mut node = leader(3, 2, &[1]);
    let mut out = Out::new();
    node.step(msg(2, ack(2, 2)), &mut out).unwrap();
    assert_eq!(node.commit_index(), 2);
}

#[test]
fn leader_does_not_commit_earlier_term_entry_by_counting_replicas() {
    // Figure 8: entry 2 (term 2) on a majority is not committed by a leader of term 4 until an
    // entry of term 4 is also on a majority.
    let mut node = leader(5, 4, &[1, 2]);
    let mut out = Out::new();
    node.step(msg(2, ack(4, 2)), &mut out).unwrap();
    node.step(msg(3, ack(4, 2)), &mut out).unwrap();
    assert_eq!(
        node.commit_index(),
        0,
        "index 2 is on 3 of 5, but of term 2"
    );
    node.step(msg(2, ack(4, 3)), &mut out).unwrap();
    assert_eq!(node.commit_index(), 0, "the no-op of term 4 is on 2 of 5");
    node.step(msg(3, ack(4, 3)), &mut out).unwrap();
    assert_eq!(
        node.commit_index(),
        3,
        "the no-op commits, and entry 2 with it"
    );
}

// ----- §8 clients -----

#[test]
fn follower_redirects_client_with_leader_hint() {
    let mut node = start(2, 3, durable(1, None, &[]));
    let mut out = Out::new();
    node.step(msg(3, append(1, 0, 0, &[], 0)), &mut out)
        .unwrap();
    out.clear();
    let request = ClientRequest {
        client: ClientId(9),
        serial: 1,
        command: "DEL k".parse().unwrap(),
    };
    node.step(Input::ClientRequest(request), &mut out).unwrap();
    assert_eq!(
        out.as_slice(),
        &[Effect::Reply {
            client: ClientId(9),
            serial: 1,
            response: ClientResponse::NotLeader {
                leader_hint: Some(NodeId(3))
            }
        }]
    );
}

#[test]
fn leader_replies_only_after_commit_and_apply() {
    let mut node = leader(3, 1, &[]);
    let mut out = Out::new();
    node.step(msg(2, ack(1, 1)), &mut out).unwrap();
    out.clear();
    let request = ClientRequest {
        client: ClientId(1),
        serial: 1,
        command: "SET x=1".parse().unwrap(),
    };
    node.step(Input::ClientRequest(request), &mut out).unwrap();
    assert!(!out
        .as_slice()
        .iter()
        .any(|e| matches!(e, Effect::Reply { .. })));
    out.clear();
    node.step(msg(2, ack(1, 2)), &mut out).unwrap();
    let apply = position(&out, |e| matches!(e, Effect::Apply { index: 2, .. }));
    let reply = position(&out, |e| matches!(e, Effect::Reply { .. }));
    assert!(apply < reply);
    assert_eq!(node.state_machine().machine().get("x"), Some("1"));
}

#[test]
fn retried_request_is_applied_once() {
    // Dissertation §6.3: the same (client, serial) twice in the log takes effect once.
    let mut node = start(2, 3, durable(1, None, &[]));
    let mut out = Out::new();
    let set = |value: &str| Entry {
        term: 1,
        payload: Payload::Command {
            client: ClientId(1),
            serial: 1,
            command: KvCommand::Set {
                key: "x".into(),
                value: value.into(),
            }
            .into(),
        },
    };
    let request = Message::AppendEntries(AppendEntries {
        term: 1,
        prev_log_index: 0,
        prev_log_term: 0,
        entries: vec![set("1"), set("1")].into(),
        leader_commit: 2,
    });
    node.step(msg(1, request), &mut out).unwrap();
    let applied: Vec<_> = out
        .as_slice()
        .iter()
        .filter_map(|e| match e {
            Effect::Apply { output, .. } => Some(output.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(applied, vec![Some(KvOutput::Done), None]);
}

// ----- untrusted input -----

#[test]
fn message_from_unknown_peer_is_refused() {
    let mut node = start(1, 3, durable(1, None, &[]));
    let mut out = Out::new();
    assert_eq!(
        node.step(msg(9, vote_request(5, 0, 0)), &mut out),
        Err(StepError::UnknownPeer(NodeId(9)))
    );
    assert_eq!(
        node.step(msg(1, vote_request(5, 0, 0)), &mut out),
        Err(StepError::UnknownPeer(NodeId(1))),
        "a node is not its own peer"
    );
    assert_eq!(node.current_term(), 1);
    assert!(out.is_empty());
}

#[test]
fn acknowledgement_past_leader_log_is_refused() {
    let mut node = leader(3, 1, &[]);
    let mut out = Out::new();
    assert_eq!(
        node.step(msg(2, ack(1, 99)), &mut out),
        Err(StepError::IndexOutOfRange {
            index: 99,
            last_index: 1
        })
    );
    assert_eq!(node.progress(NodeId(2)).unwrap().match_index, 0);
}

#[test]
fn inconsistent_durable_state_is_refused_at_start() {
    let mut out = Out::new();
    let config = Config::new(NodeId(1), ids(3)).unwrap();
    let future = durable(1, None, &[2]);
    assert!(matches!(
        Node::new(config.clone(), future, KvStore::default(), &mut out),
        Err(StartError::Durable(
            DurableError::EntryFromFutureTerm { .. }
        ))
    ));
    let decreasing = durable(3, None, &[2, 1]);
    assert!(matches!(
        Node::new(config, decreasing, KvStore::default(), &mut out),
        Err(StartError::Durable(DurableError::TermsDecrease {
            index: 2
        }))
    ));
}

#[test]
fn stale_timer_is_a_typed_outcome() {
    let mut node = start(1, 3, durable(0, None, &[]));
    let mut out = Out::new();
    assert_eq!(
        node.step(Input::Timeout(Timer::Heartbeat), &mut out),
        Err(StepError::TimerNotArmed)
    );
}

#[test]
fn restart_keeps_durable_state_and_forgets_volatile_state() {
    let mut node = leader(3, 1, &[]);
    let mut out = Out::new();
    node.step(msg(2, ack(1, 1)), &mut out).unwrap();
    assert_eq!(node.commit_index(), 1);
    let restarted = start(1, 3, node.durable().clone());
    assert_eq!(restarted.durable(), node.durable());
    assert!(!restarted.is_leader());
    assert_eq!((restarted.commit_index(), restarted.last_applied()), (0, 0));
}
