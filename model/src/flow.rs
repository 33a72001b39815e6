//! Properties of the pipelined leader (dissertation §10.2): its flow control state stays
//! consistent ("always"), and the states where pipelining matters are reached ("sometimes"):
//! optimistic sends past the acknowledged index, a full window, a follower sent back to probing
//! by a rejection, and a stale rejection in flight to a leader that has moved on.

use crate::ids::node_id;
use crate::model::{RaftModel, State};
use crate::msg::Msg;
use crate::server::ServerState;
use refraft::{AppendResult, Flow, Message, Progress};
use stateright::actor::Id;

/// Every live leader's progress passes `Progress::check`: `match < next <= last + 1`, at most
/// one request in flight in Probe and `window` in Replicate, and in Replicate the requests in
/// flight form one chain from the acknowledged index to `next_index - 1`.
pub const FLOW_CONTROL: &str = "flow control";
/// Reachability: a leader has sent a follower entries past what it acknowledged.
pub const OPTIMISTIC_ADVANCE: &str = "a leader sends past the acknowledged index (§10.2)";
/// Reachability: a follower's window is full.
pub const WINDOW_FULL: &str = "a follower's window of AppendEntries is full";
/// Reachability: a rejection sent a follower that had acknowledged entries back to probing.
pub const BACK_TO_PROBE: &str = "a rejection sends a follower back to probing";
/// Reachability: a rejection is in flight to a leader that has since seen the follower match
/// the rejected index (it is stale when it arrives).
pub const STALE_REJECTION: &str = "a stale rejection reaches a leader after an optimistic advance";

/// The live leaders' progress for each peer: (leader, peer actor, progress).
fn leaders<'a>(
    m: &'a RaftModel,
    s: &'a State,
) -> impl Iterator<Item = (&'a ServerState, Id, &'a Progress)> + 'a {
    m.servers(s)
        .filter(|(srv, crashed)| !crashed && srv.node.is_leader())
        .flat_map(move |(srv, _)| {
            (0..m.settings.servers).filter_map(move |i| {
                let peer = Id::from(i);
                srv.node.progress(node_id(peer)).map(|p| (srv, peer, p))
            })
        })
}

pub(crate) fn flow_control(m: &RaftModel, s: &State) -> bool {
    leaders(m, s).all(|(srv, _, p)| {
        p.check(srv.node.log().last_index(), m.settings.window)
            .is_ok()
    })
}

pub(crate) fn optimistic_advance(m: &RaftModel, s: &State) -> bool {
    leaders(m, s).any(|(_, _, p)| p.flow == Flow::Replicate && p.next_index > p.match_index + 1)
}

pub(crate) fn window_full(m: &RaftModel, s: &State) -> bool {
    leaders(m, s)
        .any(|(_, _, p)| p.flow == Flow::Replicate && p.in_flight.len() >= m.settings.window)
}

pub(crate) fn back_to_probe(m: &RaftModel, s: &State) -> bool {
    // A follower starts in Probe with nothing matched; it is in Probe with a match only after a
    // rejection ended its Replicate state.
    leaders(m, s).any(|(_, _, p)| p.flow == Flow::Probe && p.match_index > 0)
}

pub(crate) fn stale_rejection(m: &RaftModel, s: &State) -> bool {
    let leaders: Vec<_> = leaders(m, s).collect();
    s.network.iter_deliverable().any(|env| {
        let Msg::Raft(m) = env.msg else {
            return false;
        };
        let Message::AppendEntriesResponse(r) = &**m else {
            return false;
        };
        let AppendResult::Reject { prev_log_index, .. } = r.result else {
            return false;
        };
        leaders.iter().any(|(srv, peer, p)| {
            *peer == env.src
                && srv.node.id() == node_id(env.dst)
                && srv.node.current_term() == r.term
                && p.match_index > 0
                && prev_log_index <= p.match_index
        })
    })
}
