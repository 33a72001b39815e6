//! The safety properties of Figure 3, checked after every step of a simulation:
//!
//! - **Election Safety** (§5.2): at most one leader per term. Every election ever seen is
//!   remembered, so a second leader of an old term is caught even after the first one crashed.
//! - **Leader Append-Only** (§5.3): a leader never overwrites or deletes entries of its log.
//! - **Log Matching** (§5.3): checked by its inductive form. Whenever an entry is stored, the pair
//!   (index, term) must always name the same entry *and* the same term at `index - 1`. Two logs
//!   holding the same term at an index then hold the same entry there and, by induction, the same
//!   prefix: exactly Log Matching.
//! - **Leader Completeness** (§5.4): a new leader of term `t` holds every entry committed in a
//!   term below `t`, hence every entry acknowledged to a client before. An entry counts as
//!   committed in term `u` when it is first applied by a server whose `current_term` is `u` (an
//!   upper bound of the term it was committed in); only entries with `u < t` are checked, so the
//!   check never blames a leader elected late by old, delayed votes.
//! - **State Machine Safety** (§5.4.3): no two servers apply different entries at one index. What
//!   was applied at each index is remembered across crashes.

use super::SimNode;
use crate::ids::{ClientId, Index, NodeId, Term};
use crate::kv::KvStore;
use crate::node::Node;
use std::collections::{BTreeMap, HashMap};
use std::fmt;

/// What the checker remembers of a whole run, for servers of implementation `N` (refraft's own
/// by default): it reads them only through [`SimNode`].
///
/// ```
/// use refraft::sim::SafetyChecker;
/// let checker: SafetyChecker = SafetyChecker::default();
/// assert!(checker.elections().is_empty());
/// ```
pub struct SafetyChecker<N: SimNode = Node<KvStore>> {
    elections: BTreeMap<Term, NodeId>,
    applied: BTreeMap<Index, (N::Entry, Term)>,
    stored: HashMap<(Index, Term), (Term, N::Entry)>,
    first_applied_at: HashMap<(ClientId, u64), Index>,
    acknowledged: BTreeMap<(ClientId, u64), Index>,
}

impl<N: SimNode> Default for SafetyChecker<N> {
    fn default() -> Self {
        SafetyChecker {
            elections: BTreeMap::new(),
            applied: BTreeMap::new(),
            stored: HashMap::new(),
            first_applied_at: HashMap::new(),
            acknowledged: BTreeMap::new(),
        }
    }
}

impl<N: SimNode> Clone for SafetyChecker<N> {
    fn clone(&self) -> Self {
        SafetyChecker {
            elections: self.elections.clone(),
            applied: self.applied.clone(),
            stored: self.stored.clone(),
            first_applied_at: self.first_applied_at.clone(),
            acknowledged: self.acknowledged.clone(),
        }
    }
}

impl<N: SimNode> fmt::Debug for SafetyChecker<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SafetyChecker")
            .field("elections", &self.elections)
            .field("applied", &self.applied)
            .field("acknowledged", &self.acknowledged)
            .finish_non_exhaustive()
    }
}

impl<N: SimNode> SafetyChecker<N> {
    /// Every election seen: the leader of each term that had one.
    pub fn elections(&self) -> &BTreeMap<Term, NodeId> {
        &self.elections
    }

    /// What was applied at each index (by any server, ever), with the `current_term` of the
    /// first server that applied it.
    pub fn applied(&self) -> &BTreeMap<Index, (N::Entry, Term)> {
        &self.applied
    }

    /// The requests acknowledged to clients as applied, with the index they were applied at.
    pub fn acknowledged(&self) -> &BTreeMap<(ClientId, u64), Index> {
        &self.acknowledged
    }

    /// The index at which request `(client, serial)` was first applied, if it was.
    pub fn applied_index_of(&self, client: ClientId, serial: u64) -> Option<Index> {
        self.first_applied_at.get(&(client, serial)).copied()
    }

