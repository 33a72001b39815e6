//! The volatile state a leader keeps beyond Figure 2: numbered heartbeat rounds and their
//! acknowledgements (dissertation §6.4), the quorum check and the lease it grants (§6.2,
//! §6.4.1), a leadership transfer in progress (§3.10) and the reads waiting to be served.
//! It is empty (the default) whenever the server does not lead, so it adds no distinct states
//! to followers and candidates.

use crate::config::Rule;
use crate::effect::{Effect, Timer};
use crate::ids::NodeId;
use crate::message::{Heartbeat, HeartbeatResponse, Message};
use crate::node::{Node, NodeEffects};
use crate::read::PendingRead;
use crate::state_machine::StateMachine;
use crate::StepError;
use std::collections::{BTreeMap, BTreeSet};

/// A leader's volatile state for heartbeat rounds, CheckQuorum, leases, transfers and reads.
///
/// ```
/// use refraft::{Config, DurableState, Input, KvStore, Node, NodeEffects, NodeId, Timer};
/// let mut config = Config::new(NodeId(1), vec![NodeId(1)]).unwrap();
/// config.check_quorum = true;
/// let mut out = NodeEffects::<KvStore>::new();
/// let mut node = Node::new(config, DurableState::default(), KvStore::default(), &mut out).unwrap();
/// node.step(Input::Timeout(Timer::Election), &mut out).unwrap();
/// assert!(node.leadership().lease().is_none());
/// // A single server is its own majority: the first quorum check grants the lease.
/// node.step(Input::Timeout(Timer::QuorumCheck), &mut out).unwrap();
/// assert!(node.leadership().lease().is_some());
/// ```
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Leadership<C> {
    /// The last heartbeat round sent in this term (0: none yet).
    pub(crate) round: u64,
    /// The highest round each peer has acknowledged in this term.
    pub(crate) acked: BTreeMap<NodeId, u64>,
    /// The round sent at the last quorum check (or on election): the next check passes if a
    /// majority acknowledged this round or a later one.
    pub(crate) check_round: u64,
    /// While the leader holds a lease (dissertation §6.4.1): the peers whose acknowledgements
    /// let the last quorum check pass.
    pub(crate) lease: Option<BTreeSet<NodeId>>,
    /// The target of a leadership transfer in progress (dissertation §3.10).
    pub(crate) transfer: Option<NodeId>,
    /// Reads waiting for the commit of an entry of this term, a heartbeat round, or the
    /// state machine to catch up (dissertation §6.4).
    pub(crate) reads: Vec<PendingRead<C>>,
}

impl<C> Default for Leadership<C> {
    fn default() -> Self {
        Leadership {
            round: 0,
            acked: BTreeMap::new(),
            check_round: 0,
            lease: None,
            transfer: None,
            reads: Vec::new(),
        }
    }
}

impl<C> Leadership<C> {
    /// The last heartbeat round sent.
    pub fn round(&self) -> u64 {
        self.round
    }

    /// The peers counted by the last passed quorum check, while the leader holds a lease.
    pub fn lease(&self) -> Option<&BTreeSet<NodeId>> {
        self.lease.as_ref()
    }

    /// The round the next quorum check needs a majority to have acknowledged.
    pub fn check_round(&self) -> u64 {
        self.check_round
    }

    /// The target of the leadership transfer in progress.
    pub fn transfer(&self) -> Option<NodeId> {
        self.transfer
    }

    /// The reads waiting to be served.
    pub fn reads(&self) -> &[PendingRead<C>] {
        &self.reads
    }

    /// How many servers, the leader included, have acknowledged round `round` or a later one.
    pub(crate) fn acknowledged(&self, round: u64) -> usize {
        1 + self.acked.values().filter(|&&r| r >= round).count()
    }

