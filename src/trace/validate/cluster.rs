//! The properties of Figure 3 across the servers' observed states: one leader per term, Log
//! Matching, Leader Append-Only, Leader Completeness and State Machine Safety.

use super::runs::Runs;
use super::{Findings, TraceRule};
use crate::trace::format::{Step, StepEffect, TraceRole};
use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasherDefault, Hasher};

/// A map keyed by a term, an index or a server id: hashed by one multiply-xorshift round
/// (SipHash, the default, costs more than the rest of a line's lookup).
type IdMap<V> = HashMap<u64, V, BuildHasherDefault<IdHasher>>;

/// The hasher of [`IdMap`]: the splitmix64 finalizer of the key.
#[derive(Default)]
struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        let mut z = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 ^= n;
    }
}

/// What the validator knows of the cluster as a whole.
#[derive(Debug)]
pub(crate) struct Cluster {
    size: usize,
    /// The leader of each term seen.
    leaders: IdMap<u64>,
    /// Where each term's entries begin in every log that holds one, and the term before it
    /// (§5.3: a leader creates at most one entry per index in its term, so all logs with an
    /// entry of term t agree on where t begins; with the term before, that fixes the prefix).
    term_starts: IdMap<(u64, u64)>,
    /// The longest committed prefix seen.
    committed: Runs,
    /// For Leader Completeness: the highest index known committed by a server in term t.
    commits_by_term: BTreeMap<u64, u64>,
    /// The highest commit of the terms below a leader's term, for the last term asked about:
    /// `(term, max over commits_by_term of terms < term)`, kept up to date as commits grow,
    /// so that a leader's line costs O(1) rather than a walk over every earlier term.
    below: Option<(u64, u64)>,
    /// The last term whose entry of `commits_by_term` was looked up, with that entry: a commit
    /// of that term no higher leaves both maps as they are (most lines repeat a commit).
    last_commit: Option<(u64, u64)>,
    /// What was applied at each index: (term, digest).
    applied: IdMap<(u64, Option<String>)>,
    /// Each leader's term, last index and last term at its last step, for Leader Append-Only.
    leader_logs: IdMap<(u64, u64, u64)>,
}

impl Cluster {
    pub(crate) fn new(size: usize) -> Self {
        Cluster {
            size,
            leaders: IdMap::default(),
            term_starts: IdMap::default(),
            committed: Runs::default(),
            commits_by_term: BTreeMap::new(),
            below: None,
            last_commit: None,
            applied: IdMap::default(),
            leader_logs: IdMap::default(),
        }
    }

    pub(crate) fn size(&self) -> usize {
        self.size
    }

    pub(crate) fn majority(&self) -> u64 {
        self.size as u64 / 2 + 1
    }

    /// Takes in the state after `step`; `log` is the server's whole log, changed from index
    /// `changed_from` on.
    pub(crate) fn observe(&mut self, step: &Step, log: &Runs, changed_from: u64, f: &mut Findings) {
        let state = &step.state;
        self.log_matching(log, changed_from, f);
        if state.role == TraceRole::Leader {
            self.election_safety(step.node, state.term, f);
            self.append_only(step.node, state.term, log, f);
            self.completeness(state.term, log, f);
        } else {
            self.leader_logs.remove(&step.node);
        }
        self.commit(state.term, state.commit, log, f);
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

    /// The runs that begin at or after `from` begin where every other log puts their term.
    fn log_matching(&mut self, log: &Runs, from: u64, f: &mut Findings) {
        if from > log.len() {
            // No run begins at or after `from` (and an empty log has none).
            return;
        }
        for (term, start, before) in log.starts_from(from) {
            if term < before {
                f.report(
                    TraceRule::LogMatching,
                    format!("log terms go down from {before} to {term} at index {start}"),
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
        }
    }

    fn append_only(&mut self, node: u64, term: u64, log: &Runs, f: &mut Findings) {
        if let Some(&(t, len, last)) = self.leader_logs.get(&node) {
            // With Log Matching (checked above), the same term at the old last index means the
            // old log is a prefix of the new one.
            if t == term && log.term_at(len) != Some(last) {
                f.report(
                    TraceRule::LeaderAppendOnly,
                    format!(
                        "the leader of term {term} had {len} entries (the last of term {last}); now {} (term {:?} at {len})",
                        log.len(),
                        log.term_at(len)
                    ),
                );
            }
        }
        let len = log.len();
        let last = log.term_at(len).unwrap_or(0);
        self.leader_logs.insert(node, (term, len, last));
    }

    fn completeness(&mut self, term: u64, log: &Runs, f: &mut Findings) {
        let c = match self.below {
            Some((t, c)) if t == term => c,
            _ => {
                let c = self.commits_by_term.range(..term).map(|(_, &c)| c).max();
                let c = c.unwrap_or(0);
                self.below = Some((term, c));
                c
            }
        };
        let want = self.committed.term_at(c);
        if c > 0 && log.term_at(c) != want {
            f.report(
                TraceRule::LeaderCompleteness,
                format!(
                    "the leader of term {term} lacks committed index {c} (term {want:?}, it has {:?})",
                    log.term_at(c)
                ),
            );
        }
    }

    fn commit(&mut self, term: u64, commit: u64, log: &Runs, f: &mut Findings) {
        if commit == 0 {
            return;
        }
        let known = self.committed.len();
        // Committed prefixes agree: with Log Matching, comparing the last common index is
        // enough.
        let i = commit.min(known);
        if log.term_at(i) != self.committed.term_at(i) {
            f.report(
                TraceRule::StateMachineSafety,
                format!(
                    "commits index {i} of term {:?}, committed elsewhere as term {:?}",
                    log.term_at(i),
                    self.committed.term_at(i)
                ),
            );
            return;
        }
        let end = commit.min(log.len());
        if end > known {
            log.copy_range(known, end, &mut self.committed);
        }
        if matches!(self.last_commit, Some((t, c)) if t == term && commit <= c) {
            // `commits_by_term[term]` already holds at least `commit`, and so does `below`
            // if `term` is below its term (it took that entry in when it was made or grew).
            return;
        }
        let e = self.commits_by_term.entry(term).or_insert(0);
        *e = (*e).max(commit);
        self.last_commit = Some((term, *e));
        if let Some((t, c)) = self.below.as_mut() {
            if term < *t {
                *c = (*c).max(commit);
            }
        }
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
