//! # refraft — a reference Raft
//!
//! The Raft consensus protocol of Ongaro and Ousterhout's paper ("In Search of an Understandable
//! Consensus Algorithm", 2014) and Ongaro's dissertation (2014), written once as a deterministic,
//! sans-IO state machine. A [`Node`] is fed [`Input`]s (a message, a timer firing, a client
//! request) and writes [`Effect`]s (persist, send, set a timer, apply, reply) to an [`Effects`]
//! buffer. It holds no sockets, clocks, threads or random number generators, so a model
//! checker, a simulator and a real runtime drive the same code.
//!
//! Section references in comments (`§5.4.2`) point into the paper; "dissertation §6.3" points
//! into the dissertation.
//!
//! ```
//! use refraft::*;
//! let ids = vec![NodeId(1), NodeId(2), NodeId(3)];
//! let mut out = NodeEffects::<KvStore>::new();
//! let config = Config::new(NodeId(1), ids).unwrap();
//! let mut n1 = Node::new(config, DurableState::default(), KvStore::default(), &mut out).unwrap();
//! out.clear();
//! n1.step(Input::Timeout(Timer::Election), &mut out).unwrap();
//! // PreVote (dissertation §9.6, on by default): ask first, change no term, persist nothing.
//! assert!(n1.is_pre_candidate());
//! assert_eq!(n1.current_term(), 0);
//! let pre_votes = out.as_slice().iter().filter(|e| matches!(e, Effect::Send { message: Message::PreVote(_), .. })).count();
//! assert_eq!(pre_votes, 2);
//! assert!(!out.as_slice().iter().any(|e| matches!(e, Effect::PersistHardState { .. })));
//! // One granted pre-vote makes a majority: the real election starts (§5.2).
//! out.clear();
//! let grant = RequestVoteResponse { term: 1, vote_granted: true };
//! n1.step(Input::Message { from: NodeId(2), message: Message::PreVoteResponse(grant) }, &mut out).unwrap();
//! assert!(n1.is_candidate());
//! assert!(matches!(out.as_slice()[0], Effect::PersistHardState { current_term: 1, .. }));
//! ```

#![warn(missing_docs)]

mod client;
mod config;
mod durable;
mod effect;
mod election;
mod entries;
mod error;
mod follower_read;
mod ids;
mod kv;
mod leadership;
mod log;
pub mod log_store;
mod message;
mod node;
mod pending;
mod pre_vote;
mod progress;
pub mod quorum;
mod read;
mod replication;
pub mod sim;
mod state_machine;
pub mod trace;
mod transfer;

pub use client::{ClientRequest, ClientResponse};
pub use config::{Config, ConfigError, ReadMode, RejectHint, Rule, UnknownRule};
pub use durable::{DurableError, DurableState};
pub use effect::{Effect, Effects, Timer};
pub use entries::Entries;
pub use error::{StepError, TransferError};
pub use follower_read::ForwardedRead;
pub use ids::{ClientId, Index, NodeId, Term};
pub use kv::{KvCommand, KvOutput, KvStore, ParseKvError};
pub use leadership::Leadership;
pub use log::{Entry, Log, Payload};
pub use message::{
    AppendEntries, AppendEntriesResponse, AppendResult, ConflictHint, Heartbeat, HeartbeatResponse,
    Message, ReadIndexRequest, ReadIndexResponse, RequestVote, RequestVoteResponse, TimeoutNow,
};
pub use node::{Input, Node, NodeEffects, Role, StartError};
pub use progress::{Flow, InFlight, Progress};
pub use read::{PendingRead, ReadOrigin, ReadPath};
pub use state_machine::{Session, SessionCheck, SessionMachine, StateMachine};
