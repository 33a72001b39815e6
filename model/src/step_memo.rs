//! The memo of a server state's steps: what each input does to that very server state, so
//! that stepping it again is a lookup.
//!
//! A server state is shared (`Shared<ServerState>`) by every system state in which that server
//! has not moved since, and stateright asks each of those system states to deliver every
//! message in flight and fire every armed timer. The same `(server state, input)` pair is then
//! stepped again and again, each time with a clone of the node, a `Node::step`, a comparison
//! with the old state, a hash of the new one and a drop; on the duplicating network most of
//! those steps are re-deliveries that the node ignores. A step is a function of the server
//! state, the actor's id, the model's [`ServerSetup`] and the input alone, so its outcome can
//! be remembered beside the state and replayed exactly, commands included: the checker sees
//! the same transitions and counts the same states.
//!
//! A changed outcome is remembered by a weak reference ([`WeakShared`]): the memo keeps no
//! other server state alive, and a successor that was dropped meanwhile is stepped again.
//! Unchanged outcomes are remembered only while unchanged steps are reported as no step
//! ([`crate::server::StutterSteps`]); without stutter pruning nothing is remembered.

use crate::actor::{ModelTimer, RaftActor};
use crate::msg::Msg;
use crate::server::{ServerSetup, ServerState, Stored};
use crate::shared::{Shared, WeakShared};
use stateright::actor::{Command, Envelope, Id, Out, Timers};
use stateright::util::HashableHashSet;
use std::ops::Range;
use std::sync::Mutex;
use std::time::Duration;

/// At most this many inputs are remembered per server state (a bound on memory whatever the
/// network holds; the default configuration stays well below it).
const CAPACITY: usize = 64;

/// An input to a server actor, as the memo's key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StepInput {
    /// A message delivered from `src`.
    Deliver {
        /// The sender.
        src: Id,
        /// The message.
        msg: Msg,
    },
    /// A server timer fired.
    Timeout(refraft::Timer),
}

/// A command of a remembered step, replayed into the actor's `Out`.
#[derive(Clone, Debug)]
enum Replay {
    Send(Id, Msg),
    SetTimer(ModelTimer, Range<Duration>),
    CancelTimer(ModelTimer),
    Save(Shared<Stored>),
}

/// What a remembered step did to the server state.
#[derive(Debug)]
enum Outcome {
    /// Left it as it was.
    Unchanged,
    /// Made this state of it (if it is still alive).
    Changed(WeakShared<ServerState>),
}

/// What replaying a remembered step gives.
#[derive(Debug)]
pub enum Replayed {
    /// The server state is unchanged.
    Unchanged,
    /// The server's new state.
    Changed(Shared<ServerState>),
}

/// One remembered step.
#[derive(Debug)]
struct Remembered {
    id: Id,
    input: StepInput,
    setup: ServerSetup,
    outcome: Outcome,
    commands: Vec<Replay>,
}

impl Remembered {
    fn is(&self, setup: &ServerSetup, id: Id, input: &StepInput) -> bool {
        self.input == *input && self.id == id && self.setup == *setup
    }
}

/// The steps of one server state (see the module's documentation). Part of the
/// state's allocation but not of its value: equal to every other memo, hashed as nothing, and
/// cloned empty (a copy of the state may be changed).
#[derive(Default)]
pub struct StepMemo {
    steps: Mutex<Vec<Remembered>>,
}

impl StepMemo {
    /// If `input` to actor `id` with `setup` is remembered (and its outcome is still alive),
    /// pushes its commands into `o` (which must be empty) and returns what it did to the state.
    pub fn replay(
        &self,
        setup: &ServerSetup,
        id: Id,
        input: &StepInput,
        o: &mut Out<RaftActor>,
    ) -> Option<Replayed> {
        let steps = self.steps.lock().unwrap_or_else(|e| e.into_inner());
        let step = steps.iter().find(|s| s.is(setup, id, input))?;
        let replayed = match &step.outcome {
            Outcome::Unchanged => Replayed::Unchanged,
            Outcome::Changed(next) => Replayed::Changed(next.upgrade()?),
        };
        for c in &step.commands {
            match c {
                Replay::Send(dst, msg) => o.send(*dst, *msg),
                Replay::SetTimer(t, range) => o.set_timer(t.clone(), range.clone()),
                Replay::CancelTimer(t) => o.cancel_timer(t.clone()),
                Replay::Save(s) => o.save(s.clone()),
            }
        }
        Some(replayed)
    }

