//! Seeded mid-run search: a scripted prefix is replayed through the model from the real initial
//! state, and its end state becomes the single initial state of an ordinary exhaustive (BFS or
//! DFS) search with every property. The search then spends its whole budget below the prefix's
//! end, where the hard rules of Raft matter (several terms, divergent logs), instead of on the
//! many short interleavings that lead there.
//!
//! Soundness: the prefix is replayed action by action, each action checked to be enabled, so its
//! end state is a state of the model reachable from the real initial state, and every path the
//! seeded search finds, prefixed by the prefix's steps, is a real path from the initial state
//! ([`Prefix::full_counterexample`]); it replays unchanged with `replay` and in
//! `model/tests/counterexamples.rs`. What it cannot find: a violation whose path does not pass
//! through the prefix's end state. A seeded search that holds proves nothing about the states
//! off the prefix. And a prefix must be *rule-neutral*: [`Prefix::check_neutral`] replays it with
//! the rule kept and checks that every step is still enabled and no "always" property fails on
//! it, and that the broken rule changes nothing observable along it (the same messages, history
//! and server and client states as with the rule broken), so the prefix is a correct run and the
//! broken rule shows only in the suffix.
//!
//! A prefix is read from a kept counterexample (JSON; optionally only its first steps) or from a
//! scenario: one step per line, written as `check` and `replay` print steps
//! (`n0 timeout Server(Election)`, `n0 → n1 RV t1 last=0/0`); a leading step number and blank or
//! `#` comment lines are ignored.
//!
//! ```
//! use refraft_model::seeded::Prefix;
//! use refraft_model::{RaftModel, Settings};
//! use stateright::{Checker, Model};
//! let settings = Settings { max_term: 1, max_crashes: 0, ..Settings::default() };
//! let model = RaftModel::new(settings.clone()).unwrap();
//! let prefix = Prefix::from_scenario(&model, "1. n0 timeout Server(Election)\n").unwrap();
//! prefix.check_neutral(&settings).unwrap();
//! let seeded = prefix.seeded_model(settings).unwrap();
//! let checker = seeded.checker().spawn_bfs().join();
//! checker.assert_no_discovery("election safety");
//! ```

use crate::counterexample::{Counterexample, ReplayError, Step};
use crate::model::{Action, RaftModel, State};
use crate::settings::Settings;
use stateright::{Expectation, Model, Path};
use std::fmt;

/// Why a prefix cannot seed a search.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PrefixError {
    /// A scenario line names no step enabled at that point.
    UnknownStep {
        /// The line's number in the file (from 1).
        line: usize,
        /// The line.
        text: String,
        /// The steps that were enabled there, as `check` prints them.
        enabled: Vec<String>,
    },
    /// The prefix does not replay (a step is not enabled or changes nothing).
    Replay(ReplayError),
    /// The prefix's end state is outside the bounds of the settings.
    OutOfBounds(String),
    /// The prefix is not a correct run with the rule kept: a step needs the broken rule, or an
    /// "always" property fails on it.
    NotNeutral(String),
    /// The settings are out of range.
    Settings(String),
}

impl fmt::Display for PrefixError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PrefixError::UnknownStep {
                line,
                text,
                enabled,
            } => {
                write!(f, "line {line}: {text:?} is not enabled there; enabled:")?;
                for e in enabled {
                    write!(f, "\n  {e}")?;
                }
                Ok(())
            }
            PrefixError::Replay(e) => write!(f, "the prefix does not replay: {e}"),
            PrefixError::OutOfBounds(e) => write!(f, "the prefix's end state: {e}"),
            PrefixError::NotNeutral(e) => write!(f, "the prefix is not rule-neutral: {e}"),
            PrefixError::Settings(e) => write!(f, "bad settings: {e}"),
        }
    }
}

impl std::error::Error for PrefixError {}

/// A scripted run from the initial state, whose end state seeds a search.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Prefix {
    /// The steps from the real initial state.
    pub steps: Vec<Step>,
}

impl Prefix {
    /// Reads a prefix from a file's text: a counterexample's JSON (its first `take` steps, or
    /// all), else a scenario resolved against `model` (see [`Prefix::from_scenario`]).
    pub fn parse(model: &RaftModel, text: &str, take: Option<usize>) -> Result<Self, PrefixError> {
        let mut prefix = if text.trim_start().starts_with('{') {
            let cx = Counterexample::from_json(text).map_err(PrefixError::Replay)?;
            Prefix { steps: cx.steps }
        } else {
            Self::from_scenario(model, text)?
        };
        if let Some(n) = take {
            prefix.steps.truncate(n);
        }
        Ok(prefix)
    }

