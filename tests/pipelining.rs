//! The pipelined leader (dissertation §10.2) at the level of single steps: Probe and Replicate,
//! the window, batching, shared entries, heartbeats, and duplicate detection by index.

use refraft::*;

fn ids() -> Vec<NodeId> {
    vec![NodeId(1), NodeId(2), NodeId(3)]
}

/// Node 1 of three, elected in term 1, window `window`, both peers having acknowledged the
/// no-op (so both are in Replicate).
fn leader(window: usize) -> (Node<KvStore>, NodeEffects<KvStore>) {
    let mut out = NodeEffects::<KvStore>::new();
    let mut config = Config::new(NodeId(1), ids()).unwrap();
    config.max_in_flight_appends = window;
    config.pre_vote = false; // elect by RequestVote directly (PreVote is not under test)
    let mut node = Node::new(
        config,
        DurableState::default(),
        KvStore::default(),
        &mut out,
    )
    .unwrap();
    node.step(Input::Timeout(Timer::Election), &mut out)
        .unwrap();
    let vote = Message::RequestVoteResponse(RequestVoteResponse {
        term: 1,
        vote_granted: true,
    });
    node.step(
        Input::Message {
            from: NodeId(2),
            message: vote,
        },
        &mut out,
    )
    .unwrap();
    assert!(node.is_leader());
    for peer in [NodeId(2), NodeId(3)] {
        assert_eq!(node.progress(peer).unwrap().flow, Flow::Probe);
        node.step(ack(peer, 1), &mut out).unwrap();
        assert_eq!(node.progress(peer).unwrap().flow, Flow::Replicate);
    }
    out.clear();
    (node, out)
}

fn ack(from: NodeId, match_index: Index) -> Input<KvCommand> {
    let result = AppendResult::Success { match_index };
    let message = Message::AppendEntriesResponse(AppendEntriesResponse { term: 1, result });
    Input::Message { from, message }
}

fn request(serial: u64) -> ClientRequest<KvCommand> {
    ClientRequest {
        client: ClientId(7),
        serial,
        command: KvCommand::Set {
            key: "x".into(),
            value: serial.to_string(),
        },
    }
}

/// The AppendEntries sent to `to`: (prev_log_index, entries).
fn sends(out: &NodeEffects<KvStore>, to: NodeId) -> Vec<(Index, Entries<KvCommand>)> {
    out.as_slice()
        .iter()
        .filter_map(|e| match e {
            Effect::Send {
                to: t,
                message: Message::AppendEntries(a),
            } if *t == to => Some((a.prev_log_index, a.entries.clone())),
            _ => None,
        })
        .collect()
}

#[test]
fn a_follower_known_to_match_is_sent_new_entries_at_once() {
    let (mut node, mut out) = leader(2);
    node.step(Input::ClientRequest(request(1)), &mut out)
        .unwrap();
    node.step(Input::ClientRequest(request(2)), &mut out)
        .unwrap();
    // Each entry goes out once, right after the one before: next_index advanced on sending.
    let to2 = sends(&out, NodeId(2));
    assert_eq!(
        to2.iter().map(|(p, e)| (*p, e.len())).collect::<Vec<_>>(),
        [(1, 1), (2, 1)]
    );
    assert_eq!(node.progress(NodeId(2)).unwrap().next_index, 4);
    assert_eq!(node.progress(NodeId(2)).unwrap().match_index, 1);
    // The window (2) is full: a third proposal waits, and one acknowledgement sends it alone.
    out.clear();
    node.step(Input::ClientRequest(request(3)), &mut out)
        .unwrap();
    assert!(sends(&out, NodeId(2)).is_empty());
    node.step(ack(NodeId(2), 2), &mut out).unwrap();
    let to2 = sends(&out, NodeId(2));
    assert_eq!(
        to2.iter().map(|(p, e)| (*p, e.len())).collect::<Vec<_>>(),
        [(3, 1)]
    );
    // A stale (reordered) acknowledgement sends nothing: what it covers is not in flight.
    out.clear();
    node.step(ack(NodeId(2), 1), &mut out).unwrap();
    assert!(sends(&out, NodeId(2)).is_empty());
    assert!(node.progress(NodeId(2)).unwrap().check(4, 2).is_ok());
}

