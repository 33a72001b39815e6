//! Follower reads (dissertation §6.4, `Config::forward_reads`): hand-fed single nodes, fed the
//! exact messages a leader or a follower would send. A follower forwards a read to the leader it
//! knows, learns the read index, and answers once it has applied that index; the leader confirms
//! a forwarded read like one of its own and answers with the read index.

mod common;

use common::sends;
use refraft::*;
use std::sync::Arc;

type Out = NodeEffects<KvStore>;

const CLIENT: ClientId = ClientId(9);

fn start(id: u64, forward_reads: bool) -> Node<KvStore> {
    let mut out = Out::new();
    let mut config = Config::new(NodeId(id), vec![NodeId(1), NodeId(2), NodeId(3)]).unwrap();
    config.pre_vote = false;
    config.forward_reads = forward_reads;
    Node::new(
        config,
        DurableState::default(),
        KvStore::default(),
        &mut out,
    )
    .unwrap()
}

fn msg(from: u64, message: Message<KvCommand>) -> Input<KvCommand> {
    Input::Message {
        from: NodeId(from),
        message,
    }
}

fn read() -> Input<KvCommand> {
    Input::Read(ClientRequest {
        client: CLIENT,
        serial: 1,
        command: KvCommand::Get { key: "x".into() },
    })
}

fn set_x(term: Term) -> Entry<KvCommand> {
    Entry {
        term,
        payload: Payload::Command {
            client: ClientId(7),
            serial: 1,
            command: Arc::new(KvCommand::Set {
                key: "x".into(),
                value: "1".into(),
            }),
        },
    }
}

/// AppendEntries of term 1 from leader 1.
fn append(prev: Index, entries: Vec<Entry<KvCommand>>, leader_commit: Index) -> Input<KvCommand> {
    let prev_log_term = if prev == 0 { 0 } else { 1 };
    msg(
        1,
        Message::AppendEntries(AppendEntries {
            term: 1,
            prev_log_index: prev,
            prev_log_term,
            entries: entries.into(),
            leader_commit,
        }),
    )
}

fn read_index_response(term: Term, read_index: Option<Index>) -> Message<KvCommand> {
    Message::ReadIndexResponse(ReadIndexResponse {
        term,
        client: CLIENT,
        serial: 1,
        read_index,
    })
}

fn read_index_request(term: Term) -> Message<KvCommand> {
    Message::ReadIndex(ReadIndexRequest {
        term,
        client: CLIENT,
        serial: 1,
    })
}

fn read_replies(out: &Out) -> Vec<(Index, ReadPath, ClientResponse<KvOutput>)> {
    out.as_slice()
        .iter()
        .filter_map(|e| match e {
            Effect::ReadReply {
                read_index,
                path,
                response,
                ..
            } => Some((*read_index, *path, response.clone())),
            _ => None,
        })
        .collect()
}

fn value(v: &str) -> ClientResponse<KvOutput> {
    ClientResponse::Applied(KvOutput::Value(Some(v.into())))
}

fn not_leader(hint: Option<u64>) -> ClientResponse<KvOutput> {
    ClientResponse::NotLeader {
        leader_hint: hint.map(NodeId),
    }
}

/// Follower 2 of term 1 that holds leader 1's no-op and `SET x=1`, nothing committed yet.
fn follower() -> Node<KvStore> {
    let mut node = start(2, true);
    let mut out = Out::new();
    node.step(append(0, vec![Entry::noop(1), set_x(1)], 0), &mut out)
        .unwrap();
    assert_eq!(
        node.role(),
        &Role::Follower {
            leader: Some(NodeId(1))
        }
    );
    node
}

#[test]
fn follower_forwards_read_and_serves_it_once_it_applied_the_read_index() {
    let mut node = follower();
    let mut out = Out::new();
    node.step(read(), &mut out).unwrap();
    assert_eq!(sends(&out), vec![(NodeId(1), read_index_request(1))]);
    assert!(read_replies(&out).is_empty());
    out.clear();
    node.step(msg(1, read_index_response(1, Some(2))), &mut out)
        .unwrap();
    assert!(read_replies(&out).is_empty(), "index 2 is not applied yet");
    node.step(append(2, vec![], 1), &mut out).unwrap();
    assert!(
        read_replies(&out).is_empty(),
        "index 1 applied, the read index is 2"
    );
    node.step(append(2, vec![], 2), &mut out).unwrap();
    assert_eq!(
        read_replies(&out),
        vec![(2, ReadPath::Forwarded, value("1"))]
    );
    assert!(node.forwarded_reads().is_empty());
}

