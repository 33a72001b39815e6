//! Log replication (§5.3) and the commit rule (§5.4.2).

use crate::config::{Config, RejectHint, Rule};
use crate::effect::{Effect, Effects};
use crate::entries::Entries;
use crate::error::StepError;
use crate::ids::{Index, NodeId, Term};
use crate::log::Log;
use crate::message::{AppendEntries, AppendEntriesResponse, AppendResult, ConflictHint, Message};
use crate::node::{Node, NodeEffects, Role};
use crate::progress::{Flow, Progress};
use crate::quorum::{majority_index, MatchTracker};
use crate::state_machine::StateMachine;
use std::collections::BTreeMap;

/// Builds the AppendEntries of one step. Requests that carry the same entries share one
/// [`Entries`]: the batch just persisted, or what the previous follower was sent.
struct Sender<'a, C> {
    log: &'a Log<C>,
    config: &'a Config,
    term: Term,
    leader_commit: Index,
    shared: Option<(Index, Entries<C>)>,
}

impl<C: Clone> Sender<'_, C> {
    /// The entries from `first` on, at most `max_entries_per_append` of them.
    fn entries(&mut self, first: Index) -> Entries<C> {
        let slice = self
            .log
            .entries_from(first, self.config.max_entries_per_append);
        if let Some((at, shared)) = &self.shared {
            if *at == first && shared.len() == slice.len() {
                return shared.clone();
            }
        }
        let entries: Entries<C> = slice.into();
        self.shared = Some((first, entries.clone()));
        entries
    }

    /// §5.3: one AppendEntries to `to` after `prev_log_index`, with the entry there as the
    /// consistency check.
    fn send<R>(
        &self,
        to: NodeId,
        prev_log_index: Index,
        entries: Entries<C>,
        out: &mut Effects<C, R>,
    ) {
        out.push(Effect::Send {
            to,
            message: Message::AppendEntries(AppendEntries {
                term: self.term,
                prev_log_index,
                prev_log_term: self.log.term_at(prev_log_index).unwrap_or(0),
                entries,
                leader_commit: self.leader_commit,
            }),
        });
    }

    /// One heartbeat request to `to` (§5.2): a probe is re-sent; in Replicate, entries waiting
    /// for room are sent if the window has room, and otherwise an empty request after
    /// `next_index - 1`.
    fn heartbeat<R>(&mut self, to: NodeId, p: &mut Progress, out: &mut Effects<C, R>) {
        p.on_heartbeat();
        if !self.fill(to, p, out) {
            let prev_log_index = p.next_index.saturating_sub(1).min(self.log.last_index());
            self.send(to, prev_log_index, Entries::default(), out);
        }
    }

    /// Whether `p`'s flow state lets a request go out now: in Probe, none is unanswered; in
    /// Replicate, the window has room and there are entries from `next_index` on.
    #[inline]
    fn may_send(&self, p: &Progress) -> bool {
        p.may_send(self.config.max_in_flight_appends)
            && (p.flow == Flow::Probe || p.next_index <= self.log.last_index())
    }

    /// Sends `to` what its flow state allows (dissertation §10.2): in Probe one request from
    /// `next_index` (entries or none); in Replicate, while the window has room, the entries
    /// from `next_index` on. Returns whether anything was sent.
    #[inline]
    fn fill<R>(&mut self, to: NodeId, p: &mut Progress, out: &mut Effects<C, R>) -> bool {
        // Checked here first, inline: with a full window (the common case under load) nothing
        // more is done.
        if !self.may_send(p) {
            return false;
        }
        self.send_allowed(to, p, out);
        true
    }

    /// The sending of [`Sender::fill`], once a request may go out.
    fn send_allowed<R>(&mut self, to: NodeId, p: &mut Progress, out: &mut Effects<C, R>) {
        let last_index = self.log.last_index();
        while self.may_send(p) {
            // next_index stays within 1..=last_index+1, so prev_log_index is in the log.
            let prev_log_index = p.next_index.saturating_sub(1).min(last_index);
            let entries = self.entries(prev_log_index + 1);
            let last_sent = prev_log_index + entries.len() as Index;
            self.send(to, prev_log_index, entries, out);
            p.record_send(prev_log_index, last_sent, self.config);
            if p.flow == Flow::Probe {
                break;
            }
        }
    }
}

