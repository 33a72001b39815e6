//! The Figure 2 rules one server's steps show: terms, votes, the persistence boundary, commits
//! and applies.

use super::cluster::Cluster;
use super::reads::ReadTrack;
use super::runs::Runs;
use super::{Findings, TraceRule};
use crate::trace::format::{Kind, Msg, StateView, Step, StepEffect, TraceRole};

/// Why a step cannot be taken as a step of its server.
pub(crate) enum StepShape {
    /// The server has no `init` line yet.
    NotStarted,
    /// `log_from` lies past the end of the server's log.
    LogGap { from: u64, len: u64 },
}
use std::collections::BTreeMap;

/// What the validator knows of one server.
#[derive(Debug, Default)]
pub(crate) struct ServerTrack {
    started: bool,
    /// What is on its disk: term, vote, log.
    disk_term: u64,
    disk_vote: Option<u64>,
    disk_log: Runs,
    /// Its log after its last step (the trace may give only what changed).
    pub(crate) log: Runs,
    /// The vote it gave in each term (from its states and its granted votes).
    votes: BTreeMap<u64, u64>,
    /// The last (term, vote) of its states taken into `votes`.
    last_vote: Option<(u64, u64)>,
    /// The state after its last step in this life (what the checks compare with).
    last: Option<Last>,
    /// As leader: the highest `match_index` each peer acknowledged in the current term.
    acks: BTreeMap<u64, u64>,
    acks_term: u64,
    /// Its reads (dissertation §6.4).
    reads: ReadTrack,
}

/// What the checks need of a server's previous state.
#[derive(Clone, Copy, Debug)]
struct Last {
    term: u64,
    commit: u64,
    applied: u64,
}

impl ServerTrack {
    /// Checks one step; `Err` if the server has not started, or the step's log cannot be
    /// applied to the server's log.
    pub(crate) fn check(
        &mut self,
        step: &Step,
        cluster: &mut Cluster,
        f: &mut Findings,
    ) -> Result<(), StepShape> {
        match step.kind {
            Kind::Init => {
                // Whatever the server starts with (a scenario's prepared disk) is on disk.
                self.started = true;
                self.last = None;
                self.disk_term = step.state.term;
                self.disk_vote = step.state.vote;
                self.disk_log = Runs::from_counts(&step.state.log);
            }
            Kind::Restart => {
                if !self.started {
                    return Err(StepShape::NotStarted);
                }
                self.last = None;
            }
            _ if !self.started => return Err(StepShape::NotStarted),
            _ => {}
        }
        let fresh = matches!(step.kind, Kind::Init | Kind::Restart);
        if fresh {
            self.log = Runs::default();
        }
        let from = step.state.log_from.max(1);
        if from > self.log.len().saturating_add(1) {
            return Err(StepShape::LogGap {
                from,
                len: self.log.len(),
            });
        }
        self.log.truncate(from - 1);
        self.log.extend(&step.state.log);
        if step.kind == Kind::Restart {
            self.check_restart(&step.state, f);
        }
        self.note_ack(step);
        self.effects(step, f);
        self.check_state(step, fresh, cluster, f);
        self.reads.check(step, &self.log, cluster.majority(), f);
        self.last = Some(Last {
            term: step.state.term,
            commit: step.state.commit,
            applied: step.state.applied,
        });
        Ok(())
    }

    fn check_restart(&self, state: &StateView, f: &mut Findings) {
        // Figure 2: current_term, voted_for and log[] are what survives a crash.
        if state.term < self.disk_term {
            f.report(
                TraceRule::TermMonotonic,
                format!(
                    "restarted in term {} below the persisted term {}",
                    state.term, self.disk_term
                ),
            );
        } else if state.term == self.disk_term && state.vote != self.disk_vote {
            f.report(
                TraceRule::RestartFromDurable,
                format!(
                    "restarted with vote {:?}, persisted {:?} in term {}",
                    state.vote, self.disk_vote, state.term
                ),
            );
        }
        if self.log != self.disk_log {
            f.report(
                TraceRule::RestartFromDurable,
                format!(
                    "restarted with log {:?}, persisted {:?} (as [term, count] runs)",
                    self.log.counts(),
                    self.disk_log.counts()
                ),
            );
        }
    }

