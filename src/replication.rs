//! Log replication (§5.3) and the commit rule (§5.4.2).

use crate::config::Rule;
use crate::effect::Effect;
use crate::error::StepError;
use crate::ids::{Index, NodeId};
use crate::log::Entries;
use crate::message::{AppendEntries, AppendEntriesResponse, AppendResult, ConflictHint, Message};
use crate::node::{Node, NodeEffects, Role};
use crate::quorum::{majority_index, MatchTracker};
use crate::state_machine::StateMachine;

impl<M: StateMachine> Node<M> {
    /// Sends every peer the entries it lacks from its `next_index` on (a heartbeat when it lacks
    /// none).
    pub(crate) fn broadcast_append_entries(&self, out: &mut NodeEffects<M>) {
        for peer in self.config.peers() {
            self.send_append_entries(peer, out);
        }
    }

    /// §5.3: one AppendEntries to `peer`, starting at its `next_index`, with the entry before
    /// it as the consistency check.
    pub(crate) fn send_append_entries(&self, peer: NodeId, out: &mut NodeEffects<M>) {
        let Some(progress) = self.progress(peer) else {
            return;
        };
        let log = &self.durable.log;
        // next_index is kept within 1..=last_index+1, so prev_log_index is in the log.
        let prev_log_index = progress.next_index.saturating_sub(1).min(log.last_index());
        let prev_log_term = log.term_at(prev_log_index).unwrap_or(0);
        let entries = log
            .entries_from(prev_log_index + 1, self.config.max_entries_per_append)
            .into();
        out.push(Effect::Send {
            to: peer,
            message: Message::AppendEntries(AppendEntries {
                term: self.durable.current_term,
                prev_log_index,
                prev_log_term,
                entries,
                leader_commit: self.commit_index,
            }),
        });
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
        if request.term < current_term {
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
        match self.role {
            // §5.2: Election Safety means no second leader of this term can exist.
            Role::Leader { .. } => return Err(StepError::SecondLeader(from)),
            // §5.2: a candidate (or pre-candidate) that hears from a leader of its term returns
            // to follower.
            Role::Candidate { .. } | Role::PreCandidate { .. } => {
                self.become_follower(current_term, Some(from), out)
            }
            Role::Follower { .. } => self.role = Role::Follower { leader: Some(from) },
        }
        // §5.2: hearing from the current leader keeps a follower from starting an election.
        self.reset_election_timer(out);

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
            Some(t) if t != request.prev_log_term => Some(ConflictHint {
                conflict_term: Some(t),
                first_index: log.first_index_of_term(t).unwrap_or(prev_log_index),
            }),
            Some(_) => None,
        };
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
                out.push(Effect::PersistEntries {
                    first_index: index,
                    entries: suffix,
                });
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

    /// The leader's side of an AppendEntries answer (§5.3).
    pub(crate) fn handle_append_entries_response(
        &mut self,
        from: NodeId,
        response: AppendEntriesResponse,
        out: &mut NodeEffects<M>,
    ) -> Result<(), StepError> {
        let current_term = self.durable.current_term;
        if response.term < current_term {
            return Err(StepError::StaleTerm {
                message_term: response.term,
                current_term,
            });
        }
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
                // §5.3: matchIndex comes from what the follower acknowledged and never goes
                // back (a reordered, older acknowledgement changes nothing).
                let old_match = p.match_index;
                p.match_index = old_match.max(match_index);
                p.next_index = p.next_index.max(p.match_index + 1);
                let more = p.next_index <= last_index;
                if p.match_index > old_match && !self.match_tracker.raise(old_match, p.match_index)
                {
                    // Unreachable while `match_tracker` mirrors `progress`; rebuild, never guess.
                    debug_assert!(false, "match tracker out of step with progress");
                    self.match_tracker =
                        MatchTracker::from_match_indexes(progress.values().map(|p| p.match_index));
                }
                self.advance_leader_commit(out);
                if self.lead.transfer == Some(from) {
                    // §3.10: the target may now be caught up.
                    self.continue_transfer(from, out);
                } else if more {
                    self.send_append_entries(from, out);
                }
                Ok(())
            }
            AppendResult::Reject {
                prev_log_index,
                hint,
            } => {
                // A rejection of an index the follower has since matched is stale.
                if prev_log_index < p.match_index || prev_log_index >= p.next_index {
                    return Err(StepError::StaleResponse);
                }
                // §5.3: after a rejection, decrement nextIndex and retry; the hint skips a
                // whole conflicting term at once (end of §5.3).
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
                p.next_index = hinted.min(prev_log_index).max(p.match_index + 1);
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
