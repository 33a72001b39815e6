//! Client linearizability: every client invocation and answer is recorded in stateright's
//! `LinearizabilityTester`, checked against a sequential key-value store.

use crate::msg::Msg;
use refraft::{ClientResponse, KvCommand, KvOutput, KvStore, StateMachine, Term};
use stateright::actor::{Envelope, Id};
use stateright::semantics::{ConsistencyTester, LinearizabilityTester, SequentialSpec};
use stateright::{Rewrite, RewritePlan};
use std::collections::{BTreeMap, BTreeSet};

/// The sequential specification: the core's own key-value store, applied one command at a time.
///
/// ```
/// use refraft_model::KvSpec;
/// use stateright::semantics::SequentialSpec;
/// let mut kv = KvSpec::default();
/// kv.invoke(&"SET x=1".parse().unwrap());
/// assert_eq!(kv.invoke(&"GET x".parse().unwrap()), refraft::KvOutput::Value(Some("1".into())));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct KvSpec(KvStore);

impl SequentialSpec for KvSpec {
    type Op = KvCommand;
    type Ret = KvOutput;
    fn invoke(&mut self, op: &KvCommand) -> KvOutput {
        self.0.apply(op)
    }
}

/// The model's auxiliary history: client operations as the clients saw them.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct History {
    /// Invocations and returns per client.
    pub tester: LinearizabilityTester<Id, KvSpec>,
    /// The highest serial each client has invoked (a retry re-sends a serial: one invocation).
    invoked: BTreeMap<Id, u64>,
    /// The highest serial each client has seen answered (a duplicated answer: one return).
    returned: BTreeMap<Id, u64>,
    /// Whether `tester` is linearizable, decided when the history changes (on an invocation
    /// or a return) rather than at every state the property is checked in: the tester's
    /// search backtracks and costs more with every operation.
    linearizable: bool,
    /// With leases (`--pre-vote --check-quorum --reads lease`): the terms in which some server
    /// became a real candidate while no live leader held a lease. A leased leader deposed into
    /// such a term lost a race that began before its lease; into any other term, it was
    /// disrupted (the property "a leader with a live majority is not disrupted"). Terms only,
    /// so the symmetry rewrite leaves it as it is.
    pub unleased_candidacies: BTreeSet<Term>,
    /// `None` in every state of the system. In a symmetry class key (see
    /// [`crate::symmetry::class_key`]): the fingerprint of the class, which is all the key's
    /// hash then depends on.
    class: Option<u64>,
}

impl Default for History {
    fn default() -> Self {
        History {
            tester: LinearizabilityTester::new(KvSpec::default()),
            invoked: BTreeMap::new(),
            returned: BTreeMap::new(),
            linearizable: true,
            unleased_candidacies: BTreeSet::new(),
            class: None,
        }
    }
}

impl History {
    /// The history of a symmetry class key: empty, naming the class `fingerprint`.
    pub(crate) fn class_key(fingerprint: u64) -> Self {
        History {
            class: Some(fingerprint),
            ..History::default()
        }
    }

    /// Whether the recorded client history is linearizable.
    pub fn is_linearizable(&self) -> bool {
        self.linearizable
    }

    fn decide(mut self) -> Self {
        self.linearizable = self.tester.serialized_history().is_some();
        self
    }

    /// A client sent `msg`: a request with a new serial is an invocation.
    pub fn on_send<C>(_cfg: &C, history: &Self, env: Envelope<&Msg>) -> Option<Self> {
        let (Msg::Request(request) | Msg::Read(request)) = env.msg else {
            return None;
        };
        if history
            .invoked
            .get(&env.src)
            .is_some_and(|&s| s >= request.serial)
        {
            return None;
        }
        let mut h = history.clone();
        h.invoked.insert(env.src, request.serial);
        // An invocation while another is in flight marks the history invalid, which the
        // linearizability property then reports.
        let _ = h.tester.on_invoke(env.src, request.command.clone());
        Some(h.decide())
    }

    /// A client received `msg`: the first answer with its current serial is a return.
    pub fn on_receive<C>(_cfg: &C, history: &Self, env: Envelope<&Msg>) -> Option<Self> {
        let Msg::Reply { serial, response } = env.msg else {
            return None;
        };
        let ClientResponse::Applied(output) = &**response else {
            return None;
        };
        let current = history.invoked.get(&env.dst).copied().unwrap_or(0);
        if *serial != current
            || history
                .returned
                .get(&env.dst)
                .is_some_and(|&s| s >= *serial)
        {
            return None;
        }
        let mut h = history.clone();
        h.returned.insert(env.dst, *serial);
        let _ = h.tester.on_return(env.dst, output.clone());
        Some(h.decide())
    }
}

/// Client ids are never permuted by the model's symmetry reduction (client states order by
/// their own id, so sorting leaves them in place), and the history names only clients: the
/// rewrite is the identity.
impl Rewrite<Id> for History {
    fn rewrite<S>(&self, _plan: &RewritePlan<Id, S>) -> Self {
        self.clone()
    }
}
