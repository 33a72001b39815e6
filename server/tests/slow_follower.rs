//! Memory stays bounded under a slow follower: one follower of three is stopped (SIGSTOP) for
//! most of a run under a steady client load, so the leader's link to it backs up (its socket
//! buffers fill, writes time out, the queue of 1024 descriptors fills and drops). The leader's
//! RSS may grow only by what its log holds for the new entries (the log is kept whole; there is
//! no compaction) plus what the link can pin, a bound from the configured queue sizes. Once
//! resumed (SIGCONT) the follower catches up and every server converges.

mod support;

use refraft_server::client::Client;
use refraft_server::server::MAX_ENTRIES_PER_APPEND;
use refraft_server::transport::outbound::{Outgoing, QUEUE_CAPACITY};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::cluster::Cluster;

/// What the in-memory log may cost per entry (measured: ~240 B for these small SETs).
const PER_ENTRY_MAX: u64 = 1024;
/// Allocator arenas, thread stacks and client connections touched for the first time.
const SLACK: u64 = 8 << 20;

fn rss_bytes(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        })
        .expect("VmRSS of the leader")
        * 1024
}

fn signal(pid: u32, sig: &str) {
    let ok = std::process::Command::new("kill")
        .args([sig, &pid.to_string()])
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "kill {sig} {pid}");
}

/// Resumes the stopped follower even when the test fails (the cluster's guard then kills it).
struct Resume(Option<u32>);

impl Drop for Resume {
    fn drop(&mut self) {
        if let Some(pid) = self.0.take() {
            signal(pid, "-CONT");
        }
    }
}

#[test]
fn a_stopped_follower_does_not_grow_the_leaders_memory_beyond_the_queue_bounds() {
    let cluster = Cluster::start(3, "slow-follower");
    let leader = cluster
        .wait_for_leader(Duration::from_secs(10))
        .expect("a leader");
    let term = cluster.state(leader).expect("leader state").num("term");
    let follower = (leader + 1) % 3;
    let leader_pid = cluster.procs[leader].as_ref().unwrap().id();
    let follower_pid = cluster.procs[follower].as_ref().unwrap().id();

    // A steady load: four clients doing SETs on a few keys.
    let stop = Arc::new(AtomicBool::new(false));
    let acked = Arc::new(AtomicU64::new(0));
    let clients: Vec<_> = (0..4)
        .map(|t| {
            let (servers, stop, acked) = (cluster.clients(), stop.clone(), acked.clone());
            std::thread::spawn(move || {
                let mut client = Client::new(servers, Duration::from_secs(5));
                let mut i = 0u64;
                while !stop.load(Ordering::SeqCst) {
                    let set = format!("SET k{t}-{}=v{i}", i % 8).parse().unwrap();
                    if client.execute(&set).is_ok() {
                        acked.fetch_add(1, Ordering::SeqCst);
                    }
                    i += 1;
                }
            })
        })
        .collect();
    let last = |i: usize| cluster.state(i).map_or(0, |s| s.num("last"));

    // Phase A, every follower up: the log's own cost per entry.
    std::thread::sleep(Duration::from_millis(500));
    let (rss_a0, last_a0) = (rss_bytes(leader_pid), last(leader));
    std::thread::sleep(Duration::from_secs(2));
    let (rss_a1, last_a1) = (rss_bytes(leader_pid), last(leader));

    // Phase B, the follower stopped for 6 s; the leader's RSS sampled throughout.
    signal(follower_pid, "-STOP");
    let mut resume = Resume(Some(follower_pid));
    let (rss_b0, last_b0) = (rss_bytes(leader_pid), last(leader));
    let mut rss_peak = rss_b0;
    let until = Instant::now() + Duration::from_secs(6);
    while Instant::now() < until {
        std::thread::sleep(Duration::from_millis(200));
        rss_peak = rss_peak.max(rss_bytes(leader_pid));
    }
    let last_b1 = last(leader);
    rss_peak = rss_peak.max(rss_bytes(leader_pid));
    let entries_b = last_b1 - last_b0;

    // Resumed under load, then the load stops and everyone converges.
    if let Some(pid) = resume.0.take() {
        signal(pid, "-CONT");
    }
    std::thread::sleep(Duration::from_secs(1));
    stop.store(true, Ordering::SeqCst);
    for c in clients {
        c.join().unwrap();
    }
    let converged = cluster
        .wait_converged(Duration::from_secs(30))
        .unwrap_or_else(|states| panic!("no convergence after SIGCONT: {states:?}"));
    let (leader_state, follower_state) = (cluster.state(leader), cluster.state(follower));
    let (leader_state, follower_state) = (leader_state.unwrap(), follower_state.unwrap());

    let per_entry_a = rss_a1.saturating_sub(rss_a0) as f64 / (last_a1 - last_a0).max(1) as f64;
    let growth_b = rss_peak.saturating_sub(rss_b0);
    let per_entry_b = growth_b as f64 / entries_b.max(1) as f64;
    // What the link to the stopped follower can pin: the full queue of descriptors, one
    // message being sent (at most MAX_ENTRIES_PER_APPEND entries, resolved and encoded), and
    // the connection's 64 KiB write buffer.
    let link_bound = (QUEUE_CAPACITY * std::mem::size_of::<Outgoing>()) as u64
        + MAX_ENTRIES_PER_APPEND as u64 * PER_ENTRY_MAX * 2
        + (64 << 10);
    let bound = entries_b * PER_ENTRY_MAX + link_bound + SLACK;
    println!(
        "all up: {} entries, RSS {} -> {} KiB ({per_entry_a:.0} B/entry); follower stopped: {entries_b} entries, \
         RSS {} -> peak {} KiB ({per_entry_b:.0} B/entry), bound {} KiB (link {} KiB); \
         acknowledged {}, converged at commit {}",
        last_a1 - last_a0,
        rss_a0 >> 10,
        rss_a1 >> 10,
        rss_b0 >> 10,
        rss_peak >> 10,
        bound >> 10,
        link_bound >> 10,
        acked.load(Ordering::SeqCst),
        converged.num("commit"),
    );
    assert!(
        entries_b >= 100,
        "the two remaining servers should keep committing: {entries_b} entries"
    );
    assert!(
        growth_b <= bound,
        "leader RSS grew {growth_b} B over {entries_b} entries with a stopped follower (bound {bound} B)"
    );
    // The follower caught up: it holds the leader's log and applied all of it.
    assert_eq!(follower_state.num("last"), leader_state.num("last"));
    assert_eq!(follower_state.num("applied"), leader_state.num("commit"));
    assert!(follower_state.num("last") >= last_b1);
    // No election disturbed the measurement: the leader is the one of the start.
    assert!(leader_state.is_leader() && leader_state.num("term") == term);
}
