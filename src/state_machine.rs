//! The application a log drives, and the client sessions in front of it that make retried
//! requests take effect once (dissertation §6.3).

use crate::ids::ClientId;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::cmp::Ordering;
use std::collections::btree_map::Entry;
use std::collections::BTreeMap;
use std::fmt::Debug;
use std::hash::Hash;

/// A deterministic state machine (§5, "replicated state machines"): the same commands in the
/// same order give the same outputs and the same state on every server.
///
/// ```
/// use refraft::StateMachine;
/// #[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
/// struct Counter(u64);
/// impl StateMachine for Counter {
///     type Command = u64;
///     type Output = u64;
///     fn apply(&mut self, add: &u64) -> u64 { self.0 += add; self.0 }
/// }
/// let mut c = Counter::default();
/// assert_eq!(c.apply(&2), 2);
/// ```
pub trait StateMachine: Clone + Debug + Eq + Ord + Hash {
    /// What a log entry asks the machine to do.
    type Command: Clone + Debug + Eq + Ord + Hash + Serialize + DeserializeOwned;
    /// What applying a command answers.
    type Output: Clone + Debug + Eq + Ord + Hash + Serialize + DeserializeOwned;
    /// Applies one committed command. Must be deterministic.
    fn apply(&mut self, command: &Self::Command) -> Self::Output;
    /// Answers `command` from the current state without changing it, if it is a read-only
    /// query; `None` if it must go through the log. Reads served this way (`Input::Read`,
    /// dissertation §6.4) take no log entry. A machine that leaves this out has no queries:
    /// every command goes through the log.
    fn query(&self, command: &Self::Command) -> Option<Self::Output> {
        let _ = command;
        None
    }
}

/// The last request applied for one client, and its output (dissertation §6.3).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Session<R> {
    /// The highest serial applied for this client.
    pub last_serial: u64,
    /// The output of that request, replayed to a retry.
    pub last_output: R,
}

/// What the session table says of a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SessionCheck<'a, R> {
    /// A new request: apply it.
    New,
    /// A retry of the last applied request: answer with its recorded output.
    Duplicate(&'a R),
    /// Older than the last applied request: its output is gone.
    Expired,
}

/// What applying a log entry's command did (dissertation §6.3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Outcome<'a, R> {
    /// A new request, applied now: its output.
    New(R),
    /// A retry of the last applied request, not applied again: its recorded output.
    Duplicate(&'a R),
    /// Older than the last applied request, not applied: its output is gone.
    Expired,
}

/// A state machine behind a table of client sessions: each (client, serial) is applied at most
/// once, however often it appears in the log (dissertation §6.3). The table is part of the
/// replicated state: every server builds the same one from the same log.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct SessionMachine<M: StateMachine> {
    machine: M,
    sessions: BTreeMap<ClientId, Session<M::Output>>,
}

impl<M: StateMachine> SessionMachine<M> {
    /// Wraps a fresh state machine with an empty session table.
    pub fn new(machine: M) -> Self {
        SessionMachine {
            machine,
            sessions: BTreeMap::new(),
        }
    }

    /// The application state.
    pub fn machine(&self) -> &M {
        &self.machine
    }

    /// Answers a read-only query from the current state (dissertation §6.4), or `None` if the
    /// machine does not answer `command` as a query.
    pub fn query(&self, command: &M::Command) -> Option<M::Output> {
        self.machine.query(command)
    }

    /// The session table.
    pub fn sessions(&self) -> &BTreeMap<ClientId, Session<M::Output>> {
        &self.sessions
    }

    /// Whether `(client, serial)` is new, a duplicate or expired.
    pub fn check(&self, client: ClientId, serial: u64) -> SessionCheck<'_, M::Output> {
        match self.sessions.get(&client) {
            None => SessionCheck::New,
            Some(s) if serial > s.last_serial => SessionCheck::New,
            Some(s) if serial == s.last_serial => SessionCheck::Duplicate(&s.last_output),
            Some(_) => SessionCheck::Expired,
        }
    }

    /// Applies `command` for `(client, serial)` unless it was applied before. Returns the output
    /// if the command was applied now, `None` if it was a duplicate or expired.
    pub fn apply(
        &mut self,
        client: ClientId,
        serial: u64,
        command: &M::Command,
    ) -> Option<M::Output> {
        match self.apply_once(client, serial, command) {
            Outcome::New(output) => Some(output),
            Outcome::Duplicate(_) | Outcome::Expired => None,
        }
    }

    /// Applies `command` for `(client, serial)` unless the session table says it was applied
    /// before: [`SessionMachine::check`] and [`SessionMachine::apply_new`] with one search of
    /// the table.
    pub(crate) fn apply_once(
        &mut self,
        client: ClientId,
        serial: u64,
        command: &M::Command,
    ) -> Outcome<'_, M::Output> {
        let SessionMachine { machine, sessions } = self;
        match sessions.entry(client) {
            Entry::Occupied(session) => {
                let s = session.into_mut();
                match serial.cmp(&s.last_serial) {
                    Ordering::Less => Outcome::Expired,
                    Ordering::Equal => Outcome::Duplicate(&s.last_output),
                    Ordering::Greater => {
                        let output = machine.apply(command);
                        s.last_serial = serial;
                        s.last_output.clone_from(&output);
                        Outcome::New(output)
                    }
                }
            }
            Entry::Vacant(slot) => {
                let output = machine.apply(command);
                slot.insert(Session {
                    last_serial: serial,
                    last_output: output.clone(),
                });
                Outcome::New(output)
            }
        }
    }

    /// Applies `command` and records it as the last request of `client`, for a request the
    /// caller found new (`check` said [`SessionCheck::New`]).
    pub(crate) fn apply_new(
        &mut self,
        client: ClientId,
        serial: u64,
        command: &M::Command,
    ) -> M::Output {
        let output = self.machine.apply(command);
        // A known client's session is updated where it is, without a second search.
        match self.sessions.get_mut(&client) {
            Some(session) => {
                session.last_serial = serial;
                session.last_output.clone_from(&output);
            }
            None => {
                self.sessions.insert(
                    client,
                    Session {
                        last_serial: serial,
                        last_output: output.clone(),
                    },
                );
            }
        }
        output
    }
}