    /// An acknowledgement this (leader) server receives counts towards its commits.
    fn note_ack(&mut self, step: &Step) {
        let state = &step.state;
        if self.acks_term != state.term || state.role != TraceRole::Leader {
            self.acks.clear();
            self.acks_term = state.term;
        }
        if let (
            Some(from),
            Some(Msg::AppendEntriesResponse {
                term,
                success: true,
                match_index: Some(m),
                ..
            }),
        ) = (step.input.from, &step.input.msg)
        {
            if *term == state.term && state.role == TraceRole::Leader {
                let e = self.acks.entry(from).or_insert(0);
                *e = (*e).max(*m);
            }
        }
    }

    fn effects(&mut self, step: &Step, f: &mut Findings) {
        let me = step.node;
        let mut applied = self.last.as_ref().map_or(step.state.applied, |s| s.applied);
        if step.kind == Kind::Init || step.kind == Kind::Restart {
            applied = 0;
        }
        for effect in &step.effects {
            match effect {
                StepEffect::PersistHardState { term, vote } => {
                    if *term < self.disk_term {
                        f.report(
                            TraceRule::TermMonotonic,
                            format!("persisted term {term} below the stored {}", self.disk_term),
                        );
                    }
                    if *term == self.disk_term {
                        if let (Some(old), Some(new)) = (self.disk_vote, vote) {
                            if old != *new {
                                f.report(
                                    TraceRule::OneVotePerTerm,
                                    format!("persisted a vote for {new} in term {term}, which already stored a vote for {old}"),
                                );
                            }
                        }
                    }
                    self.disk_term = *term;
                    self.disk_vote = *vote;
                }
                StepEffect::PersistLog { from, entries } => {
                    let keep = from.saturating_sub(1);
                    let stored = self.disk_log.len();
                    if keep > stored {
                        f.report(
                            TraceRule::PersistBeforeReveal,
                            format!(
                                "persisted entries from index {from} past the stored log of {stored} entries"
                            ),
                        );
                    }
                    self.disk_log.truncate(keep);
                    for &term in entries {
                        self.disk_log.push(term, 1);
                    }
                }
                StepEffect::Send { to, msg, .. } => self.check_send(me, *to, msg, f),
                StepEffect::Apply { index, term, .. } => {
                    if *index != applied.saturating_add(1) {
                        f.report(
                            TraceRule::ApplyInOrder,
                            format!("applied index {index} after {applied}"),
                        );
                    }
                    applied = *index;
                    if *index > step.state.commit {
                        f.report(
                            TraceRule::ApplyOnlyCommitted,
                            format!(
                                "applied index {index} with commit_index {}",
                                step.state.commit
                            ),
                        );
                    }
                    if self.log.term_at(*index) != Some(*term) {
                        f.report(
                            TraceRule::ApplyInOrder,
                            format!("applied index {index} as term {term}, not its log term"),
                        );
                    }
                }
                StepEffect::Reply { .. } => {}
            }
        }
    }

    /// Figure 2: a message never reveals a term, vote or entry that is not yet on disk.
    fn check_send(&mut self, me: u64, to: u64, msg: &Msg, f: &mut Findings) {
        let pre_vote = matches!(
            msg,
            Msg::RequestVote { pre_vote: true, .. }
                | Msg::RequestVoteResponse { pre_vote: true, .. }
        );
        if !pre_vote && msg.term() > self.disk_term {
            f.report(
                TraceRule::PersistBeforeReveal,
                format!(
                    "sent term {} to {to} with term {} on disk",
                    msg.term(),
                    self.disk_term
                ),
            );
        }
        match msg {
            Msg::RequestVote {
                term,
                pre_vote: false,
                ..
            } if self.disk_vote != Some(me) || self.disk_term != *term => f.report(
                TraceRule::PersistBeforeReveal,
                format!("asked for votes in term {term} before persisting its own vote"),
            ),
            Msg::RequestVoteResponse {
                term,
                granted: true,
                pre_vote: false,
            } => {
                if self.disk_vote != Some(to) || self.disk_term != *term {
                    f.report(
                        TraceRule::PersistBeforeReveal,
                        format!(
                            "granted its vote in term {term} to {to} before persisting it (disk: term {}, vote {:?})",
                            self.disk_term, self.disk_vote
                        ),
                    );
                }
                self.vote(*term, to, f);
            }
            Msg::AppendEntriesResponse {
                success: true,
                match_index: Some(m),
                ..
            } if *m > self.disk_log.len() => f.report(
                TraceRule::PersistBeforeReveal,
                format!(
                    "acknowledged index {m} with {} entries on disk",
                    self.disk_log.len()
                ),
            ),
            _ => {}
        }
    }

