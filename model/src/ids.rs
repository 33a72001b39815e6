//! The model's actors are numbered by stateright: servers first (`0..servers`), then clients.
//! A server's `NodeId` and a client's `ClientId` are its actor index.

use refraft::{ClientId, NodeId};
use stateright::actor::Id;

/// The core's id of the server actor `id`.
pub fn node_id(id: Id) -> NodeId {
    NodeId(usize::from(id) as u64)
}

/// The actor id of server `node`.
pub fn server_id(node: NodeId) -> Id {
    Id::from(node.0 as usize)
}

/// The core's session id of the client actor `id`.
pub fn client_id(id: Id) -> ClientId {
    ClientId(usize::from(id) as u64)
}

/// The actor id of client `client`.
pub fn client_actor(client: ClientId) -> Id {
    Id::from(client.0 as usize)
}
