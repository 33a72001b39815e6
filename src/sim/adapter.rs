//! The adapter seam: what the simulator needs of a Raft implementation, so that it can run its
//! scenarios and its per-step safety checks against someone else's Raft.
//!
//! An implementation is driven as a sans-IO state machine. [`SimNode`] asks it to
//!
//! - **boot** from durable state (the first start, and every restart after a crash);
//! - **take one input** (a message, a timer firing, a client request) and return its effects,
//!   in order ([`SimEffect`]: persist, send, arm or cancel a timer, apply, answer a client);
//! - **show its Figure 2 state**: term, role, log, commit and apply indexes.
//!
//! The simulator owns the clock, the network, the disks and all randomness; it performs the
//! effects and checks Figure 3's properties after every step ([`super::SafetyChecker`]).
//! refraft's own `Node<KvStore>` implements the trait (`refraft_node.rs`); the crate
//! `refraft-compare` implements it for raft-rs 0.7 (`compare/src/conformance.rs`).
//!
//! A minimal implementation, a single server that makes itself leader when its timer fires
//! and commits each request at once:
//!
//! ```
//! use refraft::sim::{SimConfig, SimEffect, SimNode, Simulation};
//! use refraft::{ClientRequest, ClientResponse, Config, Index, KvCommand, KvOutput};
//! use refraft::{NodeId, Term};
//! use std::time::Duration;
//!
//! /// A lone server: its log is a list of (term, request).
//! struct Lone { id: NodeId, term: Term, leader: bool, log: Vec<Entry>, applied: Index }
//! #[derive(Clone, Debug, PartialEq)]
//! struct Entry { term: Term, request: ClientRequest<KvCommand> }
//! #[derive(Clone)]
//! enum In { Timeout, Client(ClientRequest<KvCommand>) }
//! #[derive(Clone, Debug, Default)]
//! struct Disk { term: Term, log: Vec<Entry> }
//!
//! impl SimNode for Lone {
//!     type Message = ();
//!     type Input = In;
//!     type Effects = Vec<SimEffect<Self>>;
//!     type Drain = std::vec::IntoIter<SimEffect<Self>>;
//!     type Entry = Entry;
//!     type Disk = Disk;
//!     type Write = Disk;
//!     type Timer = ();
//!     type Refusal = String;
//!     fn boot(config: &Config, disk: Disk, _seed: u64) -> Result<(Self, Self::Effects), String> {
//!         let node = Lone { id: config.id(), term: disk.term, leader: false, log: disk.log, applied: 0 };
//!         let arm = SimEffect::SetTimer { timer: (), after: Duration::from_millis(10)..Duration::from_millis(20) };
//!         Ok((node, vec![arm]))
//!     }
//!     fn new_effects() -> Self::Effects { Vec::new() }
//!     fn step(&mut self, input: In, out: &mut Self::Effects) -> Result<(), String> {
//!         match input {
//!             In::Timeout => {
//!                 self.term += 1;
//!                 self.leader = true;
//!                 out.push(SimEffect::Persist { write: Disk { term: self.term, log: self.log.clone() }, first_index: None });
//!             }
//!             In::Client(request) if self.leader => {
//!                 let (client, serial) = (request.client, request.serial);
//!                 self.log.push(Entry { term: self.term, request });
//!                 self.applied = self.log.len() as Index;
//!                 out.push(SimEffect::Persist { write: Disk { term: self.term, log: self.log.clone() }, first_index: Some(self.applied) });
//!                 out.push(SimEffect::Apply { index: self.applied, term: self.term });
//!                 out.push(SimEffect::Reply { client, serial, response: ClientResponse::Applied(KvOutput::Done) });
//!             }
//!             In::Client(r) => out.push(SimEffect::Reply {
//!                 client: r.client, serial: r.serial, response: ClientResponse::NotLeader { leader_hint: None },
//!             }),
//!         }
//!         Ok(())
//!     }
//!     fn drain(out: Self::Effects) -> Self::Drain { out.into_iter() }
//!     fn message_input(_from: NodeId, _message: ()) -> In { In::Timeout }
//!     fn timeout_input(_timer: ()) -> In { In::Timeout }
//!     fn client_input(request: ClientRequest<KvCommand>) -> In { In::Client(request) }
//!     fn refusal_is_benign(_refusal: &String) -> bool { false }
//!     fn timer_slot(_timer: ()) -> usize { 0 }
//!     fn id(&self) -> NodeId { self.id }
//!     fn current_term(&self) -> Term { self.term }
//!     fn is_leader(&self) -> bool { self.leader }
//!     fn commit_index(&self) -> Index { self.applied }
//!     fn last_applied(&self) -> Index { self.applied }
//!     fn last_index(&self) -> Index { self.log.len() as Index }
//!     fn term_at(&self, index: Index) -> Option<Term> {
//!         if index == 0 { Some(0) } else { self.entry(index).map(|e| e.term) }
//!     }
//!     fn entry(&self, index: Index) -> Option<&Entry> {
//!         self.log.get((index as usize).checked_sub(1)?)
//!     }
//!     fn entry_term(entry: &Entry) -> Term { entry.term }
//!     fn client_request(entry: &Entry) -> Option<ClientRequest<KvCommand>> { Some(entry.request.clone()) }
//!     fn write(disk: &mut Disk, write: &Disk) { *disk = write.clone(); }
//!     fn durable_matches(&self, disk: &Disk) -> bool { disk.term == self.term && disk.log == self.log }
//!     fn describe(_message: &()) -> String { String::new() }
//! }
//!
//! let mut sim = Simulation::<Lone>::boot(SimConfig::new(1, 7)).unwrap();
//! let index = sim.commit_command("SET x=1".parse().unwrap(), Duration::from_secs(1)).unwrap();
//! assert_eq!(index, 1);
//! ```

