//! The sending side of one peer link: a bounded queue drained by one thread that owns the TCP
//! connection, reconnecting with exponential backoff.
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
use refraft::log_store::LogReader;
use refraft::{AppendEntries, Index, KvCommand, Message, NodeId, Term};
use std::io::{BufWriter, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TryRecvError, TrySendError};
use std::sync::Arc;
use std::time::Duration;

/// Messages waiting for one peer, at most this many.
pub const QUEUE_CAPACITY: usize = 1024;
const CONNECT_TIMEOUT: Duration = Duration::from_millis(300);

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

/// The node thread's handle on one peer link.
#[derive(Debug)]
pub struct PeerLink {
    queue: SyncSender<(Outgoing, Option<u64>)>,
    dropped: Arc<AtomicU64>,
}

impl PeerLink {
    /// Queues a message without blocking; drops it when the queue is full. `seq`, when the
    /// server traces, is the message's number among its sends (sent in a `Frame::Traced`).
    pub fn send(&self, item: Outgoing, seq: Option<u64>) {
        match self.queue.try_send((item, seq)) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {
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

/// Starts the link from `me` to peer `to` at `addr`, reconnecting on the schedule `backoff`.
pub fn spawn(
    me: NodeId,
    my_client_addr: String,
    to: NodeId,
    addr: SocketAddr,
    log: LogReader<KvCommand>,
    backoff: Backoff,
) -> PeerLink {
    let (queue, rx) = std::sync::mpsc::sync_channel(QUEUE_CAPACITY);
    let hello = Frame::Hello {
        from: me,
        client_addr: my_client_addr,
    }
    .encode();
    std::thread::Builder::new()
        .name(format!("send-{to}"))
        .spawn(move || Sender::new(to, addr, hello, log, backoff).run(rx))
        .expect("spawn a peer thread");
    PeerLink {
        queue,
        dropped: Arc::new(AtomicU64::new(0)),
    }
}

struct Sender {
    to: NodeId,
    addr: SocketAddr,
    hello: Vec<u8>,
    log: LogReader<KvCommand>,
    conn: Option<BufWriter<TcpStream>>,
    backoff: Backoff,
}

impl Sender {
    fn new(
        to: NodeId,
        addr: SocketAddr,
        hello: Vec<u8>,
        log: LogReader<KvCommand>,
        backoff: Backoff,
    ) -> Self {
        Sender {
            to,
            addr,
            hello,
            log,
            conn: None,
            backoff,
        }
    }

    /// Sends until the node thread drops its handle.
    fn run(mut self, rx: Receiver<(Outgoing, Option<u64>)>) {
        while let Ok((item, seq)) = rx.recv() {
            self.send(item, seq);
            // Send what else is queued before flushing: one write for a burst.
            loop {
                match rx.try_recv() {
                    Ok((item, seq)) => self.send(item, seq),
                    Err(TryRecvError::Empty) => break,
                    Err(TryRecvError::Disconnected) => return,
                }
            }
            self.flush();
        }
    }

    fn send(&mut self, item: Outgoing, seq: Option<u64>) {
        let Some(message) = item.resolve(&self.log) else {
            tracing::debug!(peer = %self.to, "entries gone from the log, message dropped");
            return;
        };
        let Some(conn) = self.connection() else {
            return;
        };
        let frame = match seq {
            None => Frame::Raft(message),
            Some(seq) => Frame::Traced { seq, message },
        };
        if let Err(e) = write_frame(conn, &frame.encode()) {
            tracing::debug!(peer = %self.to, error = %e, "send failed; reconnecting");
            self.conn = None;
        }
    }

    fn flush(&mut self) {
        if let Some(conn) = &mut self.conn {
            if let Err(e) = conn.flush() {
                tracing::debug!(peer = %self.to, error = %e, "send failed; reconnecting");
                self.conn = None;
            }
        }
    }

    /// The connection, (re)connecting first. A failed attempt waits out the backoff (which
    /// doubles up to a cap) and gives up on the current message.
    fn connection(&mut self) -> Option<&mut BufWriter<TcpStream>> {
        if self.conn.is_none() {
            match self.connect() {
                Ok(conn) => {
                    tracing::debug!(
                        peer = %self.to,
                        addr = %self.addr,
                        failed_attempts = self.backoff.failures(),
                        "connected"
                    );
                    self.backoff.connected();
                    self.conn = Some(conn);
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
                    return None;
                }
            }
        }
        self.conn.as_mut()
    }

    fn connect(&self) -> std::io::Result<BufWriter<TcpStream>> {
        let stream = TcpStream::connect_timeout(&self.addr, CONNECT_TIMEOUT)?;
        stream.set_nodelay(true)?;
        stream.set_write_timeout(Some(Duration::from_secs(2)))?;
        let mut conn = BufWriter::with_capacity(64 << 10, stream);
        write_frame(&mut conn, &self.hello)?;
        Ok(conn)
    }
}