#[test]
fn follower_that_applied_the_read_index_serves_at_once() {
    let mut node = follower();
    let mut out = Out::new();
    node.step(append(2, vec![], 2), &mut out).unwrap();
    node.step(read(), &mut out).unwrap();
    out.clear();
    node.step(msg(1, read_index_response(1, Some(1))), &mut out)
        .unwrap();
    // Serving a state past the read index is fine: every applied entry is committed.
    assert_eq!(
        read_replies(&out),
        vec![(1, ReadPath::Forwarded, value("1"))]
    );
}

#[test]
fn follower_refuses_read_without_forwarding_or_without_a_leader() {
    let mut out = Out::new();
    let mut off = start(2, false);
    off.step(append(0, vec![Entry::noop(1)], 0), &mut out)
        .unwrap();
    out.clear();
    off.step(read(), &mut out).unwrap();
    assert!(sends(&out).is_empty());
    assert_eq!(
        read_replies(&out),
        vec![(0, ReadPath::Refused, not_leader(Some(1)))]
    );

    let mut no_leader = start(2, true);
    out.clear();
    no_leader.step(read(), &mut out).unwrap();
    assert!(sends(&out).is_empty());
    assert_eq!(
        read_replies(&out),
        vec![(0, ReadPath::Refused, not_leader(None))]
    );
}

#[test]
fn leader_refusing_a_read_index_makes_the_follower_refuse_the_read() {
    let mut node = follower();
    let mut out = Out::new();
    node.step(read(), &mut out).unwrap();
    out.clear();
    node.step(msg(1, read_index_response(1, None)), &mut out)
        .unwrap();
    assert_eq!(
        read_replies(&out),
        vec![(0, ReadPath::Refused, not_leader(Some(1)))]
    );
    assert!(node.forwarded_reads().is_empty());
}

#[test]
fn forwarded_read_is_refused_when_the_follower_leaves_its_term() {
    let mut node = follower();
    let mut out = Out::new();
    node.step(read(), &mut out).unwrap();
    out.clear();
    // §5.1: a higher term; the answer of the old leader would never be accepted now.
    let vote = Message::RequestVote(RequestVote {
        term: 2,
        last_log_index: 2,
        last_log_term: 1,
        leadership_transfer: false,
    });
    node.step(msg(3, vote), &mut out).unwrap();
    assert_eq!(
        read_replies(&out),
        vec![(0, ReadPath::Refused, not_leader(None))]
    );
    assert!(node.forwarded_reads().is_empty());
    // The old leader's late answer is stale.
    out.clear();
    assert!(matches!(
        node.step(msg(1, read_index_response(1, Some(2))), &mut out),
        Err(StepError::StaleTerm { .. })
    ));
    assert!(read_replies(&out).is_empty());
}

#[test]
fn forwarded_read_is_refused_when_the_election_timer_fires() {
    let mut node = follower();
    let mut out = Out::new();
    node.step(read(), &mut out).unwrap();
    out.clear();
    node.step(Input::Timeout(Timer::Election), &mut out)
        .unwrap();
    assert_eq!(
        read_replies(&out),
        vec![(0, ReadPath::Refused, not_leader(None))]
    );
}

#[test]
fn read_index_answers_nobody_asked_for_are_typed_errors() {
    let mut node = follower();
    let mut out = Out::new();
    assert_eq!(
        node.step(msg(1, read_index_response(1, Some(1))), &mut out),
        Err(StepError::UnexpectedResponse)
    );
    node.step(read(), &mut out).unwrap();
    // From a server that was not asked.
    assert_eq!(
        node.step(msg(3, read_index_response(1, Some(1))), &mut out),
        Err(StepError::UnexpectedResponse)
    );
    out.clear();
    node.step(msg(1, read_index_response(1, Some(1))), &mut out)
        .unwrap();
    // A duplicate of an answer already taken.
    assert_eq!(
        node.step(msg(1, read_index_response(1, Some(1))), &mut out),
        Err(StepError::UnexpectedResponse)
    );
}

#[test]
fn a_read_asked_again_is_forwarded_again_and_answered_once() {
    let mut node = follower();
    let mut out = Out::new();
    node.step(read(), &mut out).unwrap();
    node.step(read(), &mut out).unwrap();
    assert_eq!(node.forwarded_reads().len(), 1);
    assert_eq!(sends(&out).len(), 2);
    node.step(append(2, vec![], 2), &mut out).unwrap();
    out.clear();
    node.step(msg(1, read_index_response(1, Some(2))), &mut out)
        .unwrap();
    assert_eq!(read_replies(&out).len(), 1);
}

