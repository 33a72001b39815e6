//! The server side of the client protocol: one thread, an epoll loop (mio), serves every client
//! connection ([`client_conn`](crate::client_conn)). Each turn of the loop parses the lines
//! that arrived, hands the node thread all of the turn's requests as one batch
//! ([`Event::Clients`]: one wake-up of the node thread per batch, not per request), and takes
//! back the node's answers in batches ([`AnswerSink`]: one wake-up of this thread per node
//! turn), writing each connection's answers with one `write`.
//!
//! A thread per connection cost, per request, two thread hops (connection → node thread →
//! connection) plus the connection thread's own wake-ups; the README's profile ("Per-SET
//! cost, profiled") found those hops, not computation, to be the cost of a SET.
//!
//! `STATE` and `LOG` are answered here, from the node's published status, the applier's state
//! and the log store, without going through the node thread. A request that gets no answer
//! within the timeout is answered `ERR timeout: …` (its outcome unknown; the client retries
//! with the same serial).

use crate::applier::Applied;
use crate::client_conn::{Conn, Line, Waiting};
use crate::client_protocol::{format_entry, parse_request, Reply, Request};
use crate::node_loop::{Answer, Event, Status};
use crate::transport::inbound::ClientAddrs;
use crate::transport::peer_reader::NodeInbox;
use mio::{Events, Interest, Poll, Token, Waker};
use refraft::log_store::LogReader;
use refraft::{ClientId, ClientRequest, ClientResponse, KvCommand, KvOutput, NodeId};
use std::collections::VecDeque;
use std::io::ErrorKind;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, Sender, TryRecvError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const LISTENER: Token = Token(0);
const WAKER: Token = Token(1);
/// Connection `i` is registered as `Token(FIRST + i)`.
const FIRST: usize = 2;

/// What the client port needs.
pub struct ClientPort {
    /// The node thread's input queue.
    pub events: NodeInbox,
    /// The node's published status.
    pub status: Arc<Mutex<Status>>,
    /// The applier's state.
    pub applied: Arc<Mutex<Applied>>,
    /// Peers' client addresses, for redirects.
    pub client_addrs: ClientAddrs,
    /// This server's client address.
    pub my_addr: String,
    /// The shared log.
    pub log: LogReader<KvCommand>,
    /// How long a request waits for its answer.
    pub timeout: Duration,
}

/// Which request of which connection an answer is for (opaque outside the port).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ticket {
    conn: usize,
    request: u64,
}

/// The node thread's way back to the client port: a batch of answers, then one wake-up.
///
/// The channel is unbounded, and bounded in practice: every answer is for a request the port
/// sent, and a connection has at most one request at the node thread.
#[derive(Debug)]
pub struct AnswerSink {
    tx: Sender<Vec<(Ticket, Answer)>>,
    waker: Arc<Waker>,
}

impl AnswerSink {
    /// Hands the port a batch of answers (nothing for an empty batch).
    pub fn deliver(&self, answers: Vec<(Ticket, Answer)>) {
        if !answers.is_empty() && self.tx.send(answers).is_ok() {
            if let Err(e) = self.waker.wake() {
                tracing::error!(error = %e, "cannot wake the client port");
            }
        }
    }
}

static NEXT_SESSION: AtomicU64 = AtomicU64::new(0);

impl ClientPort {
    /// Serves client connections accepted on `listener`, on a thread of its own; returns where
    /// the node thread sends the answers.
    pub fn spawn(self, listener: std::net::TcpListener) -> std::io::Result<AnswerSink> {
        listener.set_nonblocking(true)?;
        let mut listener = mio::net::TcpListener::from_std(listener);
        let poll = Poll::new()?;
        poll.registry()
            .register(&mut listener, LISTENER, Interest::READABLE)?;
        let waker = Arc::new(Waker::new(poll.registry(), WAKER)?);
        let (tx, answers) = std::sync::mpsc::channel();
        let port = PortLoop {
            port: self,
            poll,
            listener,
            answers,
            conns: Vec::new(),
            free: Vec::new(),
            deadlines: VecDeque::new(),
            next_request: 0,
            batch: Vec::new(),
            touched: Vec::new(),
        };
        std::thread::Builder::new()
            .name("client-port".into())
            .spawn(move || port.run())?;
        Ok(AnswerSink { tx, waker })
    }