    /// The same state with every node id passed through `f`.
    pub(crate) fn map_node_ids(&self, f: impl Fn(NodeId) -> NodeId) -> Self
    where
        C: Clone,
    {
        Leadership {
            round: self.round,
            acked: self.acked.iter().map(|(&p, &r)| (f(p), r)).collect(),
            check_round: self.check_round,
            lease: self
                .lease
                .as_ref()
                .map(|s| s.iter().map(|&p| f(p)).collect()),
            transfer: self.transfer.map(&f),
            reads: self.reads.iter().map(|r| r.map_node_ids(&f)).collect(),
        }
    }
}

impl<M: StateMachine> Node<M> {
    /// Sends a new numbered heartbeat round to every peer and returns its number
    /// (dissertation §6.4: "exchange heartbeat messages with a majority").
    pub(crate) fn start_round(&mut self, out: &mut NodeEffects<M>) -> u64 {
        self.lead.round += 1;
        let heartbeat = Heartbeat {
            term: self.durable.current_term,
            round: self.lead.round,
        };
        for to in self.config.peers() {
            out.push(Effect::Send {
                to,
                message: Message::Heartbeat(heartbeat.clone()),
            });
        }
        self.lead.round
    }

    /// Whether the leader uses heartbeat rounds for CheckQuorum and leases.
    pub(crate) fn checks_quorum(&self) -> bool {
        self.config.check_quorum
    }

    /// Dissertation §6.2 (CheckQuorum): when the quorum-check timer fires, the leader stays
    /// only if a majority acknowledged a round sent at or after the previous check; then it
    /// holds a lease until the next check (§6.4.1) and sends the next round. Otherwise it has
    /// not heard from a majority for a whole period and steps down.
    pub(crate) fn handle_quorum_check(&mut self, out: &mut NodeEffects<M>) {
        let since = self.lead.check_round;
        let supporters: BTreeSet<NodeId> = self
            .lead
            .acked
            .iter()
            .filter(|&(_, &r)| r >= since)
            .map(|(&p, _)| p)
            .collect();
        let passed = supporters.len() + 1 >= self.config.quorum();
        if !passed && self.config.keeps(Rule::CheckQuorum) {
            self.become_follower(self.durable.current_term, None, out);
            return;
        }
        self.lead.lease = Some(supporters);
        self.lead.check_round = self.start_round(out);
        out.push(Effect::SetTimer {
            timer: Timer::QuorumCheck,
            after: self.config.quorum_check(),
        });
        self.advance_reads(out);
    }

    /// Heartbeat receiver: like an AppendEntries without entries, it makes a candidate of the
    /// same term a follower and resets the election timer (§5.2); it leaves the log alone.
    pub(crate) fn handle_heartbeat(
        &mut self,
        from: NodeId,
        heartbeat: Heartbeat,
        out: &mut NodeEffects<M>,
    ) -> Result<(), StepError> {
        let current_term = self.durable.current_term;
        if heartbeat.term < current_term {
            // The stale leader learns the newer term from the answer (§5.1).
            self.send_heartbeat_response(from, heartbeat.round, out);
            return Err(StepError::StaleTerm {
                message_term: heartbeat.term,
                current_term,
            });
        }
        self.follow_current_leader(from, out)?;
        self.send_heartbeat_response(from, heartbeat.round, out);
        Ok(())
    }

    fn send_heartbeat_response(&self, to: NodeId, round: u64, out: &mut NodeEffects<M>) {
        out.push(Effect::Send {
            to,
            message: Message::HeartbeatResponse(HeartbeatResponse {
                term: self.durable.current_term,
                round,
            }),
        });
    }

    /// The leader records the acknowledged round; reads waiting for it may now be served.
    pub(crate) fn handle_heartbeat_response(
        &mut self,
        from: NodeId,
        response: HeartbeatResponse,
        out: &mut NodeEffects<M>,
    ) -> Result<(), StepError> {
        self.refuse_stale(response.term)?;
        if !self.is_leader() {
            return Err(StepError::UnexpectedResponse);
        }
        if response.round > self.lead.round {
            return Err(StepError::StaleResponse);
        }
        let acked = self.lead.acked.entry(from).or_insert(0);
        *acked = (*acked).max(response.round);
        self.advance_reads(out);
        Ok(())
    }
}