/// A leader's progress per follower.
type Followers = BTreeMap<NodeId, Progress>;

impl<M: StateMachine> Node<M> {
    fn sender(
        &mut self,
        shared: Option<(Index, Entries<M::Command>)>,
    ) -> Option<(Sender<'_, M::Command>, &mut Followers)> {
        let Role::Leader { progress } = &mut self.role else {
            return None;
        };
        let sender = Sender {
            log: &self.durable.log,
            config: &self.config,
            term: self.durable.current_term,
            leader_commit: self.commit_index,
            shared,
        };
        Some((sender, progress))
    }

    /// Sends every follower what its flow state allows (§5.3, dissertation §10.2). `fresh` is
    /// the batch just appended, shared with every request that carries exactly it.
    pub(crate) fn replicate(
        &mut self,
        fresh: Option<(Index, Entries<M::Command>)>,
        out: &mut NodeEffects<M>,
    ) {
        if let Some((mut sender, progress)) = self.sender(fresh) {
            for (&peer, p) in progress.iter_mut() {
                sender.fill(peer, p, out);
            }
        }
    }

    /// §5.3: sends `peer` what its flow state allows (dissertation §10.2): after an answer from
    /// it, or to a leadership transfer's target.
    pub(crate) fn send_append_entries(&mut self, peer: NodeId, out: &mut NodeEffects<M>) {
        if let Some((mut sender, progress)) = self.sender(None) {
            if let Some(p) = progress.get_mut(&peer) {
                sender.fill(peer, p, out);
            }
        }
    }

    /// §5.2: the leader's periodic heartbeat, an AppendEntries to every follower. A probe is
    /// re-sent (it may have been lost); in Replicate, entries waiting for room are sent if the
    /// window has room, and otherwise an empty request after `next_index - 1`: a follower that
    /// lost a request of the window rejects it, which sends the leader back to probing.
    pub(crate) fn heartbeat(&mut self, out: &mut NodeEffects<M>) {
        if let Some((mut sender, progress)) = self.sender(None) {
            for (&peer, p) in progress.iter_mut() {
                sender.heartbeat(peer, p, out);
            }
        }
    }

    /// The heartbeat's request to `peer` alone: a leadership transfer's target gets it when the
    /// transfer starts (dissertation §3.10, "catches the target up"), so that requests to it
    /// lost before the transfer are found out (by a rejection) instead of waited for.
    pub(crate) fn heartbeat_to(&mut self, peer: NodeId, out: &mut NodeEffects<M>) {
        if let Some((mut sender, progress)) = self.sender(None) {
            if let Some(p) = progress.get_mut(&peer) {
                sender.heartbeat(peer, p, out);
            }
        }
    }

    fn send_append_response(&self, to: NodeId, result: AppendResult, out: &mut NodeEffects<M>) {
        out.push(Effect::Send {
            to,
            message: Message::AppendEntriesResponse(AppendEntriesResponse {
                term: self.durable.current_term,
                result,
            }),
        });
    }

