//! The leader's incremental quorum tracker equals the definition.
//!
//! 1. `MatchTracker` against `majority_index` (sort, take the majority position) over random
//!    acknowledgement sequences for 3, 5, 7 and 9 voters, stale (lower) acknowledgements
//!    included: nothing may decrease.
//! 2. A real leader (`Node`, driven through `step` only) against Figure 2's commit rule, read
//!    literally: commit the largest N > commitIndex that a majority stores and whose entry is of
//!    the current term (§5.4.2). Its log may start with entries of an earlier term, which must
//!    not commit by counting.

use proptest::prelude::*;
use refraft::quorum::{majority_index, MatchTracker};
use refraft::{
    AppendEntriesResponse, AppendResult, ClientId, ClientRequest, Config, DurableState, Index,
    Input, KvCommand, KvStore, Message, Node, NodeEffects, NodeId, RequestVote,
    RequestVoteResponse, Timer,
};

fn voters() -> impl Strategy<Value = usize> {
    prop_oneof![Just(3usize), Just(5), Just(7), Just(9)]
}

/// One event seen by a leader's quorum arithmetic.
#[derive(Clone, Debug)]
enum Event {
    /// Peer number `peer % peers` acknowledges `match_index` (possibly below what it had).
    Ack { peer: usize, match_index: Index },
    /// The leader appends `count` entries to its own log.
    Append { count: Index },
}

