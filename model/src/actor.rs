//! The one actor type of the model: a server or a client, so that servers and clients share a
//! network. Its `Rewrite` implementations permute server ids for symmetry reduction.

use crate::client::{ClientSetup, ClientState};
use crate::ids::{node_id, server_id};
use crate::msg::Msg;
use crate::server::{ServerSetup, ServerState, Stored};
use crate::shared::Shared;
use crate::step_memo::StepInput;
use refraft::{Input, Timer};
use serde::{Deserialize, Serialize};
use stateright::actor::{Actor, Id, Out};
use stateright::{Rewrite, RewritePlan};
use std::borrow::Cow;

/// The model's timers.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum ModelTimer {
    /// A server's timer (election or heartbeat). stateright ignores durations: an armed timer
    /// may fire at any moment, which models any timing at all.
    Server(Timer),
    /// A client's retry timer.
    ClientRetry,
    /// An operator asks this server, while it leads, to transfer leadership to the server
    /// with this actor index (dissertation §3.10, `--transfers`). Armed for each follower
    /// when the server becomes leader; firing one cancels the others.
    Transfer(usize),
}

/// A model actor.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum RaftActor {
    /// A Raft server.
    Server(ServerSetup),
    /// A client.
    Client(ClientSetup),
}

/// A model actor's state. Every server state orders before every client state, so symmetry
/// reduction permutes servers among themselves only.
// stateright keeps each actor state behind an `Arc`; boxing the server state would only add an
// indirection to every comparison made by symmetry reduction.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ActorState {
    /// A server, shared with its hash computed once (see [`Shared`]): stateright hashes every
    /// actor state of every generated state, twice.
    Server(Shared<ServerState>),
    /// A client.
    Client(ClientState),
}

impl ActorState {
    /// The server state, if this is a server.
    pub fn server(&self) -> Option<&ServerState> {
        match self {
            ActorState::Server(s) => Some(s),
            ActorState::Client(_) => None,
        }
    }

    /// The client state, if this is a client.
    pub fn client(&self) -> Option<&ClientState> {
        match self {
            ActorState::Client(c) => Some(c),
            ActorState::Server(_) => None,
        }
    }
}

impl Actor for RaftActor {
    type Msg = Msg;
    type State = ActorState;
    type Timer = ModelTimer;
    type Random = ();
    type Storage = Shared<Stored>;

    fn on_start(&self, id: Id, storage: &Option<Shared<Stored>>, o: &mut Out<Self>) -> ActorState {
        match self {
            RaftActor::Server(setup) => {
                ActorState::Server(Shared::new(setup.start(id, storage, o)))
            }
            RaftActor::Client(setup) => ActorState::Client(setup.start(id, o)),
        }
    }

    fn on_msg(&self, id: Id, state: &mut Cow<ActorState>, src: Id, msg: Msg, o: &mut Out<Self>) {
        let changed = match (self, msg) {
            (RaftActor::Server(setup), msg) => {
                setup.step_memoized(id, state, StepInput::Deliver { src, msg }, o)
            }
            (RaftActor::Client(setup), Msg::Reply { serial, response }) => {
                setup.on_reply(state, serial, &response, o);
                true
            }
            // A message of the wrong kind for this actor is ignored.
            _ => false,
        };
        // Every delivery is a step, even one that changes no actor state: the message is
        // consumed (on the non-duplicating networks), as a real network consumes it. stateright
        // would otherwise leave such a message in flight forever, and its simulation checker
        // cannot rebuild paths through deliveries it counted as no step. The exception: an
        // unchanged server on the duplicating network with stutter pruning on, where the
        // delivery changes nothing at all (see `StutterSteps`).
        let stutter_ok = matches!(self, RaftActor::Server(s) if s.stutter.deliveries);
        if changed || !stutter_ok {
            state.to_mut();
        }
    }

    fn on_timeout(
        &self,
        id: Id,
        state: &mut Cow<ActorState>,
        timer: &ModelTimer,
        o: &mut Out<Self>,
    ) {
        let changed = match (self, timer) {
            (RaftActor::Server(setup), ModelTimer::Server(t)) => {
                setup.step_memoized(id, state, StepInput::Timeout(*t), o)
            }
            (RaftActor::Server(setup), ModelTimer::Transfer(target)) => {
                // The operator's request is consumed (its timers cancelled) whatever the node
                // does with it: always a step.
                setup.cancel_transfer_requests(o);
                setup.step(
                    state,
                    Input::TransferLeadership(node_id(Id::from(*target))),
                    o,
                );
                true
            }
            (RaftActor::Client(setup), ModelTimer::ClientRetry) => {
                setup.on_retry(state, o);
                true
            }
            _ => false,
        };
        let stutter_ok = matches!(self, RaftActor::Server(s) if s.stutter.timeouts);
        if changed || !stutter_ok {
            state.to_mut();
        }
    }

    fn name(&self) -> String {
        match self {
            RaftActor::Server(_) => "server".into(),
            RaftActor::Client(_) => "client".into(),
        }
    }
}

/// Applies a server-id permutation to one node id.
fn rewrite_node<S>(plan: &RewritePlan<Id, S>, n: refraft::NodeId) -> refraft::NodeId {
    node_id(plan.rewrite(&server_id(n)))
}

/// Server state `s` with every server id rewritten by `plan`.
pub fn rewrite_server<S>(s: &ServerState, plan: &RewritePlan<Id, S>) -> ServerState {
    let mut disk = s.disk.clone();
    disk.voted_for = disk.voted_for.map(|n| rewrite_node(plan, n));
    ServerState::new(
        s.node.map_node_ids(|n| rewrite_node(plan, n)),
        disk,
        s.ghost.map_node_ids(|n| rewrite_node(plan, n)),
    )
}

/// Client state `c` with its target server rewritten by `plan`.
pub fn rewrite_client<S>(c: &ClientState, plan: &RewritePlan<Id, S>) -> ClientState {
    let mut c = c.clone();
    c.target = usize::from(plan.rewrite(&Id::from(c.target)));
    c
}

/// Saved storage `s` with every server id rewritten by `plan`. The ghost history names servers
/// too (leaders of reads and terms), so it is rewritten with the vote.
pub fn rewrite_stored<S>(s: &Stored, plan: &RewritePlan<Id, S>) -> Stored {
    let mut s = s.clone();
    s.durable.voted_for = s.durable.voted_for.map(|n| rewrite_node(plan, n));
    s.ghost = s.ghost.map_node_ids(|n| rewrite_node(plan, n));
    s
}

impl Rewrite<Id> for ActorState {
    fn rewrite<S>(&self, plan: &RewritePlan<Id, S>) -> Self {
        match self {
            ActorState::Server(s) => ActorState::Server(Shared::new(rewrite_server(s, plan))),
            ActorState::Client(c) => ActorState::Client(rewrite_client(c, plan)),
        }
    }
}

impl Rewrite<Id> for Shared<Stored> {
    fn rewrite<S>(&self, plan: &RewritePlan<Id, S>) -> Self {
        Shared::new(rewrite_stored(self, plan))
    }
}