    /// Checks a node after a step. `changed_from` is the first log index the step rewrote, if
    /// any: only entries from there on need the Log Matching check.
    pub fn check_node(&mut self, node: &N, changed_from: Option<Index>) -> Result<(), String> {
        if let Some(from) = changed_from {
            for index in from.max(1)..=node.last_index() {
                let entry = node.entry(index).expect("index within the log");
                let term = N::entry_term(entry);
                let prev_term = node.term_at(index - 1).expect("index within the log");
                match self.stored.get(&(index, term)) {
                    Some((p, e)) if *p != prev_term || e != entry => {
                        return Err(format!(
                            "Log Matching violated at {}: index {index} term {} holds {entry:?} \
                             after term {prev_term}, but another log holds {e:?} after term {p}",
                            node.id(),
                            term
                        ));
                    }
                    Some(_) => {}
                    None => {
                        self.stored
                            .insert((index, term), (prev_term, entry.clone()));
                    }
                }
            }
        }
        if node.is_leader() {
            let term = node.current_term();
            match self.elections.get(&term) {
                Some(&other) if other != node.id() => {
                    return Err(format!(
                        "Election Safety violated: {} and {other} both lead term {term}",
                        node.id()
                    ));
                }
                Some(_) => {}
                None => {
                    self.elections.insert(term, node.id());
                    // §5.4: Leader Completeness, checked once per election.
                    for (&index, (entry, committed_by)) in &self.applied {
                        if *committed_by < term && node.entry(index) != Some(entry) {
                            let what = if self.acknowledged.values().any(|&i| i == index) {
                                "an entry acknowledged to a client"
                            } else {
                                "a committed entry"
                            };
                            return Err(format!(
                                "Leader Completeness violated: {} leads term {term} without \
                                 {what} at index {index} ({entry:?}); it holds {:?}",
                                node.id(),
                                node.entry(index)
                            ));
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// Records that `node` applied the entry at `index` (of `term`), and checks State Machine
    /// Safety against every entry ever applied at that index.
    pub fn record_apply(&mut self, node: &N, index: Index, term: Term) -> Result<(), String> {
        let Some(entry) = node.entry(index) else {
            return Err(format!(
                "{} applied index {index} beyond its log",
                node.id()
            ));
        };
        if N::entry_term(entry) != term {
            return Err(format!(
                "{} reported applying term {term} at {index} but holds term {}",
                node.id(),
                N::entry_term(entry)
            ));
        }
        match self.applied.get(&index) {
            Some((e, _)) if e != entry => Err(format!(
                "State Machine Safety violated: {} applied {entry:?} at index {index}, \
                 another server applied {e:?}",
                node.id()
            )),
            Some(_) => Ok(()),
            None => {
                if let Some(request) = N::client_request(entry) {
                    self.first_applied_at
                        .entry((request.client, request.serial))
                        .or_insert(index);
                }
                self.applied
                    .insert(index, (entry.clone(), node.current_term()));
                Ok(())
            }
        }
    }

    /// Records that `(client, serial)` was acknowledged as applied. It must have been applied.
    pub fn record_ack(&mut self, client: ClientId, serial: u64) -> Result<Index, String> {
        match self.first_applied_at.get(&(client, serial)) {
            Some(&index) => {
                self.acknowledged.insert((client, serial), index);
                Ok(index)
            }
            None => Err(format!(
                "request {client}#{serial} acknowledged but never applied"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::{Entry, Log};
    use crate::{Config, DurableState, Input, NodeEffects, Timer};

    /// A one-server cluster `id` that elects itself, starting from `term`.
    fn lone_leader(id: u64, term: Term) -> Node<KvStore> {
        let config = Config::new(NodeId(id), vec![NodeId(id)]).unwrap();
        let disk = DurableState {
            current_term: term,
            ..DurableState::default()
        };
        let mut out = NodeEffects::<KvStore>::new();
        let mut node = Node::new(config, disk, KvStore::default(), &mut out).unwrap();
        node.step(Input::Timeout(Timer::Election), &mut out)
            .unwrap();
        node
    }

    #[test]
    fn two_leaders_of_one_term_are_caught() {
        let mut checker: SafetyChecker = SafetyChecker::default();
        checker.check_node(&lone_leader(1, 0), Some(1)).unwrap();
        let err = checker.check_node(&lone_leader(2, 0), None).unwrap_err();
        assert!(err.contains("Election Safety"), "{err}");
    }

    #[test]
    fn different_entries_applied_at_one_index_are_caught() {
        let mut checker: SafetyChecker = SafetyChecker::default();
        checker.record_apply(&lone_leader(1, 0), 1, 1).unwrap();
        let err = checker.record_apply(&lone_leader(2, 4), 1, 5).unwrap_err();
        assert!(err.contains("State Machine Safety"), "{err}");
    }

    #[test]
    fn same_index_and_term_with_different_histories_are_caught() {
        let mut checker: SafetyChecker = SafetyChecker::default();
        // Both logs hold term 5 at index 2, after different terms at index 1.
        let a = Log::from_entries(vec![Entry::noop(1), Entry::noop(5)]);
        let b = Log::from_entries(vec![Entry::noop(2), Entry::noop(5)]);
        for (id, log) in [(1, a), (2, b)] {
            let config = Config::new(NodeId(id), vec![NodeId(1), NodeId(2)]).unwrap();
            let disk = DurableState {
                current_term: 5,
                voted_for: None,
                log,
            };
            let node = Node::new(
                config,
                disk,
                KvStore::default(),
                &mut NodeEffects::<KvStore>::new(),
            )
            .unwrap();
            let result = checker.check_node(&node, Some(1));
            if id == 2 {
                assert!(result.unwrap_err().contains("Log Matching"));
            } else {
                result.unwrap();
            }
        }
    }

    #[test]
    fn a_leader_missing_a_committed_entry_is_caught() {
        let mut checker: SafetyChecker = SafetyChecker::default();
        checker.record_apply(&lone_leader(1, 0), 1, 1).unwrap();
        // A leader of a later term whose log lacks index 1 of term 1.
        let err = checker.check_node(&lone_leader(2, 4), None).unwrap_err();
        assert!(err.contains("Leader Completeness"), "{err}");
    }
}