#[test]
fn proposals_that_arrive_together_share_one_persist_and_one_request_per_follower() {
    let (mut node, mut out) = leader(4);
    node.step(
        Input::ClientRequests((1..=5).map(request).collect()),
        &mut out,
    )
    .unwrap();
    let persisted: Vec<_> = out
        .as_slice()
        .iter()
        .filter_map(|e| match e {
            Effect::PersistEntries {
                first_index,
                entries,
            } => Some((*first_index, entries.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(persisted.len(), 1);
    assert_eq!((persisted[0].0, persisted[0].1.len()), (2, 5));
    for peer in [NodeId(2), NodeId(3)] {
        let s = sends(&out, peer);
        assert_eq!(s.len(), 1, "one AppendEntries to {peer}");
        // The request carries the very entries of the persist effect: a reference count.
        assert!(Entries::ptr_eq(&s[0].1, &persisted[0].1));
    }
}

#[test]
fn a_rejection_sends_the_follower_back_to_probing() {
    let (mut node, mut out) = leader(4);
    for serial in 1..=3 {
        node.step(Input::ClientRequest(request(serial)), &mut out)
            .unwrap();
    }
    out.clear();
    // The request after index 3 overtook the others and was rejected: n2 holds only index 1.
    let hint = Some(ConflictHint {
        conflict_term: None,
        first_index: 2,
    });
    let result = AppendResult::Reject {
        prev_log_index: 3,
        hint,
    };
    let message = Message::AppendEntriesResponse(AppendEntriesResponse { term: 1, result });
    node.step(
        Input::Message {
            from: NodeId(2),
            message,
        },
        &mut out,
    )
    .unwrap();
    let p = node.progress(NodeId(2)).unwrap();
    assert_eq!(
        (p.flow, p.next_index, p.in_flight.len()),
        (Flow::Probe, 2, 1)
    );
    assert_eq!(
        sends(&out, NodeId(2))
            .iter()
            .map(|(p, _)| *p)
            .collect::<Vec<_>>(),
        [1]
    );
    // One probe at a time: a new proposal sends n2 nothing until the probe is answered.
    out.clear();
    node.step(Input::ClientRequest(request(4)), &mut out)
        .unwrap();
    assert!(sends(&out, NodeId(2)).is_empty());
    assert_eq!(sends(&out, NodeId(3)).len(), 1);
    // The answer ends the probe; n2 is sent the rest of the log.
    node.step(ack(NodeId(2), 5), &mut out).unwrap();
    assert_eq!(node.progress(NodeId(2)).unwrap().flow, Flow::Replicate);
}

#[test]
fn a_heartbeat_in_replicate_checks_the_optimistic_position() {
    let (mut node, mut out) = leader(1);
    node.step(Input::ClientRequest(request(1)), &mut out)
        .unwrap();
    node.step(Input::ClientRequest(request(2)), &mut out)
        .unwrap();
    out.clear();
    // n2's window is full (entry 2 in flight, entry 3 waiting): the heartbeat is an empty
    // request after next_index - 1, which n2 rejects if it lost entry 2.
    node.step(Input::Timeout(Timer::Heartbeat), &mut out)
        .unwrap();
    let to2 = sends(&out, NodeId(2));
    assert_eq!(to2.len(), 1);
    assert_eq!((to2[0].0, to2[0].1.len()), (2, 0));
}

#[test]
fn a_retry_of_a_pending_request_is_not_appended_again() {
    let (mut node, mut out) = leader(4);
    node.step(Input::ClientRequest(request(1)), &mut out)
        .unwrap();
    node.step(Input::ClientRequest(request(1)), &mut out)
        .unwrap();
    node.step(
        Input::ClientRequests(vec![request(2), request(2)]),
        &mut out,
    )
    .unwrap();
    assert_eq!(node.log().last_index(), 3);
    // Once committed and applied, a retry is answered from the session table instead.
    node.step(ack(NodeId(2), 3), &mut out).unwrap();
    assert_eq!(node.commit_index(), 3);
    out.clear();
    node.step(Input::ClientRequest(request(1)), &mut out)
        .unwrap();
    assert_eq!(node.log().last_index(), 3);
    assert!(matches!(out.as_slice(), [Effect::Reply { .. }]));
}
