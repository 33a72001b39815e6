//! The client protocol's floor on this machine: a server that answers every request line `OK`
//! at once, on one epoll thread (as the client port serves its connections), with no Raft, no
//! replication and no disk behind it. Driven by the same load generator as the cluster, it
//! measures the most SETs per second any server speaking this protocol over loopback TCP can
//! answer here, and the CPU a request costs the two ends' TCP alone.

use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token, Waker};
use std::io::{ErrorKind, Read, Write};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

const LISTENER: Token = Token(usize::MAX - 1);
const STOP: Token = Token(usize::MAX);

/// A running floor server; dropping it stops its thread.
pub struct AnswerFloor {
    pub addr: SocketAddr,
    stop: Arc<AtomicBool>,
    waker: Arc<Waker>,
    thread: Option<JoinHandle<()>>,
}

impl AnswerFloor {
    /// Starts the server on an ephemeral loopback port.
    pub fn start() -> Self {
        let mut listener = TcpListener::bind("127.0.0.1:0".parse().unwrap()).expect("bind");
        let addr = listener.local_addr().expect("local address");
        let poll = Poll::new().expect("epoll");
        poll.registry()
            .register(&mut listener, LISTENER, Interest::READABLE)
            .expect("register");
        let waker = Arc::new(Waker::new(poll.registry(), STOP).expect("waker"));
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || serve(poll, listener, &flag));
        AnswerFloor {
            addr,
            stop,
            waker,
            thread: Some(thread),
        }
    }
}

impl Drop for AnswerFloor {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = self.waker.wake();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

struct Conn {
    stream: TcpStream,
    input: Vec<u8>,
    output: Vec<u8>,
}

fn serve(mut poll: Poll, listener: TcpListener, stop: &AtomicBool) {
    let mut conns: Vec<Option<Conn>> = Vec::new();
    let mut events = Events::with_capacity(1024);
    let mut buf = [0u8; 4096];
    while !stop.load(Ordering::SeqCst) {
        if let Err(e) = poll.poll(&mut events, None) {
            assert_eq!(e.kind(), ErrorKind::Interrupted, "epoll: {e}");
            continue;
        }
        for event in events.iter() {
            match event.token() {
                STOP => return,
                LISTENER => {
                    while let Ok((mut stream, _)) = listener.accept() {
                        let _ = stream.set_nodelay(true);
                        let slot = conns.iter().position(Option::is_none).unwrap_or_else(|| {
                            conns.push(None);
                            conns.len() - 1
                        });
                        let interest = Interest::READABLE | Interest::WRITABLE;
                        if poll
                            .registry()
                            .register(&mut stream, Token(slot), interest)
                            .is_ok()
                        {
                            conns[slot] = Some(Conn {
                                stream,
                                input: Vec::new(),
                                output: Vec::new(),
                            });
                        }
                    }
                }
                Token(i) => {
                    let Some(conn) = conns.get_mut(i).and_then(Option::as_mut) else {
                        continue;
                    };
                    if !conn.drive(&mut buf, event.is_read_closed()) {
                        let _ = poll.registry().deregister(&mut conn.stream);
                        conns[i] = None;
                    }
                }
            }
        }
    }
}

impl Conn {
    /// Reads what arrived, answers each whole line `OK`, writes the answers; false once the
    /// connection is closed or broken. A short read drained the socket unless poll reported
    /// the peer's side closed (`read_closed`: then end-of-file follows the bytes).
    fn drive(&mut self, buf: &mut [u8], read_closed: bool) -> bool {
        loop {
            match self.stream.read(buf) {
                Ok(0) => return false,
                Ok(n) => {
                    self.input.extend_from_slice(&buf[..n]);
                    if n < buf.len() && !read_closed {
                        break;
                    }
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => return false,
            }
        }
        let lines = self.input.iter().filter(|&&b| b == b'\n').count();
        if let Some(last) = self.input.iter().rposition(|&b| b == b'\n') {
            self.input.drain(..=last);
        }
        for _ in 0..lines {
            self.output.extend_from_slice(b"OK\n");
        }
        while !self.output.is_empty() {
            match self.stream.write(&self.output) {
                Ok(n) => {
                    self.output.drain(..n);
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => return false,
            }
        }
        true
    }
}