    /// Whether `input` to actor `id` with `setup` is remembered as an unchanged step that
    /// changes nothing in a system state whose duplicating network holds `in_flight` and whose
    /// timers for `id` are `timers`: every message it sends is in flight already (from `id`,
    /// so the history, which records client requests only, is unchanged too), and the timers
    /// it sets and cancels end as they were (a fired timer is cancelled first, as stateright
    /// does). The step would then lead back to the same system state: no transition.
    /// `false` whenever in doubt (not remembered, a save, a client request sent).
    pub fn changes_nothing(
        &self,
        setup: &ServerSetup,
        id: Id,
        input: &StepInput,
        in_flight: &HashableHashSet<Envelope<Msg>>,
        timers: &Timers<ModelTimer>,
    ) -> bool {
        let steps = self.steps.lock().unwrap_or_else(|e| e.into_inner());
        let Some(step) = steps
            .iter()
            .find(|s| s.is(setup, id, input) && matches!(s.outcome, Outcome::Unchanged))
        else {
            return false;
        };
        let before: Vec<&ModelTimer> = timers.iter().collect();
        let mut after = before.clone();
        if let StepInput::Timeout(t) = input {
            after.retain(|&x| *x != ModelTimer::Server(*t));
        }
        for c in &step.commands {
            match c {
                Replay::Send(dst, msg) => {
                    let sent = Envelope {
                        src: id,
                        dst: *dst,
                        msg: *msg,
                    };
                    if !matches!(msg, Msg::Raft(_) | Msg::Reply { .. })
                        || !in_flight.contains(&sent)
                    {
                        return false;
                    }
                }
                Replay::SetTimer(t, _) => {
                    if !after.contains(&t) {
                        after.push(t);
                    }
                }
                Replay::CancelTimer(t) => after.retain(|&x| x != t),
                Replay::Save(_) => return false,
            }
        }
        after.len() == before.len() && before.iter().all(|t| after.contains(t))
    }

    /// Remembers that `input` to actor `id` with `setup` made `next` of the state (`None`:
    /// left it unchanged) and output `o` (everything the step output: `o` was empty before it).
    pub fn record(
        &self,
        setup: &ServerSetup,
        id: Id,
        input: StepInput,
        next: Option<&Shared<ServerState>>,
        o: &Out<RaftActor>,
    ) {
        let mut commands = Vec::with_capacity(o.len());
        for c in o.iter() {
            commands.push(match c {
                Command::Send(dst, msg) => Replay::Send(*dst, *msg),
                Command::SetTimer(t, range) => Replay::SetTimer(t.clone(), range.clone()),
                Command::CancelTimer(t) => Replay::CancelTimer(t.clone()),
                Command::Save(s) => Replay::Save(s.clone()),
                // The model makes no random choices; a step that did is not remembered.
                Command::ChooseRandom(..) => return,
            });
        }
        let outcome = match next {
            None => Outcome::Unchanged,
            Some(next) => Outcome::Changed(next.downgrade()),
        };
        let mut steps = self.steps.lock().unwrap_or_else(|e| e.into_inner());
        // A step remembered already had an outcome that was dropped since (or another thread
        // stepped it meanwhile): the new record replaces it.
        if let Some(step) = steps.iter_mut().find(|s| s.is(setup, id, &input)) {
            step.outcome = outcome;
            step.commands = commands;
        } else if steps.len() < CAPACITY {
            steps.push(Remembered {
                id,
                input,
                setup: setup.clone(),
                outcome,
                commands,
            });
        }
    }

    /// How many steps are remembered.
    pub fn len(&self) -> usize {
        self.steps.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Whether no step is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Clone for StepMemo {
    fn clone(&self) -> Self {
        StepMemo::default()
    }
}

impl PartialEq for StepMemo {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Eq for StepMemo {}

impl std::hash::Hash for StepMemo {
    fn hash<H: std::hash::Hasher>(&self, _: &mut H) {}
}

impl std::fmt::Debug for StepMemo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "StepMemo({} steps)", self.len())
    }
}
