//! The server side of the client protocol: a listener on the client address and one thread per
//! connection, each line a request handed to the node thread and answered when the node
//! replies (or when the wait times out).

use crate::applier::Applied;
use crate::client_protocol::{format_entry, parse_request, Reply, Request};
use crate::node_loop::{Answer, Event, Status};
use crate::transport::inbound::ClientAddrs;
use refraft::log_store::LogReader;
use refraft::{ClientId, ClientRequest, ClientResponse, KvCommand, KvOutput, NodeId};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::SyncSender;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The longest request line accepted.
const MAX_LINE: u64 = 1 << 20;

/// What every client connection needs.
pub struct ClientPort {
    /// The node thread's input queue.
    pub events: SyncSender<Event>,
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

static NEXT_SESSION: AtomicU64 = AtomicU64::new(0);

impl ClientPort {
    /// Accepts client connections on `listener`, each on a thread of its own.
    pub fn spawn(self, listener: TcpListener) {
        let port = Arc::new(self);
        std::thread::Builder::new()
            .name("client-listener".into())
            .spawn(move || {
                for stream in listener.incoming().flatten() {
                    let port = Arc::clone(&port);
                    let _ = std::thread::Builder::new()
                        .name("client".into())
                        .spawn(move || port.serve(stream));
                }
            })
            .expect("spawn the client listener");
    }

    fn serve(&self, stream: TcpStream) {
        let _ = stream.set_nodelay(true);
        let Ok(mut writer) = stream.try_clone() else {
            return;
        };
        // A connection without a session tag is a session of its own, with serials 1, 2, ...
        let session = ClientId(
            (u64::from(std::process::id()) << 40)
                ^ (NEXT_SESSION.fetch_add(1, Ordering::Relaxed) << 8)
                ^ (self.status.lock().map_or(0, |s| s.id.0) << 60),
        );
        let mut serial = 0;
        let mut reader = BufReader::new(stream);
        let mut line = String::new();
        loop {
            line.clear();
            match (&mut reader).take(MAX_LINE).read_line(&mut line) {
                Ok(0) | Err(_) => return,
                Ok(_) if !line.ends_with('\n') && line.len() as u64 >= MAX_LINE => {
                    let _ = writeln!(writer, "ERR line longer than {MAX_LINE} bytes");
                    return;
                }
                Ok(_) => {}
            }
            if line.trim().is_empty() {
                continue;
            }
            let mut answer = match parse_request(&line) {
                Err(reason) => Reply::Err(reason).to_string(),
                Ok(Request::State) => self.state_line(),
                Ok(Request::Log { from, count }) => self.log_lines(from, count),
                Ok(Request::Command {
                    session: tag,
                    command,
                }) => {
                    let (client, s) = tag.unwrap_or_else(|| {
                        serial += 1;
                        (session, serial)
                    });
                    self.execute(client, s, command).to_string()
                }
            };
            // One write for the whole line: `writeln!` on the unbuffered socket would send the
            // answer and its newline as two segments (two syscalls, and the client woken twice).
            answer.push('\n');
            if writer.write_all(answer.as_bytes()).is_err() {
                return;
            }
        }
    }

    fn execute(&self, client: ClientId, serial: u64, command: KvCommand) -> Reply {
        let is_get = matches!(command, KvCommand::Get { .. });
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        let request = ClientRequest {
            client,
            serial,
            command,
        };
        if self
            .events
            .send(Event::Client {
                request,
                answer: tx,
            })
            .is_err()
        {
            return Reply::Err("server is stopping".into());
        }
        match rx.recv_timeout(self.timeout) {
            Ok(Answer::Response(ClientResponse::Applied(KvOutput::Done))) => Reply::Ok,
            Ok(Answer::Response(ClientResponse::Applied(KvOutput::Value(Some(v))))) => {
                Reply::Value(v)
            }
            Ok(Answer::Response(ClientResponse::Applied(KvOutput::Value(None)))) => {
                Reply::NotFound
            }
            Ok(Answer::Response(ClientResponse::NotLeader { leader_hint })) => {
                Reply::NotLeader(leader_hint.and_then(|id| self.client_addr_of(id)))
            }
            Ok(Answer::Response(ClientResponse::SessionExpired)) => {
                Reply::Err("session expired: this serial is older than one already answered".into())
            }
            Ok(Answer::Response(ClientResponse::TransferInProgress { target })) => {
                Reply::NotLeader(self.client_addr_of(target))
            }
            Ok(Answer::Failed(reason)) => Reply::Err(reason),
            Err(_) => Reply::Err(format!(
                "timeout: {} not answered within {} ms; outcome unknown, retry with the same serial",
                if is_get { "read" } else { "write" },
                self.timeout.as_millis()
            )),
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
            "STATE id={} role={} term={} leader={} commit={} last={} last_term={} applied={applied} digest={digest:016x}",
            s.id.0,
            s.role,
            s.term,
            s.leader.map_or(0, |l| l.0),
            s.commit_index,
            s.last_index,
            s.last_term,
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
}
