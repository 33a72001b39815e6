//! Reachability properties latched once reached, for exhaustive checks.
//!
//! stateright's checkers evaluate every `sometimes` property on every state, also after it was
//! reached, and record each state where it holds again as its discovery (a `DashMap` insert and
//! a copy of the path). With the latch on ([`RaftModel::with_reached_latch`]), a reachability
//! property that held once reads as false from then on: the first discovery stands (with BFS the
//! shortest path, with DFS the first one found), and the condition is no longer evaluated. The
//! verdicts cannot change: a property reached stays reached, one never reached was never true.
//! The latch is for a checker run only: it makes a `sometimes` condition depend on the states
//! evaluated before, so the explorer and a test evaluating a condition on one state leave it off.
//!
//! ```
//! use refraft_model::{properties, RaftModel, Settings};
//! use stateright::{Checker, Model};
//! let settings = Settings { servers: 1, max_crashes: 0, ..Settings::default() };
//! let latched = RaftModel::new(settings.clone()).unwrap().with_reached_latch();
//! let checker = latched.checker().spawn_bfs().join();
//! checker.assert_properties();
//! assert!(checker.discovery(properties::LEADER_ELECTED).is_some());
//! ```
//!
//! [`RaftModel::with_reached_latch`]: crate::RaftModel::with_reached_latch

use std::sync::atomic::{AtomicBool, Ordering};

/// One flag per reachability property of a model.
#[derive(Debug, Default)]
pub struct Reached {
    flags: Vec<(&'static str, AtomicBool)>,
}

impl Reached {
    /// Flags for the properties named, none reached yet.
    pub fn new(names: impl IntoIterator<Item = &'static str>) -> Self {
        Reached {
            flags: names
                .into_iter()
                .map(|n| (n, AtomicBool::new(false)))
                .collect(),
        }
    }

    /// Whether `name` is to be evaluated: `false` once it was reached (`None` when `name` has
    /// no flag here: always evaluated).
    fn flag(&self, name: &str) -> Option<&AtomicBool> {
        self.flags
            .iter()
            .find(|(n, _)| std::ptr::eq(*n, name) || *n == name)
            .map(|(_, f)| f)
    }

    /// `condition()`, unless `name` was reached before: then `false` without evaluating it.
    /// A `true` latches `name`.
    pub fn check(&self, name: &str, condition: impl FnOnce() -> bool) -> bool {
        let Some(flag) = self.flag(name) else {
            return condition();
        };
        if flag.load(Ordering::Relaxed) {
            return false;
        }
        let holds = condition();
        if holds {
            flag.store(true, Ordering::Relaxed);
        }
        holds
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_condition_reads_true_once_then_false_without_being_evaluated() {
        let reached = Reached::new(["a", "b"]);
        assert!(!reached.check("a", || false));
        assert!(reached.check("a", || true));
        assert!(!reached.check("a", || panic!("not evaluated once reached")));
        assert!(reached.check("b", || true), "each name has its own flag");
        assert!(
            reached.check("c", || true) && reached.check("c", || true),
            "unflagged"
        );
    }
}
