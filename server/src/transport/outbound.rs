//! The sending side of one peer link: a bounded queue drained by one thread that connects,
//! reconnects with exponential backoff, and writes what the node thread queued; while that
//! thread is idle and the connection up, the node thread writes its frames itself
//! ([`PeerLink::send`]), without blocking.
//!
//! AppendEntries messages are queued without their entries, as an [`Outgoing::Append`] that
//! names the range; the thread reads the entries from the shared
//! [`log_store`](refraft::log_store) when it sends (the per-follower replication reader). The
//! queue therefore holds a few dozen bytes per message whatever the batch size, and a full
//! queue (a slow or dead peer) drops messages, which Raft tolerates (§5.3: the leader retries),
//! so memory stays bounded.

use super::backoff::Backoff;
use super::frame::write_frame;
use super::wire::Frame;
use mio::{Events, Interest, Poll, Token};
use refraft::log_store::LogReader;
use refraft::{AppendEntries, Index, KvCommand, Message, NodeId, Term};
use std::io::{ErrorKind, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TryRecvError, TrySendError};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Messages waiting for one peer, at most this many.
pub const QUEUE_CAPACITY: usize = 1024;
const CONNECT_TIMEOUT: Duration = Duration::from_millis(300);
/// How long a peer's full socket may take no bytes before the connection is given up.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(2);
/// The node thread writes a message itself only if it carries at most this many entries: a
/// large AppendEntries is encoded and written by the link's thread, in parallel with the node
/// thread's own work (its fsync), which is what limits throughput under load.
pub const DIRECT_MAX_ENTRIES: u64 = 4;
/// The link's thread writes out a burst once this many bytes of it are encoded, so at most
/// this much plus one frame waits in memory for a slow peer.
const FLUSH_AT: usize = 64 << 10;

/// A queued message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outgoing {
    /// Any message but a non-empty AppendEntries, sent as it is.
    Message(Message<KvCommand>),
    /// An AppendEntries whose entries `prev_log_index + 1 ..= prev_log_index + count` are read
    /// from the log store at send time; `last_term` is the term the last of them had.
    Append {
        /// The leader's term.
        term: Term,
        /// The index before the first entry.
        prev_log_index: Index,
        /// Its term.
        prev_log_term: Term,
        /// The leader's commit index.
        leader_commit: Index,
        /// How many entries.
        count: u64,
        /// The term of the last entry when the message was made.
        last_term: Term,
    },
}

impl Outgoing {
    /// Turns a message of the core into a queue item.
    pub fn from_message(message: Message<KvCommand>) -> Self {
        match message {
            Message::AppendEntries(ae) if !ae.entries.is_empty() => Outgoing::Append {
                term: ae.term,
                prev_log_index: ae.prev_log_index,
                prev_log_term: ae.prev_log_term,
                leader_commit: ae.leader_commit,
                count: ae.entries.len() as u64,
                last_term: ae.entries.last().map_or(0, |e| e.term),
            },
            other => Outgoing::Message(other),
        }
    }

    /// Whether this is an AppendEntries (with or without entries): what the node thread sends
    /// before its fsync (dissertation §10.2.1).
    ///
    /// ```
    /// use refraft::{AppendEntries, Entry, KvCommand, Message};
    /// use refraft_server::transport::outbound::Outgoing;
    /// let append = |entries: Vec<Entry<KvCommand>>| {
    ///     Outgoing::from_message(Message::AppendEntries(AppendEntries {
    ///         term: 2,
    ///         prev_log_index: 0,
    ///         prev_log_term: 0,
    ///         entries: entries.into(),
    ///         leader_commit: 0,
    ///     }))
    /// };
    /// assert!(append(vec![Entry::noop(2)]).is_append_entries()); // queued as a range
    /// assert!(append(vec![]).is_append_entries()); // a heartbeat, queued as it is
    /// ```
    pub fn is_append_entries(&self) -> bool {
        matches!(
            self,
            Outgoing::Append { .. } | Outgoing::Message(Message::AppendEntries(_))
        )
    }

    /// The message to send, its entries read from `log`; `None` if the log no longer holds
    /// them. Reading the same last index with the same term gives the same entries (§5.3, Log
    /// Matching: an index and a term identify a log prefix), so the message is the one the
    /// core produced.
    pub fn resolve(self, log: &LogReader<KvCommand>) -> Option<Message<KvCommand>> {
        match self {
            Outgoing::Message(m) => Some(m),
            Outgoing::Append {
                term,
                prev_log_index,
                prev_log_term,
                leader_commit,
                count,
                last_term,
            } => {
                let entries = log
                    .entries(prev_log_index + 1..prev_log_index + 1 + count)
                    .ok()?;
                (entries.last().map(|e| e.term) == Some(last_term)).then_some(())?;
                Some(Message::AppendEntries(AppendEntries {
                    term,
                    prev_log_index,
                    prev_log_term,
                    entries: entries.into(),
                    leader_commit,
                }))
            }
        }
    }
}

