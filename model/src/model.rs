//! The model: stateright's `ActorModel` of servers and clients, wrapped so that the scheduler can
//! be restricted (clients never crash; the stable scheduler for liveness) and the network state
//! normalized.

use crate::actor::{ModelTimer, RaftActor};
use crate::client::{ClientSetup, ClientState};
use crate::history::History;
use crate::msg::Msg;
use crate::properties;
use crate::server::{ServerSetup, ServerState};
use crate::settings::{NetworkKind, Settings};
use refraft::Timer;
use stateright::actor::{ActorModel, ActorModelAction, ActorModelState, Id, LossyNetwork, Network};
use stateright::{Model, Path, Property};

/// A state of the whole system: every actor's state, the network, timers, crash flags, storage
/// and the client history.
pub type State = ActorModelState<RaftActor, History>;

/// One step of the system: deliver, drop, time out, crash or recover.
pub type Action = ActorModelAction<Msg, ModelTimer, ()>;

/// The Raft model for one [`Settings`].
///
/// ```
/// use refraft_model::{RaftModel, Settings};
/// use stateright::{Checker, Model};
/// let settings = Settings { servers: 1, clients: 1, max_crashes: 0, ..Settings::default() };
/// let checker = RaftModel::new(settings).unwrap().checker().spawn_bfs().join();
/// checker.assert_properties();
/// assert!(checker.unique_state_count() > 5);
/// ```
pub struct RaftModel {
    /// The bounds and switches.
    pub settings: Settings,
    inner: ActorModel<RaftActor, Settings, History>,
}

impl RaftModel {
    /// Builds the model, or says which setting is out of range.
    pub fn new(settings: Settings) -> Result<Self, String> {
        settings.validate()?;
        let server = RaftActor::Server(ServerSetup {
            servers: settings.servers,
            max_entries: settings.max_entries,
            window: settings.window,
            broken_rule: settings.broken_rule,
            restart_cap: settings.max_restarts.map_or(1, |m| m + 1),
        });
        let client = RaftActor::Client(ClientSetup {
            servers: settings.servers,
            requests: settings.requests,
            retry: settings.client_retry && !settings.stable,
        });
        let network = match settings.network {
            NetworkKind::Duplicating => Network::new_unordered_duplicating([]),
            NetworkKind::Reordering => Network::new_unordered_nonduplicating([]),
            NetworkKind::Ordered => Network::new_ordered([]),
        };
        let inner = ActorModel::new(settings.clone(), History::default())
            .actors(std::iter::repeat_n(server, settings.servers))
            .actors(std::iter::repeat_n(client, settings.clients))
            .init_network(network)
            .lossy_network(if settings.lossy {
                LossyNetwork::Yes
            } else {
                LossyNetwork::No
            })
            .max_crashes(settings.max_crashes)
            .record_msg_out(History::on_send)
            .record_msg_in(History::on_receive);
        Ok(RaftModel { settings, inner })
    }

    /// The servers of `state`, with whether each is crashed. A crashed server's last state stays
    /// visible (stateright keeps it); properties about live servers skip it.
    pub fn servers<'a>(
        &self,
        state: &'a State,
    ) -> impl Iterator<Item = (&'a ServerState, bool)> + 'a {
        state
            .actor_states
            .iter()
            .zip(&state.crashed)
            .filter_map(|(a, &crashed)| a.server().map(|s| (s, crashed)))
    }

    /// The clients of `state`.
    pub fn clients<'a>(&self, state: &'a State) -> impl Iterator<Item = &'a ClientState> + 'a {
        state.actor_states.iter().filter_map(|a| a.client())
    }

    /// Whether the stable scheduler lets server `id`'s election timer fire in `state`: only while
    /// no live server leads and no other server is a candidate (§5.2's randomized timeouts make
    /// one server time out first; this scheduler assumes it wins the race).
    fn election_allowed(&self, state: &State, id: Id) -> bool {
        let me = usize::from(id);
        self.servers(state).enumerate().all(|(i, (s, crashed))| {
            crashed || !(s.node.is_leader() || (i != me && s.node.is_candidate()))
        })
    }

    /// Removes the delivery record stateright's duplicating network keeps (`last_msg`): it only
    /// serves to tell apart states that are otherwise equal, multiplying the state space.
    fn normalize(mut state: State) -> State {
        if let Network::UnorderedDuplicating(_, last_msg) = &mut state.network {
            *last_msg = None;
        }
        state
    }
}

impl Model for RaftModel {
    type State = State;
    type Action = Action;

    fn init_states(&self) -> Vec<State> {
        self.inner
            .init_states()
            .into_iter()
            .map(Self::normalize)
            .collect()
    }

    fn actions(&self, state: &State, actions: &mut Vec<Action>) {
        self.inner.actions(state, actions);
        let servers = self.settings.servers;
        actions.retain(|a| match a {
            // Clients stand for the outside world; only servers crash.
            ActorModelAction::Crash(id) => usize::from(*id) < servers,
            // A message to a crashed server waits in the network until it restarts (stateright
            // treats its delivery as no step).
            ActorModelAction::Deliver { dst, .. } => !state.crashed[usize::from(*dst)],
            ActorModelAction::Timeout(id, ModelTimer::Server(Timer::Election))
                if self.settings.stable || self.settings.orderly_elections =>
            {
                self.election_allowed(state, *id)
            }
            ActorModelAction::Timeout(_, ModelTimer::Server(Timer::Heartbeat)) => {
                self.settings.heartbeats && !self.settings.stable
            }
            _ => true,
        });
    }

    fn next_state(&self, last: &State, action: Action) -> Option<State> {
        self.inner.next_state(last, action).map(Self::normalize)
    }

    fn format_action(&self, action: &Action) -> String {
        self.inner.format_action(action)
    }

    fn format_step(&self, last: &State, action: Action) -> Option<String> {
        self.inner.format_step(last, action)
    }

    fn as_svg(&self, path: Path<State, Action>) -> Option<String> {
        self.inner.as_svg(path)
    }

    fn properties(&self) -> Vec<Property<Self>> {
        properties::all(&self.settings)
    }

    fn within_boundary(&self, state: &State) -> bool {
        let terms_ok = self
            .servers(state)
            .all(|(s, _)| s.node.current_term() <= self.settings.max_term);
        let in_flight_ok = self
            .settings
            .max_in_flight
            .is_none_or(|max| state.network.len() <= max);
        let elections_ok = self.settings.max_elections.is_none_or(|max| {
            self.servers(state)
                .map(|(s, _)| s.ghost.candidacies)
                .sum::<usize>()
                <= max
        });
        let restarts_ok = self.settings.max_restarts.is_none_or(|max| {
            self.servers(state)
                .map(|(s, _)| s.ghost.restarts)
                .sum::<usize>()
                <= max
        });
        terms_ok && in_flight_ok && elections_ok && restarts_ok
    }
}
