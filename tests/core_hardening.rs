//! Bad input gets a typed error, never a panic or a corrupted disk: term overflow, durable state
//! read back from disk, a log store loaded from a log, the key-value text form; and two details
//! of Figure 2 that step-down must keep.

use proptest::prelude::*;
use refraft::log_store::{LogStoreError, LogWriter};
use refraft::*;

type Out = NodeEffects<KvStore>;

fn members() -> Vec<NodeId> {
    vec![NodeId(1), NodeId(2), NodeId(3)]
}

/// Node 1 of three, from `disk`; the start-up effects are dropped.
fn node_from(disk: DurableState<KvCommand>) -> Node<KvStore> {
    let config = Config::new(NodeId(1), members()).unwrap();
    Node::new(config, disk, KvStore::default(), &mut Out::new()).unwrap()
}

fn from(peer: u64, message: Message<KvCommand>) -> Input<KvCommand> {
    Input::Message {
        from: NodeId(peer),
        message,
    }
}

fn heartbeat(term: Term) -> Message<KvCommand> {
    Message::AppendEntries(AppendEntries {
        term,
        prev_log_index: 0,
        prev_log_term: 0,
        entries: vec![].into(),
        leader_commit: 0,
    })
}

/// Every term `disk` is given by the persist effects of `out`, in order.
fn persisted_terms(out: &Out) -> Vec<Term> {
    out.as_slice()
        .iter()
        .filter_map(|e| match e {
            Effect::PersistHardState { current_term, .. } => Some(*current_term),
            _ => None,
        })
        .collect()
}

// ----- term overflow -----

#[test]
fn a_term_that_cannot_be_incremented_is_refused_and_never_persisted() {
    // Before: a peer's u64::MAX was adopted; the next election timeout overflowed (a panic
    // in debug builds; in release the term wrapped to 0, was persisted, and the node could
    // not restart from its own disk: EntryFromFutureTerm).
    let mut node = node_from(DurableState::default());
    let mut out = Out::new();
    for message in [
        heartbeat(u64::MAX),
        Message::RequestVote(RequestVote {
            term: u64::MAX,
            last_log_index: 0,
            last_log_term: 0,
            leadership_transfer: false,
        }),
    ] {
        assert_eq!(
            node.step(from(2, message), &mut out),
            Err(StepError::TermOutOfRange { term: u64::MAX })
        );
    }
    assert_eq!(node.current_term(), 0);
    assert!(out.is_empty(), "nothing persisted, nothing sent: {out:?}");
    node.step(Input::Timeout(Timer::Election), &mut out)
        .unwrap();
    assert_eq!(node.current_term(), 1);
}

#[test]
fn at_the_last_term_a_node_stays_follower_and_never_wraps() {
    let last = u64::MAX - 1;
    let mut node = node_from(DurableState::default());
    let mut out = Out::new();
    node.step(from(2, heartbeat(last)), &mut out).unwrap();
    assert_eq!(node.current_term(), last);
    out.clear();
    assert_eq!(
        node.step(Input::Timeout(Timer::Election), &mut out),
        Err(StepError::TermOutOfRange { term: u64::MAX })
    );
    assert_eq!(node.current_term(), last);
    assert!(persisted_terms(&out).iter().all(|&t| t >= last));
    // The disk still restarts.
    node_from(node.durable().clone());
}

#[test]
fn a_message_of_term_zero_is_refused_so_no_vote_is_cast_in_term_zero() {
    let mut node = node_from(DurableState::default());
    let mut out = Out::new();
    let request = Message::RequestVote(RequestVote {
        term: 0,
        last_log_index: 0,
        last_log_term: 0,
        leadership_transfer: false,
    });
    assert_eq!(
        node.step(from(2, request), &mut out),
        Err(StepError::TermOutOfRange { term: 0 })
    );
    assert_eq!(node.voted_for(), None);
}

// ----- durable state read back -----

#[test]
fn durable_state_with_impossible_votes_or_terms_is_refused() {
    let config = Config::new(NodeId(1), members()).unwrap();
    let disk = |term, vote: Option<u64>| DurableState::<KvCommand> {
        current_term: term,
        voted_for: vote.map(NodeId),
        log: Log::default(),
    };
    assert_eq!(disk(2, Some(3)).validate_for(&config), Ok(()));
    assert_eq!(
        disk(2, Some(7)).validate_for(&config),
        Err(DurableError::VoteForNonMember(NodeId(7)))
    );
    assert_eq!(
        disk(0, Some(2)).validate_for(&config),
        Err(DurableError::VoteInTermZero)
    );
    assert_eq!(
        disk(u64::MAX, None).validate_for(&config),
        Err(DurableError::TermTooLarge)
    );
    // Node::new refuses them with a typed error.
    let start = |d| Node::new(config.clone(), d, KvStore::default(), &mut Out::new());
    assert_eq!(
        start(disk(2, Some(7))).err(),
        Some(StartError::Durable(DurableError::VoteForNonMember(NodeId(
            7
        ))))
    );
}

#[test]
fn a_log_store_refuses_a_log_whose_terms_decrease() {
    let log = Log::<KvCommand>::from_entries(vec![Entry::noop(1), Entry::noop(3), Entry::noop(2)]);
    assert_eq!(
        LogWriter::from_log(log).err(),
        Some(LogStoreError::TermDecrease {
            index: 3,
            term: 2,
            previous_term: 3
        })
    );
    let log = Log::<KvCommand>::from_entries(vec![Entry::noop(1), Entry::noop(1)]);
    assert_eq!(LogWriter::from_log(log).unwrap().reader().last_index(), 2);
}