/// What the node thread and the link's thread share: the connection, and the bytes written to
/// it but not yet taken by the socket.
#[derive(Debug, Default)]
struct Wire {
    conn: Option<mio::net::TcpStream>,
    unsent: Vec<u8>,
}

impl Wire {
    /// Writes what the socket takes of `unsent` without blocking; a failed connection is
    /// dropped (the link's thread reconnects on its next message).
    fn write_some(&mut self, to: NodeId) {
        let Some(conn) = &mut self.conn else {
            self.unsent.clear();
            return;
        };
        let mut written = 0;
        while written < self.unsent.len() {
            match conn.write(&self.unsent[written..]) {
                Ok(0) => return self.failed(to, "connection closed".into()),
                Ok(n) => written += n,
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return self.failed(to, e.to_string()),
            }
        }
        self.unsent.drain(..written);
    }

    fn failed(&mut self, to: NodeId, error: String) {
        tracing::debug!(peer = %to, %error, "send failed; reconnecting");
        self.conn = None;
        self.unsent.clear();
    }
}

/// What the link's thread is asked to do.
enum Job {
    /// Send a message.
    Send(Outgoing, Option<u64>),
    /// Finish writing what the node thread left in `unsent` (the socket was full).
    Flush,
}

/// The node thread's handle on one peer link.
///
/// When the link's thread has nothing queued and the connection is up, the node thread writes
/// the frame itself, without blocking (one wake-up fewer per message, and none of the link
/// thread's); whatever the socket does not take at once, and every message while the link's
/// thread is busy (connecting, backing off, waiting on a slow peer), goes through the bounded
/// queue. Order is kept: the node thread writes directly only while nothing is queued.
pub struct PeerLink {
    to: NodeId,
    queue: SyncSender<Job>,
    /// Jobs sent to the link's thread and not yet done by it.
    queued: Arc<AtomicUsize>,
    wire: Arc<Mutex<Wire>>,
    log: LogReader<KvCommand>,
    dropped: Arc<AtomicU64>,
}

impl std::fmt::Debug for PeerLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PeerLink")
            .field("to", &self.to)
            .field("queued", &self.queued.load(Ordering::Relaxed))
            .field("dropped", &self.dropped())
            .finish()
    }
}

impl PeerLink {
    /// Sends a message without blocking: written at once when the link is idle and connected,
    /// queued otherwise, dropped when the queue is full. `seq`, when the server traces, is the
    /// message's number among its sends (sent in a `Frame::Traced`).
    pub fn send(&self, item: Outgoing, seq: Option<u64>) {
        if let Ok(mut wire) = self.wire.try_lock() {
            let small = match &item {
                Outgoing::Append { count, .. } => *count <= DIRECT_MAX_ENTRIES,
                Outgoing::Message(_) => true,
            };
            if small && self.queued.load(Ordering::Acquire) == 0 && wire.conn.is_some() {
                let Some(frame) = encode(item, seq, &self.log, self.to) else {
                    return;
                };
                // Nothing is queued, so the link's thread left `unsent` empty.
                if write_frame(&mut wire.unsent, &frame).is_err() {
                    tracing::warn!(peer = %self.to, bytes = frame.len(), "frame too large; dropped");
                    return;
                }
                wire.write_some(self.to);
                if !wire.unsent.is_empty() {
                    self.enqueue(Job::Flush);
                }
                return;
            }
        }
        self.enqueue(Job::Send(item, seq));
    }

    fn enqueue(&self, job: Job) {
        self.queued.fetch_add(1, Ordering::AcqRel);
        match self.queue.try_send(job) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {
                self.queued.fetch_sub(1, Ordering::AcqRel);
                let n = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
                if n.is_power_of_two() {
                    tracing::debug!(dropped = n, "peer queue full, message dropped");
                }
            }
        }
    }

    /// Messages dropped so far because the queue was full.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

/// The frame for `item`, its entries read from `log`; `None` if the log no longer holds them.
fn encode(
    item: Outgoing,
    seq: Option<u64>,
    log: &LogReader<KvCommand>,
    to: NodeId,
) -> Option<Vec<u8>> {
    let Some(message) = item.resolve(log) else {
        tracing::debug!(peer = %to, "entries gone from the log, message dropped");
        return None;
    };
    let frame = match seq {
        None => Frame::Raft(message),
        Some(seq) => Frame::Traced { seq, message },
    };
    Some(frame.encode())
}

