//! Linearizable reads without log entries (dissertation §6.4): ReadIndex, and lease reads
//! (§6.4.1). A read is `Input::Read` in and `Effect::ReadReply` out; it never enters the log.
//!
//! ReadIndex, at the leader:
//! 1. wait until an entry of the leader's own term is committed (a new leader may not yet know
//!    which entries its predecessor committed);
//! 2. record `commit_index` as the read index;
//! 3. send a heartbeat round and wait for a majority to acknowledge it: then no other leader
//!    had been elected when the read arrived;
//! 4. answer once `last_applied` has reached the read index.
//!
//! With `ReadMode::Lease`, step 3 is skipped while the leader holds a lease: a quorum check
//! passed within the last period, so a majority heard from the leader recently, and with
//! stickiness none of them votes for another server before the period ends. **Timing
//! assumption:** clocks drift apart by at most `Config::clock_drift_percent`, and the driver
//! fires the quorum-check timer no later than its period (a late timer stretches the lease).

use crate::client::ClientResponse;
use crate::config::{ReadMode, Rule};
use crate::effect::Effect;
use crate::ids::{ClientId, Index, NodeId};
use crate::node::{Node, NodeEffects, Role};
use crate::state_machine::StateMachine;
use crate::StepError;
use serde::{Deserialize, Serialize};

/// How a read's leadership was confirmed (dissertation §6.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum ReadPath {
    /// A heartbeat round acknowledged by a majority (ReadIndex, §6.4).
    ReadIndex,
    /// The leader's lease (§6.4.1).
    Lease,
    /// Served by a follower at a read index it learned from the leader (§6.4, a forwarded
    /// read; `Config::forward_reads`).
    Forwarded,
    /// Not served: the answer says why (`NotLeader`).
    Refused,
}

/// A read the leader has accepted but not yet answered.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct PendingRead<C> {
    /// The client.
    pub client: ClientId,
    /// The read's serial.
    pub serial: u64,
    /// Whose read it is: a client's query to answer here, or a follower's forwarded read to
    /// answer with the read index.
    pub origin: ReadOrigin<C>,
    /// The commit index recorded for it; `None` until an entry of this term commits.
    pub read_index: Option<Index>,
    /// The heartbeat round that must be acknowledged by a majority (0: none sent yet).
    pub round: u64,
    /// How leadership was confirmed, once it was.
    pub confirmed: Option<ReadPath>,
}

impl<C: Clone> PendingRead<C> {
    /// The same read with its follower's id passed through `f` (for symmetry reduction).
    pub(crate) fn map_node_ids(&self, f: impl Fn(NodeId) -> NodeId) -> Self {
        let mut r = self.clone();
        if let ReadOrigin::Follower(id) = r.origin {
            r.origin = ReadOrigin::Follower(f(id));
        }
        r
    }
}

/// Where a leader's pending read came from (dissertation §6.4).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum ReadOrigin<C> {
    /// A client asked the leader: the leader answers the query itself.
    Client(C),
    /// A follower forwarded the read: the leader sends it the read index once confirmed.
    Follower(NodeId),
}

impl<M: StateMachine> Node<M> {
    /// Accepts a read-only query (dissertation §6.4). The leader serves it once confirmed,
    /// without a log entry. A follower that knows the leader forwards it when
    /// `Config::forward_reads` is on (see `follower_read`); any other server refuses it with a
    /// hint.
    pub fn handle_read(
        &mut self,
        request: crate::ClientRequest<M::Command>,
        out: &mut NodeEffects<M>,
    ) -> Result<(), StepError> {
        if self.machine.query(&request.command).is_none() {
            return Err(StepError::NotAQuery);
        }
        if !self.is_leader() {
            if !self.forward_read(request.clone(), out) {
                self.refuse_read(request.client, request.serial, out);
            }
            return Ok(());
        }
        self.lead.reads.push(PendingRead {
            client: request.client,
            serial: request.serial,
            origin: ReadOrigin::Client(request.command),
            read_index: None,
            round: 0,
            confirmed: None,
        });
        self.advance_reads(out);
        Ok(())
    }

    /// Accepts a follower's forwarded read (dissertation §6.4) like a client's, to answer with
    /// the read index once confirmed.
    pub(crate) fn accept_forwarded_read(
        &mut self,
        from: NodeId,
        client: ClientId,
        serial: u64,
        out: &mut NodeEffects<M>,
    ) {
        self.lead.reads.push(PendingRead {
            client,
            serial,
            origin: ReadOrigin::Follower(from),
            read_index: None,
            round: 0,
            confirmed: None,
        });
        self.advance_reads(out);
    }

