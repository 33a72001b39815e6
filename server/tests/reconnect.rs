//! Reconnect with backoff, seen from outside: a server whose peer is down tries to connect on
//! the configured schedule (delays doubling from the minimum, capped), reaches the peer once it
//! is up, and starts the schedule over when the connection is lost again.

mod support;

use refraft::NodeId;
use refraft_server::transport::frame::read_frame;
use refraft_server::transport::wire::Frame;
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use support::cluster::free_addr;
use support::tempdir::TempDir;

const MIN_MS: u64 = 20;
const MAX_MS: u64 = 200;

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// One "connect failed" line of the server's log.
#[derive(Debug)]
struct Attempt {
    /// Seconds since midnight (UTC), from the line's timestamp.
    at: f64,
    attempt: u64,
    retry_in_ms: u64,
}

fn field(line: &str, name: &str) -> Option<u64> {
    line.split_whitespace()
        .find_map(|w| w.strip_prefix(name)?.strip_prefix('=')?.parse().ok())
}

/// `2026-12-02T05:04:01.123456Z ...` -> seconds since midnight.
fn timestamp(line: &str) -> Option<f64> {
    let time = line.split_whitespace().next()?.split_once('T')?.1;
    let mut parts = time.trim_end_matches('Z').split(':');
    let h: f64 = parts.next()?.parse().ok()?;
    let m: f64 = parts.next()?.parse().ok()?;
    let s: f64 = parts.next()?.parse().ok()?;
    Some(h * 3600.0 + m * 60.0 + s)
}

/// The log's lines about the link to peer 2: (failed attempts, index of each "connected").
fn link_lines(log: &str) -> Vec<(Option<Attempt>, bool)> {
    log.lines()
        .filter(|l| l.contains("peer=n2"))
        .filter_map(|l| {
            if l.contains("connect failed") {
                Some((
                    Some(Attempt {
                        at: timestamp(l)?,
                        attempt: field(l, "attempt")?,
                        retry_in_ms: field(l, "retry_in_ms")?,
                    }),
                    false,
                ))
            } else if l.contains(" connected") {
                Some((None, true))
            } else {
                None
            }
        })
        .collect()
}

fn scheduled(k: u64) -> u64 {
    (MIN_MS << (k - 1).min(20)).min(MAX_MS)
}

#[test]
fn a_down_peer_is_retried_on_the_capped_doubling_schedule_and_reached_when_it_returns() {
    let dir = TempDir::new("reconnect");
    let (own, client, peer) = (free_addr(), free_addr(), free_addr());
    let log_path = dir.path().join("server.log");
    let log_file = std::fs::File::create(&log_path).unwrap();
    let read_log = || std::fs::read_to_string(&log_path).unwrap_or_default();
    let _server = Server(
        Command::new(env!("CARGO_BIN_EXE_refraft"))
            .args(["serve", "--id", "1", "--peers"])
            .arg(format!("1={own},2={peer}"))
            .arg("--data")
            .arg(dir.path().join("n1"))
            .args(["--client", &client.to_string()])
            .args(["--election-ms", "40-80", "--heartbeat-ms", "10"])
            .args(["--reconnect-ms", &format!("{MIN_MS}-{MAX_MS}")])
            .arg("--exit-on-stdin-eof")
            .env("RUST_LOG", "info,refraft_server::transport::outbound=debug")
            .stdin(Stdio::piped())
            .stderr(log_file)
            .spawn()
            .unwrap(),
    );

    // The peer's port is reserved but nobody listens: every attempt is refused. The server
    // campaigns every election timeout (40-80 ms), so its link always has a message to send.
    std::thread::sleep(Duration::from_secs(3));
    let down: Vec<Attempt> = link_lines(&read_log())
        .into_iter()
        .filter_map(|(a, _)| a)
        .collect();
    assert!(
        down.len() >= 6,
        "too few attempts to reach the cap: {down:?}"
    );
    for (k, a) in down.iter().enumerate() {
        assert_eq!(a.attempt, k as u64 + 1, "{down:?}");
        assert_eq!(a.retry_in_ms, scheduled(a.attempt), "{down:?}");
    }
    // The real spacing: each attempt comes at least the announced delay after the previous.
    let gaps: Vec<f64> = down.windows(2).map(|w| (w[1].at - w[0].at) * 1e3).collect();
    for (k, gap) in gaps.iter().enumerate() {
        assert!(
            *gap >= down[k].retry_in_ms as f64 - 1.0,
            "attempt {} came {gap:.1} ms after the previous, before its {} ms backoff: {gaps:?}",
            k + 2,
            down[k].retry_in_ms
        );
    }
    // Capped: once at the cap the delays stop growing (doubling on would give 400, 800, ...).
    let mut capped: Vec<f64> = gaps
        .iter()
        .zip(&down)
        .filter(|(_, a)| a.retry_in_ms == MAX_MS)
        .map(|(g, _)| *g)
        .collect();
    capped.sort_by(f64::total_cmp);
    assert!(capped.len() >= 3, "{gaps:?}");
    let median = capped[capped.len() / 2];
    assert!(
        median < 1.5 * MAX_MS as f64,
        "capped delays grow: median {median:.1} ms, {gaps:?}"
    );
    println!(
        "down peer: {} attempts in 3 s, gaps (ms) {:?}",
        down.len(),
        gaps.iter().map(|g| g.round() as u64).collect::<Vec<_>>()
    );

    // The peer comes up: the server connects within one capped delay (plus scheduling slack)
    // and introduces itself.
    let listener = TcpListener::bind(peer).expect("the reserved port can be listened on");
    listener.set_nonblocking(true).unwrap();
    let up_at = Instant::now();
    let (mut conn, _) = loop {
        match listener.accept() {
            Ok(c) => break c,
            Err(_) if up_at.elapsed() < Duration::from_millis(MAX_MS + 3000) => {
                std::thread::sleep(Duration::from_millis(2))
            }
            Err(e) => panic!("no connection within {:?}: {e}", up_at.elapsed()),
        }
    };
    let reconnect_after = up_at.elapsed();
    conn.set_nonblocking(false).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    let mut buf = Vec::new();
    read_frame(&mut conn, &mut buf).expect("a first frame");
    match Frame::decode(&buf) {
        Ok(Frame::Hello { from, client_addr }) => {
            assert_eq!(from, NodeId(1));
            assert_eq!(client_addr, client.to_string());
        }
        other => panic!("first frame is not a Hello: {other:?}"),
    }
    println!("peer up: connected after {reconnect_after:?}");

    // The peer goes down again: the schedule starts over at the minimum.
    drop(conn);
    drop(listener);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let lines = link_lines(&read_log());
        let connected = lines.iter().rposition(|(_, c)| *c);
        let after: Vec<&Attempt> = connected
            .map(|i| {
                lines[i + 1..]
                    .iter()
                    .filter_map(|(a, _)| a.as_ref())
                    .collect()
            })
            .unwrap_or_default();
        if after.len() >= 2 {
            assert_eq!((after[0].attempt, after[0].retry_in_ms), (1, MIN_MS));
            assert_eq!((after[1].attempt, after[1].retry_in_ms), (2, 2 * MIN_MS));
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no new attempts after the peer left: {}",
            read_log()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}
