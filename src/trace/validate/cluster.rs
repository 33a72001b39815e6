//! The properties of Figure 3 across the servers' observed states: one leader per term, Log
//! Matching, Leader Append-Only, Leader Completeness and State Machine Safety.

use super::{Findings, TraceRule};
use crate::trace::format::{push_run, runs_len, term_at, Step, StepEffect, TraceRole};
use std::collections::{BTreeMap, HashMap};

/// What the validator knows of the cluster as a whole.
#[derive(Debug)]
pub(crate) struct Cluster {
    size: usize,
    /// The leader of each term seen.
    leaders: HashMap<u64, u64>,
    /// Where each term's entries begin in every log that holds one, and the term before it
    /// (§5.3: a leader creates at most one entry per index in its term, so all logs with an
    /// entry of term t agree on where t begins; with the term before, that fixes the prefix).
    term_starts: HashMap<u64, (u64, u64)>,
    /// The longest committed prefix seen, as runs of terms.
    committed: Vec<(u64, u64)>,
    /// For Leader Completeness: the highest index known committed by a server in term t.
    commits_by_term: BTreeMap<u64, u64>,
    /// What was applied at each index: (term, digest).
    applied: HashMap<u64, (u64, Option<String>)>,
    /// The last state of each server as leader, for Leader Append-Only.
    leader_logs: HashMap<u64, (u64, Vec<(u64, u64)>)>,
}

impl Cluster {
    pub(crate) fn new(size: usize) -> Self {
        Cluster {
            size,
            leaders: HashMap::new(),
            term_starts: HashMap::new(),
            committed: Vec::new(),
            commits_by_term: BTreeMap::new(),
            applied: HashMap::new(),
            leader_logs: HashMap::new(),
        }
    }

    pub(crate) fn size(&self) -> usize {
        self.size
    }

    pub(crate) fn majority(&self) -> u64 {
        self.size as u64 / 2 + 1
    }

    pub(crate) fn observe(&mut self, step: &Step, f: &mut Findings) {
        let state = &step.state;
        self.log_matching(&state.log, f);
        if state.role == TraceRole::Leader {
            self.election_safety(step.node, state.term, f);
            self.append_only(step.node, state.term, &state.log, f);
            self.completeness(state.term, &state.log, f);
        } else {
            self.leader_logs.remove(&step.node);
        }
        self.commit(state.term, state.commit, &state.log, f);
        for effect in &step.effects {
            if let StepEffect::Apply {
                index,
                term,
                digest,
            } = effect
            {
                self.apply(*index, *term, digest, f);
            }
        }
    }

    fn election_safety(&mut self, node: u64, term: u64, f: &mut Findings) {
        match self.leaders.get(&term) {
            Some(&other) if other != node => f.report(
                TraceRule::ElectionSafety,
                format!("{node} leads term {term}, which {other} already led"),
            ),
            Some(_) => {}
            None => {
                self.leaders.insert(term, node);
            }
        }
    }

    fn log_matching(&mut self, log: &[(u64, u64)], f: &mut Findings) {
        let mut start = 1u64;
        let mut before = 0u64;
        for &(term, count) in log {
            if term < before || (term == before && start > 1) {
                f.report(
                    TraceRule::LogMatching,
                    format!("log terms go from {before} to {term} at index {start}"),
                );
            }
            match self.term_starts.get(&term) {
                Some(&(s, b)) if (s, b) != (start, before) => f.report(
                    TraceRule::LogMatching,
                    format!(
                        "term {term} begins at index {start} after term {before}, elsewhere at {s} after term {b}"
                    ),
                ),
                Some(_) => {}
                None => {
                    self.term_starts.insert(term, (start, before));
                }
            }
            start = start.saturating_add(count);
            before = term;
        }
    }

    fn append_only(&mut self, node: u64, term: u64, log: &[(u64, u64)], f: &mut Findings) {
        if let Some((t, old)) = self.leader_logs.get(&node) {
            if *t == term && !is_prefix(old, log) {
                f.report(
                    TraceRule::LeaderAppendOnly,
                    format!("the leader of term {term} changed its log from {old:?} to {log:?}"),
                );
            }
        }
        self.leader_logs.insert(node, (term, log.to_vec()));
    }

