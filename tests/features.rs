//! One test per rule of PreVote (dissertation §9.6), stickiness (§4.2.3) and leadership transfer
//! (§3.10), each named after the rule it checks: single nodes driven through the public API,
//! fed the exact messages a peer would send (as `core_rules.rs` does for Figure 2). The
//! simulator's scenarios (`sim_features.rs`) and the model checker
//! (`model/tests/features.rs`, `read_rule_switches.rs`) check the same rules in whole clusters.

mod common;

use common::sends;
use refraft::*;

type Out = NodeEffects<KvStore>;

fn ids(n: u64) -> Vec<NodeId> {
    (1..=n).map(NodeId).collect()
}

fn durable(term: Term, voted_for: Option<u64>, log_terms: &[Term]) -> DurableState<KvCommand> {
    DurableState {
        current_term: term,
        voted_for: voted_for.map(NodeId),
        log: Log::from_entries(log_terms.iter().map(|&t| Entry::noop(t)).collect()),
    }
}

/// Node `id` of an `n`-node cluster with PreVote (the default) and CheckQuorum as given.
fn start(id: u64, n: u64, check_quorum: bool, state: DurableState<KvCommand>) -> Node<KvStore> {
    let mut config = Config::new(NodeId(id), ids(n)).unwrap();
    config.check_quorum = check_quorum;
    Node::new(config, state, KvStore::default(), &mut Out::new()).unwrap()
}

fn msg(from: u64, message: Message<KvCommand>) -> Input<KvCommand> {
    Input::Message {
        from: NodeId(from),
        message,
    }
}

fn persists(out: &Out) -> bool {
    out.as_slice().iter().any(|e| {
        matches!(
            e,
            Effect::PersistHardState { .. } | Effect::PersistEntries { .. }
        )
    })
}

fn request(term: Term, last_log_index: Index, last_log_term: Term, transfer: bool) -> RequestVote {
    RequestVote {
        term,
        last_log_index,
        last_log_term,
        leadership_transfer: transfer,
    }
}

fn pre_vote_granted(term: Term) -> Message<KvCommand> {
    Message::PreVoteResponse(RequestVoteResponse {
        term,
        vote_granted: true,
    })
}

/// The one PreVoteResponse in `out`, as (term, granted).
fn pre_vote_reply(out: &Out) -> (Term, bool) {
    match sends(out).as_slice() {
        [(_, Message::PreVoteResponse(r))] => (r.term, r.vote_granted),
        other => panic!("expected one pre-vote reply, got {other:?}"),
    }
}

/// Node 1 of three, leader of term 1 (pre-vote round, then votes), with `check_quorum`.
fn leader(check_quorum: bool) -> Node<KvStore> {
    let mut node = start(1, 3, check_quorum, durable(0, None, &[]));
    let mut out = Out::new();
    node.step(Input::Timeout(Timer::Election), &mut out)
        .unwrap();
    node.step(msg(2, pre_vote_granted(1)), &mut out).unwrap();
    let vote = Message::RequestVoteResponse(RequestVoteResponse {
        term: 1,
        vote_granted: true,
    });
    node.step(msg(2, vote), &mut out).unwrap();
    assert!(node.is_leader());
    node
}

/// Node 2 of three, a follower of term 1 that heard from its leader n1 (a heartbeat round).
fn follower_of_n1(check_quorum: bool) -> Node<KvStore> {
    let mut node = start(2, 3, check_quorum, durable(1, Some(1), &[]));
    let heartbeat = Message::Heartbeat(Heartbeat { term: 1, round: 1 });
    node.step(msg(1, heartbeat), &mut Out::new()).unwrap();
    assert_eq!(node.leader_hint(), Some(NodeId(1)));
    node
}

// ----- PreVote (§9.6) -----

#[test]
fn pre_vote_is_on_by_default_and_check_quorum_off() {
    let config = Config::new(NodeId(1), ids(3)).unwrap();
    assert!(config.pre_vote);
    assert!(!config.check_quorum);
}

#[test]
fn election_timeout_asks_for_pre_votes_without_raising_the_term() {
    let mut node = start(1, 3, false, durable(4, Some(3), &[1, 4]));
    let mut out = Out::new();
    node.step(Input::Timeout(Timer::Election), &mut out)
        .unwrap();
    assert!(node.is_pre_candidate());
    assert_eq!(
        (node.current_term(), node.voted_for()),
        (4, Some(NodeId(3)))
    );
    assert!(!persists(&out), "a pre-vote round persists nothing");
    let sent = sends(&out);
    assert_eq!(sent.len(), 2);
    for (_, m) in sent {
        assert_eq!(m, Message::PreVote(request(5, 2, 4, false)));
    }
}

