//! PreVote (dissertation §9.6) and leader stickiness (§4.2.3).
//!
//! A server whose election timer fires first asks the others whether it would win: it sends
//! PreVote with the term it would stand in (`current_term + 1`) and its last log entry, and
//! changes nothing of its own durable state. A voter answers on the election restriction
//! (§5.4.1) alone, without changing its term or `voted_for` and without resetting its timer.
//! Only a majority of pre-votes starts the real election (§5.2). A server that cannot win,
//! such as one rejoining from a partition, thus never raises anyone's term.

use crate::config::Rule;
use crate::effect::Effect;
use crate::error::StepError;
use crate::ids::NodeId;
use crate::message::{Message, RequestVote, RequestVoteResponse};
use crate::node::{Node, NodeEffects, Role};
use crate::state_machine::StateMachine;
use std::collections::BTreeSet;

impl<M: StateMachine> Node<M> {
    /// §9.6: become a pre-candidate and ask every peer for a pre-vote; nothing is persisted.
    pub(crate) fn start_pre_vote(&mut self, out: &mut NodeEffects<M>) -> Result<(), StepError> {
        // As in `start_election`: a term that cannot be incremented is never stood in.
        let term = self.durable.current_term;
        if term
            .checked_add(1)
            .map_or(true, |next| next == crate::ids::Term::MAX)
        {
            return Err(StepError::TermOutOfRange {
                term: term.saturating_add(1),
            });
        }
        self.role = Role::PreCandidate {
            votes: BTreeSet::from([self.id()]),
        };
        self.reset_election_timer(out);
        // §9.6: only a majority of pre-votes starts the real election (alone, the server is
        // one). Rule switched off: it stands at once, as without PreVote.
        if self.config.quorum() == 1 || !self.config.keeps(Rule::PreVoteMajority) {
            return self.start_election(false, out);
        }
        let request = RequestVote {
            term: self.durable.current_term + 1,
            last_log_index: self.durable.log.last_index(),
            last_log_term: self.durable.log.last_term(),
            leadership_transfer: false,
        };
        for to in self.config.peers() {
            out.push(Effect::Send {
                to,
                message: Message::PreVote(request.clone()),
            });
        }
        Ok(())
    }

    /// §4.2.3: the leader this follower heard from within its election timeout, when
    /// stickiness is on (with CheckQuorum): it then ignores RequestVote and PreVote from
    /// others. A follower's election timer firing ends the window.
    pub(crate) fn sticky_leader(&self) -> Option<NodeId> {
        if !self.config.check_quorum || !self.config.keeps(Rule::LeaseNeedsStickiness) {
            return None;
        }
        match self.role {
            Role::Follower { leader } => leader,
            _ => None,
        }
    }

    /// PreVote receiver (§9.6). Called before any term is adopted.
    pub(crate) fn handle_pre_vote(
        &mut self,
        from: NodeId,
        request: RequestVote,
        out: &mut NodeEffects<M>,
    ) -> Result<(), StepError> {
        let current_term = self.durable.current_term;
        if request.term < current_term {
            self.send_pre_vote(from, current_term, false, out);
            return Err(StepError::StaleTerm {
                message_term: request.term,
                current_term,
            });
        }
        // §4.2.3: a follower that hears from a leader does not answer.
        if let Some(leader) = self.sticky_leader() {
            return Err(StepError::LeaderSticky(leader));
        }
        if request.term > current_term && !self.config.keeps(Rule::PreVoteKeepsTerm) {
            // Rule switched off: the voter adopts the pre-vote's term, as if it were a vote.
            self.become_follower(request.term, None, out);
        }
        // §9.6: the same up-to-date rule as a vote (§5.4.1); a leader knows a leader exists.
        let up_to_date = self
            .durable
            .log
            .is_up_to_date(request.last_log_index, request.last_log_term);
        let grant = request.term > current_term && up_to_date && !self.is_leader();
        // A grant carries the request's term; a refusal the voter's term.
        let term = if grant {
            request.term
        } else {
            self.durable.current_term
        };
        self.send_pre_vote(from, term, grant, out);
        Ok(())
    }

    fn send_pre_vote(&self, to: NodeId, term: u64, vote_granted: bool, out: &mut NodeEffects<M>) {
        out.push(Effect::Send {
            to,
            message: Message::PreVoteResponse(RequestVoteResponse { term, vote_granted }),
        });
    }

    /// A pre-candidate counts pre-votes for `current_term + 1`; a majority starts the real
    /// election (§9.6). A refusal with a higher term was handled by the caller (§5.1).
    pub(crate) fn handle_pre_vote_response(
        &mut self,
        from: NodeId,
        response: RequestVoteResponse,
        out: &mut NodeEffects<M>,
    ) -> Result<(), StepError> {
        let current_term = self.durable.current_term;
        let Role::PreCandidate { votes } = &mut self.role else {
            return Err(StepError::UnexpectedResponse);
        };
        if response.term != current_term + 1 {
            return Err(StepError::StaleTerm {
                message_term: response.term,
                current_term,
            });
        }
        if response.vote_granted {
            votes.insert(from);
            if votes.len() >= self.config.quorum() {
                self.start_election(false, out)?;
            }
        }
        Ok(())
    }
}
