//! The cluster bench's load generator: `clients` connections to the leader, each with one `SET`
//! outstanding at a time (so "64 concurrent clients" are 64 sessions, each waiting for its
//! answer before it sends again), all driven by one thread's epoll loop (mio).
//!
//! A blocking client thread per connection cost the bench 23–30 µs of CPU per SET (two
//! wake-ups of its own per request), as much as a third of what the servers used; one loop
//! for all connections takes a request's answers in batches. Latency stays per request: from
//! just before the request's first `write` to just after the `read` that completes its answer
//! (a retry after a redirect or an error counts in the same request's latency).
//!
//! A request is tagged `@session:serial`, so a retry is applied at most once. `NOT_LEADER
//! <addr>` moves the connection to `addr`; any other non-`OK` answer, or a failed connection,
//! moves it to the next server after a short pause. A request unanswered for
//! [`REQUEST_TIMEOUT`] ends the bench with a panic, as the blocking client's timeout did.

use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token};
use refraft::{ClientId, KvCommand};
use refraft_server::client::random_session;
use refraft_server::client_protocol::Reply;
use std::fmt::Write as _;
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, ToSocketAddrs};
use std::time::{Duration, Instant};

/// How long one SET may go unanswered before the bench gives up.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// The pause before a retry that was not redirected.
const RETRY_PAUSE: Duration = Duration::from_millis(30);
const CHUNK: usize = 4096;

/// One client session on one connection.
struct Session {
    /// Its number among the bench's clients (it writes keys `k{n % 16}`).
    n: usize,
    session: ClientId,
    serial: u64,
    server: usize,
    stream: Option<TcpStream>,
    /// The request in flight: its line, and when it was first written.
    line: String,
    sent_at: Option<Instant>,
    /// Bytes of the line not written yet (the socket was full), and answer bytes read.
    unwritten: usize,
    input: Vec<u8>,
    /// A retry waits until then.
    retry_at: Option<Instant>,
}

/// `clients` sessions doing SETs against `servers` (starting at `leader`) for `span`: returns
/// (SETs answered per second, their latencies sorted).
pub fn run(
    servers: &[String],
    leader: usize,
    clients: usize,
    span: Duration,
) -> (f64, Vec<Duration>) {
    let mut servers: Vec<SocketAddr> = servers.iter().map(|s| resolve(s)).collect();
    let mut poll = Poll::new().expect("epoll");
    let mut sessions: Vec<Session> = (0..clients)
        .map(|n| Session {
            n,
            session: random_session(),
            serial: 0,
            server: leader,
            stream: None,
            line: String::new(),
            sent_at: None,
            unwritten: 0,
            input: Vec::new(),
            retry_at: None,
        })
        .collect();
    let set: KvCommand = "SET k=v".parse().expect("a SET");
    let mut latencies = Vec::new();
    let start = Instant::now();
    for (i, s) in sessions.iter_mut().enumerate() {
        s.next_request();
        s.send(&poll, &servers, i);
    }
    let mut events = Events::with_capacity(1024);
    while sessions.iter().any(|s| s.sent_at.is_some()) {
        let now = Instant::now();
        let timeout = sessions
            .iter()
            .filter_map(|s| s.retry_at)
            .map(|at| at.saturating_duration_since(now))
            .fold(REQUEST_TIMEOUT, Duration::min);
        match poll.poll(&mut events, Some(timeout)) {
            Ok(()) => {}
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => panic!("epoll: {e}"),
        }
        for event in events.iter() {
            let i = event.token().0;
            let s = &mut sessions[i];
            if event.is_writable() && s.unwritten > 0 {
                s.write_rest();
            }
            if !(event.is_readable() || event.is_read_closed() || event.is_error()) {
                continue;
            }
            match s.read_answer() {
                Ok(None) => {}
                Ok(Some(answer)) => {
                    let done = Instant::now();
                    let reply = Reply::parse(&answer, &set);
                    if reply == Reply::Ok {
                        latencies.push(done - s.sent_at.take().expect("a request in flight"));
                        if start.elapsed() < span {
                            s.next_request();
                            s.send(&poll, &servers, i);
                        }
                        continue;
                    }
                    if let Reply::NotLeader(Some(addr)) = &reply {
                        let addr = resolve(addr);
                        s.server = servers.iter().position(|a| *a == addr).unwrap_or_else(|| {
                            servers.push(addr);
                            servers.len() - 1
                        });
                        s.reconnect(&poll);
                        s.send(&poll, &servers, i);
                    } else {
                        s.retry_later(&poll, servers.len());
                    }
                }
                Err(_) => s.retry_later(&poll, servers.len()),
            }
        }
        let now = Instant::now();
        for (i, s) in sessions.iter_mut().enumerate() {
            if let Some(sent) = s.sent_at {
                assert!(
                    now - sent < REQUEST_TIMEOUT,
                    "SET {:?} not answered within {REQUEST_TIMEOUT:?}",
                    s.line.trim_end()
                );
            }
            if s.retry_at.is_some_and(|at| at <= now) {
                s.retry_at = None;
                s.send(&poll, &servers, i);
            }
        }
    }
    let elapsed = start.elapsed().as_secs_f64();
    for s in &mut sessions {
        s.reconnect(&poll);
    }
    latencies.sort();
    (latencies.len() as f64 / elapsed, latencies)
}