    /// AppendEntries receiver (Figure 2). The caller has already adopted a higher term.
    pub(crate) fn handle_append_entries(
        &mut self,
        from: NodeId,
        request: AppendEntries<M::Command>,
        out: &mut NodeEffects<M>,
    ) -> Result<(), StepError> {
        let current_term = self.durable.current_term;
        let prev_log_index = request.prev_log_index;
        // Figure 2, AppendEntries 1: reply false if term < currentTerm.
        if request.term < current_term && self.config.keeps(Rule::AppendStaleTerm) {
            let result = AppendResult::Reject {
                prev_log_index,
                hint: None,
            };
            self.send_append_response(from, result, out);
            return Err(StepError::StaleTerm {
                message_term: request.term,
                current_term,
            });
        }
        self.follow_current_leader(from, out)?;

        // Untrusted input: a leader's log never has decreasing terms, nor terms above its own.
        let mut prev_term = request.prev_log_term;
        for e in request.entries.iter() {
            if e.term < prev_term || e.term > request.term {
                return Err(StepError::MalformedEntries);
            }
            prev_term = e.term;
        }

        // Figure 2, AppendEntries 2: reply false if the log doesn't contain an entry at
        // prevLogIndex whose term matches prevLogTerm; hint where the conflict starts (§5.3).
        let log = &self.durable.log;
        let hint = match log.term_at(prev_log_index) {
            None => Some(ConflictHint {
                conflict_term: None,
                first_index: log.last_index() + 1,
            }),
            Some(t) if t != request.prev_log_term && self.config.keeps(Rule::PrevLogTermCheck) => {
                Some(ConflictHint {
                    conflict_term: Some(t),
                    first_index: log.first_index_of_term(t).unwrap_or(prev_log_index),
                })
            }
            // Rule switched off, only the index is checked: any entry there matches.
            Some(_) => None,
        };
        // `RejectHint::CommitIndex`: resend from just past the follower's commit index, where
        // its log matches the leader's.
        let hint = hint.map(|h| match self.config.reject_hint {
            RejectHint::ConflictTerm => h,
            RejectHint::CommitIndex => ConflictHint {
                conflict_term: None,
                first_index: self.commit_index + 1,
            },
        });
        if let Some(hint) = hint {
            let result = AppendResult::Reject {
                prev_log_index,
                hint: Some(hint),
            };
            self.send_append_response(from, result, out);
            return Ok(());
        }

        // Figure 2, AppendEntries 3 and 4: delete an existing entry that conflicts with a new
        // one (same index, different term) and all that follow it; append new entries not
        // already in the log. Entries that match are kept: a stale or reordered request must
        // never shorten the log (§5.3, Log Matching).
        let last_new = prev_log_index + request.entries.len() as Index;
        let first_new = request.entries.iter().enumerate().find_map(|(i, e)| {
            let index = prev_log_index + 1 + i as Index;
            (log.term_at(index) != Some(e.term)).then_some(i)
        });
        let rewrite_from = if self.config.keeps(Rule::TruncateOnlyOnConflict) {
            first_new
        } else {
            // Rule switched off: replace everything after prev_log_index, matching or not.
            Some(0)
        };
        if let Some(i) = rewrite_from {
            let index = prev_log_index + 1 + i as Index;
            if index <= log.last_index() && index <= self.commit_index {
                return Err(StepError::ConflictsWithCommitted {
                    index,
                    commit_index: self.commit_index,
                });
            }
            // The persist effect shares the request's entries when it keeps all of them.
            let suffix: Entries<M::Command> = if i == 0 {
                request.entries.clone()
            } else {
                request.entries[i..].into()
            };
            if index <= log.last_index() || !suffix.is_empty() {
                self.durable.log.truncate_from(index);
                self.durable.log.extend_from_slice(&suffix);
                // Figure 2: on disk before the acknowledgement below reveals them.
                if self.config.keeps(Rule::PersistEntries) {
                    out.push(Effect::PersistEntries {
                        first_index: index,
                        entries: suffix,
                    });
                }
            }
        }

        // Figure 2, AppendEntries 5: if leaderCommit > commitIndex, set
        // commitIndex = min(leaderCommit, index of last new entry). Only that far does this log
        // provably match the leader's.
        let commit_bound = if self.config.keeps(Rule::CommitMinLastNew) {
            last_new
        } else {
            self.durable.log.last_index()
        };
        self.commit_to(request.leader_commit.min(commit_bound), out);
        self.send_append_response(
            from,
            AppendResult::Success {
                match_index: last_new,
            },
            out,
        );
        Ok(())
    }

    /// A request of the current term from its leader `from` (AppendEntries, or a heartbeat
    /// round): recognize it as the leader.
    pub(crate) fn follow_current_leader(
        &mut self,
        from: NodeId,
        out: &mut NodeEffects<M>,
    ) -> Result<(), StepError> {
        match self.role {
            // §5.2: Election Safety means no second leader of this term can exist.
            Role::Leader { .. } => return Err(StepError::SecondLeader(from)),
            // §5.2: a candidate (or pre-candidate) that hears from a leader of its term returns
            // to follower.
            Role::Candidate { .. } | Role::PreCandidate { .. } => {
                self.become_follower(self.durable.current_term, Some(from), out)
            }
            Role::Follower { .. } => self.role = Role::Follower { leader: Some(from) },
        }
        // §5.2: hearing from the current leader keeps a follower from starting an election.
        self.reset_election_timer(out);
        Ok(())
    }

