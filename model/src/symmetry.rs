//! The symmetry class of a state, cheaply: a fingerprint of its representative under server
//! symmetry ([`RaftModel::representative`]: servers sorted by state, server ids rewritten)
//! computed without building the representative.
//!
//! stateright's DFS calls the symmetry function of `CheckerBuilder::symmetry_fn` on every
//! generated state, hashes what it returns, keeps the hash in its visited set and drops the
//! returned state (the search goes on from the state itself). Building the representative
//! rewrites and re-hashes every server state, saved storage and message of every state whose
//! servers are out of order (most of them), and then frees it all. [`class_key`] returns instead
//! a state that holds nothing but [`class_fingerprint`], the hash of the representative computed
//! from the parts' cached hashes: a server state or storage rewritten by a permutation is hashed
//! once per permutation ([`Shared::memo_hash`]), and a step changes one server, so the others
//! cost a lookup. Two states get the same key exactly when their representatives are equal (up
//! to 64-bit hash collisions, as for stateright's own fingerprints), so the checker merges the
//! same states and counts the same unique states; `model/tests/symmetry.rs` checks the
//! equivalence on reached states.

use crate::actor::{rewrite_client, rewrite_server, rewrite_stored, ActorState, ModelTimer};
use crate::history::History;
use crate::model::State;
use crate::msg::{rewrite_response, Msg};
use crate::shared::{hash_of, Shared};
use stateright::actor::{Envelope, Id, Network, Timers};
use stateright::util::DenseNatMap;
use stateright::RewritePlan;
use std::hash::{Hash, Hasher};

/// The permutation of a state's actors that sorts them (see `RaftModel::representative`).
struct Permutation {
    plan: RewritePlan<Id, DenseNatMap<Id, Id>>,
    /// `to[i]`: the new index of actor `i`.
    to: Vec<usize>,
    /// `from[k]`: the actor that moves to index `k`.
    from: Vec<usize>,
    /// A name of the permutation for [`Shared::memo_hash`]; `None` for the identity (nothing
    /// is rewritten) and for more actors than the name holds (nothing is remembered).
    key: Option<u64>,
    identity: bool,
}

impl Permutation {
    fn of(state: &State) -> Self {
        let plan = RewritePlan::<Id, _>::from_values_to_sort(&state.actor_states);
        let n = state.actor_states.len();
        let to: Vec<usize> = (0..n)
            .map(|i| usize::from(plan.rewrite(&Id::from(i))))
            .collect();
        let mut from = vec![0; n];
        for (i, &k) in to.iter().enumerate() {
            from[k] = i;
        }
        let identity = to.iter().enumerate().all(|(i, &k)| i == k);
        // Four bits per actor, plus one so that no name is 0: at most 15 actors (the model has
        // at most 7).
        let key = (!identity && n <= 15).then(|| {
            to.iter()
                .enumerate()
                .fold(1u64 << 60, |acc, (i, &k)| acc | ((k as u64) << (4 * i)))
        });
        Permutation {
            plan,
            to,
            from,
            key,
            identity,
        }
    }

    fn id(&self, id: Id) -> u64 {
        self.to.get(usize::from(id)).map_or(u64::MAX, |&k| k as u64)
    }

    /// The hash of `shared` rewritten by `rewrite`, remembered per permutation.
    fn shared_hash<T: Hash>(
        &self,
        shared: &Shared<T>,
        rewrite: impl FnOnce(&T, &RewritePlan<Id, DenseNatMap<Id, Id>>) -> T,
    ) -> u64 {
        if self.identity {
            return shared.cached_hash();
        }
        let compute = |value: &T| hash_of(&rewrite(value, &self.plan));
        match self.key {
            Some(key) => shared.memo_hash(key, compute),
            None => compute(shared),
        }
    }

    fn actor_hash(&self, actor: &ActorState) -> u64 {
        match actor {
            ActorState::Server(s) => self.shared_hash(s, rewrite_server),
            ActorState::Client(c) => hash_of(&(1u8, rewrite_client(c, &self.plan))),
        }
    }

    fn timers_hash(&self, timers: &Timers<ModelTimer>) -> u64 {
        let (mut sum, mut count) = (0u64, 0u64);
        for t in timers.iter() {
            let t = match t {
                ModelTimer::Transfer(target) => ModelTimer::Transfer(self.to[*target]),
                other => other.clone(),
            };
            sum = sum.wrapping_add(hash_of(&t));
            count += 1;
        }
        hash_of(&(sum, count))
    }