    /// The answer line for `waiting`; `None`: no answer came within the timeout.
    fn reply(&self, answer: Option<Answer>, waiting: Waiting) -> Reply {
        let Some(answer) = answer else {
            return Reply::Err(format!(
                "timeout: {} not answered within {} ms; outcome unknown, retry with the same serial",
                if waiting.is_get { "read" } else { "write" },
                self.timeout.as_millis()
            ));
        };
        match answer {
            Answer::Response(ClientResponse::Applied(KvOutput::Done)) => Reply::Ok,
            Answer::Response(ClientResponse::Applied(KvOutput::Value(Some(v)))) => Reply::Value(v),
            Answer::Response(ClientResponse::Applied(KvOutput::Value(None))) => Reply::NotFound,
            Answer::Response(ClientResponse::NotLeader { leader_hint }) => {
                Reply::NotLeader(leader_hint.and_then(|id| self.client_addr_of(id)))
            }
            Answer::Response(ClientResponse::SessionExpired) => {
                Reply::Err("session expired: this serial is older than one already answered".into())
            }
            Answer::Response(ClientResponse::TransferInProgress { target }) => {
                Reply::NotLeader(self.client_addr_of(target))
            }
            Answer::Failed(reason) => Reply::Err(reason),
        }
    }

    fn client_addr_of(&self, id: NodeId) -> Option<String> {
        if self.status.lock().is_ok_and(|s| s.id == id) {
            return Some(self.my_addr.clone());
        }
        self.client_addrs.lock().ok()?.get(&id).cloned()
    }

    fn state_line(&self) -> String {
        let s = self.status.lock().map(|s| s.clone()).unwrap_or_default();
        let (applied, digest) = self
            .applied
            .lock()
            .map_or((0, 0), |a| (a.index, a.digest()));
        format!(
            "STATE id={} role={} term={} leader={} commit={} last={} last_term={} wal_syncs={} applied={applied} digest={digest:016x}",
            s.id.0,
            s.role,
            s.term,
            s.leader.map_or(0, |l| l.0),
            s.commit_index,
            s.last_index,
            s.last_term,
            s.wal_syncs,
        )
    }

    fn log_lines(&self, from: u64, count: usize) -> String {
        let mut out = String::new();
        if let Ok(entries) = self.log.entries_from(from, count) {
            for (i, entry) in entries.iter().enumerate() {
                out.push_str(&format_entry(from + i as u64, entry));
                out.push('\n');
            }
        }
        out.push_str("END");
        out
    }

    fn new_session(&self) -> ClientId {
        // A connection without a session tag is a session of its own, with serials 1, 2, ...
        ClientId(
            (u64::from(std::process::id()) << 40)
                ^ (NEXT_SESSION.fetch_add(1, Ordering::Relaxed) << 8)
                ^ (self.status.lock().map_or(0, |s| s.id.0) << 60),
        )
    }
}

/// The port thread's state.
struct PortLoop {
    port: ClientPort,
    poll: Poll,
    listener: mio::net::TcpListener,
    answers: Receiver<Vec<(Ticket, Answer)>>,
    /// Connections by slot; a closed one's slot is reused (its late answers are recognised by
    /// their request number and dropped).
    conns: Vec<Option<Conn>>,
    free: Vec<usize>,
    /// Every request sent, with its deadline: in sending order, which with one timeout for all
    /// is deadline order.
    deadlines: VecDeque<(Instant, Ticket)>,
    next_request: u64,
    /// This turn's requests for the node thread.
    batch: Vec<(ClientRequest<KvCommand>, Ticket)>,
    /// Connections to drive at the end of this turn.
    touched: Vec<usize>,
}

impl PortLoop {
    fn run(mut self) {
        let mut events = Events::with_capacity(1024);
        loop {
            let timeout = self
                .deadlines
                .front()
                .map(|(d, _)| d.saturating_duration_since(Instant::now()));
            if let Err(e) = self.poll.poll(&mut events, timeout) {
                if e.kind() == ErrorKind::Interrupted {
                    continue;
                }
                tracing::error!(error = %e, "client port: poll failed; no more clients served");
                return;
            }
            for event in events.iter() {
                match event.token() {
                    LISTENER => self.accept(),
                    WAKER => {}
                    Token(t) => {
                        let i = t - FIRST;
                        if let Some(Some(conn)) = self.conns.get_mut(i) {
                            conn.ready(event);
                            touch(&mut self.touched, conn, i);
                        }
                    }
                }
            }
            loop {
                match self.answers.try_recv() {
                    Ok(batch) => {
                        for (ticket, answer) in batch {
                            self.answered(ticket, Some(answer));
                        }
                    }
                    Err(TryRecvError::Empty) => break,
                    // The node thread is gone: the server is stopping.
                    Err(TryRecvError::Disconnected) => return,
                }
            }
            self.expire(Instant::now());
            let touched = std::mem::take(&mut self.touched);
            for &i in &touched {
                self.drive(i);
            }
            self.touched = touched;
            self.touched.clear();
            if !self.batch.is_empty() {
                let batch = std::mem::take(&mut self.batch);
                if self.port.events.send(Event::Clients(batch)).is_err() {
                    return;
                }
            }
        }
    }