fn event() -> impl Strategy<Value = Event> {
    prop_oneof![
        3 => (any::<usize>(), 0..40u64).prop_map(|(peer, match_index)| Event::Ack { peer, match_index }),
        1 => (0..4u64).prop_map(|count| Event::Append { count }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// The tracker, fed acknowledgements the way the leader feeds it (`raise(old, max(old,new))`),
    /// always equals the definition over the same values, and nothing decreases.
    #[test]
    fn tracker_equals_definition(n in voters(), events in prop::collection::vec(event(), 0..200)) {
        let peers = n - 1;
        let mut matches: Vec<Index> = vec![0; peers];
        let mut tracker = MatchTracker::new(peers);
        let mut leader_last: Index = 0;
        let mut last_majority = 0;
        for e in events {
            match e {
                Event::Ack { peer, match_index } => {
                    let p = peer % peers;
                    let old = matches[p];
                    let new = old.max(match_index);
                    prop_assert!(tracker.raise(old, new));
                    matches[p] = new;
                }
                Event::Append { count } => leader_last += count,
            }
            let mut all = matches.clone();
            all.push(leader_last);
            let expected = majority_index(&mut all);
            let got = tracker.majority_index(leader_last);
            prop_assert_eq!(got, expected);
            let mut sorted = matches.clone();
            sorted.sort_unstable();
            prop_assert_eq!(tracker.as_slice(), &sorted[..]);
            // Every value only grows (a peer's by `max`, the leader's by appending), so the
            // majority never falls, stale acknowledgements included.
            prop_assert!(got >= last_majority, "majority fell from {} to {}", last_majority, got);
            last_majority = got;
        }
    }

    /// The tracker equals the definition for any leader value, any voter count 1..=9, and any
    /// starting values (not only the leader's usual case where its log bounds every peer).
    #[test]
    fn tracker_equals_definition_any_values(
        values in prop::collection::vec(0..20u64, 0..9),
        raises in prop::collection::vec((any::<usize>(), 0..25u64), 0..20),
        leader in 0..25u64,
    ) {
        let mut values = values;
        let mut tracker = MatchTracker::from_match_indexes(values.iter().copied());
        for (peer, to) in raises {
            if values.is_empty() {
                break;
            }
            let p = peer % values.len();
            prop_assert!(tracker.raise(values[p], to));
            values[p] = values[p].max(to);
        }
        let mut all = values.clone();
        all.push(leader);
        prop_assert_eq!(tracker.majority_index(leader), majority_index(&mut all));
    }

    /// A tracker never claims a peer it does not hold.
    #[test]
    fn raise_of_absent_value_is_refused(values in prop::collection::vec(0..10u64, 0..9), old in 10..20u64) {
        let mut tracker = MatchTracker::from_match_indexes(values.iter().copied());
        let before = tracker.clone();
        prop_assert!(!tracker.raise(old, old + 1));
        prop_assert_eq!(tracker, before);
    }
}

// ----- the leader itself -----

fn ids(n: usize) -> Vec<NodeId> {
    (1..=n as u64).map(NodeId).collect()
}

fn step(node: &mut Node<KvStore>, input: Input<KvCommand>) {
    let mut out = NodeEffects::<KvStore>::new();
    // Refused inputs (stale, out of range) are part of the test: they must change nothing.
    let _ = node.step(input, &mut out);
}

/// Node 1 of `n` elected in `current_term` by votes from peers 2.. (through real messages).
fn elect(node: &mut Node<KvStore>, n: usize) {
    step(node, Input::Timeout(Timer::Election));
    let term = node.current_term();
    for peer in 2..=n as u64 {
        step(
            node,
            Input::Message {
                from: NodeId(peer),
                message: Message::RequestVoteResponse(RequestVoteResponse {
                    term,
                    vote_granted: true,
                }),
            },
        );
    }
    assert!(node.is_leader());
}

fn propose(node: &mut Node<KvStore>, serial: u64) {
    let request = ClientRequest {
        client: ClientId(1),
        serial,
        command: KvCommand::Set {
            key: format!("k{}", serial % 4),
            value: serial.to_string(),
        },
    };
    step(node, Input::ClientRequest(request));
}

/// A leader of `n` voters. With `old_entries > 0` it first leads term 1 and appends
/// `old_entries` commands nobody acknowledges, then steps down and leads term 3: its log then
/// starts with uncommitted entries of an earlier term (Figure 8's situation).
fn leader(n: usize, old_entries: u64) -> (Node<KvStore>, u64) {
    let mut out = NodeEffects::<KvStore>::new();
    let mut config = Config::new(NodeId(1), ids(n)).expect("valid config");
    // Elected by RequestVote answers alone, without the pre-vote phase.
    config.pre_vote = false;
    let mut node = Node::new(
        config,
        DurableState::default(),
        KvStore::default(),
        &mut out,
    )
    .expect("fresh");
    elect(&mut node, n);
    let mut serial = 0;
    if old_entries > 0 {
        for _ in 0..old_entries {
            serial += 1;
            propose(&mut node, serial);
        }
        // A candidate of term 2 with an empty log: node 1 adopts term 2, steps down and refuses
        // its vote (§5.4.1), then wins term 3.
        step(
            &mut node,
            Input::Message {
                from: NodeId(2),
                message: Message::RequestVote(RequestVote {
                    term: 2,
                    last_log_index: 0,
                    last_log_term: 0,
                    leadership_transfer: false,
                }),
            },
        );
        assert!(!node.is_leader());
        elect(&mut node, n);
        assert_eq!(node.current_term(), 3);
    }
    (node, serial)
}

/// Figure 2, rules for leaders, literally: the largest N > `commit_index` such that a majority
/// of matchIndex[i] ≥ N (the leader counting itself) and log[N].term == currentTerm; else
/// `commit_index` unchanged.
fn figure2_commit(node: &Node<KvStore>, n: usize, commit_index: Index) -> Index {
    let quorum = n / 2 + 1;
    let last = node.log().last_index();
    let matches: Vec<Index> = (2..=n as u64)
        .map(|p| node.progress(NodeId(p)).expect("leader").match_index)
        .collect();
    (commit_index + 1..=last)
        .rev()
        .find(|&index| {
            let stored = 1 + matches.iter().filter(|&&m| m >= index).count();
            stored >= quorum && node.log().term_at(index) == Some(node.current_term())
        })
        .unwrap_or(commit_index)
}

#[derive(Clone, Debug)]
enum LeaderEvent {
    /// A client proposal.
    Propose,
    /// Peer `peer % (n-1) + 2` acknowledges `back` entries below the leader's last index (a
    /// large `back` is a stale, reordered acknowledgement; `back == 0` with `beyond` is an
    /// index the leader never sent, which it must refuse).
    Ack {
        peer: usize,
        back: u64,
        beyond: bool,
    },
}

fn leader_event() -> impl Strategy<Value = LeaderEvent> {
    prop_oneof![
        1 => Just(LeaderEvent::Propose),
        4 => (any::<usize>(), 0..12u64, prop::bool::weighted(0.05))
            .prop_map(|(peer, back, beyond)| LeaderEvent::Ack { peer, back, beyond }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// The leader's commit index, after every acknowledgement or proposal, is exactly what
    /// Figure 2's rule gives from its progress table; match indexes and the commit index never
    /// decrease, stale acknowledgements included.
    #[test]
    fn leader_commits_by_figure_2(
        n in voters(),
        old_entries in prop_oneof![Just(0u64), 1..6u64],
        events in prop::collection::vec(leader_event(), 0..120),
    ) {
        let (mut node, mut serial) = leader(n, old_entries);
        let peers: Vec<NodeId> = ids(n).into_iter().skip(1).collect();
        for e in events {
            let before: Vec<Index> =
                peers.iter().map(|&p| node.progress(p).expect("leader").match_index).collect();
            let commit_before = node.commit_index();
            match e {
                LeaderEvent::Propose => {
                    serial += 1;
                    propose(&mut node, serial);
                }
                LeaderEvent::Ack { peer, back, beyond } => {
                    let last = node.log().last_index();
                    let match_index = if beyond { last + 1 } else { last.saturating_sub(back) };
                    let term = node.current_term();
                    step(&mut node, Input::Message {
                        from: peers[peer % peers.len()],
                        message: Message::AppendEntriesResponse(AppendEntriesResponse {
                            term,
                            result: AppendResult::Success { match_index },
                        }),
                    });
                }
            }
            prop_assert!(node.is_leader());
            for (i, &p) in peers.iter().enumerate() {
                let now = node.progress(p).expect("leader").match_index;
                prop_assert!(now >= before[i], "match_index of {} fell", p);
            }
            prop_assert!(node.commit_index() >= commit_before);
            // Exactly Figure 2's rule, applied to the progress the step left ...
            prop_assert_eq!(node.commit_index(), figure2_commit(&node, n, commit_before));
            // ... which is stored on a majority.
            let mut all: Vec<Index> =
                peers.iter().map(|&p| node.progress(p).expect("leader").match_index).collect();
            all.push(node.log().last_index());
            prop_assert!(node.commit_index() <= majority_index(&mut all));
            // §5.4.2: no entry of the earlier term commits before one of the current term does.
            if node.commit_index() > 0 {
                let first_current = (1..=node.log().last_index())
                    .find(|&i| node.log().term_at(i) == Some(node.current_term()))
                    .expect("the leader's no-op");
                prop_assert!(node.commit_index() >= first_current);
            }
        }
    }
}
