//! The persistent state of Figure 2 ("updated on stable storage before responding to RPCs"):
//! `current_term`, `voted_for` and `log`. Nothing else survives a restart.

use crate::config::Config;
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
    /// `current_term` is `u64::MAX`: a node never adopts a term it cannot increment.
    TermTooLarge,
    /// A vote in term 0: no election happens in term 0 (§5.2: a candidate first increments).
    VoteInTermZero,
    /// `voted_for` is not a member of the cluster.
    VoteForNonMember(NodeId),
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
            DurableError::TermTooLarge => write!(f, "current term is u64::MAX"),
            DurableError::VoteInTermZero => write!(f, "a vote in term 0"),
            DurableError::VoteForNonMember(n) => write!(f, "voted for {n}, not a member"),
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
    /// Checks what must hold of any state this implementation writes, and that `voted_for` is
    /// one of `config`'s members. `Node::new` runs it.
    ///
    /// ```
    /// use refraft::{Config, DurableError, DurableState, NodeId};
    /// let config = Config::new(NodeId(1), vec![NodeId(1), NodeId(2)]).unwrap();
    /// let mut d: DurableState<String> = DurableState { current_term: 1, voted_for: Some(NodeId(2)), ..Default::default() };
    /// assert_eq!(d.validate_for(&config), Ok(()));
    /// d.voted_for = Some(NodeId(9));
    /// assert_eq!(d.validate_for(&config), Err(DurableError::VoteForNonMember(NodeId(9))));
    /// ```
    pub fn validate_for(&self, config: &Config) -> Result<(), DurableError> {
        self.validate()?;
        match self.voted_for {
            Some(n) if !config.members().contains(&n) => Err(DurableError::VoteForNonMember(n)),
            _ => Ok(()),
        }
    }

    /// Checks what must hold of any state this implementation writes: terms along the log
    /// never decrease nor exceed `current_term`, `current_term` can still be incremented, and
    /// there is no vote in term 0. Membership of `voted_for` needs the configuration:
    /// [`DurableState::validate_for`].
    ///
    /// ```
    /// use refraft::{DurableError, DurableState, NodeId};
    /// let mut d: DurableState<String> = DurableState::default();
    /// assert_eq!(d.validate(), Ok(()));
    /// d.voted_for = Some(NodeId(1));
    /// assert_eq!(d.validate(), Err(DurableError::VoteInTermZero));
    /// d.current_term = u64::MAX;
    /// assert_eq!(d.validate(), Err(DurableError::TermTooLarge));
    /// ```
    pub fn validate(&self) -> Result<(), DurableError> {
        if self.current_term == Term::MAX {
            return Err(DurableError::TermTooLarge);
        }
        if self.current_term == 0 && self.voted_for.is_some() {
            return Err(DurableError::VoteInTermZero);
        }
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