#[test]
fn pre_vote_grant_carries_the_requests_term_and_changes_nothing() {
    let mut node = start(2, 3, false, durable(3, Some(1), &[1]));
    let mut out = Out::new();
    node.step(msg(3, Message::PreVote(request(5, 1, 1, false))), &mut out)
        .unwrap();
    // A grant carries the request's term (etcd #8243), not the voter's.
    assert_eq!(pre_vote_reply(&out), (5, true));
    assert_eq!(
        (node.current_term(), node.voted_for()),
        (3, Some(NodeId(1)))
    );
    assert!(!persists(&out));
    let rearmed = out.as_slice().iter().any(|e| {
        matches!(
            e,
            Effect::SetTimer {
                timer: Timer::Election,
                ..
            }
        )
    });
    assert!(!rearmed, "a pre-vote does not reset the voter's timer");
}

#[test]
fn pre_vote_refused_on_the_up_to_date_rule_with_the_voters_term() {
    let mut node = start(2, 3, false, durable(3, None, &[1, 3]));
    let mut out = Out::new();
    node.step(msg(3, Message::PreVote(request(4, 5, 1, false))), &mut out)
        .unwrap();
    assert_eq!(pre_vote_reply(&out), (3, false));
    assert_eq!((node.current_term(), node.voted_for()), (3, None));
}

#[test]
fn stale_pre_vote_is_refused_with_the_voters_term() {
    let mut node = start(2, 3, false, durable(6, None, &[]));
    let mut out = Out::new();
    let result = node.step(msg(3, Message::PreVote(request(4, 0, 0, false))), &mut out);
    assert!(matches!(result, Err(StepError::StaleTerm { .. })));
    assert_eq!(pre_vote_reply(&out), (6, false));
}

#[test]
fn only_a_majority_of_pre_votes_starts_the_real_election() {
    let mut node = start(1, 5, false, durable(2, None, &[]));
    let mut out = Out::new();
    node.step(Input::Timeout(Timer::Election), &mut out)
        .unwrap();
    node.step(msg(2, pre_vote_granted(3)), &mut out).unwrap();
    assert!(node.is_pre_candidate(), "2 of 5 is no majority");
    assert_eq!(node.current_term(), 2);
    let mut out = Out::new();
    node.step(msg(3, pre_vote_granted(3)), &mut out).unwrap();
    assert!(node.is_candidate());
    assert_eq!(
        (node.current_term(), node.voted_for()),
        (3, Some(NodeId(1)))
    );
    assert!(persists(&out));
    let votes = sends(&out)
        .into_iter()
        .filter(|(_, m)| matches!(m, Message::RequestVote(r) if r.term == 3))
        .count();
    assert_eq!(votes, 4);
}

// ----- Stickiness (§4.2.3) -----

#[test]
fn a_follower_that_hears_from_its_leader_ignores_pre_votes_and_votes() {
    let mut node = follower_of_n1(true);
    for message in [
        Message::PreVote(request(2, 0, 0, false)),
        Message::RequestVote(request(2, 0, 0, false)),
    ] {
        let mut out = Out::new();
        let result = node.step(msg(3, message), &mut out);
        assert_eq!(result, Err(StepError::LeaderSticky(NodeId(1))));
        assert!(sends(&out).is_empty());
        assert_eq!(node.current_term(), 1);
    }
    // Its election timer ends the window: then it answers.
    node.step(Input::Timeout(Timer::Election), &mut Out::new())
        .unwrap();
    let mut out = Out::new();
    node.step(msg(3, Message::PreVote(request(2, 0, 0, false))), &mut out)
        .unwrap();
    assert_eq!(pre_vote_reply(&out), (2, true));
}

#[test]
fn a_transfers_vote_request_bypasses_stickiness() {
    let mut node = follower_of_n1(true);
    let mut out = Out::new();
    node.step(
        msg(3, Message::RequestVote(request(2, 0, 0, true))),
        &mut out,
    )
    .unwrap();
    assert_eq!(
        (node.current_term(), node.voted_for()),
        (2, Some(NodeId(3)))
    );
}

