//! Group commit on real processes: the write-ahead log's fsyncs (`wal_syncs` in each server's
//! `STATE`) against the SETs acknowledged. One client at a time costs each server about one
//! fsync per SET (each turn holds one request); 32 concurrent clients share them, since one
//! fsync covers every request of a turn. And every acknowledged SET costs the leader and at
//! least one follower an fsync.

mod support;

use refraft_server::client::Client;
use std::time::{Duration, Instant};
use support::cluster::Cluster;

/// The fsync counts of the three servers.
fn syncs(cluster: &Cluster) -> Vec<u64> {
    (0..3)
        .map(|i| cluster.state(i).expect("STATE").num("wal_syncs"))
        .collect()
}

/// `clients` threads each doing `per_client` SETs; returns how many were acknowledged.
fn load(cluster: &Cluster, clients: usize, per_client: usize) -> u64 {
    let threads: Vec<_> = (0..clients)
        .map(|t| {
            let servers = cluster.clients();
            std::thread::spawn(move || {
                let mut client = Client::new(servers, Duration::from_secs(10));
                (0..per_client)
                    .filter(|i| {
                        let set = format!("SET k{t}-{}=v{i}", i % 4).parse().unwrap();
                        client.execute(&set).is_ok()
                    })
                    .count() as u64
            })
        })
        .collect();
    threads.into_iter().map(|t| t.join().unwrap()).sum()
}

#[test]
fn one_fsync_covers_the_concurrent_sets_of_a_turn_and_every_ok_follows_one() {
    let cluster = Cluster::start(3, "group-commit");
    let leader = cluster
        .wait_for_leader(Duration::from_secs(10))
        .expect("a leader");
    let followers = [(leader + 1) % 3, (leader + 2) % 3];

    // Each acknowledged SET moved the leader's fsync count and a follower's (a server
    // publishes its count just after the turn whose fsync preceded the answer: poll briefly).
    for i in 0..5 {
        let before = syncs(&cluster);
        let answer = cluster
            .ask(leader, &format!("SET solo=v{i}"))
            .expect("an answer");
        assert_eq!(answer, ["OK"], "SET solo=v{i}");
        let moved = |after: &[u64]| {
            after[leader] > before[leader] && followers.iter().any(|&f| after[f] > before[f])
        };
        let deadline = Instant::now() + Duration::from_secs(2);
        let mut after = syncs(&cluster);
        while !moved(&after) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
            after = syncs(&cluster);
        }
        assert!(
            moved(&after),
            "an acknowledged SET without a leader and a follower fsync: {before:?} → {after:?}"
        );
    }

    // One client at a time: each server's fsyncs are of the order of the SETs.
    let before = syncs(&cluster);
    let serial = load(&cluster, 1, 100);
    let after = syncs(&cluster);
    assert_eq!(serial, 100);
    let serial_leader = after[leader] - before[leader];
    assert!(
        serial_leader >= serial / 2,
        "one client: {serial_leader} leader fsyncs for {serial} SETs"
    );

    // 32 at once: the same fsyncs cover many SETs (measured: tens per fsync).
    let before = syncs(&cluster);
    let acked = load(&cluster, 32, 50);
    let after = syncs(&cluster);
    assert_eq!(acked, 32 * 50);
    for i in 0..3 {
        let fsyncs = after[i] - before[i];
        assert!(
            fsyncs > 0,
            "server {i} made {acked} SETs durable without an fsync"
        );
        assert!(
            acked >= 3 * fsyncs,
            "32 clients: server {i} did {fsyncs} fsyncs for {acked} SETs (no group commit)"
        );
    }
}