impl Session {
    /// The next SET, under the next serial.
    fn next_request(&mut self) {
        self.serial += 1;
        self.line.clear();
        let _ = writeln!(
            self.line,
            "@{}:{} SET k{}=v{}-{}",
            self.session.0,
            self.serial,
            self.n % 16,
            self.n,
            self.serial
        );
        self.sent_at = None;
    }

    /// Writes the request in flight (connecting first if needed); a failure schedules a retry
    /// on the next server.
    fn send(&mut self, poll: &Poll, servers: &[SocketAddr], token: usize) {
        self.sent_at.get_or_insert_with(Instant::now);
        if self.stream.is_none() {
            match std::net::TcpStream::connect(servers[self.server]) {
                Ok(stream) => {
                    let ok =
                        stream.set_nodelay(true).is_ok() && stream.set_nonblocking(true).is_ok();
                    let mut stream = TcpStream::from_std(stream);
                    let interest = Interest::READABLE | Interest::WRITABLE;
                    if !ok
                        || poll
                            .registry()
                            .register(&mut stream, Token(token), interest)
                            .is_err()
                    {
                        self.retry_later(poll, servers.len());
                        return;
                    }
                    self.stream = Some(stream);
                }
                Err(_) => {
                    self.retry_later(poll, servers.len());
                    return;
                }
            }
        }
        self.input.clear();
        self.unwritten = self.line.len();
        self.write_rest();
    }

    fn write_rest(&mut self) {
        let Some(stream) = &mut self.stream else {
            return;
        };
        while self.unwritten > 0 {
            let from = self.line.len() - self.unwritten;
            match stream.write(&self.line.as_bytes()[from..]) {
                Ok(n) => self.unwritten -= n,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                // The rest goes out on the next writable event (or the read sees the error).
                Err(_) => return,
            }
        }
    }

    /// Reads what the socket has; the answer line once complete. A short read drained the
    /// socket (edge-triggered readiness reports any later byte).
    fn read_answer(&mut self) -> std::io::Result<Option<String>> {
        let Some(stream) = &mut self.stream else {
            return Ok(None);
        };
        let mut buf = [0u8; CHUNK];
        loop {
            match stream.read(&mut buf) {
                Ok(0) => return Err(ErrorKind::UnexpectedEof.into()),
                Ok(n) => {
                    self.input.extend_from_slice(&buf[..n]);
                    if let Some(pos) = self.input.iter().position(|&b| b == b'\n') {
                        let line = String::from_utf8_lossy(&self.input[..pos]).into_owned();
                        self.input.drain(..=pos);
                        return Ok(Some(line));
                    }
                    if n < CHUNK {
                        return Ok(None);
                    }
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(None),
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    fn reconnect(&mut self, poll: &Poll) {
        if let Some(mut stream) = self.stream.take() {
            let _ = poll.registry().deregister(&mut stream);
        }
    }

    /// Drops the connection; the same request goes to the next server after a pause.
    fn retry_later(&mut self, poll: &Poll, servers: usize) {
        self.reconnect(poll);
        self.server = (self.server + 1) % servers.max(1);
        self.retry_at = Some(Instant::now() + RETRY_PAUSE);
    }
}

fn resolve(addr: &str) -> SocketAddr {
    addr.to_socket_addrs()
        .ok()
        .and_then(|mut a| a.next())
        .unwrap_or_else(|| panic!("cannot resolve {addr}"))
}
