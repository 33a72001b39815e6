//! Side-by-side drivers of refraft and raft-rs (TiKV's Raft, crate `raft` 0.7) for the benches
//! in `benches/versus.rs`: the same three-node round (a FIFO network, every effect performed in
//! order, durable state kept in memory, no I/O) over either implementation, so that one
//! criterion run times both.
//!
//! ```
//! use refraft_compare::{raft_rs, refraft_side, Machine};
//! let mut ours = refraft_side::Cluster::elected(Machine::Kv);
//! let mut theirs = raft_rs::Cluster::elected(Machine::Kv);
//! ours.round(16);
//! theirs.round(16);
//! // Both committed and applied all 16 on the leader; pipelining sends each entry once per
//! // follower.
//! assert_eq!((ours.applied(), theirs.applied()), (16, 16));
//! assert_eq!(ours.entries_sent(), 2 * 16);
//! ```

pub mod conformance;
pub mod raft_rs;
pub mod refraft_side;

/// What the nodes apply committed commands to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Machine {
    /// refraft's `KvStore`: `SET k<i % 16>=<i>` commands, parsed from bytes on the raft-rs side.
    Kv,
    /// A counter that adds each command: the cost of Raft alone.
    Trivial,
}

impl Machine {
    /// Both of them, for the bench loops.
    pub const ALL: [Machine; 2] = [Machine::Kv, Machine::Trivial];

    /// The name in a bench id.
    pub fn name(self) -> &'static str {
        match self {
            Machine::Kv => "kv",
            Machine::Trivial => "trivial",
        }
    }
}

/// The key-value command of proposal `serial`.
pub fn kv_command(serial: u64) -> refraft::KvCommand {
    refraft::KvCommand::Set {
        key: format!("k{}", serial % 16),
        value: serial.to_string(),
    }
}
