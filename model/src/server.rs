//! The server actor: one `refraft::Node` driven unchanged. Each input becomes one `Node::step`;
//! its effects become stateright commands, in order: persist effects update the server's disk
//! image (saved with `out.save`), sends and replies go to the network, timers to stateright's
//! timers. Nothing volatile survives a crash: a restart rebuilds the node from the disk alone.

use crate::actor::{ActorState, ModelTimer, RaftActor};
use crate::ghost::{Ghost, Observed, Violation};
use crate::ids::{client_actor, node_id, server_id};
use crate::msg::Msg;
use crate::shared::Shared;
use crate::step_memo::{Replayed, StepInput, StepMemo};
use refraft::{
    Config, DurableState, Effect, Input, KvCommand, KvStore, Message, Node, NodeEffects, NodeId,
    ReadMode, Role, Rule,
};
use serde::{Deserialize, Serialize};
use stateright::actor::{model_timeout, Id, Out};
use std::borrow::Cow;
use std::cmp::Ordering;

/// What a server finds again after a crash: the durable state of Figure 2, built only from the
/// node's persist effects, and the ghost history (which the node never reads).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Stored {
    /// `current_term`, `voted_for` and the log, as persisted.
    pub durable: DurableState<KvCommand>,
    /// The server's ghost history.
    pub ghost: Ghost,
}

/// The state of one server actor.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ServerState {
    /// The core's node.
    pub node: Node<KvStore>,
    /// The disk image: the durable state as the node's persist effects left it. It equals the
    /// node's in-memory durable state unless a persistence rule is switched off.
    pub disk: DurableState<KvCommand>,
    /// The server's ghost history.
    pub ghost: Ghost,
    /// The inputs already found to leave this state unchanged (a cache, not part of the value:
    /// see [`StepMemo`]).
    pub(crate) memo: StepMemo,
}

impl std::fmt::Debug for ServerState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerState")
            .field("node", &self.node)
            .field("disk", &self.disk)
            .field("ghost", &self.ghost)
            .finish()
    }
}

impl ServerState {
    /// A server state holding `node`, its disk image and its ghost history.
    pub fn new(node: Node<KvStore>, disk: DurableState<KvCommand>, ghost: Ghost) -> Self {
        ServerState {
            node,
            disk,
            ghost,
            memo: StepMemo::default(),
        }
    }

    /// The order used by symmetry reduction: servers are sorted by what they hold before who
    /// they are, so that servers that differ only by id sort the same way.
    fn sort_key(&self) -> impl Ord + '_ {
        let role = match self.node.role() {
            Role::Follower { .. } => 0,
            Role::Candidate { .. } => 1,
            Role::Leader { .. } => 2,
            Role::PreCandidate { .. } => 3,
        };
        (
            self.node.current_term(),
            role,
            self.node.log(),
            self.node.commit_index(),
            self.node.voted_for().is_some(),
            &self.ghost,
        )
    }
}

impl PartialOrd for ServerState {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for ServerState {
    fn cmp(&self, other: &Self) -> Ordering {
        self.sort_key()
            .cmp(&other.sort_key())
            .then_with(|| self.node.cmp(&other.node))
            .then_with(|| self.disk.cmp(&other.disk))
            .then_with(|| self.ghost.cmp(&other.ghost))
    }
}

/// How every server of one model is configured (all servers are the same actor, which symmetry
/// reduction requires).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ServerSetup {
    /// Cluster size: servers are actors `0..servers`.
    pub servers: usize,
    /// `Config::max_entries_per_append`.
    pub max_entries: usize,
    /// `Config::max_in_flight_appends`.
    pub window: usize,
    /// The protocol rule switched off, if any.
    pub broken_rule: Option<Rule>,
    /// Restarts are counted up to this many (see `Ghost::restarts`).
    pub restart_cap: usize,
    /// `Config::pre_vote`.
    pub pre_vote: bool,
    /// `Config::check_quorum`.
    pub check_quorum: bool,
    /// `Config::read_mode`.
    pub read_mode: ReadMode,
    /// `Config::forward_reads`.
    pub forward_reads: bool,
    /// Whether a new leader may be asked to transfer leadership (`--transfers`).
    pub transfers: bool,
    /// `Config::reject_hint` (`--backoff`).
    pub reject_hint: refraft::RejectHint,
    /// `Config::vote_grant_echoes_term` (`--echo-vote-term`).
    pub echo_vote_term: bool,
    /// Which steps that leave the server exactly as it was are left as no step at all (the
    /// actor state stays borrowed), instead of a copied state that the model then finds
    /// unchanged. Set by `RaftModel::with_stutter_pruning`.
    pub stutter: StutterSteps,
}

