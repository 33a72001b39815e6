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
//! assert!(n1.is_candidate());
//! // The vote request goes to both peers, after the new term and vote were persisted.
//! let sends = out.as_slice().iter().filter(|e| matches!(e, Effect::Send { .. })).count();
//! assert_eq!(sends, 2);
//! assert!(matches!(out.as_slice()[0], Effect::PersistHardState { current_term: 1, .. }));
//! ```

#![warn(missing_docs)]

mod client;
mod config;
mod durable;
mod effect;
mod election;
mod error;
mod ids;
mod kv;
mod log;
pub mod log_store;
mod message;
mod node;
mod progress;
pub mod quorum;
mod replication;
pub mod sim;
mod state_machine;

pub use client::{ClientRequest, ClientResponse};
pub use config::{Config, ConfigError, Rule, UnknownRule};
pub use durable::{DurableError, DurableState};
pub use effect::{Effect, Effects, Timer};
pub use error::StepError;
pub use ids::{ClientId, Index, NodeId, Term};
pub use kv::{KvCommand, KvOutput, KvStore, ParseKvError};
pub use log::{Entries, Entry, Log, Payload};
pub use message::{
    AppendEntries, AppendEntriesResponse, AppendResult, ConflictHint, Message, RequestVote,
    RequestVoteResponse,
};
pub use node::{Input, Node, NodeEffects, Role, StartError};
pub use progress::{Flow, InFlight, Progress};
pub use state_machine::{Session, SessionCheck, SessionMachine, StateMachine};