    fn msg_hash(&self, msg: &Msg) -> u64 {
        match msg {
            // The only message that names a server (see `Msg::rewrite`): the rewritten value is
            // hashed as it is, not interned as `Msg::rewrite` would (once per state here).
            Msg::Reply { serial, response } => {
                let rewritten = rewrite_response(response, &self.plan);
                hash_of(&(*serial, rewritten.as_ref().unwrap_or(response)))
            }
            _ => hash_of(msg),
        }
    }

    fn envelope_hash(&self, env: &Envelope<&Msg>, count: usize) -> u64 {
        hash_of(&(
            self.id(env.src),
            self.id(env.dst),
            self.msg_hash(env.msg),
            count,
        ))
    }

    /// The network as a set (or multiset, or set of channels): an order-free sum.
    fn network_hash(&self, network: &Network<Msg>) -> u64 {
        let (kind, sum, len, last) = match network {
            Network::UnorderedDuplicating(set, last) => {
                let sum = set.iter().fold(0u64, |acc, env| {
                    acc.wrapping_add(self.envelope_hash(&as_ref(env), 1))
                });
                let last = last.as_ref().map(|e| self.envelope_hash(&as_ref(e), 1));
                (0u8, sum, set.len(), last)
            }
            Network::UnorderedNonDuplicating(multiset) => {
                let sum = multiset.iter().fold(0u64, |acc, (env, &count)| {
                    acc.wrapping_add(self.envelope_hash(&as_ref(env), count))
                });
                (1, sum, multiset.len(), None)
            }
            Network::Ordered(channels) => {
                let sum = channels.iter().fold(0u64, |acc, (&(src, dst), msgs)| {
                    let mut h = crate::shared::hasher();
                    (self.id(src), self.id(dst)).hash(&mut h);
                    for m in msgs {
                        h.write_u64(self.msg_hash(m));
                    }
                    acc.wrapping_add(h.finish())
                });
                (2, sum, channels.len(), None)
            }
        };
        hash_of(&(kind, sum, len, last))
    }
}

fn as_ref(env: &Envelope<Msg>) -> Envelope<&Msg> {
    Envelope {
        src: env.src,
        dst: env.dst,
        msg: &env.msg,
    }
}

/// The hash of `state`'s representative under server symmetry
/// ([`crate::RaftModel::representative`]), computed from the parts' cached hashes.
///
/// ```
/// use refraft_model::{symmetry, RaftModel, Settings};
/// use stateright::Model;
/// let model = RaftModel::new(Settings { max_crashes: 0, ..Settings::default() }).unwrap();
/// let init = model.init_states().remove(0);
/// let step = |i: usize| {
///     let timeout = refraft_model::ModelTimer::Server(refraft::Timer::Election);
///     let action = stateright::actor::ActorModelAction::Timeout(i.into(), timeout);
///     model.next_state(&init, action).unwrap()
/// };
/// // Server 0 or server 1 times out first: two states, one class.
/// assert!(step(0) != step(1));
/// assert_eq!(symmetry::class_fingerprint(&step(0)), symmetry::class_fingerprint(&step(1)));
/// assert_ne!(symmetry::class_fingerprint(&step(0)), symmetry::class_fingerprint(&init));
/// ```
pub fn class_fingerprint(state: &State) -> u64 {
    let p = Permutation::of(state);
    let mut h = crate::shared::hasher();
    h.write_usize(p.from.len());
    for &i in &p.from {
        h.write_u64(p.actor_hash(&state.actor_states[i]));
        state.crashed.get(i).hash(&mut h);
        h.write_u64(state.timers_set.get(i).map_or(0, |t| p.timers_hash(t)));
        // The model makes no random choices; hashed all the same.
        state.random_choices.get(i).hash(&mut h);
        match state.actor_storages.get(i) {
            Some(Some(s)) => h.write_u64(p.shared_hash(s, rewrite_stored)),
            Some(None) => h.write_u8(0),
            None => h.write_u8(1),
        }
    }
    h.write_u64(p.network_hash(&state.network));
    // The history names clients only: the rewrite leaves it as it is.
    state.history.hash(&mut h);
    h.finish()
}

/// The key of `state`'s symmetry class for `CheckerBuilder::symmetry_fn` (used by `check`'s
/// DFS): a state with no actors, no messages and no timers whose history holds only
/// [`class_fingerprint`]. It is not a state of the system: stateright's DFS only hashes what
/// the symmetry function returns. (The explorer, BFS and simulation never call it.)
pub fn class_key(state: &State) -> State {
    State {
        actor_states: Vec::new(),
        network: Network::new_unordered_duplicating([]),
        timers_set: Vec::new(),
        random_choices: Vec::new(),
        crashed: Vec::new(),
        actor_storages: Vec::new(),
        history: History::class_key(class_fingerprint(state)),
    }
}
