//! Client interaction (§8, dissertation §6): requests, and the answers a node gives.

use crate::ids::{ClientId, NodeId};
use serde::{Deserialize, Serialize};

/// A client's request: a command for the state machine, tagged with the client's session and a
/// serial number that grows with each new request (dissertation §6.3). A retry reuses the serial.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ClientRequest<C> {
    /// The client's session id.
    pub client: ClientId,
    /// The request's serial number within the session.
    pub serial: u64,
    /// The command to apply.
    pub command: C,
}

/// A node's answer to a client.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum ClientResponse<R> {
    /// The command was committed and applied; this is the state machine's output.
    Applied(R),
    /// This node is not the leader (§8): try `leader_hint` if known.
    NotLeader {
        /// The leader this node last heard from in its current term, if any.
        leader_hint: Option<NodeId>,
    },
    /// The session has already moved past this serial: the request is older than one the
    /// client has already seen answered, and its output is no longer kept (dissertation §6.3).
    SessionExpired,
    /// The leader is handing leadership to `target` (dissertation §3.10) and takes no
    /// proposals meanwhile: try `target`, or again here later.
    TransferInProgress {
        /// The server becoming leader.
        target: NodeId,
    },
}
