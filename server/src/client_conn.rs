//! One connection of the client port ([`client_port`](crate::client_port)): the bytes read but
//! not yet parsed, the answers not yet written, its session, and the one request it has at the
//! node thread.
//!
//! A connection is served one request at a time, as a blocking client is: the next line is
//! parsed only when the previous one is answered, so answers come back in request order and a
//! `SET` then `GET` on one connection reads its own write. Memory stays bounded whatever the
//! client does: at most one line ([`MAX_LINE`]) plus one read is held unparsed, and a client
//! that does not read its answers gets no further line parsed once [`OUTPUT_HIGH`] bytes wait
//! to be written.
//!
//! The socket is non-blocking and registered edge-triggered, so every readiness is remembered
//! here (`readable`) until a read finds the socket drained.

use mio::net::TcpStream;
use refraft::ClientId;
use std::io::{ErrorKind, Read, Write};

/// The longest request line accepted, its newline included; a longer one is answered
/// `ERR line longer than …` and the connection closed.
pub const MAX_LINE: usize = 1 << 20;
/// No further request is parsed while this many answer bytes wait to be written.
pub const OUTPUT_HIGH: usize = 64 << 10;
/// Bytes asked for per read.
const CHUNK: usize = 4 << 10;

/// The request a connection has at the node thread.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Waiting {
    /// The port's number for the request (unique across connections).
    pub id: u64,
    /// Whether it is a `GET` (for the timeout's wording).
    pub is_get: bool,
}

/// What the connection has for the port next.
#[derive(Debug, PartialEq, Eq)]
pub enum Line {
    /// A request line, without its line ending.
    Text(String),
    /// A line that is not UTF-8 (answered `ERR`, the connection goes on).
    NotUtf8,
}

/// One client connection.
#[derive(Debug)]
pub struct Conn {
    stream: TcpStream,
    input: Vec<u8>,
    /// `input[..scanned]` holds no newline.
    scanned: usize,
    output: Vec<u8>,
    /// The socket may hold bytes not read yet.
    pub readable: bool,
    /// The client closed its side (a last line without newline is still served).
    eof: bool,
    /// Poll reported the client's side closed: the socket ends in end-of-file after whatever
    /// bytes it still holds, so a short read does not mean it is drained.
    read_closed: bool,
    /// Close once the output is written (after an over-long line).
    closing: bool,
    /// The socket failed: close now.
    broken: bool,
    /// Whether the port has this connection in its list of connections to drive.
    pub touched: bool,
    /// The session of requests without an `@client:serial` tag, and its last serial.
    pub session: ClientId,
    /// The last serial used in `session`.
    pub serial: u64,
    /// The request at the node thread, if any.
    pub waiting: Option<Waiting>,
}

impl Conn {
    /// A new connection, with untagged requests in `session`.
    pub fn new(stream: TcpStream, session: ClientId) -> Self {
        Conn {
            stream,
            input: Vec::new(),
            scanned: 0,
            output: Vec::new(),
            readable: true,
            eof: false,
            read_closed: false,
            closing: false,
            broken: false,
            touched: false,
            session,
            serial: 0,
            waiting: None,
        }
    }

    /// The socket, to register and deregister.
    pub fn stream(&mut self) -> &mut TcpStream {
        &mut self.stream
    }

    /// Takes one readiness event of this connection's socket.
    pub fn ready(&mut self, event: &mio::event::Event) {
        if event.is_read_closed() {
            self.read_closed = true;
        }
        if event.is_readable() || event.is_read_closed() || event.is_error() {
            self.readable = true;
        }
    }

    /// Whether the next line may be parsed now.
    pub fn can_take_request(&self) -> bool {
        self.waiting.is_none() && !self.closing && !self.broken && self.output.len() < OUTPUT_HIGH
    }

    /// Queues one answer line (its newline added).
    pub fn answer(&mut self, line: &str) {
        self.output.extend_from_slice(line.as_bytes());
        self.output.push(b'\n');
    }