/// Starts the link from `me` to peer `to` at `addr`, reconnecting on the schedule `backoff`.
pub fn spawn(
    me: NodeId,
    my_client_addr: String,
    to: NodeId,
    addr: SocketAddr,
    log: LogReader<KvCommand>,
    backoff: Backoff,
) -> std::io::Result<PeerLink> {
    let (queue, rx) = std::sync::mpsc::sync_channel(QUEUE_CAPACITY);
    let hello = Frame::Hello {
        from: me,
        client_addr: my_client_addr,
    }
    .encode();
    let queued = Arc::new(AtomicUsize::new(0));
    let wire = Arc::new(Mutex::new(Wire::default()));
    let sender = Sender {
        to,
        addr,
        hello,
        log: log.clone(),
        poll: Poll::new()?,
        events: Events::with_capacity(4),
        wire: Arc::clone(&wire),
        queued: Arc::clone(&queued),
        backoff,
    };
    std::thread::Builder::new()
        .name(format!("send-{to}"))
        .spawn(move || sender.run(rx))?;
    Ok(PeerLink {
        to,
        queue,
        queued,
        wire,
        log,
        dropped: Arc::new(AtomicU64::new(0)),
    })
}

/// The link's thread: connects, reconnects with backoff, and sends what is queued, waiting for
/// a slow peer's socket up to [`WRITE_TIMEOUT`] before it gives the connection up.
struct Sender {
    to: NodeId,
    addr: SocketAddr,
    hello: Vec<u8>,
    log: LogReader<KvCommand>,
    /// Watches the connection for room to write.
    poll: Poll,
    events: Events,
    wire: Arc<Mutex<Wire>>,
    queued: Arc<AtomicUsize>,
    backoff: Backoff,
}

impl Sender {
    /// Sends until the node thread drops its handle.
    fn run(mut self, rx: Receiver<Job>) {
        while let Ok(job) = rx.recv() {
            let wire = Arc::clone(&self.wire);
            let mut wire = wire.lock().unwrap_or_else(|p| p.into_inner());
            self.job(&mut wire, job);
            // Take what else is queued before writing: one write for a burst.
            loop {
                match rx.try_recv() {
                    Ok(job) => self.job(&mut wire, job),
                    Err(TryRecvError::Empty) => break,
                    Err(TryRecvError::Disconnected) => return,
                }
            }
            self.flush(&mut wire);
        }
    }

    fn job(&mut self, wire: &mut Wire, job: Job) {
        // Under the lock, so the node thread sees the count fall only once the job's bytes
        // are in `unsent`, ahead of anything it writes itself.
        self.queued.fetch_sub(1, Ordering::AcqRel);
        let Job::Send(item, seq) = job else {
            return;
        };
        let Some(frame) = encode(item, seq, &self.log, self.to) else {
            return;
        };
        if wire.conn.is_none() && !self.connect(wire) {
            return;
        }
        if write_frame(&mut wire.unsent, &frame).is_err() {
            tracing::warn!(peer = %self.to, bytes = frame.len(), "frame too large; dropped");
        }
        if wire.unsent.len() >= FLUSH_AT {
            self.flush(wire);
        }
    }

    /// Writes all of `unsent`, waiting for room when the socket is full.
    fn flush(&mut self, wire: &mut Wire) {
        while !wire.unsent.is_empty() && wire.conn.is_some() {
            wire.write_some(self.to);
            if wire.unsent.is_empty() || wire.conn.is_none() {
                return;
            }
            match self.poll.poll(&mut self.events, Some(WRITE_TIMEOUT)) {
                Ok(()) if self.events.is_empty() => {
                    wire.failed(self.to, format!("no room to write for {WRITE_TIMEOUT:?}"))
                }
                Ok(()) => {}
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => wire.failed(self.to, e.to_string()),
            }
        }
    }

    /// Connects, the `Hello` first in `unsent`. A failed attempt waits out the backoff (which
    /// doubles up to a cap) and gives up on the current message.
    fn connect(&mut self, wire: &mut Wire) -> bool {
        match self.try_connect() {
            Ok(mut stream) => {
                if let Err(e) =
                    self.poll
                        .registry()
                        .register(&mut stream, Token(0), Interest::WRITABLE)
                {
                    tracing::warn!(peer = %self.to, error = %e, "cannot watch the connection");
                    return false;
                }
                tracing::debug!(
                    peer = %self.to,
                    addr = %self.addr,
                    failed_attempts = self.backoff.failures(),
                    "connected"
                );
                self.backoff.connected();
                wire.unsent.clear();
                let _ = write_frame(&mut wire.unsent, &self.hello);
                wire.conn = Some(stream);
                true
            }
            Err(e) => {
                let wait = self.backoff.failed();
                tracing::debug!(
                    peer = %self.to,
                    attempt = self.backoff.failures(),
                    retry_in_ms = wait.as_millis() as u64,
                    error = %e,
                    "connect failed"
                );
                std::thread::sleep(wait);
                false
            }
        }
    }

    fn try_connect(&self) -> std::io::Result<mio::net::TcpStream> {
        let stream = TcpStream::connect_timeout(&self.addr, CONNECT_TIMEOUT)?;
        stream.set_nodelay(true)?;
        stream.set_nonblocking(true)?;
        Ok(mio::net::TcpStream::from_std(stream))
    }
}
