//! The model: stateright's `ActorModel` of servers and clients, wrapped so that the scheduler can
//! be restricted (clients never crash; the stable scheduler for liveness) and the network state
//! normalized.

use crate::actor::{ActorState, ModelTimer, RaftActor};
use crate::client::{ClientSetup, ClientState};
use crate::history::History;
use crate::msg::Msg;
use crate::properties;
use crate::reached::Reached;
use crate::server::{ServerSetup, ServerState, StutterSteps};
use crate::settings::{NetworkKind, Reads, Settings};
use crate::step_memo::StepInput;
use refraft::{ReadMode, Term, Timer};
use stateright::actor::{
    ActorModel, ActorModelAction, ActorModelState, Id, LossyNetwork, Network, Timers,
};
use stateright::{Expectation, Model, Path, Property, Rewrite, RewritePlan};
use std::sync::Arc;

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
    prune_stutter: bool,
    /// The single initial state of a seeded search (see [`RaftModel::with_initial_state`]).
    seed: Option<State>,
    /// Reachability properties latched once reached (see [`RaftModel::with_reached_latch`]).
    pub(crate) reached: Option<Arc<Reached>>,
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
            pre_vote: settings.pre_vote,
            check_quorum: settings.check_quorum,
            read_mode: if settings.reads == Reads::Lease {
                ReadMode::Lease
            } else {
                ReadMode::ReadIndex
            },
            forward_reads: settings.forward_reads,
            transfers: settings.transfers > 0,
            reject_hint: settings.backoff.reject_hint(),
            echo_vote_term: settings.echo_vote_term,
            stutter: StutterSteps::default(),
        });
        let client = RaftActor::Client(ClientSetup {
            servers: settings.servers,
            requests: settings.requests,
            retry: settings.client_retry && !settings.stable,
            reads: settings.reads.without_log(),
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
        Ok(RaftModel {
            settings,
            inner,
            prune_stutter: false,
            seed: None,
            reached: None,
        })
    }

    /// With `on`, a step that leaves the whole state unchanged (a duplicate delivery the node
    /// ignores, a timer that re-sends what is in flight already) is no transition at all, rather
    /// than a transition back to the same state. Exhaustive searches (DFS, BFS) explore the same
    /// states either way, and skip the work of rewriting and hashing the copy; the liveness
    /// scheduler (`stable`) is exempt, because stateright's DFS treats a state without
    /// successors as terminal for `eventually`. Off by default: stateright's simulation checker
    /// rebuilds its paths wrongly through steps that are no transition.
    ///
    /// ```
    /// use refraft_model::{RaftModel, Settings};
    /// use stateright::{Checker, Model};
    /// let s = Settings { max_term: 1, max_crashes: 0, ..Settings::default() };
    /// let plain = RaftModel::new(s.clone()).unwrap().checker().spawn_dfs().join();
    /// let pruned = RaftModel::new(s).unwrap().with_stutter_pruning(true).checker().spawn_dfs().join();
    /// assert_eq!(plain.unique_state_count(), pruned.unique_state_count());
    /// assert!(pruned.state_count() < plain.state_count());
    /// ```
    pub fn with_stutter_pruning(mut self, on: bool) -> Self {
        self.prune_stutter = on && !self.settings.stable;
        // The actors report an unchanged server step as no step, so that stateright does not
        // copy the system state only for `next_state` to find it unchanged: the same
        // transitions are pruned, earlier.
        let stutter = StutterSteps {
            deliveries: self.prune_stutter && self.settings.network == NetworkKind::Duplicating,
            timeouts: self.prune_stutter,
        };
        for actor in &mut self.inner.actors {
            if let RaftActor::Server(setup) = actor {
                setup.stutter = stutter;
            }
        }
        self
    }

    /// For a checker run: each reachability (`sometimes`) property, once reached, is not
    /// evaluated again and its first discovery stands ([`crate::reached`]: stateright would
    /// evaluate it and record a new discovery on every state where it holds). Verdicts are the
    /// same; leave it off where a condition is evaluated on single states (the explorer).
    pub fn with_reached_latch(mut self) -> Self {
        let names = properties::all(&self.settings)
            .into_iter()
            .filter(|p| p.expectation == Expectation::Sometimes)
            .map(|p| p.name);
        self.reached = Some(Arc::new(Reached::new(names)));
        self
    }

    /// The model with `state` as its only initial state: a seeded mid-run search
    /// ([`crate::seeded`]) explores from the end of a replayed prefix. `state` must be a state
    /// of this model reached from its real initial state (the seeded module builds it by
    /// replay), so that every path of the seeded model extends to a path of the real one.
    /// Refuses a state outside the bounds.
    pub fn with_initial_state(mut self, state: State) -> Result<Self, String> {
        if !self.within_boundary(&state) {
            return Err("the seed state lies outside the bounds".into());
        }
        self.seed = Some(state);
        Ok(self)
    }

    /// Whether this model starts from a seed state rather than from its real initial state.
    pub fn is_seeded(&self) -> bool {
        self.seed.is_some()
    }

    /// The representative of `state`'s class under server symmetry, for
    /// `CheckerBuilder::symmetry_fn`: servers sorted by their state (see `ServerState`'s order),
    /// every server id rewritten to match; clients stay in place. A state whose servers are in
    /// order already is its own representative and is only cloned (its actor states and
    /// messages are shared, so that costs no deep copy); stateright's built-in `symmetry()`
    /// rewrites every actor state and message of every state.
    ///
    /// ```
    /// use refraft_model::{RaftModel, Settings};
    /// use stateright::{Checker, Model};
    /// let model = RaftModel::new(Settings { max_term: 1, max_crashes: 0, ..Settings::default() }).unwrap();
    /// let init = &model.init_states()[0];
    /// assert!(RaftModel::representative(init) == *init);
    /// let checker = model.checker().symmetry_fn(RaftModel::representative).spawn_dfs().join();
    /// checker.assert_properties();
    /// ```
    pub fn representative(state: &State) -> State {
        let plan = RewritePlan::<Id, _>::from_values_to_sort(&state.actor_states);
        let identity =
            (0..state.actor_states.len()).all(|i| usize::from(plan.rewrite(&Id::from(i))) == i);
        if identity {
            return state.clone();
        }
        // A transfer request names its target: rewritten like every other server id.
        let timers_set = plan
            .reindex(&state.timers_set)
            .into_iter()
            .map(|timers| {
                let mut rewritten = Timers::new();
                for t in timers.iter() {
                    rewritten.set(match t {
                        ModelTimer::Transfer(target) => {
                            ModelTimer::Transfer(usize::from(plan.rewrite(&Id::from(*target))))
                        }
                        other => other.clone(),
                    });
                }
                rewritten
            })
            .collect();
        State {
            actor_states: plan.reindex(&state.actor_states),
            network: state.network.rewrite(&plan),
            timers_set,
            random_choices: plan.reindex(&state.random_choices),
            crashed: plan.reindex(&state.crashed),
            actor_storages: plan.reindex(&state.actor_storages),
            history: state.history.rewrite(&plan),
        }
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

    /// Whether server `f`'s window must stay open: some live leader holds a lease that counts
    /// `f`, or `f` heard a heartbeat round of that leader that its next quorum check may count.
    /// A lease is granted at a passed check for one period; the followers it counts heard
    /// from the leader at most two periods before it ends, and a period is half the minimum
    /// election timeout over the drift bound, so their election timers cannot fire first.
    pub fn window_pinned(&self, state: &State, f: usize) -> bool {
        let Some((window, _)) = state
            .actor_states
            .get(f)
            .and_then(|a| a.server())
            .map(|s| (s.ghost.window, ()))
        else {
            return false;
        };
        let f_id = refraft::NodeId(f as u64);
        self.servers(state).any(|(l, crashed)| {
            if crashed || !l.node.is_leader() {
                return false;
            }
            let lead = l.node.leadership();
            let counted = lead.lease().is_some_and(|s| s.contains(&f_id));
            let heard = window.is_some_and(|(term, leader, round)| {
                term == l.node.current_term()
                    && leader == l.node.id()
                    && round >= lead.check_round()
            });
            counted || heard
        })
    }

    /// Records in the history the term of every candidacy that began in the step from `last`
    /// to `next` while no live leader held a lease (see `History::unleased_candidacies`).
    fn record_unleased_candidacies(&self, last: &State, next: &mut State) {
        let leased = self.servers(last).any(|(s, crashed)| {
            !crashed && s.node.is_leader() && s.node.leadership().lease().is_some()
        });
        if leased {
            return;
        }
        let began: Vec<Term> = self
            .servers(last)
            .zip(self.servers(next))
            .filter(|((before, _), (after, _))| after.ghost.candidacies > before.ghost.candidacies)
            .map(|(_, (after, _))| after.node.current_term())
            .collect();
        next.history.unleased_candidacies.extend(began);
    }

    /// Whether `action` is a server step already found to leave that server's state unchanged
    /// ([`crate::step_memo`]) and to change nothing else in `last`: stateright would copy the
    /// whole system state, apply the step's commands and find the copy equal to `last`, which
    /// stutter pruning then drops. Answered from the memo, before the copy. Only on the
    /// duplicating network, where a delivery leaves its message in flight.
    fn remembered_stutter(&self, last: &State, action: &Action) -> bool {
        let Network::UnorderedDuplicating(in_flight, _) = &last.network else {
            return false;
        };
        let (id, input) = match action {
            ActorModelAction::Deliver { src, dst, msg } => (
                *dst,
                StepInput::Deliver {
                    src: *src,
                    msg: *msg,
                },
            ),
            ActorModelAction::Timeout(id, ModelTimer::Server(t)) => (*id, StepInput::Timeout(*t)),
            _ => return false,
        };
        let i = usize::from(id);
        if last.crashed.get(i) != Some(&false) {
            return false;
        }
        let (Some(RaftActor::Server(setup)), Some(ActorState::Server(server)), Some(timers)) = (
            self.inner.actors.get(i),
            last.actor_states.get(i).map(|a| &**a),
            last.timers_set.get(i),
        ) else {
            return false;
        };
        server
            .memo
            .changes_nothing(setup, id, &input, in_flight, timers)
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

/// Whether a step from `last` to `next` changed nothing. Cheaper than `==`: an actor state the
/// step did not touch is the same allocation (`Arc` equality compares pointers first), and on
/// the duplicating network a step only adds messages (a delivered message stays; a `Drop`
/// removes one), so the network is unchanged exactly when its size is.
fn unchanged(last: &State, next: &State) -> bool {
    let network_same = match (&last.network, &next.network) {
        (Network::UnorderedDuplicating(a, _), Network::UnorderedDuplicating(b, _)) => {
            a.len() == b.len()
        }
        (a, b) => a == b,
    };
    network_same
        && last.crashed == next.crashed
        && last.actor_states == next.actor_states
        && last.timers_set == next.timers_set
        && last.actor_storages == next.actor_storages
        && last.random_choices == next.random_choices
        && last.history == next.history
}

impl Model for RaftModel {
    type State = State;
    type Action = Action;

    fn init_states(&self) -> Vec<State> {
        if let Some(seed) = &self.seed {
            return vec![seed.clone()];
        }
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
            // A transfer's target stands in the next term: a leader of the last term the bounds
            // allow is not asked (the transfer could never complete within them).
            ActorModelAction::Timeout(id, ModelTimer::Transfer(_)) => self
                .servers(state)
                .nth(usize::from(*id))
                .is_some_and(|(s, _)| s.node.current_term() < self.settings.max_term),
            // The stable scheduler never aborts a transfer: "completes or aborts" then means
            // that it completes.
            ActorModelAction::Timeout(_, ModelTimer::Server(Timer::TransferTimeout)) => {
                !self.settings.stable
            }
            _ => true,
        });
        if self.settings.reads == Reads::Lease {
            // The timing assumption of leases (dissertation §6.4.1), made explicit: a server
            // whose "heard from the leader" window a live leader's lease may count neither
            // times out nor comes back from a crash before that lease ends.
            actions.retain(|a| match a {
                ActorModelAction::Timeout(id, ModelTimer::Server(Timer::Election))
                | ActorModelAction::Recover(id) => !self.window_pinned(state, usize::from(*id)),
                _ => true,
            });
        }
    }

    fn next_state(&self, last: &State, action: Action) -> Option<State> {
        if self.prune_stutter && self.remembered_stutter(last, &action) {
            return None;
        }
        let mut next = Self::normalize(self.inner.next_state(last, action)?);
        if self.prune_stutter && unchanged(last, &next) {
            return None;
        }
        if properties::checks_lease_disruption(&self.settings) {
            self.record_unleased_candidacies(last, &mut next);
        }
        Some(next)
    }

    fn format_action(&self, action: &Action) -> String {
        crate::summary::action(self, action)
    }

    /// The explorer shows this for each step (its "Complete State" box shows the full dump):
    /// the properties violated at the resulting state, evaluated on it, then one line per actor
    /// (changed ones marked, with what they were) and the messages in flight.
    fn format_step(&self, last: &State, action: Action) -> Option<String> {
        let detail = self.inner.format_step(last, action.clone());
        let next = self.next_state(last, action)?;
        let mut view = crate::summary::state_view(self, Some(last), &next);
        // The stepped actor's commands (the full states are in the "Complete State" view).
        if let Some(out) = detail.as_deref().and_then(|d| d.lines().next()) {
            view.push('\n');
            view.push_str(out);
            view.push('\n');
        }
        Some(view)
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
        let rounds_ok = self
            .servers(state)
            .all(|(s, _)| s.node.leadership().round() <= self.settings.max_rounds);
        // Finite whatever rule is broken (a broken deduplication re-appends a re-delivered
        // request forever): a correct log holds at most one no-op per term (one leader per
        // term, one no-op each) and each client request at most once (the leader's session
        // and pending checks), so this bound cuts only runs in which a rule is broken. It
        // leaves room for every request twice, so that a duplicate is still seen applied.
        let max_log =
            self.settings.max_term + 2 * (self.settings.clients * self.settings.requests) as u64;
        let logs_ok = self
            .servers(state)
            .all(|(s, _)| s.node.log().last_index() <= max_log);
        let transfers_ok = self
            .servers(state)
            .map(|(s, _)| s.ghost.transfers)
            .sum::<usize>()
            <= self.settings.transfers;
        terms_ok
            && in_flight_ok
            && elections_ok
            && restarts_ok
            && rounds_ok
            && logs_ok
            && transfers_ok
    }
}