    pub(crate) fn refuse_read(&self, client: ClientId, serial: u64, out: &mut NodeEffects<M>) {
        out.push(Effect::ReadReply {
            client,
            serial,
            read_index: 0,
            path: ReadPath::Refused,
            response: ClientResponse::NotLeader {
                leader_hint: self.leader_hint(),
            },
        });
    }

    /// Moves every waiting read as far as it can go: records its read index once an entry of
    /// this term is committed, confirms it by lease or by a new heartbeat round, and answers it
    /// once the state machine has applied the read index.
    pub(crate) fn advance_reads(&mut self, out: &mut NodeEffects<M>) {
        if !matches!(self.role, Role::Leader { .. }) || self.lead.reads.is_empty() {
            return;
        }
        let term = self.durable.current_term;
        // §6.4 step 1: the leader's commit index is known to be complete only once an entry of
        // its own term (the no-op of §8) is committed.
        let own_term_committed = self.durable.log.term_at(self.commit_index) == Some(term)
            || !self.config.keeps(Rule::ReadAfterOwnTermCommit);
        let lease = self.config.read_mode == ReadMode::Lease && self.lead.lease.is_some();
        let alone = self.config.quorum() == 1;
        let skip_round = !self.config.keeps(Rule::ReadIndexQuorumRound);
        let mut need_round = false;
        for read in &mut self.lead.reads {
            if read.read_index.is_none() && own_term_committed {
                // §6.4 step 2: the read index is the commit index now.
                read.read_index = Some(self.commit_index);
                if lease {
                    // §6.4.1: the lease stands in for the heartbeat round.
                    read.confirmed = Some(ReadPath::Lease);
                } else if alone || skip_round {
                    read.confirmed = Some(ReadPath::ReadIndex);
                } else {
                    need_round = true;
                }
            }
        }
        if need_round {
            // §6.4 step 3: one round, sent after the read indexes were recorded, confirms all.
            let round = self.start_round(out);
            for read in &mut self.lead.reads {
                if read.read_index.is_some() && read.confirmed.is_none() && read.round == 0 {
                    read.round = round;
                }
            }
        }
        let quorum = self.config.quorum();
        let confirmed: Vec<bool> = self
            .lead
            .reads
            .iter()
            .map(|r| r.round > 0 && self.lead.acknowledged(r.round) >= quorum)
            .collect();
        for (read, ok) in self.lead.reads.iter_mut().zip(confirmed) {
            if read.confirmed.is_none() && ok {
                read.confirmed = Some(ReadPath::ReadIndex);
            }
        }
        // §6.4 step 4: answer once the state machine has caught up with the read index.
        let last_applied = self.last_applied;
        let (ready, waiting): (Vec<_>, Vec<_>) = std::mem::take(&mut self.lead.reads)
            .into_iter()
            .partition(|r| {
                // A forwarded read waits for the follower's state machine, not the leader's.
                let forwarded = matches!(r.origin, ReadOrigin::Follower(_));
                r.confirmed.is_some()
                    && r.read_index.is_some_and(|i| forwarded || i <= last_applied)
            });
        self.lead.reads = waiting;
        for read in ready {
            let query = match &read.origin {
                ReadOrigin::Client(query) => query,
                ReadOrigin::Follower(follower) => {
                    // §6.4: the follower serves the read itself once it has applied the index.
                    self.send_read_index(*follower, read.client, read.serial, read.read_index, out);
                    continue;
                }
            };
            // Accepted reads are queries, and a state machine is deterministic.
            let Some(output) = self.machine.query(query) else {
                self.refuse_read(read.client, read.serial, out);
                continue;
            };
            out.push(Effect::ReadReply {
                client: read.client,
                serial: read.serial,
                read_index: read.read_index.unwrap_or(0),
                path: read.confirmed.unwrap_or(ReadPath::ReadIndex),
                response: ClientResponse::Applied(output),
            });
        }
    }

    /// A leader that steps down refuses its waiting reads, naming the new leader if known.
    pub(crate) fn refuse_pending_reads(&mut self, out: &mut NodeEffects<M>) {
        for read in std::mem::take(&mut self.lead.reads) {
            match read.origin {
                ReadOrigin::Client(_) => self.refuse_read(read.client, read.serial, out),
                ReadOrigin::Follower(f) => {
                    self.send_read_index(f, read.client, read.serial, None, out)
                }
            }
        }
    }
}