    /// The leader's side of an AppendEntries answer (§5.3).
    pub(crate) fn handle_append_entries_response(
        &mut self,
        from: NodeId,
        response: AppendEntriesResponse,
        out: &mut NodeEffects<M>,
    ) -> Result<(), StepError> {
        self.refuse_stale(response.term)?;
        let last_index = self.durable.log.last_index();
        let log = &self.durable.log;
        let Role::Leader { progress } = &mut self.role else {
            return Err(StepError::UnexpectedResponse);
        };
        let Some(p) = progress.get_mut(&from) else {
            return Err(StepError::UnknownPeer(from));
        };
        match response.result {
            AppendResult::Success { match_index } => {
                if match_index > last_index {
                    return Err(StepError::IndexOutOfRange {
                        index: match_index,
                        last_index,
                    });
                }
                let old_match = p.match_index;
                let acked = if self.config.keeps(Rule::MatchIndexFromAck) {
                    match_index
                } else {
                    // Rule switched off: any success is taken to cover the leader's whole log.
                    last_index
                };
                if p.on_success(acked) && !self.match_tracker.raise(old_match, p.match_index) {
                    // Unreachable while `match_tracker` mirrors `progress`; rebuild, never guess.
                    debug_assert!(false, "match tracker out of step with progress");
                    self.match_tracker =
                        MatchTracker::from_match_indexes(progress.values().map(|p| p.match_index));
                }
                self.advance_leader_commit(out);
                if self.lead.transfer == Some(from) {
                    // §3.10: the target may now be caught up.
                    self.continue_transfer(from, out);
                } else {
                    // Only entries not already in flight go out (the window tracks them).
                    self.send_append_entries(from, out);
                }
                Ok(())
            }
            AppendResult::Reject {
                prev_log_index,
                hint,
            } => {
                // A rejection of an index the follower has since matched is stale (its matched
                // entries are durable), and so is one of an index past next_index (an answer
                // to an earlier probe, after the leader moved on).
                let matched = p.match_index > 0 && prev_log_index <= p.match_index;
                if matched || prev_log_index >= p.next_index {
                    return Err(StepError::StaleResponse);
                }
                // §5.3: the hint skips a whole conflicting term at once (end of §5.3).
                let hinted = match hint {
                    None => prev_log_index,
                    Some(ConflictHint {
                        conflict_term: Some(term),
                        first_index,
                    }) => log
                        .last_index_of_term(term)
                        .map_or(first_index, |last| last + 1),
                    Some(ConflictHint {
                        conflict_term: None,
                        first_index,
                    }) => first_index,
                };
                p.on_reject(prev_log_index, hinted, &self.config);
                self.send_append_entries(from, out);
                Ok(())
            }
        }
    }

    /// §5.3, §5.4.2: the leader commits the highest index stored on a majority, but only if
    /// that entry is of its current term; earlier entries then commit indirectly (Figure 8).
    pub(crate) fn advance_leader_commit(&mut self, out: &mut NodeEffects<M>) {
        let Role::Leader { progress } = &self.role else {
            return;
        };
        // The highest index on a majority, the leader's own log included; the tracker gives it
        // without a sort and equals the definition, `majority_index` (tests/quorum_props.rs).
        let n = self
            .match_tracker
            .majority_index(self.durable.log.last_index());
        debug_assert_eq!(n, {
            let mut matches: Vec<Index> = progress.values().map(|p| p.match_index).collect();
            matches.push(self.durable.log.last_index());
            majority_index(&mut matches)
        });
        if n <= self.commit_index {
            return;
        }
        // §5.4.2: only current-term entries commit by counting replicas.
        let of_current_term = self.durable.log.term_at(n) == Some(self.durable.current_term);
        if of_current_term || !self.config.keeps(Rule::CurrentTermCommit) {
            self.commit_to(n, out);
        }
    }
}