/// Node 1, leader of term 1 with its no-op (index 1) sent and, if `committed`, acknowledged.
fn leader(committed: bool) -> Node<KvStore> {
    let mut node = start(1, true);
    let mut out = Out::new();
    node.step(Input::Timeout(Timer::Election), &mut out)
        .unwrap();
    let granted = Message::RequestVoteResponse(RequestVoteResponse {
        term: 1,
        vote_granted: true,
    });
    node.step(msg(2, granted), &mut out).unwrap();
    assert!(node.is_leader());
    if committed {
        let ack = Message::AppendEntriesResponse(AppendEntriesResponse {
            term: 1,
            result: AppendResult::Success { match_index: 1 },
        });
        node.step(msg(2, ack), &mut out).unwrap();
        assert_eq!(node.commit_index(), 1);
    }
    node
}

fn heartbeat_ack(round: u64) -> Message<KvCommand> {
    Message::HeartbeatResponse(HeartbeatResponse { term: 1, round })
}

fn round_sent(out: &Out) -> Option<u64> {
    sends(out).into_iter().find_map(|(_, m)| match m {
        Message::Heartbeat(h) => Some(h.round),
        _ => None,
    })
}

#[test]
fn leader_answers_a_forwarded_read_with_the_read_index_after_a_heartbeat_round() {
    let mut node = leader(true);
    let mut out = Out::new();
    node.step(msg(3, read_index_request(1)), &mut out).unwrap();
    // §6.4 step 3: a round confirms leadership first; nothing is answered yet.
    let round = round_sent(&out).expect("a heartbeat round");
    assert!(!sends(&out)
        .iter()
        .any(|(_, m)| matches!(m, Message::ReadIndexResponse(_))));
    out.clear();
    node.step(msg(2, heartbeat_ack(round)), &mut out).unwrap();
    assert_eq!(
        sends(&out),
        vec![(NodeId(3), read_index_response(1, Some(1)))]
    );
    assert!(
        read_replies(&out).is_empty(),
        "the follower answers the client"
    );
}

#[test]
fn leader_waits_for_an_entry_of_its_term_before_recording_a_forwarded_read_index() {
    let mut node = leader(false);
    let mut out = Out::new();
    node.step(msg(3, read_index_request(1)), &mut out).unwrap();
    // §6.4 step 1: no round (and no read index) before the no-op commits.
    assert_eq!(round_sent(&out), None);
    assert_eq!(node.leadership().reads()[0].read_index, None);
    out.clear();
    let ack = Message::AppendEntriesResponse(AppendEntriesResponse {
        term: 1,
        result: AppendResult::Success { match_index: 1 },
    });
    node.step(msg(2, ack), &mut out).unwrap();
    let round = round_sent(&out).expect("a round once the no-op committed");
    node.step(msg(3, heartbeat_ack(round)), &mut out).unwrap();
    assert!(sends(&out).contains(&(NodeId(3), read_index_response(1, Some(1)))));
}

#[test]
fn leader_that_steps_down_refuses_the_forwarded_read() {
    let mut node = leader(true);
    let mut out = Out::new();
    node.step(msg(3, read_index_request(1)), &mut out).unwrap();
    out.clear();
    // §5.1: a higher term deposes the leader before the round is acknowledged.
    let newer = Message::HeartbeatResponse(HeartbeatResponse { term: 2, round: 1 });
    let _ = node.step(msg(2, newer), &mut out);
    assert!(!node.is_leader());
    assert!(sends(&out).contains(&(NodeId(3), read_index_response(2, None))));
}

#[test]
fn a_server_that_does_not_lead_answers_a_read_index_request_without_an_index() {
    let mut node = follower();
    let mut out = Out::new();
    node.step(msg(3, read_index_request(1)), &mut out).unwrap();
    assert_eq!(sends(&out), vec![(NodeId(3), read_index_response(1, None))]);
    out.clear();
    // A request of an older term is answered with the newer term (§5.1) and refused.
    let mut node = start(2, true);
    node.step(append(0, vec![], 0), &mut out).unwrap();
    let vote = Message::RequestVote(RequestVote {
        term: 3,
        last_log_index: 0,
        last_log_term: 0,
        leadership_transfer: false,
    });
    node.step(msg(3, vote), &mut out).unwrap();
    out.clear();
    assert!(matches!(
        node.step(msg(1, read_index_request(1)), &mut out),
        Err(StepError::StaleTerm { .. })
    ));
    assert_eq!(
        sends(&out),
        vec![(
            NodeId(1),
            Message::ReadIndexResponse(ReadIndexResponse {
                term: 3,
                client: CLIENT,
                serial: 1,
                read_index: None,
            })
        )]
    );
}
