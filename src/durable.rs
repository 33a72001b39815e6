//! The persistent state of Figure 2 ("updated on stable storage before responding to RPCs"):
//! `current_term`, `voted_for` and `log`. Nothing else survives a restart.

use crate::effect::Effect;
use crate::ids::{NodeId, Term};
use crate::log::Log;
use serde::{Deserialize, Serialize};
use std::fmt;

/// The state a node must find again after a crash (Figure 2).
///
/// A driver keeps a copy of it by applying the node's persist effects in order:
///
/// ```
/// use refraft::{DurableState, Effect, Entry, NodeId};
/// let mut disk: DurableState<String> = DurableState::default();
/// disk.apply::<()>(&Effect::PersistHardState { current_term: 2, voted_for: Some(NodeId(1)) });
/// disk.apply::<()>(&Effect::PersistEntries { first_index: 1, entries: [Entry::noop(2)].into() });
/// assert_eq!((disk.current_term, disk.log.last_index()), (2, 1));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct DurableState<C> {
    /// The latest term this server has seen (§5.1).
    pub current_term: Term,
    /// The candidate that received this server's vote in `current_term`, if any (§5.2).
    pub voted_for: Option<NodeId>,
    /// The log (§5.3).
    pub log: Log<C>,
}

impl<C> Default for DurableState<C> {
    fn default() -> Self {
        DurableState {
            current_term: 0,
            voted_for: None,
            log: Log::default(),
        }
    }
}

/// Why durable state read back from storage cannot be trusted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DurableError {
    /// An entry's term is above `current_term`: a server only stores entries of terms it has seen.
    EntryFromFutureTerm {
        /// The entry's index.
        index: u64,
        /// Its term.
        term: Term,
    },
    /// Terms decrease along the log; leaders of growing terms append, so they cannot.
    TermsDecrease {
        /// The index where the term drops.
        index: u64,
    },
}

impl fmt::Display for DurableError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DurableError::EntryFromFutureTerm { index, term } => {
                write!(
                    f,
                    "entry {index} has term {term}, above the stored current term"
                )
            }
            DurableError::TermsDecrease { index } => write!(f, "log terms decrease at {index}"),
        }
    }
}

impl std::error::Error for DurableError {}

impl<C: Clone> DurableState<C> {
    /// Applies one effect to this copy: persist effects change it, others are ignored. Returns
    /// whether the effect was a persist effect.
    pub fn apply<R>(&mut self, effect: &Effect<C, R>) -> bool {
        match effect {
            Effect::PersistHardState {
                current_term,
                voted_for,
            } => {
                self.current_term = *current_term;
                self.voted_for = *voted_for;
                true
            }
            Effect::PersistEntries {
                first_index,
                entries,
            } => {
                self.log.truncate_from(*first_index);
                self.log.extend_from_slice(entries);
                true
            }
            _ => false,
        }
    }
}

impl<C> DurableState<C> {
    /// Checks what must hold of any state this implementation writes.
    pub fn validate(&self) -> Result<(), DurableError> {
        let mut prev = 0;
        for (i, e) in self.log.entries().iter().enumerate() {
            let index = i as u64 + 1;
            if e.term > self.current_term {
                return Err(DurableError::EntryFromFutureTerm {
                    index,
                    term: e.term,
                });
            }
            if e.term < prev {
                return Err(DurableError::TermsDecrease { index });
            }
            prev = e.term;
        }
        Ok(())
    }
}
