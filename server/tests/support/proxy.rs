//! An in-process TCP proxy for the links between servers: one listener per directed link
//! (server i's connection to server j), which passes bytes on, delays them, or cuts the link
//! (closing its connections and refusing new ones) to partition the cluster.

use super::cluster::free_addr;
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

#[derive(Default)]
pub struct Link {
    pub cut: AtomicBool,
    pub delay_ms: AtomicU64,
}

/// The proxies of an `n`-server cluster.
pub struct ProxyNet {
    pub links: BTreeMap<(usize, usize), (SocketAddr, Arc<Link>)>,
}

impl ProxyNet {
    /// Listeners for every directed link `i -> j` (`i != j`); targets are set by `route`.
    pub fn new(n: usize) -> Self {
        let mut links = BTreeMap::new();
        for i in 0..n {
            for j in (0..n).filter(|&j| j != i) {
                links.insert((i, j), (free_addr(), Arc::new(Link::default())));
            }
        }
        ProxyNet { links }
    }

    /// The address server `i` should use for server `j`; starts forwarding it to `target`.
    pub fn route(&self, i: usize, j: usize, target: SocketAddr) -> SocketAddr {
        let (addr, link) = self.links[&(i, j)].clone();
        let listener = TcpListener::bind(addr).expect("bind a proxy port");
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                if link.cut.load(Ordering::SeqCst) {
                    drop(client);
                    continue;
                }
                let Ok(server) = TcpStream::connect(target) else {
                    continue;
                };
                for (from, to) in [(&client, &server), (&server, &client)] {
                    let (from, to, link) = (
                        from.try_clone().unwrap(),
                        to.try_clone().unwrap(),
                        link.clone(),
                    );
                    std::thread::spawn(move || pump(from, to, &link));
                }
            }
        });
        addr
    }

    /// Cuts (or restores) every link to and from server `i`.
    pub fn isolate(&self, i: usize, cut: bool) {
        for (&(a, b), (_, link)) in &self.links {
            if a == i || b == i {
                link.cut.store(cut, Ordering::SeqCst);
            }
        }
    }

    /// Delays every link by `ms` milliseconds per chunk of bytes.
    pub fn delay_all(&self, ms: u64) {
        for (_, link) in self.links.values() {
            link.delay_ms.store(ms, Ordering::SeqCst);
        }
    }
}

fn pump(mut from: TcpStream, mut to: TcpStream, link: &Link) {
    let _ = from.set_read_timeout(Some(Duration::from_millis(50)));
    let mut buf = vec![0; 64 << 10];
    loop {
        if link.cut.load(Ordering::SeqCst) {
            break;
        }
        match from.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                let delay = link.delay_ms.load(Ordering::SeqCst);
                if delay > 0 {
                    std::thread::sleep(Duration::from_millis(delay));
                }
                if link.cut.load(Ordering::SeqCst) || to.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
            Err(e)
                if e.kind() == std::io::ErrorKind::WouldBlock
                    || e.kind() == std::io::ErrorKind::TimedOut => {}
            Err(_) => break,
        }
    }
    let _ = from.shutdown(Shutdown::Both);
    let _ = to.shutdown(Shutdown::Both);
}