use crate::client::{ClientRequest, ClientResponse};
use crate::config::Config;
use crate::ids::{ClientId, Index, NodeId, Term};
use crate::kv::{KvCommand, KvOutput};
use crate::read::ReadPath;
use crate::trace::{MessageId, Recorder, Step};
use std::fmt;
use std::ops::Range;
use std::time::Duration;

/// The most timer kinds a node may use ([`SimNode::timer_slot`] is below this).
pub const MAX_TIMERS: usize = 4;

/// A sans-IO Raft server as the simulator drives it. See the [module documentation](self) for
/// a worked example.
pub trait SimNode: Sized {
    /// A message between servers.
    type Message: Clone + fmt::Debug;
    /// One input of a step (a message, a timer firing, a client request, ...).
    type Input: Clone;
    /// What one step writes its effects into (a `Vec<SimEffect<Self>>` will do).
    type Effects;
    /// The effects of a step, in order, in the simulator's terms (`std::vec::IntoIter` of a
    /// `Vec<SimEffect<Self>>` will do).
    type Drain: Iterator<Item = SimEffect<Self>>;
    /// A log entry. The safety checks compare entries whole.
    type Entry: Clone + PartialEq + fmt::Debug;
    /// What survives a crash: term, vote, log.
    type Disk: Clone + Default + fmt::Debug;
    /// One write to the disk, performed in effect order.
    type Write;
    /// A kind of timer.
    type Timer: Copy + fmt::Debug;
    /// Why a node refused an input.
    type Refusal: fmt::Display + fmt::Debug;

    /// Starts server `config.id()` of the members `config` names from `disk` (empty on the
    /// first start). `config` carries the simulation's settings in refraft's vocabulary (PreVote,
    /// CheckQuorum, the pipelining window, ...): map what has a counterpart. `seed` is for any
    /// randomness the implementation draws itself (derived from the simulation's seed, so runs
    /// replay). Returns the node and the effects of starting (arming its first timer).
    fn boot(config: &Config, disk: Self::Disk, seed: u64) -> Result<(Self, Self::Effects), String>;
    /// An empty effects container.
    fn new_effects() -> Self::Effects;
    /// Takes one input, writing its effects into `out`. A refusal is the node's verdict on the
    /// input; [`SimNode::refusal_is_benign`] says whether a correct cluster can cause it.
    fn step(&mut self, input: Self::Input, out: &mut Self::Effects) -> Result<(), Self::Refusal>;
    /// The effects written, in order, in the simulator's terms.
    fn drain(out: Self::Effects) -> Self::Drain;

    /// The input "`message` arrived from `from`".
    fn message_input(from: NodeId, message: Self::Message) -> Self::Input;
    /// The input "`timer` fired".
    fn timeout_input(timer: Self::Timer) -> Self::Input;
    /// The input "a client asks for `request`".
    fn client_input(request: ClientRequest<KvCommand>) -> Self::Input;
    /// Whether the network or a client can make a correct node refuse an input this way (a
    /// stale message, say). Other refusals fail the run.
    fn refusal_is_benign(refusal: &Self::Refusal) -> bool;
    /// A distinct number below [`MAX_TIMERS`] for each kind of timer.
    fn timer_slot(timer: Self::Timer) -> usize;

