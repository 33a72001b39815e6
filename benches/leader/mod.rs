//! A leader built the way a real one is: node 1 of `n` times out, asks for votes, and counts the
//! granted answers of its peers. Benches then drive it with `Node::step` only, so they run the
//! code that the model checker checks.

use refraft::{
    AppendEntriesResponse, AppendResult, ClientId, ClientRequest, Config, DurableState, Index,
    Input, KvCommand, KvStore, Message, Node, NodeEffects, NodeId, RequestVoteResponse, Timer,
};

/// The ids of an `n`-voter cluster: n1..=n`n`.
pub fn members(n: usize) -> Vec<NodeId> {
    (1..=n as u64).map(NodeId).collect()
}

/// Node 1 of `n` voters, elected leader of term 1 through real vote messages, with its no-op
/// at index 1 acknowledged by every peer (so committed). `max_entries_per_append` caps what
/// one AppendEntries carries.
pub fn elected_leader(n: usize, max_entries_per_append: usize) -> Node<KvStore> {
    let mut out = NodeEffects::<KvStore>::new();
    let mut config = Config::new(NodeId(1), members(n)).expect("valid config");
    config.max_entries_per_append = max_entries_per_append;
    // Votes are fed by hand below: Figure 2's election, without a pre-vote round.
    config.pre_vote = false;
    let mut node = Node::new(
        config,
        DurableState::default(),
        KvStore::default(),
        &mut out,
    )
    .expect("fresh");
    node.step(Input::Timeout(Timer::Election), &mut out)
        .expect("the election timer is armed");
    for peer in members(n).into_iter().skip(1) {
        let message = Message::RequestVoteResponse(RequestVoteResponse {
            term: 1,
            vote_granted: true,
        });
        if !node.is_leader() {
            node.step(
                Input::Message {
                    from: peer,
                    message,
                },
                &mut out,
            )
            .expect("a vote of the current term");
        }
    }
    assert!(node.is_leader(), "a majority of votes elects node 1");
    for peer in members(n).into_iter().skip(1) {
        node.step(ack(peer, 1, 1), &mut out)
            .expect("the no-op is acknowledged");
    }
    assert_eq!(node.commit_index(), 1, "the no-op commits");
    node
}

/// Client c1's request number `serial`: `SET k<serial mod 16>=<serial>`.
pub fn proposal(serial: u64) -> Input<KvCommand> {
    Input::ClientRequest(ClientRequest {
        client: ClientId(1),
        serial,
        command: KvCommand::Set {
            key: format!("k{}", serial % 16),
            value: serial.to_string(),
        },
    })
}

/// `from`'s AppendEntries success in `term`: its log matches the leader's up to `match_index`.
pub fn ack(from: NodeId, term: u64, match_index: Index) -> Input<KvCommand> {
    Input::Message {
        from,
        message: Message::AppendEntriesResponse(AppendEntriesResponse {
            term,
            result: AppendResult::Success { match_index },
        }),
    }
}