// ----- key-value text form -----

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z]{1,4}",
        any::<String>(),
        prop::collection::vec(
            prop_oneof![Just('='), Just(' '), Just('%'), Just('\n'), Just('x')],
            0..6
        )
        .prop_map(|c| c.into_iter().collect()),
    ]
}

fn kv() -> impl Strategy<Value = KvCommand> {
    let key = || text().prop_filter("keys are not empty", |k| !k.is_empty());
    prop_oneof![
        (key(), text()).prop_map(|(key, value)| KvCommand::Set { key, value }),
        key().prop_map(|key| KvCommand::Delete { key }),
        key().prop_map(|key| KvCommand::Get { key }),
    ]
}

proptest! {
    /// Every command's text form parses back to the same command.
    #[test]
    fn kv_text_form_round_trips(c in kv()) {
        let text = c.to_string();
        prop_assert_eq!(text.parse::<KvCommand>(), Ok(c), "{}", text);
    }

    /// Any text either parses or is refused with a typed error; never a panic.
    #[test]
    fn any_text_parses_or_is_refused(s in any::<String>()) {
        let _ = s.parse::<KvCommand>();
    }
}

#[test]
fn the_key_that_broke_the_text_form_round_trips() {
    let c = KvCommand::Set {
        key: "=".into(),
        value: "=".into(),
    };
    assert_eq!(c.to_string(), "SET %3D==");
    assert_eq!(c.to_string().parse::<KvCommand>(), Ok(c));
}

#[test]
fn an_error_does_not_echo_a_huge_input() {
    let huge = "X".repeat(1 << 20);
    for input in [
        huge.clone(),
        format!("SET {huge}"),
        format!("GET {huge} {huge}"),
    ] {
        let e = input.parse::<KvCommand>().unwrap_err().to_string();
        assert!(e.len() < 120, "{} bytes: {}", e.len(), &e[..100]);
    }
}

// ----- Figure 2: stepping down -----

#[test]
fn leader_and_candidate_adopt_a_higher_term_from_a_response_and_step_down() {
    // Figure 2, all servers: "If RPC request or response contains term T > currentTerm: set
    // currentTerm = T, convert to follower (§5.1)". A response, not only a request.
    let mut candidate = node_from(DurableState::default());
    let mut out = Out::new();
    candidate
        .step(Input::Timeout(Timer::Election), &mut out)
        .unwrap();
    assert!(candidate.is_candidate());
    out.clear();
    let denied = Message::RequestVoteResponse(RequestVoteResponse {
        term: 5,
        vote_granted: false,
    });
    let _ = candidate.step(from(2, denied), &mut out);
    assert!(matches!(candidate.role(), Role::Follower { .. }));
    assert_eq!((candidate.current_term(), candidate.voted_for()), (5, None));
    assert_eq!(persisted_terms(&out), vec![5], "the new term is persisted");

    let mut leader = node_from(DurableState::default());
    leader
        .step(Input::Timeout(Timer::Election), &mut out)
        .unwrap();
    let granted = Message::RequestVoteResponse(RequestVoteResponse {
        term: 1,
        vote_granted: true,
    });
    leader.step(from(2, granted), &mut out).unwrap();
    assert!(leader.is_leader());
    out.clear();
    let newer = Message::AppendEntriesResponse(AppendEntriesResponse {
        term: 4,
        result: AppendResult::Reject {
            prev_log_index: 0,
            hint: None,
        },
    });
    let _ = leader.step(from(3, newer), &mut out);
    assert!(matches!(leader.role(), Role::Follower { .. }));
    assert_eq!(leader.current_term(), 4);
    assert_eq!(persisted_terms(&out), vec![4]);
    assert!(out.as_slice().iter().any(|e| matches!(
        e,
        Effect::CancelTimer {
            timer: Timer::Heartbeat
        }
    )));
}

#[test]
fn a_candidate_stepping_down_on_append_entries_of_its_term_keeps_its_vote() {
    // The term does not change, so voted_for (itself) must stay: clearing it would let this
    // server vote again in the same term (§5.2: one vote per term).
    let mut node = node_from(DurableState::default());
    let mut out = Out::new();
    node.step(Input::Timeout(Timer::Election), &mut out)
        .unwrap();
    assert!(node.is_candidate());
    out.clear();
    node.step(from(2, heartbeat(1)), &mut out).unwrap();
    assert!(!node.is_candidate());
    assert_eq!(node.current_term(), 1);
    assert_eq!(node.voted_for(), Some(NodeId(1)));
    assert!(
        persisted_terms(&out).is_empty(),
        "nothing to persist: {out:?}"
    );
    // And it refuses a second candidate of term 1.
    out.clear();
    let other = Message::RequestVote(RequestVote {
        term: 1,
        last_log_index: 5,
        last_log_term: 1,
        leadership_transfer: false,
    });
    node.step(from(3, other), &mut out).unwrap();
    assert!(out.as_slice().iter().any(|e| matches!(
        e,
        Effect::Send {
            message: Message::RequestVoteResponse(RequestVoteResponse {
                vote_granted: false,
                ..
            }),
            ..
        }
    )));
}