    fn completeness(&self, term: u64, log: &[(u64, u64)], f: &mut Findings) {
        let Some(c) = self.commits_by_term.range(..term).map(|(_, &c)| c).max() else {
            return;
        };
        if c == 0 {
            return;
        }
        let want = term_at(&self.committed, c);
        if term_at(log, c) != want {
            f.report(
                TraceRule::LeaderCompleteness,
                format!(
                    "the leader of term {term} lacks committed index {c} (term {want:?}, it has {:?})",
                    term_at(log, c)
                ),
            );
        }
    }

    fn commit(&mut self, term: u64, commit: u64, log: &[(u64, u64)], f: &mut Findings) {
        if commit == 0 {
            return;
        }
        let known = runs_len(&self.committed);
        if let Some((i, theirs, ours)) = first_difference(&self.committed, log, commit.min(known)) {
            f.report(
                TraceRule::StateMachineSafety,
                format!("commits index {i} of term {ours:?}, committed elsewhere as term {theirs}"),
            );
            return;
        }
        let end = commit.min(runs_len(log));
        if end > known {
            extend_from(&mut self.committed, log, known, end);
        }
        let e = self.commits_by_term.entry(term).or_insert(0);
        *e = (*e).max(commit);
    }

    fn apply(&mut self, index: u64, term: u64, digest: &Option<String>, f: &mut Findings) {
        match self.applied.get(&index) {
            Some((t, d)) => {
                if *t != term || (d.is_some() && digest.is_some() && d != digest) {
                    f.report(
                        TraceRule::StateMachineSafety,
                        format!(
                            "applied index {index} as term {term} {digest:?}, elsewhere as term {t} {d:?}"
                        ),
                    );
                }
            }
            None => {
                self.applied.insert(index, (term, digest.clone()));
            }
        }
    }
}

/// Whether run-length log `a` is a prefix of `b`.
fn is_prefix(a: &[(u64, u64)], b: &[(u64, u64)]) -> bool {
    if a.len() > b.len() {
        return false;
    }
    let Some((last, init)) = a.split_last() else {
        return true;
    };
    init == &b[..init.len()] && b[init.len()].0 == last.0 && b[init.len()].1 >= last.1
}

/// The first index in `1..=upto` where run-length logs `a` and `b` differ: (index, term in
/// `a`, term in `b` or `None` past its end). O(runs).
fn first_difference(
    a: &[(u64, u64)],
    b: &[(u64, u64)],
    upto: u64,
) -> Option<(u64, u64, Option<u64>)> {
    let (mut ia, mut ib) = (0usize, 0usize);
    let (mut left_a, mut left_b) = (0u64, 0u64);
    let mut index = 1u64;
    while index <= upto {
        while left_a == 0 {
            let &(_, n) = a.get(ia)?;
            left_a = n;
            ia += 1;
        }
        while left_b == 0 {
            match b.get(ib) {
                Some(&(_, n)) => {
                    left_b = n;
                    ib += 1;
                }
                None => return Some((index, a[ia - 1].0, None)),
            }
        }
        let (ta, tb) = (a[ia - 1].0, b[ib - 1].0);
        if ta != tb {
            return Some((index, ta, Some(tb)));
        }
        let step = left_a.min(left_b).min(upto - index + 1);
        left_a -= step;
        left_b -= step;
        if step == 0 || index.checked_add(step).is_none() {
            break;
        }
        index += step;
    }
    None
}

/// Appends to `to` the entries `from + 1..=end` of `log`.
fn extend_from(to: &mut Vec<(u64, u64)>, log: &[(u64, u64)], from: u64, end: u64) {
    let mut start = 1u64;
    for &(term, count) in log {
        let last = start.saturating_add(count).saturating_sub(1);
        let lo = start.max(from.saturating_add(1));
        let hi = last.min(end);
        if count > 0 && lo <= hi {
            push_run(to, term, hi - lo + 1);
        }
        if last >= end {
            break;
        }
        start = start.saturating_add(count);
    }
}