/// Which unchanged server steps the actor reports as no step (see
/// `RaftModel::with_stutter_pruning`). stateright then skips copying the whole system state for
/// them: no clone of the network, no hash, no comparison.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct StutterSteps {
    /// Deliveries that change nothing. Only on the duplicating network, where a delivered
    /// message stays in flight, so such a delivery changes no part of the system state; on the
    /// other networks it consumes the message, which is a step.
    pub deliveries: bool,
    /// Timeouts that change nothing but re-arm their own timer (stateright then takes them as
    /// no step, exactly as it finds the copied state unchanged).
    pub timeouts: bool,
}

impl ServerSetup {
    fn config(&self, id: Id) -> Config {
        let members = (0..self.servers).map(|i| NodeId(i as u64)).collect();
        let mut config = Config::new(node_id(id), members)
            .expect("the model builds member lists that contain the server's own id");
        config.max_entries_per_append = self.max_entries;
        config.max_in_flight_appends = self.window;
        config.pre_vote = self.pre_vote;
        config.check_quorum = self.check_quorum;
        config.read_mode = self.read_mode;
        config.forward_reads = self.forward_reads;
        config.reject_hint = self.reject_hint;
        config.vote_grant_echoes_term = self.echo_vote_term;
        config.with_broken_rule(self.broken_rule)
    }

    /// Starts server `id`, or restarts it from `stored` (Figure 2: only durable state survives).
    pub fn start(
        &self,
        id: Id,
        stored: &Option<Shared<Stored>>,
        o: &mut Out<RaftActor>,
    ) -> ServerState {
        let (disk, mut ghost) = match stored {
            Some(s) => (s.durable.clone(), s.ghost.clone()),
            None => (DurableState::default(), Ghost::default()),
        };
        if stored.is_some() {
            ghost.record_restart(disk.current_term, self.restart_cap);
        }
        // A restarted server follows nobody: its "heard from the leader" window is closed.
        ghost.window = None;
        let mut effects = NodeEffects::<KvStore>::new();
        let config = self.config(id);
        // The node's persist effects keep the disk image valid unless a persistence rule is
        // switched off; a refused image is recorded as a violation (with the path to it), and
        // the server restarts empty so that the checker goes on.
        let node = match Node::new(
            config.clone(),
            disk.clone(),
            KvStore::default(),
            &mut effects,
        ) {
            Ok(node) => node,
            Err(_) => {
                ghost.violations.insert(Violation::InvalidDurableState);
                effects = NodeEffects::<KvStore>::new();
                Node::new(
                    config,
                    DurableState::default(),
                    KvStore::default(),
                    &mut effects,
                )
                .expect("a validated configuration with an empty durable state starts")
            }
        };
        let mut state = ServerState::new(node, disk, ghost);
        perform(&mut state, effects, o);
        // Saved at every start: a first crash before anything was persisted must still find
        // a disk (and count as a restart), and the restart count is saved by the restart
        // itself, so that back-to-back restarts count against `max_restarts`.
        o.save(Shared::new(Stored {
            durable: state.disk.clone(),
            ghost: state.ghost.clone(),
        }));
        state
    }

    /// Withdraws the operator's transfer requests (the server stopped leading, or one fired).
    pub fn cancel_transfer_requests(&self, o: &mut Out<RaftActor>) {
        for peer in 0..self.servers {
            o.cancel_timer(ModelTimer::Transfer(peer));
        }
    }

