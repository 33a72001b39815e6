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
use crate::ids::{ClientId, Index};
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
    /// The query.
    pub query: C,
    /// The commit index recorded for it; `None` until an entry of this term commits.
    pub read_index: Option<Index>,
    /// The heartbeat round that must be acknowledged by a majority (0: none sent yet).
    pub round: u64,
    /// How leadership was confirmed, once it was.
    pub confirmed: Option<ReadPath>,
}

impl<M: StateMachine> Node<M> {
    /// Accepts a read-only query (dissertation §6.4). A server that does not lead refuses it
    /// with a hint; the leader serves it once confirmed, without a log entry.
    pub fn handle_read(
        &mut self,
        request: crate::ClientRequest<M::Command>,
        out: &mut NodeEffects<M>,
    ) -> Result<(), StepError> {
        if self.machine.query(&request.command).is_none() {
            return Err(StepError::NotAQuery);
        }
        if !self.is_leader() {
            self.refuse_read(request.client, request.serial, out);
            return Ok(());
        }
        self.lead.reads.push(PendingRead {
            client: request.client,
            serial: request.serial,
            query: request.command,
            read_index: None,
            round: 0,
            confirmed: None,
        });
        self.advance_reads(out);
        Ok(())
    }

    fn refuse_read(&self, client: ClientId, serial: u64, out: &mut NodeEffects<M>) {
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
                r.confirmed.is_some() && r.read_index.is_some_and(|i| i <= last_applied)
            });
        self.lead.reads = waiting;
        for read in ready {
            // Accepted reads are queries, and a state machine is deterministic.
            let Some(output) = self.machine.query(&read.query) else {
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
            self.refuse_read(read.client, read.serial, out);
        }
    }
}
