//! Counterexamples as data: a path found by the checker is written as JSON (the settings, the
//! property and the steps) and replayed deterministically through the model, which drives the
//! unchanged core. `tests/counterexamples/` keeps them as regression tests.

use crate::actor::ModelTimer;
use crate::model::{Action, RaftModel, State};
use crate::msg::Msg;
use crate::settings::Settings;
use serde::{Deserialize, Serialize};
use stateright::actor::{ActorModelAction, Envelope, Id};
use stateright::{Expectation, Model, Path};
use std::fmt;

/// One step of a path, in a form that survives JSON.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Step {
    /// Deliver `msg` from actor `src` to actor `dst`.
    Deliver {
        /// Sender.
        src: usize,
        /// Receiver.
        dst: usize,
        /// The message.
        msg: Msg,
    },
    /// Lose `msg` (lossy networks only).
    Drop {
        /// Sender.
        src: usize,
        /// Receiver.
        dst: usize,
        /// The message.
        msg: Msg,
    },
    /// Fire `timer` at `actor`.
    Timeout {
        /// The actor.
        actor: usize,
        /// The timer.
        timer: ModelTimer,
    },
    /// Crash server `0`.
    Crash(usize),
    /// Restart server `0` from its durable state.
    Recover(usize),
}

impl Step {
    /// The step of a model action (`None` for stateright's random choices, which this model
    /// never makes).
    pub fn from_action(action: &Action) -> Option<Step> {
        Some(match action {
            ActorModelAction::Deliver { src, dst, msg } => Step::Deliver {
                src: usize::from(*src),
                dst: usize::from(*dst),
                msg: *msg,
            },
            ActorModelAction::Drop(env) => Step::Drop {
                src: usize::from(env.src),
                dst: usize::from(env.dst),
                msg: env.msg,
            },
            ActorModelAction::Timeout(id, timer) => Step::Timeout {
                actor: usize::from(*id),
                timer: timer.clone(),
            },
            ActorModelAction::Crash(id) => Step::Crash(usize::from(*id)),
            ActorModelAction::Recover(id) => Step::Recover(usize::from(*id)),
            ActorModelAction::SelectRandom { .. } => return None,
        })
    }

    /// The model action of this step.
    pub fn to_action(&self) -> Action {
        match self {
            Step::Deliver { src, dst, msg } => ActorModelAction::Deliver {
                src: Id::from(*src),
                dst: Id::from(*dst),
                msg: *msg,
            },
            Step::Drop { src, dst, msg } => ActorModelAction::Drop(Envelope {
                src: Id::from(*src),
                dst: Id::from(*dst),
                msg: *msg,
            }),
            Step::Timeout { actor, timer } => {
                ActorModelAction::Timeout(Id::from(*actor), timer.clone())
            }
            Step::Crash(id) => ActorModelAction::Crash(Id::from(*id)),
            Step::Recover(id) => ActorModelAction::Recover(Id::from(*id)),
        }
    }
}

/// A path to a property's discovery (a violation, or an example for "sometimes").
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counterexample {
    /// The model's settings.
    pub settings: Settings,
    /// The property's name.
    pub property: String,
    /// The steps from the initial state.
    pub steps: Vec<Step>,
}

/// Why a counterexample does not replay.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReplayError {
    /// The JSON text is not a counterexample.
    Json(String),
    /// The settings are out of range.
    Settings(String),
    /// The model has no property of this name.
    UnknownProperty(String),
    /// Step `index` (from 0) is not enabled in the state the earlier steps lead to.
    NotEnabled {
        /// The step's position.
        index: usize,
        /// The step, as `check` prints it.
        step: String,
        /// The steps that were enabled there.
        enabled: Vec<String>,
    },
    /// Step `index` changes nothing (stateright counts it as no step).
    NoOp {
        /// The step's position.
        index: usize,
    },
}

impl fmt::Display for ReplayError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReplayError::Json(e) => write!(f, "not a counterexample: {e}"),
            ReplayError::Settings(e) => write!(f, "bad settings: {e}"),
            ReplayError::UnknownProperty(p) => write!(f, "the model has no property {p:?}"),
            ReplayError::NotEnabled {
                index,
                step,
                enabled,
            } => {
                let place = match index {
                    0 => "in the initial state".to_string(),
                    i => format!("after step {i}"),
                };
                write!(
                    f,
                    "step {} is impossible: {step} is not enabled {place}; enabled there:",
                    index + 1
                )?;
                for e in enabled {
                    write!(f, "\n  {e}")?;
                }
                Ok(())
            }
            ReplayError::NoOp { index } => write!(f, "step {} changes nothing", index + 1),
        }
    }
}

