//! Helpers shared by the tests that drive single nodes (`core_rules.rs`, `features.rs`,
//! `follower_reads.rs`).

use refraft::{Effect, KvCommand, KvStore, Message, NodeEffects, NodeId};

/// The messages `out` sends, in order, with their destinations.
pub fn sends(out: &NodeEffects<KvStore>) -> Vec<(NodeId, Message<KvCommand>)> {
    out.as_slice()
        .iter()
        .filter_map(|e| match e {
            Effect::Send { to, message } => Some((*to, message.clone())),
            _ => None,
        })
        .collect()
}
