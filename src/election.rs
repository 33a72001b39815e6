//! Leader election (§5.2) with the election restriction (§5.4.1).

use crate::config::Rule;
use crate::effect::Effect;
use crate::error::StepError;
use crate::ids::{NodeId, Term};
use crate::message::{Message, RequestVote, RequestVoteResponse};
use crate::node::{Node, NodeEffects, Role};
use crate::state_machine::StateMachine;
use std::collections::BTreeSet;

impl<M: StateMachine> Node<M> {
    /// §5.2: on election timeout a follower (or a candidate whose election went nowhere)
    /// increments `current_term`, votes for itself, resets its election timer and sends
    /// RequestVote to every other server. `leadership_transfer`: started by TimeoutNow
    /// (dissertation §3.10), so voters answer even while they hear from the leader.
    pub(crate) fn start_election(
        &mut self,
        leadership_transfer: bool,
        out: &mut NodeEffects<M>,
    ) -> Result<(), StepError> {
        // A node never holds u64::MAX (a term that cannot be incremented): at u64::MAX - 1 it
        // stays a follower. Such terms are only reached through peers' messages, which refuse
        // u64::MAX itself.
        let term = self.durable.current_term;
        match term.checked_add(1) {
            Some(next) if next < Term::MAX => self.durable.current_term = next,
            _ => {
                return Err(StepError::TermOutOfRange {
                    term: term.saturating_add(1),
                })
            }
        }
        self.durable.voted_for = Some(self.id());
        self.persist_hard_state(out);
        self.role = Role::Candidate {
            votes: BTreeSet::from([self.id()]),
        };
        self.reset_election_timer(out);
        if self.config.quorum() == 1 {
            self.become_leader(out);
            return Ok(());
        }
        let request = RequestVote {
            term: self.durable.current_term,
            last_log_index: self.durable.log.last_index(),
            last_log_term: self.durable.log.last_term(),
            leadership_transfer,
        };
        for to in self.config.peers() {
            out.push(Effect::Send {
                to,
                message: Message::RequestVote(request.clone()),
            });
        }
        Ok(())
    }

    /// RequestVote receiver (Figure 2). The caller has already adopted a higher term.
    pub(crate) fn handle_request_vote(
        &mut self,
        from: NodeId,
        request: RequestVote,
        out: &mut NodeEffects<M>,
    ) -> Result<(), StepError> {
        let current_term = self.durable.current_term;
        // Figure 2, RequestVote 1: reply false if term < currentTerm.
        if request.term < current_term && self.config.keeps(Rule::VoteStaleTerm) {
            self.send_vote(from, false, current_term, out);
            return Err(StepError::StaleTerm {
                message_term: request.term,
                current_term,
            });
        }
        // Figure 2, RequestVote 2: grant if votedFor is null or candidateId (§5.2: at most one
        // vote per term) ...
        let free_to_vote = match self.durable.voted_for {
            None => true,
            Some(v) => v == from || !self.config.keeps(Rule::VoteOncePerTerm),
        };
        // ... and the candidate's log is at least as up-to-date as the receiver's (§5.4.1).
        let log = &self.durable.log;
        let up_to_date = if self.config.keeps(Rule::UpToDateTermFirst) {
            log.is_up_to_date(request.last_log_index, request.last_log_term)
        } else {
            // Rule switched off: the longer log wins, the last terms only break ties.
            (request.last_log_index, request.last_log_term) >= (log.last_index(), log.last_term())
        } || !self.config.keeps(Rule::ElectionRestriction);
        let grant = free_to_vote && up_to_date;
        if grant {
            self.durable.voted_for = Some(from);
            // Figure 2: persist votedFor before answering, or a restart could vote twice.
            if self.config.keeps(Rule::PersistVote) {
                self.persist_hard_state(out);
            }
            // §5.2: a server that grants a vote restarts its election timer. Only a follower
            // can grant (a candidate or leader voted for itself), so the timer is armed.
            self.reset_election_timer(out);
        }
        // The answer carries the voter's term, or with `vote_grant_echoes_term` a grant carries
        // the request's: the same term while RequestVote rule 1 holds (Figure 2).
        let term = if grant && self.config.vote_grant_echoes_term {
            request.term
        } else {
            self.durable.current_term
        };
        self.send_vote(from, grant, term, out);
        Ok(())
    }

    fn send_vote(&self, to: NodeId, vote_granted: bool, term: Term, out: &mut NodeEffects<M>) {
        out.push(Effect::Send {
            to,
            message: Message::RequestVoteResponse(RequestVoteResponse { term, vote_granted }),
        });
    }

    /// A candidate counts votes; a majority of the cluster makes it leader (§5.2).
    pub(crate) fn handle_request_vote_response(
        &mut self,
        from: NodeId,
        response: RequestVoteResponse,
        out: &mut NodeEffects<M>,
    ) -> Result<(), StepError> {
        let current_term = self.durable.current_term;
        // §5.2: a vote counts only in the term it was granted for.
        if response.term < current_term && self.config.keeps(Rule::CurrentTermVotes) {
            return Err(StepError::StaleTerm {
                message_term: response.term,
                current_term,
            });
        }
        let Role::Candidate { votes } = &mut self.role else {
            return Err(StepError::UnexpectedResponse);
        };
        if response.vote_granted {
            votes.insert(from);
            if votes.len() >= self.config.quorum() {
                self.become_leader(out);
            }
        }
        Ok(())
    }
}