    /// Delivers `input` (a message or a server timer) to server `id`, whose state is `state`,
    /// as [`ServerSetup::step`] does, but replays a step already taken from this very server
    /// state instead of stepping the node again (see [`StepMemo`]). Returns whether the
    /// server's state changed.
    pub fn step_memoized(
        &self,
        id: Id,
        state: &mut Cow<ActorState>,
        input: StepInput,
        o: &mut Out<RaftActor>,
    ) -> bool {
        // Unchanged steps are told apart (left as no step) only with stutter pruning; without
        // it every step writes the state, and nothing is remembered.
        let memo_on = (self.stutter.deliveries || self.stutter.timeouts) && o.is_empty();
        let ActorState::Server(before) = state.as_ref() else {
            return false;
        };
        if memo_on {
            match before.memo.replay(self, id, &input, o) {
                Some(Replayed::Unchanged) => return false,
                Some(Replayed::Changed(next)) => {
                    *state = Cow::Owned(ActorState::Server(next));
                    return true;
                }
                None => {}
            }
        }
        let before = before.clone();
        let core_input = match &input {
            StepInput::Deliver {
                src,
                msg: Msg::Raft(message),
            } => Input::Message {
                from: node_id(*src),
                message: Message::clone(message),
            },
            StepInput::Deliver {
                msg: Msg::Request(request),
                ..
            } => Input::ClientRequest(refraft::ClientRequest::clone(request)),
            StepInput::Deliver {
                msg: Msg::Read(request),
                ..
            } => Input::Read(refraft::ClientRequest::clone(request)),
            // A message of the wrong kind for a server is ignored.
            StepInput::Deliver {
                msg: Msg::Reply { .. },
                ..
            } => return false,
            StepInput::Timeout(timer) => Input::Timeout(*timer),
        };
        let changed = self.step(state, core_input, o);
        if memo_on {
            let next = match state.as_ref() {
                ActorState::Server(next) if changed => Some(next),
                _ => None,
            };
            before.memo.record(self, id, input, next, o);
        }
        changed
    }

    /// Feeds `input` to the server whose state is `state`. Returns whether the server's state
    /// changed; an unchanged state is left borrowed (and nothing saved), so that the caller
    /// can report the step as no step (see [`StutterSteps`]).
    pub fn step(
        &self,
        state: &mut Cow<ActorState>,
        input: Input<KvCommand>,
        o: &mut Out<RaftActor>,
    ) -> bool {
        let ActorState::Server(before) = state.as_ref() else {
            return false;
        };
        let mut next = ServerState::clone(before);
        let mut effects = NodeEffects::<KvStore>::new();
        // A typed error means the node did not act on the input in full; it stays consistent
        // and whatever answer the protocol asks for is among the effects, so the model only
        // performs them. (Errors are the core's answer to untrusted input, not failures.)
        let observed = Observed::of(&input);
        let result = next.node.step(input, &mut effects);
        next.ghost.observe_features(
            observed,
            &result,
            effects.as_slice(),
            &before.node,
            &next.node,
        );
        let persisted = perform(&mut next, effects, o);
        if self.transfers && !before.node.is_leader() && next.node.is_leader() {
            // Dissertation §3.10: an operator may ask the new leader to hand leadership to any
            // one of its followers.
            for peer in next.node.config().peers() {
                o.set_timer(
                    ModelTimer::Transfer(usize::from(server_id(peer))),
                    model_timeout(),
                );
            }
        }
        if self.transfers && before.node.is_leader() && !next.node.is_leader() {
            self.cancel_transfer_requests(o);
        }
        next.ghost.observe_step(&before.node, &next.node);
        // The saved storage always equals the live state's disk and ghost, so an unchanged
        // state needs no save either.
        if (self.stutter.deliveries || self.stutter.timeouts) && next == **before {
            return false;
        }
        if persisted || next.ghost != before.ghost {
            o.save(Shared::new(Stored {
                durable: next.disk.clone(),
                ghost: next.ghost.clone(),
            }));
        }
        // Every step is taken as a step (the actor consumes the message), so the new state is
        // written without comparing it to the old one.
        *state.to_mut() = ActorState::Server(Shared::new(next));
        true
    }
}

/// Performs the node's effects in order; returns whether any of them persisted state.
fn perform(state: &mut ServerState, effects: NodeEffects<KvStore>, o: &mut Out<RaftActor>) -> bool {
    let mut persisted = false;
    for effect in effects {
        if state.disk.apply(&effect) {
            persisted = true;
            continue;
        }
        match effect {
            Effect::Send { to, message } => o.send(server_id(to), Msg::raft(message)),
            Effect::SetTimer { timer, .. } => {
                o.set_timer(ModelTimer::Server(timer), model_timeout())
            }
            Effect::CancelTimer { timer } => o.cancel_timer(ModelTimer::Server(timer)),
            Effect::Apply { index, .. } => {
                let term = state.node.current_term();
                if let Some(entry) = state.node.log().get(index) {
                    state.ghost.record_apply(index, entry, term);
                }
            }
            Effect::Reply {
                client,
                serial,
                response,
            } => o.send(client_actor(client), Msg::reply(serial, response)),
            Effect::ReadReply {
                client,
                serial,
                response,
                ..
            } => o.send(client_actor(client), Msg::reply(serial, response)),
            Effect::PersistHardState { .. } | Effect::PersistEntries { .. } => {}
        }
    }
    persisted
}
