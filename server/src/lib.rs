//! # refraft-server — a real cluster from the refraft core
//!
//! Servers that drive the unchanged, sans-IO [`refraft::Node`] over TCP, with a durable
//! write-ahead log, and a key-value client protocol:
//!
//! - [`node_loop`]: the node thread, performing effects in order, persist before send, with
//!   group commit;
//! - [`storage`], [`wal`], [`hard_state`], [`storage_error`]: the data directory;
//! - [`transport`]: length-prefixed postcard frames between servers;
//! - [`client_protocol`], [`client_port`], [`client_conn`], [`client`]: the line protocol, its
//!   server side (one event loop for every connection) and a redirect-following, retrying
//!   client;
//! - [`trace_log`]: `serve --trace FILE`, this server's steps in the trace format of
//!   `spec/TRACE.md`;
//! - [`server`]: starting it all; [`applier`], [`timers`]: the helpers threads.

#![warn(missing_docs)]

pub mod applier;
pub mod cli;
pub mod client;
pub mod client_conn;
pub mod client_port;
pub mod client_protocol;
pub mod config_file;
pub mod hard_state;
pub mod node_loop;
pub mod server;
pub mod storage;
pub mod storage_error;
pub mod timers;
pub mod trace_log;
pub mod transport;
pub mod wal;

pub use storage_error::StorageError;
