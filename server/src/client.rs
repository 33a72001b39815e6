//! A client that finds the leader: it follows `NOT_LEADER <addr>` redirects, retries a request
//! with the same session serial until it gets an answer (so that the command is applied once
//! however often it is sent, dissertation §6.3), and gives up with a clear error at a deadline.

use crate::client_protocol::Reply;
use refraft::{ClientId, KvCommand};
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

/// The answer to a command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// `SET` or `DEL` applied.
    Done,
    /// What a `GET` read.
    Value(Option<String>),
}

/// Why a command got no answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClientError {
    /// No server answered in time. The command may or may not have been applied.
    Timeout {
        /// The command.
        command: String,
        /// How long the client tried.
        after: Duration,
        /// What the last attempt saw.
        last: String,
    },
    /// A server refused the command (bad command, expired session).
    Rejected(String),
}

impl std::fmt::Display for ClientError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ClientError::Timeout {
                command,
                after,
                last,
            } => write!(
                f,
                "no answer to `{command}` within {} ms (last attempt: {last}); it may or may not have taken effect",
                after.as_millis()
            ),
            ClientError::Rejected(reason) => write!(f, "refused: {reason}"),
        }
    }
}

impl std::error::Error for ClientError {}

/// A client session.
///
/// ```no_run
/// use refraft_server::client::{Client, Outcome};
/// let mut client = Client::new(vec!["127.0.0.1:7101".into()], std::time::Duration::from_secs(5));
/// client.execute(&"SET x=1".parse().unwrap()).unwrap();
/// assert_eq!(client.execute(&"GET x".parse().unwrap()).unwrap(), Outcome::Value(Some("1".into())));
/// ```
#[derive(Debug)]
pub struct Client {
    servers: Vec<String>,
    target: usize,
    conn: Option<(BufReader<TcpStream>, TcpStream)>,
    session: ClientId,
    serial: u64,
    timeout: Duration,
}

impl Client {
    /// A new session with a random id, talking to `servers` (client addresses).
    pub fn new(servers: Vec<String>, timeout: Duration) -> Self {
        Self::with_session(servers, timeout, random_session())
    }

    /// A session with a given id (serials start after 0).
    pub fn with_session(servers: Vec<String>, timeout: Duration, session: ClientId) -> Self {
        Client {
            servers,
            target: 0,
            conn: None,
            session,
            serial: 0,
            timeout,
        }
    }

    /// The session id.
    pub fn session(&self) -> ClientId {
        self.session
    }

    /// The serial of the last command sent.
    pub fn last_serial(&self) -> u64 {
        self.serial
    }

    /// Runs `command` under the next serial.
    pub fn execute(&mut self, command: &KvCommand) -> Result<Outcome, ClientError> {
        self.serial += 1;
        self.execute_as(self.serial, command)
    }

    /// Runs `command` under serial `serial` (a retry of a request already sent reuses it).
    pub fn execute_as(&mut self, serial: u64, command: &KvCommand) -> Result<Outcome, ClientError> {
        let start = Instant::now();
        let deadline = start + self.timeout;
        let line = format!("@{}:{serial} {command}\n", self.session.0);
        let mut last = String::from("no server tried");
        // Where the last redirect came from: if its target fails, go on after that server,
        // so that a stale redirect cannot trap the client between two addresses.
        let mut redirected_from: Option<usize> = None;
        while Instant::now() < deadline {
            let remaining = deadline.saturating_duration_since(Instant::now());
            match self.attempt(&line, command, remaining) {
                Ok(Reply::Ok) => return Ok(Outcome::Done),
                Ok(Reply::Value(v)) => return Ok(Outcome::Value(Some(v))),
                Ok(Reply::NotFound) => return Ok(Outcome::Value(None)),
                Ok(Reply::NotLeader(Some(addr))) => {
                    last = format!(
                        "{} is not the leader, redirected to {addr}",
                        self.servers[self.target]
                    );
                    redirected_from = Some(self.target);
                    self.redirect(addr);
                    continue;
                }
                Ok(Reply::NotLeader(None)) => {
                    last = format!("{} knows no leader", self.servers[self.target]);
                }
                Ok(Reply::Err(reason)) if reason.starts_with("session expired") => {
                    return Err(ClientError::Rejected(reason));
                }
                Ok(Reply::Err(reason)) => {
                    last = format!("{}: {reason}", self.servers[self.target]);
                }
                Err(e) => {
                    last = format!("{}: {e}", self.servers[self.target]);
                    self.conn = None;
                }
            }
            self.conn = None;
            let from = redirected_from.take().unwrap_or(self.target);
            self.target = (from + 1) % self.servers.len().max(1);
            std::thread::sleep(Duration::from_millis(30).min(remaining));
        }
        Err(ClientError::Timeout {
            command: command.to_string(),
            after: start.elapsed(),
            last,
        })
    }

    fn redirect(&mut self, addr: String) {
        self.conn = None;
        self.target = match self.servers.iter().position(|s| *s == addr) {
            Some(i) => i,
            None => {
                self.servers.push(addr);
                self.servers.len() - 1
            }
        };
    }

    fn attempt(
        &mut self,
        line: &str,
        command: &KvCommand,
        remaining: Duration,
    ) -> std::io::Result<Reply> {
        if self.conn.is_none() {
            let addr = resolve(&self.servers[self.target])?;
            let stream =
                TcpStream::connect_timeout(&addr, remaining.min(Duration::from_millis(500)))?;
            stream.set_nodelay(true)?;
            self.conn = Some((BufReader::new(stream.try_clone()?), stream));
        }
        let (reader, writer) = self.conn.as_mut().expect("connected above");
        writer.set_read_timeout(Some(remaining.max(Duration::from_millis(1))))?;
        writer.write_all(line.as_bytes())?;
        let mut answer = String::new();
        if reader.read_line(&mut answer)? == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "connection closed",
            ));
        }
        Ok(Reply::parse(&answer, command))
    }
}

fn resolve(addr: &str) -> std::io::Result<SocketAddr> {
    addr.to_socket_addrs()?
        .next()
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidInput, "no address"))
}

/// A session id unlikely to collide with another client's: time, process and a counter mixed.
pub fn random_session() -> ClientId {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let mut x = nanos
        ^ (u64::from(std::process::id()) << 32)
        ^ COUNTER
            .fetch_add(1, Ordering::Relaxed)
            .wrapping_mul(0x9e37_79b9_7f4a_7c15);
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    ClientId(x >> 1)
}
