//! Reads served by followers (dissertation §6.4): "followers may forward a read and serve it
//! locally after learning the read index". With `Config::forward_reads`, a follower that knows
//! the leader of its term keeps the client's read and sends the leader a
//! `Message::ReadIndex`. The leader treats it like a read of its own (an entry of its term
//! committed, the read index recorded, a heartbeat round or the lease confirming that it still
//! leads) and answers with the read index instead of the value. The follower answers the client
//! once its `last_applied` has reached that index.
//!
//! Why this is linearizable: a write acknowledged before the client issued the read was
//! committed before the leader received the forwarded request, so it lies at or below the read
//! index; the follower answers from a state that has applied the read index (rule switch
//! `Rule::ForwardedReadAfterApply`: broken, a lagging follower answers at once, and the model
//! checker finds the stale read), and every entry it applied is committed (§5.4.3). The answer therefore reflects every write that completed
//! before the read began, and only committed writes.

use crate::client::ClientRequest;
use crate::config::Rule;
use crate::effect::Effect;
use crate::error::StepError;
use crate::ids::{ClientId, Index, NodeId, Term};
use crate::message::{Message, ReadIndexRequest, ReadIndexResponse};
use crate::node::{Node, NodeEffects, Role};
use crate::read::ReadPath;
use crate::state_machine::StateMachine;
use crate::ClientResponse;
use serde::{Deserialize, Serialize};

/// A read a follower forwarded to its leader and has not answered yet.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ForwardedRead<C> {
    /// The client.
    pub client: ClientId,
    /// The read's serial.
    pub serial: u64,
    /// The query, answered here.
    pub query: C,
    /// The leader asked for the read index.
    pub leader: NodeId,
    /// The follower's term when it asked.
    pub term: Term,
    /// The read index the leader answered with, once it has.
    pub read_index: Option<Index>,
}

impl<C: Clone> ForwardedRead<C> {
    /// The same read with its leader's id passed through `f` (for symmetry reduction).
    pub(crate) fn map_node_ids(&self, f: impl Fn(NodeId) -> NodeId) -> Self {
        let mut r = self.clone();
        r.leader = f(r.leader);
        r
    }
}

impl<M: StateMachine> Node<M> {
    /// The reads this follower forwarded and has not answered yet.
    pub fn forwarded_reads(&self) -> &[ForwardedRead<M::Command>] {
        &self.forwarded
    }

    /// §6.4: a follower that knows the leader of its term forwards `request`; returns false
    /// (the caller refuses the read) when forwarding is off or no leader is known.
    pub(crate) fn forward_read(
        &mut self,
        request: ClientRequest<M::Command>,
        out: &mut NodeEffects<M>,
    ) -> bool {
        let Role::Follower {
            leader: Some(leader),
        } = self.role
        else {
            return false;
        };
        if !self.config.forward_reads {
            return false;
        }
        let ClientRequest {
            client,
            serial,
            command,
        } = request;
        // A client that asks again (its answer was lost, or the request) replaces its read.
        self.forwarded
            .retain(|r| (r.client, r.serial) != (client, serial));
        let term = self.durable.current_term;
        self.forwarded.push(ForwardedRead {
            client,
            serial,
            query: command,
            leader,
            term,
            read_index: None,
        });
        out.push(Effect::Send {
            to: leader,
            message: Message::ReadIndex(ReadIndexRequest {
                term,
                client,
                serial,
            }),
        });
        true
    }

    /// The leader's side of a forwarded read: accept it as a read of its own, or, at a server
    /// that does not lead, answer at once without a read index.
    pub(crate) fn handle_read_index_request(
        &mut self,
        from: NodeId,
        request: ReadIndexRequest,
        out: &mut NodeEffects<M>,
    ) -> Result<(), StepError> {
        let current_term = self.durable.current_term;
        if request.term < current_term {
            // §5.1: the answer carries the newer term, which the follower adopts.
            self.send_read_index(from, request.client, request.serial, None, out);
            return Err(StepError::StaleTerm {
                message_term: request.term,
                current_term,
            });
        }
        if !self.is_leader() {
            // A leader of this term that stepped down (CheckQuorum, §6.2), or a request that
            // raced an election: the follower refuses the read.
            self.send_read_index(from, request.client, request.serial, None, out);
            return Ok(());
        }
        self.accept_forwarded_read(from, request.client, request.serial, out);
        Ok(())
    }

    pub(crate) fn send_read_index(
        &self,
        to: NodeId,
        client: ClientId,
        serial: u64,
        read_index: Option<Index>,
        out: &mut NodeEffects<M>,
    ) {
        out.push(Effect::Send {
            to,
            message: Message::ReadIndexResponse(ReadIndexResponse {
                term: self.durable.current_term,
                client,
                serial,
                read_index,
            }),
        });
    }

    /// The follower learns the read index of a forwarded read (or that the leader cannot
    /// give one: then it refuses the read with a hint) and serves what it can.
    pub(crate) fn handle_read_index_response(
        &mut self,
        from: NodeId,
        response: ReadIndexResponse,
        out: &mut NodeEffects<M>,
    ) -> Result<(), StepError> {
        self.refuse_stale(response.term)?;
        let key = (response.client, response.serial);
        let Some(k) = self.forwarded.iter().position(|r| {
            (r.client, r.serial) == key && r.leader == from && r.read_index.is_none()
        }) else {
            return Err(StepError::UnexpectedResponse);
        };
        match response.read_index {
            Some(index) => self.forwarded[k].read_index = Some(index),
            None => {
                let read = self.forwarded.remove(k);
                self.refuse_read(read.client, read.serial, out);
            }
        }
        self.serve_forwarded_reads(out);
        Ok(())
    }

    /// §6.4: answers every forwarded read whose read index this server has applied; refuses
    /// those still waiting for a read index when the server left the term or the role it
    /// forwarded them in (the answer would never come). Called after every step.
    pub(crate) fn serve_forwarded_reads(&mut self, out: &mut NodeEffects<M>) {
        if self.forwarded.is_empty() {
            return;
        }
        let term = self.durable.current_term;
        let following = matches!(self.role, Role::Follower { leader: Some(_) });
        let last_applied = self.last_applied;
        // §6.4: the follower serves "after learning the read index" from a state machine that
        // has applied it, so the answer reflects every write acknowledged before the read.
        let wait_for_apply = self.config.keeps(Rule::ForwardedReadAfterApply);
        for read in std::mem::take(&mut self.forwarded) {
            match read.read_index {
                Some(index) if index <= last_applied || !wait_for_apply => {
                    // Accepted reads are queries, and a state machine is deterministic.
                    let response = match self.machine.query(&read.query) {
                        Some(output) => ClientResponse::Applied(output),
                        None => ClientResponse::NotLeader {
                            leader_hint: self.leader_hint(),
                        },
                    };
                    out.push(Effect::ReadReply {
                        client: read.client,
                        serial: read.serial,
                        read_index: index,
                        path: ReadPath::Forwarded,
                        response,
                    });
                }
                None if read.term != term || !following => {
                    self.refuse_read(read.client, read.serial, out)
                }
                _ => self.forwarded.push(read),
            }
        }
    }
}