    /// The server's id.
    fn id(&self) -> NodeId;
    /// Figure 2's `currentTerm`.
    fn current_term(&self) -> Term;
    /// Whether it believes it leads `current_term`.
    fn is_leader(&self) -> bool;
    /// Figure 2's `commitIndex`.
    fn commit_index(&self) -> Index;
    /// Figure 2's `lastApplied`.
    fn last_applied(&self) -> Index;
    /// The index of the last log entry (0 for an empty log).
    fn last_index(&self) -> Index;
    /// The term of the entry at `index` (0 at index 0), if the log holds it.
    fn term_at(&self, index: Index) -> Option<Term>;
    /// The entry at `index` (from 1), if the log holds it.
    fn entry(&self, index: Index) -> Option<&Self::Entry>;
    /// An entry's term.
    fn entry_term(entry: &Self::Entry) -> Term;
    /// The client request an entry carries, if it carries one.
    fn client_request(entry: &Self::Entry) -> Option<ClientRequest<KvCommand>>;
    /// Performs one write on a disk.
    fn write(disk: &mut Self::Disk, write: &Self::Write);
    /// Whether the node's own idea of its durable state is what its writes put on `disk`.
    fn durable_matches(&self, disk: &Self::Disk) -> bool;
    /// A one-line description of a message, for failure reports.
    fn describe(message: &Self::Message) -> String;
    /// What a message counts for in [`super::Stats`].
    fn message_stats(message: &Self::Message) -> MessageStats {
        let _ = message;
        MessageStats::default()
    }
    /// Invariants of the implementation itself, checked after every step (refraft checks its
    /// flow control, dissertation §10.2). None by default.
    fn check_invariants(&self) -> Result<(), String> {
        Ok(())
    }
    /// The trace line (`spec/TRACE.md`) of a start, if the implementation emits traces.
    fn trace_start(
        &self,
        recorder: &mut Recorder,
        restart: bool,
        effects: &Self::Effects,
    ) -> Option<Step> {
        let _ = (recorder, restart, effects);
        None
    }
    /// The trace line of a step whose input is `input` (a delivery of send `id`, if any).
    fn trace_step(
        &self,
        recorder: &mut Recorder,
        input: &Self::Input,
        id: Option<MessageId>,
        effects: &Self::Effects,
    ) -> Option<Step> {
        let _ = (recorder, input, id, effects);
        None
    }
}

/// One effect of a step, as the simulator performs it.
#[derive(Debug)]
pub enum SimEffect<N: SimNode> {
    /// Write to the disk before anything later in the step is revealed. `first_index` is the
    /// first log index the write stores, if it stores entries.
    Persist {
        /// The write.
        write: N::Write,
        /// The first log index written, if any.
        first_index: Option<Index>,
    },
    /// Send a message.
    Send {
        /// The receiver.
        to: NodeId,
        /// The message.
        message: N::Message,
    },
    /// Arm a timer for a delay drawn from `after` (re-arming replaces the previous one).
    SetTimer {
        /// Which timer.
        timer: N::Timer,
        /// The range the delay is drawn from.
        after: Range<Duration>,
    },
    /// Disarm a timer.
    CancelTimer {
        /// Which timer.
        timer: N::Timer,
    },
    /// The entry at `index`, of `term`, was applied to the state machine.
    Apply {
        /// Its index.
        index: Index,
        /// Its term.
        term: Term,
    },
    /// Answer a client's request.
    Reply {
        /// The client.
        client: ClientId,
        /// The request's serial.
        serial: u64,
        /// The answer.
        response: ClientResponse<KvOutput>,
    },
    /// Answer a read served without a log entry (dissertation §6.4).
    ReadReply {
        /// The client.
        client: ClientId,
        /// The request's serial.
        serial: u64,
        /// The read index it was served at.
        read_index: Index,
        /// How leadership was confirmed.
        path: ReadPath,
        /// The answer.
        response: ClientResponse<KvOutput>,
    },
}

/// What one message counts for in the simulation's counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MessageStats {
    /// A RequestVote or AppendEntries request (an RPC, as the 6.824 lab counts them).
    pub request: bool,
    /// Log entries it carries.
    pub entries: u64,
    /// Command bytes it carries.
    pub command_bytes: u64,
}
