//! What travels between the model's actors: Raft messages between servers, requests from clients
//! and the servers' answers.

use crate::ids::{node_id, server_id};
use crate::interned::Interned;
use refraft::{ClientRequest, ClientResponse, KvCommand, KvOutput, Message};
use serde::{Deserialize, Serialize};
use stateright::actor::Id;
use stateright::{Rewrite, RewritePlan};

impl Msg {
    /// A Raft message between servers.
    pub fn raft(message: Message<KvCommand>) -> Self {
        Msg::Raft(Interned::new(message))
    }

    /// A server's answer to a client's request with this serial.
    pub fn reply(serial: u64, response: ClientResponse<KvOutput>) -> Self {
        Msg::Reply {
            serial,
            response: Interned::new(response),
        }
    }
}

/// One message of the model.
/// Its `Debug` is the short form of [`crate::summary::message`] (`AE t2 prev=1/1 [2/2:SET x=1]
/// c=1`): stateright prints messages with `Debug` in its action lists and sequence diagrams.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Msg {
    /// Server to server: one of the core's RPC messages, interned (see [`Interned`]): the
    /// network is cloned into every successor state, so a message is allocated and hashed once
    /// and copied as a pointer.
    Raft(Interned<Message<KvCommand>>),
    /// Client to server: run this command (interned, as every message: see [`Interned`]).
    Request(Interned<ClientRequest<KvCommand>>),
    /// Client to server: answer this query without a log entry (dissertation §6.4).
    Read(Interned<ClientRequest<KvCommand>>),
    /// Server to client: the answer to the request with this serial.
    Reply {
        /// The serial of the request answered.
        serial: u64,
        /// The answer.
        response: Interned<ClientResponse<KvOutput>>,
    },
}

impl std::fmt::Debug for Msg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&crate::summary::message(self))
    }
}

impl Rewrite<Id> for Msg {
    fn rewrite<S>(&self, plan: &RewritePlan<Id, S>) -> Self {
        match self {
            // The core's messages name no node ids in their bodies (sender and receiver travel
            // beside them: `Message::map_node_ids` is the identity), so the rewrite shares the
            // message. `model/tests/symmetry.rs` checks that every message reached keeps this.
            Msg::Raft(m) => {
                debug_assert_eq!(
                    (**m)
                        .clone()
                        .map_node_ids(|n| node_id(plan.rewrite(&server_id(n)))),
                    **m,
                    "a message names a node id: rewrite it here"
                );
                Msg::Raft(*m)
            }
            // Client ids are never permuted (see `symmetry`), and a request names no server.
            Msg::Request(_) | Msg::Read(_) => *self,
            Msg::Reply { serial, response } => Msg::Reply {
                serial: *serial,
                response: rewrite_response(response, plan).map_or(*response, Interned::new),
            },
        }
    }
}

/// `response` with the servers it names rewritten by `plan`, or `None` when it names none (the
/// only part of a model message that names a server: see `Msg::rewrite`).
pub fn rewrite_response<S>(
    response: &ClientResponse<KvOutput>,
    plan: &RewritePlan<Id, S>,
) -> Option<ClientResponse<KvOutput>> {
    match response {
        ClientResponse::NotLeader { leader_hint } => Some(ClientResponse::NotLeader {
            leader_hint: leader_hint.map(|n| node_id(plan.rewrite(&server_id(n)))),
        }),
        ClientResponse::TransferInProgress { target } => Some(ClientResponse::TransferInProgress {
            target: node_id(plan.rewrite(&server_id(*target))),
        }),
        _ => None,
    }
}
