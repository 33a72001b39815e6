//! # refraft-model — the stateright model of the refraft core
//!
//! The core's `Node` is driven unchanged by stateright's actor model: N servers and up to two
//! clients on a network that reorders (and optionally duplicates and loses) messages, with
//! servers that crash and restart from their durable state. The checker explores every
//! interleaving within the bounds of [`Settings`] and checks the properties of [`properties`].
//!
//! ```
//! use refraft_model::{RaftModel, Settings};
//! use stateright::{Checker, Model};
//! let settings = Settings { servers: 2, clients: 0, max_term: 1, max_crashes: 0, ..Settings::default() };
//! let checker = RaftModel::new(settings).unwrap().checker().spawn_bfs().join();
//! checker.assert_properties();
//! ```

#![warn(missing_docs)]

pub mod actor;
pub mod chooser;
pub mod client;
pub mod counterexample;
pub mod diagram;
pub mod flow;
pub mod ghost;
pub mod history;
pub mod ids;
pub mod interned;
pub mod model;
pub mod msg;
pub mod properties;
pub mod reached;
pub mod report;
pub mod seeded;
pub mod server;
pub mod settings;
pub mod shared;
mod spelling;
pub mod step_memo;
pub mod summary;
pub mod swarm;
pub mod symmetry;
pub mod trace;
pub mod trace_data;
pub mod trace_file;
pub mod trace_pool;

pub use actor::{ActorState, ModelTimer, RaftActor};
pub use client::{client_command, ClientState};
pub use counterexample::Counterexample;
pub use history::{History, KvSpec};
pub use model::{Action, RaftModel, State};
pub use msg::Msg;
pub use server::{ServerState, Stored};
pub use settings::{NetworkKind, Settings};
pub use shared::Shared;