    /// The next complete line, reading the socket as far as needed; `None` when none is
    /// complete for now (or the line is over-long: then it is answered and the connection
    /// closes once that is written).
    pub fn next_line(&mut self) -> Option<Line> {
        loop {
            if let Some(pos) = self.input[self.scanned..].iter().position(|&b| b == b'\n') {
                let end = self.scanned + pos + 1;
                if end > MAX_LINE {
                    return self.too_long();
                }
                let line: Vec<u8> = self.input.drain(..end).collect();
                self.scanned = 0;
                return Some(to_line(line));
            }
            self.scanned = self.input.len();
            if self.input.len() >= MAX_LINE {
                return self.too_long();
            }
            if self.eof || self.broken {
                // The client's last line may lack its newline (`printf 'GET x' | nc`).
                if self.input.is_empty() || self.broken {
                    return None;
                }
                self.scanned = 0;
                return Some(to_line(std::mem::take(&mut self.input)));
            }
            if !self.readable {
                return None;
            }
            self.fill();
        }
    }

    fn too_long(&mut self) -> Option<Line> {
        self.answer(&format!("ERR line longer than {MAX_LINE} bytes"));
        self.closing = true;
        self.input = Vec::new();
        self.scanned = 0;
        None
    }

    /// One read. A read that returns less than it asked for drained the socket's bytes:
    /// edge-triggered readiness reports any byte that arrives later, so no second read is needed
    /// to see `WouldBlock`. The end-of-file is another matter: when the client's close came in
    /// with its last bytes, their one event was already taken, and only a further read sees it.
    fn fill(&mut self) {
        let mut buf = [0u8; CHUNK];
        match self.stream.read(&mut buf) {
            Ok(0) => self.eof = true,
            Ok(n) => {
                self.input.extend_from_slice(&buf[..n]);
                if n < CHUNK && !self.read_closed {
                    self.readable = false;
                }
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => self.readable = false,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(_) => self.broken = true,
        }
    }

    /// Writes what the socket accepts of the queued answers: one `write` when it takes them all.
    pub fn flush(&mut self) {
        let mut written = 0;
        while written < self.output.len() && !self.broken {
            match self.stream.write(&self.output[written..]) {
                Ok(0) => self.broken = true,
                Ok(n) => written += n,
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => self.broken = true,
            }
        }
        self.output.drain(..written);
    }

    /// Whether the connection is done: it failed, or it is closing (or the client closed its
    /// side) and nothing is left to answer.
    pub fn is_done(&self) -> bool {
        let idle = self.output.is_empty() && self.waiting.is_none();
        self.broken
            || (self.closing && self.output.is_empty())
            || (self.eof && idle && self.input.is_empty())
    }
}

fn to_line(mut bytes: Vec<u8>) -> Line {
    while matches!(bytes.last(), Some(b'\n' | b'\r')) {
        bytes.pop();
    }
    String::from_utf8(bytes).map_or(Line::NotUtf8, Line::Text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// A connection of the port's kind, and the client's end of it.
    fn pair() -> (Conn, std::net::TcpStream) {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, _) = listener.accept().unwrap();
        server.set_nonblocking(true).unwrap();
        client
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        (Conn::new(TcpStream::from_std(server), ClientId(1)), client)
    }

    /// `next_line`, retried briefly while the bytes are on their way over loopback.
    fn line(conn: &mut Conn) -> Option<Line> {
        for _ in 0..200 {
            if let Some(line) = conn.next_line() {
                return Some(line);
            }
            if conn.eof || !conn.can_take_request() {
                return None;
            }
            conn.readable = true;
            std::thread::sleep(Duration::from_millis(5));
        }
        None
    }

    #[test]
    fn pipelined_lines_come_one_at_a_time_and_a_last_line_without_newline_is_served() {
        let (mut conn, mut client) = pair();
        client.write_all(b"SET a=1\r\nGET a\n\xff\nGET b").unwrap();
        client.shutdown(std::net::Shutdown::Write).unwrap();
        assert_eq!(line(&mut conn), Some(Line::Text("SET a=1".into())));
        conn.waiting = Some(Waiting {
            id: 1,
            is_get: false,
        });
        assert!(!conn.can_take_request(), "one request at a time");
        conn.waiting = None;
        assert_eq!(line(&mut conn), Some(Line::Text("GET a".into())));
        assert_eq!(line(&mut conn), Some(Line::NotUtf8));
        assert_eq!(line(&mut conn), Some(Line::Text("GET b".into())));
        assert_eq!(line(&mut conn), None);
        assert!(
            conn.is_done(),
            "the client closed its side and all is answered"
        );
    }

    /// The port's way: the connection reads only when poll says so. A last line and the
    /// client's close that arrive together come as one event; serving that line must not wait
    /// for another event, for none comes (CI saw `nc < requests` hang on this).
    #[test]
    fn a_last_line_arriving_with_the_close_is_served_on_its_one_event() {
        use mio::{Events, Interest, Poll, Token};
        for _ in 0..20 {
            let (mut conn, mut client) = pair();
            conn.readable = false;
            let mut poll = Poll::new().unwrap();
            poll.registry()
                .register(conn.stream(), Token(0), Interest::READABLE)
                .unwrap();
            client.write_all(b"GET p").unwrap();
            client.shutdown(std::net::Shutdown::Write).unwrap();
            // Both are in the socket before the poll, so one edge reports them.
            std::thread::sleep(Duration::from_millis(20));
            let mut events = Events::with_capacity(8);
            poll.poll(&mut events, Some(Duration::from_secs(5)))
                .unwrap();
            for event in events.iter() {
                conn.ready(event);
            }
            assert_eq!(conn.next_line(), Some(Line::Text("GET p".into())));
            assert_eq!(conn.next_line(), None);
            assert!(conn.is_done(), "the close was seen without a further event");
            poll.poll(&mut events, Some(Duration::from_millis(50)))
                .unwrap();
            assert!(events.is_empty(), "no further event came");
        }
    }

    #[test]
    fn an_over_long_line_is_answered_err_and_the_connection_closes() {
        let (mut conn, mut client) = pair();
        let long = vec![b'x'; MAX_LINE + 10];
        let writer = std::thread::spawn(move || {
            let _ = client.write_all(&long);
            let mut answer = String::new();
            let _ = client.read_to_string(&mut answer);
            answer
        });
        assert_eq!(line(&mut conn), None);
        assert!(conn.closing && !conn.can_take_request());
        conn.flush();
        assert!(conn.is_done());
        drop(conn);
        let answer = writer.join().unwrap();
        assert_eq!(answer, format!("ERR line longer than {MAX_LINE} bytes\n"));
    }

    #[test]
    fn a_client_that_does_not_read_its_answers_gets_no_more_lines_parsed() {
        let (mut conn, mut client) = pair();
        let requests = "GET x\n".repeat(100_000);
        // The client stays connected (returned by the thread), reading nothing.
        let writer = std::thread::spawn(move || {
            let _ = client.write_all(requests.as_bytes());
            client
        });
        let mut parsed = 0;
        while conn.can_take_request() {
            match line(&mut conn) {
                Some(Line::Text(_)) => {
                    parsed += 1;
                    conn.answer(&"v".repeat(1000));
                    conn.flush();
                }
                other => panic!("{other:?}"),
            }
        }
        // The socket's buffers fill, then at most OUTPUT_HIGH bytes of answers wait here, and
        // unparsed input stays below a line plus one read.
        let waiting = conn.output.len();
        assert!(
            !conn.broken && (OUTPUT_HIGH..OUTPUT_HIGH + 1002).contains(&waiting),
            "{waiting} bytes, broken {}",
            conn.broken
        );
        assert!(conn.input.len() < MAX_LINE + CHUNK);
        assert!(parsed < 100_000, "{parsed}");
        drop(conn);
        let _ = writer.join();
    }
}