    /// Resolves a scenario, one step per line in the form `check` prints it, against the
    /// steps `model` enables along the way. A leading `12.` and surrounding blanks are
    /// ignored, as are blank lines and lines starting with `#`.
    pub fn from_scenario(model: &RaftModel, text: &str) -> Result<Self, PrefixError> {
        let mut state = model.init_states().remove(0);
        let mut steps = Vec::new();
        let mut actions = Vec::new();
        for (number, raw) in text.lines().enumerate() {
            let line = strip_number(raw.trim());
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            actions.clear();
            model.actions(&state, &mut actions);
            let found = actions
                .iter()
                .find(|a| model.format_action(a) == line)
                .cloned();
            let Some(action) = found else {
                return Err(PrefixError::UnknownStep {
                    line: number + 1,
                    text: line.to_string(),
                    enabled: actions.iter().map(|a| model.format_action(a)).collect(),
                });
            };
            let step = Step::from_action(&action).ok_or_else(|| PrefixError::UnknownStep {
                line: number + 1,
                text: line.to_string(),
                enabled: Vec::new(),
            })?;
            state =
                model
                    .next_state(&state, action)
                    .ok_or(PrefixError::Replay(ReplayError::NoOp {
                        index: steps.len(),
                    }))?;
            steps.push(step);
        }
        Ok(Prefix { steps })
    }

    /// The states along the prefix under `model`, the initial state first.
    pub fn replay(&self, model: &RaftModel) -> Result<Vec<State>, PrefixError> {
        let cx = Counterexample {
            settings: model.settings.clone(),
            property: String::new(),
            steps: self.steps.clone(),
        };
        cx.replay_on(model).map_err(PrefixError::Replay)
    }

    /// Checks that the prefix is a correct run with the rule kept, on which the broken rule
    /// changes nothing: replayed under `settings` without its broken rule, every step is
    /// enabled, every state is within the bounds, no "always" property fails at any state along
    /// it, and (if a rule is broken) every state has the same messages in flight, the same
    /// client history and the same servers and clients (role, term, vote, log, commit index,
    /// applied index, as `replay` shows them) as the replay with the rule broken.
    pub fn check_neutral(&self, settings: &Settings) -> Result<(), PrefixError> {
        let kept = Settings {
            broken_rule: None,
            ..settings.clone()
        };
        let model = RaftModel::new(kept).map_err(PrefixError::Settings)?;
        let states = self
            .replay(&model)
            .map_err(|e| PrefixError::NotNeutral(e.to_string()))?;
        let always: Vec<_> = model
            .properties()
            .into_iter()
            .filter(|p| p.expectation == Expectation::Always)
            .collect();
        for (i, state) in states.iter().enumerate() {
            if !model.within_boundary(state) {
                return Err(PrefixError::NotNeutral(format!(
                    "after step {i} the state is outside the bounds"
                )));
            }
            if let Some(p) = always.iter().find(|p| !(p.condition)(&model, state)) {
                return Err(PrefixError::NotNeutral(format!(
                    "{:?} fails after step {i} with the rule kept",
                    p.name
                )));
            }
        }
        if settings.broken_rule.is_none() {
            return Ok(());
        }
        let broken = RaftModel::new(settings.clone()).map_err(PrefixError::Settings)?;
        let broken_states = self.replay(&broken)?;
        for (i, (k, b)) in states.iter().zip(&broken_states).enumerate() {
            let actors = |m: &RaftModel, s: &State| -> Vec<String> {
                (0..s.actor_states.len())
                    .map(|a| crate::summary::actor(m, s, a))
                    .collect()
            };
            let same = k.network == b.network
                && k.history == b.history
                && k.crashed == b.crashed
                && actors(&model, k) == actors(&broken, b);
            if !same {
                return Err(PrefixError::NotNeutral(format!(
                    "after step {i} the broken rule has changed the run"
                )));
            }
        }
        Ok(())
    }

    /// The model of `settings` seeded with the prefix's end state (replayed under `settings`,
    /// broken rule included).
    pub fn seeded_model(&self, settings: Settings) -> Result<RaftModel, PrefixError> {
        let model = RaftModel::new(settings).map_err(PrefixError::Settings)?;
        let end = self
            .replay(&model)?
            .pop()
            .expect("at least the initial state");
        model
            .with_initial_state(end)
            .map_err(PrefixError::OutOfBounds)
    }

    /// The full path of a discovery of the seeded search: the prefix's steps, then `suffix`'s
    /// (a path of the seeded model, which starts at the prefix's end state). The result starts
    /// at the real initial state and replays with an unseeded model of `settings`.
    pub fn full_counterexample(
        &self,
        settings: &Settings,
        property: &str,
        suffix: Path<State, Action>,
    ) -> Counterexample {
        let tail = Counterexample::from_path(settings, property, suffix);
        let mut steps = self.steps.clone();
        steps.extend(tail.steps);
        Counterexample {
            settings: settings.clone(),
            property: property.to_string(),
            steps,
        }
    }
}

/// `line` without a leading step number (`12.`).
fn strip_number(line: &str) -> &str {
    match line.split_once(". ") {
        Some((n, rest)) if !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()) => rest.trim(),
        _ => line,
    }
}
