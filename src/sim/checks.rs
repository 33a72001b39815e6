//! The 6.824 lab's checks as methods: one leader, no leader, agreeing terms, applied entries.

use super::{SimError, SimNode, Simulation};
use crate::ids::{Index, NodeId, Term};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

impl<N: SimNode> Simulation<N> {
    /// Waits (up to 10 × 500 ms) until exactly one connected server leads the newest term any
    /// connected server leads, and returns it (the 6.824 lab's `checkOneLeader`).
    pub fn check_one_leader(&mut self) -> Result<NodeId, SimError> {
        for _ in 0..10 {
            self.run_for(Duration::from_millis(500))?;
            let mut by_term: BTreeMap<Term, Vec<NodeId>> = BTreeMap::new();
            for id in self.connected_leaders() {
                let term = self.node(id).expect("up").current_term();
                by_term.entry(term).or_default().push(id);
            }
            if let Some((term, leaders)) = by_term.iter().next_back() {
                if leaders.len() > 1 {
                    return Err(self.fail(format!("term {term} has leaders {leaders:?}")));
                }
                return Ok(leaders[0]);
            }
        }
        Err(self.fail("no leader elected within 5 s"))
    }

    /// Fails if a connected server believes it leads (the 6.824 lab's `checkNoLeader`).
    pub fn check_no_leader(&self) -> Result<(), SimError> {
        match self.connected_leaders().first() {
            Some(id) => Err(self.fail(format!("{id} leads, but no majority is connected"))),
            None => Ok(()),
        }
    }

    /// The term every connected server is in; fails if they disagree (6.824's `checkTerms`).
    pub fn check_terms(&self) -> Result<Term, SimError> {
        let terms: BTreeSet<Term> = self
            .servers
            .iter()
            .filter(|s| !self.disconnected.contains(&s.id))
            .filter_map(|s| s.node.as_ref().map(|n| n.current_term()))
            .collect();
        match terms.len() {
            1 => Ok(*terms.iter().next().expect("one")),
            _ => Err(self.fail(format!("connected servers disagree on the term: {terms:?}"))),
        }
    }

    /// Waits up to `max` until at least `n` servers applied `index`; returns the entry.
    pub fn wait_applied(
        &mut self,
        index: Index,
        n: usize,
        max: Duration,
    ) -> Result<N::Entry, SimError> {
        if !self.run_until(max, |s| s.applied_count(index) >= n)? {
            return Err(self.fail(format!(
                "only {} servers applied index {index} within {max:?}, wanted {n}",
                self.applied_count(index)
            )));
        }
        Ok(self.applied_entry(index).expect("applied").clone())
    }
}
