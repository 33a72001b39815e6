//! Identifiers and counters of the protocol: node ids, client ids, terms and log indexes.
//!
//! Figure 2 of the Raft paper uses plain integers for terms and indexes; they are kept as plain
//! `u64` aliases here so that arithmetic reads like the paper (`prev_log_index + 1`). Node and
//! client ids are newtypes so that one is never passed where the other is meant.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A term number (§5.1). Terms start at 0 on a fresh node and only grow.
pub type Term = u64;

/// A log index (§5.3). The first entry has index 1; index 0 is "before the log" and has term 0.
pub type Index = u64;

/// The id of a server in the cluster.
///
/// ```
/// use refraft::NodeId;
/// assert_eq!(NodeId(3).to_string(), "n3");
/// ```
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct NodeId(pub u64);

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "n{}", self.0)
    }
}

/// The id of a client session (dissertation §6.3): requests are de-duplicated per client.
///
/// ```
/// use refraft::ClientId;
/// assert_eq!(ClientId(7).to_string(), "c7");
/// ```
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct ClientId(pub u64);

impl fmt::Display for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "c{}", self.0)
    }
}
