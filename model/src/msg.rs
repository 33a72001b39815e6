//! What travels between the model's actors: Raft messages between servers, requests from clients
//! and the servers' answers.

use crate::ids::{node_id, server_id};
use refraft::{ClientRequest, ClientResponse, KvCommand, KvOutput, Message};
use serde::{Deserialize, Serialize};
use stateright::actor::Id;
use stateright::{Rewrite, RewritePlan};

/// One message of the model.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Msg {
    /// Server to server: one of the core's RPC messages.
    Raft(Message<KvCommand>),
    /// Client to server: run this command.
    Request(ClientRequest<KvCommand>),
    /// Client to server: answer this query without a log entry (dissertation §6.4).
    Read(ClientRequest<KvCommand>),
    /// Server to client: the answer to the request with this serial.
    Reply {
        /// The serial of the request answered.
        serial: u64,
        /// The answer.
        response: ClientResponse<KvOutput>,
    },
}

impl Rewrite<Id> for Msg {
    fn rewrite<S>(&self, plan: &RewritePlan<Id, S>) -> Self {
        match self {
            Msg::Raft(m) => Msg::Raft(
                m.clone()
                    .map_node_ids(|n| node_id(plan.rewrite(&server_id(n)))),
            ),
            // Client ids are never permuted (see `symmetry`), and a request names no server.
            Msg::Request(r) => Msg::Request(r.clone()),
            Msg::Read(r) => Msg::Read(r.clone()),
            Msg::Reply { serial, response } => Msg::Reply {
                serial: *serial,
                response: match response {
                    ClientResponse::NotLeader { leader_hint } => ClientResponse::NotLeader {
                        leader_hint: leader_hint.map(|n| node_id(plan.rewrite(&server_id(n)))),
                    },
                    ClientResponse::TransferInProgress { target } => {
                        ClientResponse::TransferInProgress {
                            target: node_id(plan.rewrite(&server_id(*target))),
                        }
                    }
                    other => other.clone(),
                },
            },
        }
    }
}