    fn vote(&mut self, term: u64, candidate: u64, f: &mut Findings) {
        match self.votes.get(&term) {
            Some(&v) if v != candidate => f.report(
                TraceRule::OneVotePerTerm,
                format!("voted for {candidate} in term {term}, after voting for {v}"),
            ),
            _ => {
                self.votes.insert(term, candidate);
            }
        }
    }

    fn check_state(&mut self, step: &Step, fresh: bool, cluster: &mut Cluster, f: &mut Findings) {
        let state = &step.state;
        if state.term < self.disk_term {
            f.report(
                TraceRule::TermMonotonic,
                format!(
                    "in term {} with term {} on disk",
                    state.term, self.disk_term
                ),
            );
        }
        if let Some(v) = state.vote {
            // A vote already recorded needs no second look (most lines repeat the last one).
            if self.last_vote != Some((state.term, v)) {
                self.vote(state.term, v, f);
                if self.votes.get(&state.term) == Some(&v) {
                    self.last_vote = Some((state.term, v));
                }
            }
        }
        let Some(last) = self.last.as_ref() else {
            return;
        };
        if state.term < last.term {
            f.report(
                TraceRule::TermMonotonic,
                format!("term went from {} to {}", last.term, state.term),
            );
        }
        if state.commit < last.commit && !fresh {
            f.report(
                TraceRule::CommitMonotonic,
                format!("commit_index went from {} to {}", last.commit, state.commit),
            );
        }
        if state.role == TraceRole::Leader {
            for (peer, m) in &state.r#match {
                let acked = self.acks.get(peer).copied().unwrap_or(0);
                if *m > acked {
                    f.report(
                        TraceRule::MatchFromAck,
                        format!("match_index[{peer}] = {m}, but {peer} acknowledged only {acked} in term {}", state.term),
                    );
                }
            }
        }
        if state.commit > last.commit {
            self.check_commit(step, last.commit, cluster, f);
        }
    }

    fn check_commit(&self, step: &Step, old: u64, cluster: &Cluster, f: &mut Findings) {
        let state = &step.state;
        let c = state.commit;
        if state.role == TraceRole::Leader {
            // §5.4.2: a leader commits index c only if log[c] is of its current term ...
            if self.log.term_at(c) != Some(state.term) {
                f.report(
                    TraceRule::CommitCurrentTerm,
                    format!(
                        "leader of term {} committed index {c} of term {:?}",
                        state.term,
                        self.log.term_at(c)
                    ),
                );
            }
            // ... and a majority (itself with the entry on disk) acknowledged it (§5.3).
            let own = u64::from(self.disk_log.len() >= c);
            let acked = self.acks.values().filter(|&&m| m >= c).count() as u64;
            if own + acked < cluster.majority() {
                f.report(
                    TraceRule::LeaderCommitQuorum,
                    format!(
                        "committed index {c} with {} of {} servers acknowledging it in term {}",
                        own + acked,
                        cluster.size(),
                        state.term
                    ),
                );
            }
            return;
        }
        // Figure 2, AppendEntries 5: a follower moves its commit only on an AppendEntries of
        // the current term, to at most min(leader_commit, index of the last new entry).
        match &step.input.msg {
            Some(Msg::AppendEntries {
                term,
                prev_log_index,
                entries,
                leader_commit,
                ..
            }) if *term == state.term => {
                let last_new = prev_log_index.saturating_add(entries.len() as u64);
                if c > *leader_commit.min(&last_new) {
                    f.report(
                        TraceRule::FollowerCommitBound,
                        format!(
                            "commit_index {old} -> {c} on leader_commit {leader_commit}, last new entry {last_new}"
                        ),
                    );
                }
            }
            _ => f.report(
                TraceRule::FollowerCommitBound,
                format!(
                    "commit_index {old} -> {c} without an AppendEntries of term {}",
                    state.term
                ),
            ),
        }
    }
}