#[test]
fn without_check_quorum_followers_are_not_sticky() {
    let mut node = follower_of_n1(false);
    let mut out = Out::new();
    node.step(msg(3, Message::PreVote(request(2, 0, 0, false))), &mut out)
        .unwrap();
    assert_eq!(pre_vote_reply(&out), (2, true));
}

// ----- CheckQuorum (§6.2) -----

#[test]
fn a_leader_that_heard_from_no_majority_steps_down_at_the_quorum_check() {
    let mut node = leader(true);
    // The round sent on election is unanswered: the first check fails.
    let mut out = Out::new();
    node.step(Input::Timeout(Timer::QuorumCheck), &mut out)
        .unwrap();
    assert!(!node.is_leader());
    assert_eq!(node.current_term(), 1, "stepping down raises no term");
}

#[test]
fn a_leader_acknowledged_by_a_majority_passes_the_quorum_check() {
    let mut node = leader(true);
    let round = node.leadership().round();
    let ack = Message::HeartbeatResponse(HeartbeatResponse { term: 1, round });
    node.step(msg(2, ack), &mut Out::new()).unwrap();
    node.step(Input::Timeout(Timer::QuorumCheck), &mut Out::new())
        .unwrap();
    assert!(node.is_leader());
    assert!(node.leadership().lease().is_some());
}

// ----- Leadership transfer (§3.10) -----

#[test]
fn transfer_to_a_non_member_or_to_itself_is_a_typed_error() {
    let mut node = leader(false);
    let mut out = Out::new();
    let to_nobody = node.step(Input::TransferLeadership(NodeId(9)), &mut out);
    assert_eq!(
        to_nobody,
        Err(StepError::Transfer(TransferError::NotAMember(NodeId(9))))
    );
    let to_self = node.step(Input::TransferLeadership(NodeId(1)), &mut out);
    assert_eq!(to_self, Err(StepError::Transfer(TransferError::ToSelf)));
    assert_eq!(node.leadership().transfer(), None);
    assert!(sends(&out).is_empty());
}

#[test]
fn during_a_transfer_proposals_are_refused_with_a_typed_answer_until_it_aborts() {
    let mut node = leader(false);
    let mut out = Out::new();
    node.step(Input::TransferLeadership(NodeId(3)), &mut out)
        .unwrap();
    assert_eq!(node.leadership().transfer(), Some(NodeId(3)));
    // The abort timer is an election timeout.
    let after = out.as_slice().iter().find_map(|e| match e {
        Effect::SetTimer {
            timer: Timer::TransferTimeout,
            after,
        } => Some(after.clone()),
        _ => None,
    });
    assert_eq!(after, Some(node.config().election_timeout()));
    let last = node.log().last_index();
    let proposal = |serial| {
        Input::ClientRequest(ClientRequest {
            client: ClientId(7),
            serial,
            command: "SET x=1".parse().unwrap(),
        })
    };
    let mut out = Out::new();
    node.step(proposal(1), &mut out).unwrap();
    let refused = out.as_slice().iter().any(|e| {
        matches!(
            e,
            Effect::Reply {
                response: ClientResponse::TransferInProgress { target: NodeId(3) },
                ..
            }
        )
    });
    assert!(refused, "{:?}", out.as_slice());
    assert_eq!(node.log().last_index(), last, "no entry during a transfer");
    node.step(Input::Timeout(Timer::TransferTimeout), &mut Out::new())
        .unwrap();
    assert!(node.is_leader());
    assert_eq!(node.leadership().transfer(), None);
    node.step(proposal(2), &mut Out::new()).unwrap();
    assert_eq!(node.log().last_index(), last + 1, "proposals taken again");
}

#[test]
fn timeout_now_starts_an_election_at_once_skipping_the_pre_vote() {
    let mut node = start(2, 3, true, durable(1, Some(1), &[]));
    let mut out = Out::new();
    node.step(
        msg(1, Message::TimeoutNow(TimeoutNow { term: 1 })),
        &mut out,
    )
    .unwrap();
    assert!(node.is_candidate());
    assert_eq!(node.current_term(), 2);
    let transfer_votes = sends(&out)
        .into_iter()
        .filter(|(_, m)| matches!(m, Message::RequestVote(r) if r.leadership_transfer))
        .count();
    assert_eq!(transfer_votes, 2);
}