    fn accept(&mut self) {
        loop {
            match self.listener.accept() {
                Ok((mut stream, _)) => {
                    let _ = stream.set_nodelay(true);
                    let i = self.free.pop().unwrap_or_else(|| {
                        self.conns.push(None);
                        self.conns.len() - 1
                    });
                    let interest = Interest::READABLE | Interest::WRITABLE;
                    if let Err(e) =
                        self.poll
                            .registry()
                            .register(&mut stream, Token(FIRST + i), interest)
                    {
                        tracing::warn!(error = %e, "cannot watch a client connection; closed");
                        self.free.push(i);
                        continue;
                    }
                    let mut conn = Conn::new(stream, self.port.new_session());
                    touch(&mut self.touched, &mut conn, i);
                    self.conns[i] = Some(conn);
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => {
                    tracing::warn!(error = %e, "accepting a client connection failed");
                    return;
                }
            }
        }
    }

    /// The node's answer to request `ticket` (`None`: its timeout), if its connection still
    /// waits for it.
    fn answered(&mut self, ticket: Ticket, answer: Option<Answer>) {
        let Some(Some(conn)) = self.conns.get_mut(ticket.conn) else {
            return;
        };
        match conn.waiting {
            Some(waiting) if waiting.id == ticket.request => {
                conn.waiting = None;
                conn.answer(&self.port.reply(answer, waiting).to_string());
                touch(&mut self.touched, conn, ticket.conn);
            }
            _ => {}
        }
    }

    fn expire(&mut self, now: Instant) {
        while let Some(&(deadline, ticket)) = self.deadlines.front() {
            let answered = match self.conns.get(ticket.conn) {
                Some(Some(conn)) => conn.waiting.is_none_or(|w| w.id != ticket.request),
                _ => true,
            };
            if !answered && deadline > now {
                return;
            }
            self.deadlines.pop_front();
            if !answered {
                self.answered(ticket, None);
            }
        }
    }

    /// Parses what connection `i` has while it may take a request, writes its answers, and
    /// closes it when it is done.
    fn drive(&mut self, i: usize) {
        let PortLoop {
            port,
            poll,
            conns,
            free,
            batch,
            deadlines,
            next_request,
            ..
        } = self;
        let Some(Some(conn)) = conns.get_mut(i) else {
            return;
        };
        conn.touched = false;
        // Answers that waited for room go first: a client that had stopped reading may have
        // lines queued behind them, and no new event would come for those.
        conn.flush();
        while conn.can_take_request() {
            let line = match conn.next_line() {
                None => break,
                Some(Line::NotUtf8) => {
                    conn.answer("ERR the request is not UTF-8");
                    continue;
                }
                Some(Line::Text(line)) => line,
            };
            if line.trim().is_empty() {
                continue;
            }
            match parse_request(&line) {
                Err(reason) => conn.answer(&Reply::Err(reason).to_string()),
                Ok(Request::State) => conn.answer(&port.state_line()),
                Ok(Request::Log { from, count }) => conn.answer(&port.log_lines(from, count)),
                Ok(Request::Command { session, command }) => {
                    let (client, serial) = session.unwrap_or_else(|| {
                        conn.serial += 1;
                        (conn.session, conn.serial)
                    });
                    *next_request += 1;
                    let ticket = Ticket {
                        conn: i,
                        request: *next_request,
                    };
                    conn.waiting = Some(Waiting {
                        id: ticket.request,
                        is_get: matches!(command, KvCommand::Get { .. }),
                    });
                    let request = ClientRequest {
                        client,
                        serial,
                        command,
                    };
                    batch.push((request, ticket));
                    deadlines.push_back((Instant::now() + port.timeout, ticket));
                }
            }
        }
        conn.flush();
        if conn.is_done() {
            let _ = poll.registry().deregister(conn.stream());
            conns[i] = None;
            free.push(i);
        }
    }
}

fn touch(touched: &mut Vec<usize>, conn: &mut Conn, i: usize) {
    if !conn.touched {
        conn.touched = true;
        touched.push(i);
    }
}
