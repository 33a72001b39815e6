//! Leadership transfer (dissertation §3.10): the leader stops taking proposals, brings the
//! target's log up to date, and sends it TimeoutNow; the target starts an election at once,
//! and its RequestVote is answered even by followers that still hear from the leader
//! (§4.2.3). The transfer is aborted when an election timeout passes without it completing.

use crate::effect::{Effect, Timer};
use crate::error::{StepError, TransferError};
use crate::ids::NodeId;
use crate::message::{Message, TimeoutNow};
use crate::node::{Node, NodeEffects, Role};
use crate::state_machine::StateMachine;

impl<M: StateMachine> Node<M> {
    /// Starts handing leadership to `target`. A second request for the same target while the
    /// first is in progress changes nothing; one for another target replaces it.
    ///
    /// ```
    /// use refraft::{Config, DurableState, Input, KvStore, Node, NodeEffects, NodeId, Timer, TransferError};
    /// let config = Config::new(NodeId(1), vec![NodeId(1), NodeId(2)]).unwrap();
    /// let mut out = NodeEffects::<KvStore>::new();
    /// let mut node = Node::new(config, DurableState::default(), KvStore::default(), &mut out).unwrap();
    /// assert_eq!(node.transfer_leadership(NodeId(2), &mut out), Err(TransferError::NotLeader { leader_hint: None }));
    /// assert_eq!(node.transfer_leadership(NodeId(1), &mut out), Err(TransferError::ToSelf));
    /// assert_eq!(node.transfer_leadership(NodeId(7), &mut out), Err(TransferError::NotAMember(NodeId(7))));
    /// ```
    pub fn transfer_leadership(
        &mut self,
        target: NodeId,
        out: &mut NodeEffects<M>,
    ) -> Result<(), TransferError> {
        if target == self.id() {
            return Err(TransferError::ToSelf);
        }
        if !self.config.is_peer(target) {
            return Err(TransferError::NotAMember(target));
        }
        if !self.is_leader() {
            return Err(TransferError::NotLeader {
                leader_hint: self.leader_hint(),
            });
        }
        if self.lead.transfer == Some(target) {
            return Ok(());
        }
        self.lead.transfer = Some(target);
        // §3.10: abort if the transfer does not complete within an election timeout.
        out.push(Effect::SetTimer {
            timer: Timer::TransferTimeout,
            after: self.config.election_timeout(),
        });
        if self.caught_up(target) {
            self.continue_transfer(target, out);
        } else {
            // §3.10: catch the target up. Requests to it may have been lost (it may have been
            // unreachable): a heartbeat to it is answered, a rejection sends it back to probing.
            self.heartbeat_to(target, out);
        }
        Ok(())
    }

    /// Whether `target`'s log is known to match the leader's whole log.
    fn caught_up(&self, target: NodeId) -> bool {
        self.progress(target)
            .is_some_and(|p| p.match_index == self.durable.log.last_index())
    }

    /// §3.10: once the target's log matches the leader's, send it TimeoutNow; until then,
    /// replicate to it.
    pub(crate) fn continue_transfer(&mut self, target: NodeId, out: &mut NodeEffects<M>) {
        if self.caught_up(target) {
            out.push(Effect::Send {
                to: target,
                message: Message::TimeoutNow(TimeoutNow {
                    term: self.durable.current_term,
                }),
            });
        } else {
            self.send_append_entries(target, out);
        }
    }

    /// The transfer timer fired: abort the transfer (§3.10); proposals are taken again.
    pub(crate) fn abort_transfer(&mut self) {
        self.lead.transfer = None;
    }

    /// TimeoutNow receiver: start an election at once, skipping the pre-vote and bypassing
    /// the voters' stickiness (§3.10, §4.2.3).
    pub(crate) fn handle_timeout_now(
        &mut self,
        from: NodeId,
        message: TimeoutNow,
        out: &mut NodeEffects<M>,
    ) -> Result<(), StepError> {
        self.refuse_stale(message.term)?;
        if matches!(self.role, Role::Leader { .. }) {
            return Err(StepError::SecondLeader(from));
        }
        self.start_election(true, out)
    }
}
