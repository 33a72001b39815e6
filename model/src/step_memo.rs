//! The memo of a server state's unchanged steps: which inputs leave that server state exactly
//! as it is, and what the step sends and arms all the same.
//!
//! A server state is shared (`Shared<ServerState>`) by every system state in which that server
//! has not moved since, and stateright asks each of those system states to deliver every
//! message in flight and fire every armed timer. On the duplicating network most of those
//! deliveries are re-deliveries that the node ignores: the same `(server state, input)` pair is
//! stepped again and again, each time with a clone of the node, a `Node::step`, a comparison
//! with the old state and a drop. A step is a function of the server state, the actor's id, the
//! model's [`ServerSetup`] and the input alone, so its outcome can be remembered beside the
//! state. Only unchanged outcomes are remembered (they hold no server state, so the memo keeps
//! no other state alive), and only while unchanged steps are reported as no step
//! ([`crate::server::StutterSteps`]): a remembered step is replayed exactly, commands included,
//! so the checker sees the same transitions and counts the same states.

use crate::actor::{ModelTimer, RaftActor};
use crate::msg::Msg;
use crate::server::{ServerSetup, Stored};
use crate::shared::Shared;
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

/// One remembered unchanged step.
#[derive(Debug)]
struct Remembered {
    id: Id,
    input: StepInput,
    setup: ServerSetup,
    commands: Vec<Replay>,
}

/// The unchanged steps of one server state (see the module's documentation). Part of the
/// state's allocation but not of its value: equal to every other memo, hashed as nothing, and
/// cloned empty (a copy of the state may be changed).
#[derive(Default)]
pub struct StepMemo {
    steps: Mutex<Vec<Remembered>>,
}

impl StepMemo {
    /// If `input` to actor `id` with `setup` is remembered as an unchanged step, pushes its
    /// commands into `o` (which must be empty) and returns true.
    pub fn replay(
        &self,
        setup: &ServerSetup,
        id: Id,
        input: &StepInput,
        o: &mut Out<RaftActor>,
    ) -> bool {
        let steps = self.steps.lock().unwrap_or_else(|e| e.into_inner());
        let Some(step) = steps
            .iter()
            .find(|s| s.input == *input && s.id == id && s.setup == *setup)
        else {
            return false;
        };
        for c in &step.commands {
            match c {
                Replay::Send(dst, msg) => o.send(*dst, msg.clone()),
                Replay::SetTimer(t, range) => o.set_timer(t.clone(), range.clone()),
                Replay::CancelTimer(t) => o.cancel_timer(t.clone()),
                Replay::Save(s) => o.save(s.clone()),
            }
        }
        true
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
            .find(|s| s.input == *input && s.id == id && s.setup == *setup)
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
                        msg: msg.clone(),
                    };
                    if !matches!(msg, Msg::Raft(_) | Msg::Reply { .. }) || !in_flight.contains(&sent)
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

    /// Remembers that `input` to actor `id` with `setup` left the state unchanged and output
    /// `o` (everything the step output: `o` was empty before it).
    pub fn record(&self, setup: &ServerSetup, id: Id, input: StepInput, o: &Out<RaftActor>) {
        let mut commands = Vec::with_capacity(o.len());
        for c in o.iter() {
            commands.push(match c {
                Command::Send(dst, msg) => Replay::Send(*dst, msg.clone()),
                Command::SetTimer(t, range) => Replay::SetTimer(t.clone(), range.clone()),
                Command::CancelTimer(t) => Replay::CancelTimer(t.clone()),
                Command::Save(s) => Replay::Save(s.clone()),
                // The model makes no random choices; a step that did is not remembered.
                Command::ChooseRandom(..) => return,
            });
        }
        let mut steps = self.steps.lock().unwrap_or_else(|e| e.into_inner());
        if steps.len() < CAPACITY {
            steps.push(Remembered {
                id,
                input,
                setup: setup.clone(),
                commands,
            });
        }
    }

    /// How many unchanged steps are remembered.
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
