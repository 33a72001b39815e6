//! Starting one server: read the data directory back, start the node, the peer links, the
//! applier and the two listeners, then run the node thread.

use crate::applier;
use crate::client_port::ClientPort;
use crate::node_loop::{Event, NodeLoop, RuntimeError, Status, EVENT_QUEUE};
use crate::storage::Storage;
use crate::storage_error::StorageError;
use crate::trace_log::{TraceLog, TraceLogError};
use crate::transport::backoff::Backoff;
use crate::transport::peer_reader::PeerReader;
use crate::transport::{inbound, outbound};
use refraft::log_store::LogWriter;
use refraft::{Config, KvStore, Node, NodeEffects, NodeId, StartError};
use std::collections::BTreeMap;
use std::net::{SocketAddr, TcpListener};
use std::ops::Range;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The most entries one AppendEntries carries. Without pipelining, one round trip to a
/// follower moves at most this many entries, so it bounds throughput under load; a
/// message of 1024 small commands is a few tens of KiB.
pub const MAX_ENTRIES_PER_APPEND: usize = 1024;

/// How one server is run.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// This server.
    pub id: NodeId,
    /// Every member's peer address, this server's own included (it listens there).
    pub peers: BTreeMap<NodeId, SocketAddr>,
    /// The data directory.
    pub data: PathBuf,
    /// Where clients connect.
    pub client_addr: SocketAddr,
    /// The randomized election timeout (§5.2).
    pub election_timeout: Range<Duration>,
    /// The heartbeat interval.
    pub heartbeat: Duration,
    /// How long a client request waits for its commit.
    pub request_timeout: Duration,
    /// The first and the largest wait between attempts to connect to a peer.
    pub reconnect_backoff: (Duration, Duration),
    /// Where to write this server's trace (spec/TRACE.md); `None`: no trace.
    pub trace: Option<PathBuf>,
}

/// Why a server stopped or did not start.
#[derive(Debug)]
pub enum ServeError {
    /// The configuration is unusable.
    Config(String),
    /// A listener could not be opened.
    Bind {
        /// What for.
        what: &'static str,
        /// The address.
        addr: SocketAddr,
        /// The error.
        source: std::io::Error,
    },
    /// The data directory could not be read back.
    Storage(StorageError),
    /// The state read back is inconsistent.
    Start(StartError),
    /// The trace file cannot be used.
    Trace(TraceLogError),
    /// A thread of the server (the client port, a peer link) could not be started.
    Thread(&'static str, std::io::Error),
    /// The node thread stopped.
    Runtime(RuntimeError),
}

impl std::fmt::Display for ServeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ServeError::Config(e) => write!(f, "bad configuration: {e}"),
            ServeError::Bind { what, addr, source } => {
                write!(f, "cannot listen for {what} on {addr}: {source}")
            }
            ServeError::Storage(e) => write!(f, "{e}"),
            ServeError::Start(e) => write!(f, "{e}"),
            ServeError::Trace(e) => write!(f, "{e}"),
            ServeError::Thread(what, e) => write!(f, "cannot start the {what}: {e}"),
            ServeError::Runtime(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for ServeError {}

/// Runs a server until the node thread stops (it stops only on a storage failure).
pub fn serve(config: ServerConfig) -> Result<(), ServeError> {
    let own = *config.peers.get(&config.id).ok_or_else(|| {
        ServeError::Config(format!(
            "--peers does not list this server's id {}",
            config.id.0
        ))
    })?;
    let mut core = Config::new(config.id, config.peers.keys().copied().collect())
        .map_err(|e| ServeError::Config(e.to_string()))?;
    core.election_timeout_min = config.election_timeout.start;
    core.election_timeout_max = config.election_timeout.end;
    core.heartbeat_interval = config.heartbeat;
    core.max_entries_per_append = MAX_ENTRIES_PER_APPEND;
    core.validate()
        .map_err(|e| ServeError::Config(e.to_string()))?;

    let (storage, durable, summary) = Storage::open(&config.data).map_err(ServeError::Storage)?;
    if summary.torn_bytes > 0 {
        tracing::warn!(
            bytes = summary.torn_bytes,
            file = %summary.torn_file.as_ref().map_or(String::new(), |p| p.display().to_string()),
            "torn tail truncated: {} bytes of an incomplete last record cut off (zeroed in a preallocated segment)",
            summary.torn_bytes
        );
    }
    tracing::info!(
        id = config.id.0,
        term = durable.current_term,
        voted_for = durable.voted_for.map_or(0, |v| v.0),
        entries = durable.log.last_index(),
        records = summary.records,
        truncations = summary.truncations,
        segments = summary.segments,
        "recovered durable state"
    );

    let bind = |what, addr| {
        TcpListener::bind(addr).map_err(|source| ServeError::Bind { what, addr, source })
    };
    let members: Vec<NodeId> = config.peers.keys().copied().collect();
    let trace = match &config.trace {
        Some(path) => Some(TraceLog::open(path, config.id, &members).map_err(ServeError::Trace)?),
        None => None,
    };
    let peer_listener = bind("peers", own)?;
    let client_listener = bind("clients", config.client_addr)?;

    let mut out = NodeEffects::<KvStore>::new();
    let node = Node::new(core, durable, KvStore::default(), &mut out).map_err(ServeError::Start)?;
    let log = LogWriter::from_log(node.log().clone())
        .map_err(|e| ServeError::Config(format!("the log read back is inconsistent: {e}")))?;
    let status = Arc::new(Mutex::new(Status::default()));
    let client_addrs = Arc::new(Mutex::new(BTreeMap::new()));
    let my_client_addr = config.client_addr.to_string();
    let peers = config
        .peers
        .iter()
        .filter(|(id, _)| **id != config.id)
        .map(|(&id, &addr)| {
            let link = outbound::spawn(
                config.id,
                my_client_addr.clone(),
                id,
                addr,
                log.reader().clone(),
                Backoff::new(config.reconnect_backoff.0, config.reconnect_backoff.1),
            )
            .map_err(|e| ServeError::Thread("peer link", e))?;
            Ok((id, link))
        })
        .collect::<Result<_, ServeError>>()?;
    let applied = applier::spawn(log.reader().clone());
    let (events, event_rx) = std::sync::mpsc::sync_channel::<Event>(EVENT_QUEUE);
    let (peer_reader, events) =
        PeerReader::new(events).map_err(|e| ServeError::Thread("peer reader", e))?;
    inbound::spawn(
        peer_listener,
        config.peers.keys().copied().collect(),
        events.clone(),
        client_addrs.clone(),
    );
    let answers = ClientPort {
        events,
        status: status.clone(),
        applied,
        client_addrs,
        my_addr: my_client_addr,
        log: log.reader().clone(),
        timeout: config.request_timeout,
    }
    .spawn(client_listener)
    .map_err(|e| ServeError::Thread("client port", e))?;
    tracing::info!(id = config.id.0, peers = %own, clients = %config.client_addr, "serving");
    NodeLoop::new(node, out, storage, log, peers, status, answers, trace)
        .run(event_rx, peer_reader)
        .map_err(ServeError::Runtime)
}
