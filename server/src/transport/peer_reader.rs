//! The node thread's own reading of the peer connections: once a connection's `Hello` has named
//! a member ([`inbound`](super::inbound)), the connection is handed to the node thread, which
//! reads its frames in the same epoll wait that also wakes it for client batches and timers. A
//! message from a peer therefore costs no thread hop (a receiver thread per connection woke the
//! node thread once per frame burst).
//!
//! Frames are read non-blocking and reassembled here; a frame that does not decode is dropped
//! with a log line, and a length over [`MAX_FRAME`] closes the connection, as before. The
//! socket's own buffer is the bound on what waits: the node thread reads when it takes a turn.

use super::frame::{FrameError, MAX_FRAME};
use super::wire::Frame;
use crate::node_loop::Event;
use mio::{Events, Interest, Poll, Token, Waker};
use refraft::NodeId;
use std::io::{ErrorKind, Read};
use std::sync::mpsc::{SendError, SyncSender};
use std::sync::Arc;
use std::time::Duration;

const WAKER: Token = Token(0);
const CHUNK: usize = 16 << 10;

/// The node thread's input queue, and the wake-up that goes with every event put on it (the
/// node thread waits in epoll, not on the channel).
#[derive(Clone, Debug)]
pub struct NodeInbox {
    tx: SyncSender<Event>,
    waker: Arc<Waker>,
}

impl NodeInbox {
    /// Puts `event` on the queue (blocking while it is full), then wakes the node thread.
    pub fn send(&self, event: Event) -> Result<(), SendError<Event>> {
        self.tx.send(event)?;
        if let Err(e) = self.waker.wake() {
            tracing::error!(error = %e, "cannot wake the node thread");
        }
        Ok(())
    }
}

/// One peer connection being read.
#[derive(Debug)]
struct Inbound {
    from: NodeId,
    stream: mio::net::TcpStream,
    buf: Vec<u8>,
    /// `buf[..start]` is consumed.
    start: usize,
}

/// The peer connections the node thread reads.
#[derive(Debug)]
pub struct PeerReader {
    poll: Poll,
    events: Events,
    conns: Vec<Option<Inbound>>,
    free: Vec<usize>,
}

impl PeerReader {
    /// A reader with no connections, and the inbox whose events wake it.
    pub fn new(tx: SyncSender<Event>) -> std::io::Result<(Self, NodeInbox)> {
        let poll = Poll::new()?;
        let waker = Arc::new(Waker::new(poll.registry(), WAKER)?);
        let reader = PeerReader {
            poll,
            events: Events::with_capacity(64),
            conns: Vec::new(),
            free: Vec::new(),
        };
        Ok((reader, NodeInbox { tx, waker }))
    }

    /// Starts reading a connection from `from`, whose first bytes after the `Hello` were
    /// already read into `leftover`. The frames already complete in it are added to `out`.
    pub fn add(
        &mut self,
        from: NodeId,
        stream: std::net::TcpStream,
        leftover: Vec<u8>,
        out: &mut Vec<Event>,
    ) {
        if let Err(e) = stream.set_nonblocking(true) {
            tracing::warn!(peer = %from, error = %e, "cannot read a peer connection; closed");
            return;
        }
        let mut stream = mio::net::TcpStream::from_std(stream);
        let i = self.free.pop().unwrap_or_else(|| {
            self.conns.push(None);
            self.conns.len() - 1
        });
        if let Err(e) = self
            .poll
            .registry()
            .register(&mut stream, Token(i + 1), Interest::READABLE)
        {
            tracing::warn!(peer = %from, error = %e, "cannot watch a peer connection; closed");
            self.free.push(i);
            return;
        }
        let mut conn = Inbound {
            from,
            stream,
            buf: leftover,
            start: 0,
        };
        // Bytes may have arrived before the registration; edge-triggered readiness reports only
        // later ones, so read now.
        let open = conn.frames(out) && conn.read(out);
        self.conns[i] = Some(conn);
        if !open {
            self.close(i);
        }
    }

    /// Waits up to `timeout` for frames from the peers or a wake-up of the inbox, and adds the
    /// messages read to `out`.
    pub fn wait(&mut self, timeout: Duration, out: &mut Vec<Event>) {
        if let Err(e) = self.poll.poll(&mut self.events, Some(timeout)) {
            if e.kind() != ErrorKind::Interrupted {
                tracing::error!(error = %e, "epoll wait failed");
                std::thread::sleep(timeout.min(Duration::from_millis(10)));
            }
            return;
        }
        let ready: Vec<usize> = self
            .events
            .iter()
            .filter(|e| e.token() != WAKER)
            .map(|e| e.token().0 - 1)
            .collect();
        for i in ready {
            let open = match self.conns.get_mut(i) {
                Some(Some(conn)) => conn.read(out),
                _ => continue,
            };
            if !open {
                self.close(i);
            }
        }
    }

    fn close(&mut self, i: usize) {
        if let Some(mut conn) = self.conns[i].take() {
            let _ = self.poll.registry().deregister(&mut conn.stream);
            self.free.push(i);
        }
    }
}

impl Inbound {
    /// Reads until the socket is drained, adding every complete frame's message to `out`;
    /// `false` when the connection is done (closed, failed, or out of step).
    fn read(&mut self, out: &mut Vec<Event>) -> bool {
        loop {
            let len = self.buf.len();
            self.buf.resize(len + CHUNK, 0);
            let got = self.stream.read(&mut self.buf[len..]);
            let n = *got.as_ref().unwrap_or(&0);
            self.buf.truncate(len + n);
            match got {
                Ok(0) => {
                    tracing::debug!(peer = %self.from, "peer connection closed");
                    return false;
                }
                Ok(n) => {
                    if !self.frames(out) {
                        return false;
                    }
                    if n < CHUNK {
                        return true;
                    }
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => return true,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => {
                    tracing::debug!(peer = %self.from, error = %e, "peer connection closed");
                    return false;
                }
            }
        }
    }

    /// Takes the complete frames out of the buffer; `false` on an oversized length.
    fn frames(&mut self, out: &mut Vec<Event>) -> bool {
        let from = self.from;
        loop {
            let rest = &self.buf[self.start..];
            let Some(len) = rest.get(..4) else { break };
            let len = u32::from_le_bytes([len[0], len[1], len[2], len[3]]) as usize;
            if len > MAX_FRAME {
                let error = FrameError::TooLarge(len);
                tracing::warn!(peer = %from, %error, "oversized frame; connection closed");
                return false;
            }
            let Some(payload) = rest.get(4..4 + len) else {
                break;
            };
            match Frame::decode(payload) {
                Ok(Frame::Raft(message)) => out.push(Event::Peer {
                    from,
                    message,
                    id: None,
                }),
                Ok(Frame::Traced { seq, message }) => out.push(Event::Peer {
                    from,
                    message,
                    id: Some(seq),
                }),
                Ok(Frame::Hello { .. }) => {
                    tracing::warn!(peer = %from, "second Hello on a connection dropped");
                }
                Err(e) => {
                    tracing::warn!(peer = %from, bytes = len, error = %e, "malformed frame dropped");
                }
            }
            self.start += 4 + len;
        }
        if self.start > 0 && self.start * 2 >= self.buf.len() {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        true
    }
}