impl std::error::Error for ReplayError {}

impl Counterexample {
    /// Records the path `path` found for `property` under `settings`. Steps that changed
    /// nothing, if any, are left out.
    pub fn from_path(settings: &Settings, property: &str, path: Path<State, Action>) -> Self {
        let pairs = path.into_vec();
        let steps = pairs
            .windows(2)
            .filter(|w| w[0].0 != w[1].0)
            .filter_map(|w| w[0].1.as_ref().and_then(Step::from_action))
            .collect();
        Counterexample {
            settings: settings.clone(),
            property: property.to_string(),
            steps,
        }
    }

    /// The counterexample as pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("counterexamples serialize")
    }

    /// Reads a counterexample from JSON.
    pub fn from_json(text: &str) -> Result<Self, ReplayError> {
        serde_json::from_str(text).map_err(|e| ReplayError::Json(e.to_string()))
    }

    /// Replays the steps from the initial state; every step must be enabled and change
    /// something. Returns the states along the path, the initial state first.
    pub fn replay(&self) -> Result<Vec<State>, ReplayError> {
        let model = RaftModel::new(self.settings.clone()).map_err(ReplayError::Settings)?;
        self.replay_on(&model)
    }

    /// [`Counterexample::replay`] on a model built from the same settings.
    pub fn replay_on(&self, model: &RaftModel) -> Result<Vec<State>, ReplayError> {
        let mut states = vec![model.init_states().remove(0)];
        let mut actions = Vec::new();
        for (index, step) in self.steps.iter().enumerate() {
            let last = states.last().expect("at least the initial state");
            let action = step.to_action();
            actions.clear();
            model.actions(last, &mut actions);
            if !actions.contains(&action) {
                return Err(ReplayError::NotEnabled {
                    index,
                    step: model.format_action(&action),
                    enabled: actions.iter().map(|a| model.format_action(a)).collect(),
                });
            }
            let next = model
                .next_state(last, action)
                .ok_or(ReplayError::NoOp { index })?;
            states.push(next);
        }
        Ok(states)
    }

    /// Whether the replayed path still shows the discovery: for an "always" property, the last
    /// state violates it; for "sometimes", the last state satisfies it.
    pub fn reproduces(&self) -> Result<bool, ReplayError> {
        let model = RaftModel::new(self.settings.clone()).map_err(ReplayError::Settings)?;
        let states = self.replay_on(&model)?;
        self.reproduces_on(&model, &states)
    }

    /// [`Counterexample::reproduces`] on the states [`Counterexample::replay_on`] returned.
    pub fn reproduces_on(&self, model: &RaftModel, states: &[State]) -> Result<bool, ReplayError> {
        let property = model
            .properties()
            .into_iter()
            .find(|p| p.name == self.property)
            .ok_or_else(|| ReplayError::UnknownProperty(self.property.clone()))?;
        let last = states.last().expect("at least the initial state");
        let holds = (property.condition)(model, last);
        Ok(match property.expectation {
            Expectation::Always => !holds,
            Expectation::Sometimes => holds,
            // An "eventually" counterexample ends in a terminal state where it never held.
            Expectation::Eventually => !states.iter().any(|s| (property.condition)(model, s)),
        })
    }
}

/// The path cut at its first state that shows `property`'s discovery: the first state that
/// violates an "always" property, or satisfies a "sometimes" one. stateright's checkers report
/// the path of the state where they noticed the discovery, which can lie past the first such
/// state (its BFS hands out work in batches). "Eventually" paths are returned whole.
pub fn first_discovery(
    model: &RaftModel,
    property: &str,
    path: Path<State, Action>,
) -> Path<State, Action> {
    let Some(p) = model.properties().into_iter().find(|p| p.name == property) else {
        return path;
    };
    let shows = |s: &State| match p.expectation {
        Expectation::Always => !(p.condition)(model, s),
        Expectation::Sometimes => (p.condition)(model, s),
        Expectation::Eventually => false,
    };
    let pairs = path.clone().into_vec();
    let Some(first) = pairs.iter().position(|(s, _)| shows(s)) else {
        return path;
    };
    if first + 1 == pairs.len() {
        return path;
    }
    let actions: Vec<Action> = pairs[..first]
        .iter()
        .filter_map(|(_, a)| a.clone())
        .collect();
    Path::from_actions(model, pairs[0].0.clone(), &actions).unwrap_or(path)
}
