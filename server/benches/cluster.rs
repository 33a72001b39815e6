//! SET throughput and latency of a three-node loopback cluster with fsync on, at 1, 16 and 64
//! concurrent clients, given also as ratios to this disk's own fsync rate and latency (so the
//! figures mean something on another machine), and the leader's memory with a dead follower.
//! Beside each 64-client point, the same load against [`answer_floor`] (every line answered
//! `OK` at once) gives the most this machine's cores deliver over the client protocol alone.
//!
//! `cargo bench -p refraft-server --bench cluster` runs the full measurement (a few seconds per
//! point); under `cargo test --benches` it runs each point briefly, as a smoke test.

mod answer_floor;
mod disk;
mod load_gen;
#[path = "../tests/support/mod.rs"]
mod support;

use disk::{fsync_latency, percentile, second_of_three_fsyncs};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};
use support::cluster::Cluster;

fn full_run() -> bool {
    std::env::args().any(|a| a == "--bench")
}

/// The median round trip of a 64-byte ping over loopback TCP.
fn loopback_rtt() -> Duration {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        let mut buf = [0; 64];
        while s.read_exact(&mut buf).is_ok() && s.write_all(&buf).is_ok() {}
    });
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_nodelay(true).unwrap();
    let mut buf = [0; 64];
    let mut samples: Vec<Duration> = (0..2000)
        .map(|_| {
            let t = Instant::now();
            s.write_all(&buf).unwrap();
            s.read_exact(&mut buf).unwrap();
            t.elapsed()
        })
        .collect();
    samples.sort();
    samples[samples.len() / 2]
}

/// CPU time (user + system, all threads) process `pid` has used so far.
fn cpu_time(pid: u32) -> Duration {
    // SAFETY: sysconf has no preconditions.
    let tick = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
    let ticks = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            // Fields after the command name: state is field 3, utime 14, stime 15.
            let fields: Vec<&str> = stat.rsplit_once(") ")?.1.split_whitespace().collect();
            Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
        })
        .unwrap_or(0);
    Duration::from_nanos(ticks * 1_000_000_000 / tick)
}

/// CPU time so far of every running server of `cluster`, and of this process (the clients).
fn cpu_times(cluster: &Cluster) -> (Duration, Duration) {
    let servers = cluster
        .procs
        .iter()
        .flatten()
        .map(|c| cpu_time(c.id()))
        .sum();
    (servers, cpu_time(std::process::id()))
}

/// What one load point measured.
struct Point {
    /// SETs answered per second.
    rate: f64,
    /// Their latencies, sorted.
    latencies: Vec<Duration>,
    /// CPU time per SET: the three servers together, and the load generator.
    server_cpu: Duration,
    client_cpu: Duration,
    /// SETs per write-ahead-log fsync (group commit): the leader's, and the busier follower's.
    per_sync: (f64, f64),
}

/// Each server's write-ahead-log fsyncs so far (`wal_syncs` in its `STATE`), and the leader.
fn wal_syncs(cluster: &Cluster) -> (Vec<u64>, Option<usize>) {
    let states: Vec<_> = (0..cluster.procs.len()).map(|i| cluster.state(i)).collect();
    let syncs = states
        .iter()
        .map(|s| s.as_ref().map_or(0, |s| s.num("wal_syncs")))
        .collect();
    let leader = states
        .iter()
        .position(|s| s.as_ref().is_some_and(|s| s.is_leader()));
    (syncs, leader)
}

/// `clients` sessions doing SETs for `span`, with the CPU time the servers and clients used.
fn measure(cluster: &Cluster, clients: usize, span: Duration) -> Point {
    let (syncs0, _) = wal_syncs(cluster);
    let cpu0 = cpu_times(cluster);
    let (rate, latencies) = load(cluster, clients, span);
    let cpu1 = cpu_times(cluster);
    let (syncs1, leader) = wal_syncs(cluster);
    let n = latencies.len().max(1) as u32;
    let per = |i: usize| n as f64 / syncs1[i].saturating_sub(syncs0[i]).max(1) as f64;
    let per_sync = leader.map_or((0.0, 0.0), |l| {
        let follower = (0..syncs1.len()).filter(|&i| i != l).map(per);
        (per(l), follower.fold(f64::INFINITY, f64::min))
    });
    Point {
        rate,
        latencies,
        server_cpu: (cpu1.0.saturating_sub(cpu0.0)) / n,
        client_cpu: (cpu1.1.saturating_sub(cpu0.1)) / n,
        per_sync,
    }
}

/// `clients` sessions doing SETs on the leader for `span`, driven by one event loop
/// ([`load_gen`]); returns (ops/s, sorted latencies).
fn load(cluster: &Cluster, clients: usize, span: Duration) -> (f64, Vec<Duration>) {
    let leader = cluster
        .wait_for_leader(Duration::from_secs(10))
        .expect("a leader");
    load_gen::run(&cluster.clients(), leader, clients, span)
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// One load point on a fresh cluster, for a profiler: `REFRAFT_BENCH_POINT=CLIENTS:SECONDS`;
/// with `REFRAFT_BENCH_TRACE=1` the servers run with `--trace` (its cost, README "Check your
/// own Raft: traces"), with `REFRAFT_BENCH_TRACE=DIR` writing the traces into DIR (another
/// file system than the WAL's, say).
fn single_point(spec: &str) {
    let (clients, secs) = spec.split_once(':').unwrap_or((spec, "5"));
    let (clients, secs): (usize, u64) = (
        clients
            .parse()
            .expect("REFRAFT_BENCH_POINT=CLIENTS:SECONDS"),
        secs.parse().expect("REFRAFT_BENCH_POINT=CLIENTS:SECONDS"),
    );
    let mut cluster = Cluster::new(3, "bench-point", |_, _, direct| direct);
    let trace = std::env::var("REFRAFT_BENCH_TRACE").ok();
    cluster.traced = trace.is_some();
    cluster.trace_dir = trace.filter(|t| t != "1").map(std::path::PathBuf::from);
    for i in 0..3 {
        cluster.spawn(i);
    }
    cluster
        .wait_for_leader(Duration::from_secs(10))
        .expect("a leader");
    let p = measure(&cluster, clients, Duration::from_secs(secs));
    if cluster.traced {
        let bytes: u64 = (0..3)
            .filter_map(|i| std::fs::metadata(cluster.trace_file(i)).ok())
            .map(|m| m.len())
            .sum();
        println!(
            "traces: {:.1} MB written by the three servers",
            bytes as f64 / 1e6
        );
        for i in 0..3 {
            let _ = std::fs::remove_file(cluster.trace_file(i));
        }
    }
    println!(
        "{clients} clients: {:.0} SET/s, p50 {:.3} ms, p99 {:.3} ms, p99.9 {:.3} ms, max {:.3} ms, CPU per SET: servers {:.1} us, clients {:.1} us; SETs per fsync: leader {:.1}, follower {:.1}",
        p.rate,
        percentile(&p.latencies, 0.5).as_secs_f64() * 1e3,
        percentile(&p.latencies, 0.99).as_secs_f64() * 1e3,
        percentile(&p.latencies, 0.999).as_secs_f64() * 1e3,
        p.latencies.last().map_or(0.0, |d| d.as_secs_f64() * 1e3),
        p.server_cpu.as_secs_f64() * 1e6,
        p.client_cpu.as_secs_f64() * 1e6,
        p.per_sync.0,
        p.per_sync.1,
    );
}

/// `clients` sessions of the load generator against [`answer_floor`] for `span`: (requests
/// answered per second, sorted latencies, CPU per request of this process: the load generator
/// and the floor server together).
fn floor_point(clients: usize, span: Duration) -> (f64, Vec<Duration>, Duration) {
    let floor = answer_floor::AnswerFloor::start();
    let cpu0 = cpu_time(std::process::id());
    let (rate, latencies) = load_gen::run(&[floor.addr.to_string()], 0, clients, span);
    let cpu1 = cpu_time(std::process::id());
    let n = latencies.len().max(1) as u32;
    (rate, latencies, cpu1.saturating_sub(cpu0) / n)
}

fn main() {
    if let Ok(spec) = std::env::var("REFRAFT_BENCH_FLOOR") {
        let (clients, secs) = spec.split_once(':').unwrap_or((&spec, "4"));
        let clients: usize = clients
            .parse()
            .expect("REFRAFT_BENCH_FLOOR=CLIENTS:SECONDS");
        let secs: u64 = secs.parse().expect("REFRAFT_BENCH_FLOOR=CLIENTS:SECONDS");
        let (rate, lat, cpu) = floor_point(clients, Duration::from_secs(secs));
        println!(
            "floor, {clients} clients: {rate:.0} answers/s, p50 {:.3} ms, p99 {:.3} ms, CPU {:.1} us per answer",
            percentile(&lat, 0.5).as_secs_f64() * 1e3,
            percentile(&lat, 0.99).as_secs_f64() * 1e3,
            cpu.as_secs_f64() * 1e6
        );
        return;
    }
    if let Ok(spec) = std::env::var("REFRAFT_BENCH_POINT") {
        return single_point(&spec);
    }
    let full = full_run();
    let span = if full {
        Duration::from_secs(4)
    } else {
        Duration::from_millis(300)
    };
    let load_avg = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let (fsync, fsync_p50, fsync_p99) = fsync_latency(if full {
        Duration::from_secs(3)
    } else {
        Duration::from_millis(200)
    });
    let rtt = loopback_rtt();
    let fsync_rate = 1.0 / fsync.as_secs_f64();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!("load average: {}", load_avg.trim());
    println!(
        "disk: 64-byte append + fdatasync: mean {:.3} ms ({fsync_rate:.0}/s single writer), median {:.3} ms, p99 {:.3} ms; loopback TCP round trip (median) {:.3} ms",
        ms(fsync),
        ms(fsync_p50),
        ms(fsync_p99),
        ms(rtt)
    );
    // The three servers share this disk: a SET costs each an fsync at about the same moment,
    // and its commit waits for two of them.
    let (second_p50, second_p99) = second_of_three_fsyncs(if full {
        Duration::from_secs(3)
    } else {
        Duration::from_millis(200)
    });
    println!(
        "disk, three writers in lockstep (as the cluster's three servers): the second of three fsyncs done after median {:.3} ms, p99 {:.3} ms ({:.1} and {:.1} × the single writer's mean)",
        ms(second_p50),
        ms(second_p99),
        second_p50.as_secs_f64() / fsync.as_secs_f64(),
        second_p99.as_secs_f64() / fsync.as_secs_f64()
    );
    let cluster = Cluster::start(3, "bench");
    cluster
        .wait_for_leader(Duration::from_secs(10))
        .expect("a leader");
    println!(
        "| clients | SET/s | fsync mean ms | fsync/s | SET/s ÷ fsync/s | p50 ms | p99 ms | p99 ÷ mean fsync | p99 ÷ p99 fsync | server CPU µs/SET | client CPU µs/SET | SETs per fsync, leader / follower |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|");
    for clients in [1, 16, 64] {
        // The disk's fsync time moves with the machine's load: measure it again next to each
        // point, before and after, and give the point's ratios against the two together.
        let fsync_span = if full {
            Duration::from_secs(1)
        } else {
            Duration::from_millis(100)
        };
        let before = fsync_latency(fsync_span);
        let point = measure(&cluster, clients, span);
        let (rate, lat) = (point.rate, &point.latencies);
        let after = fsync_latency(fsync_span);
        let fsync = (before.0 + after.0) / 2;
        let fsync_p99 = before.2.max(after.2);
        let fsync_rate = 1.0 / fsync.as_secs_f64();
        let (p50, p99) = (percentile(lat, 0.5), percentile(lat, 0.99));
        println!(
            "| {clients} | {rate:.0} | {:.2} | {fsync_rate:.0} | {:.1} | {:.2} | {:.2} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} / {:.1} |",
            ms(fsync),
            rate / fsync_rate,
            ms(p50),
            ms(p99),
            p99.as_secs_f64() / fsync.as_secs_f64(),
            p99.as_secs_f64() / fsync_p99.as_secs_f64(),
            point.server_cpu.as_secs_f64() * 1e6,
            point.client_cpu.as_secs_f64() * 1e6,
            point.per_sync.0,
            point.per_sync.1,
        );
    }

    // The two targets, measured robustly: rounds that alternate the disk's fsync loop with the
    // cluster runs, so each ratio compares measurements a few seconds apart; each round's
    // ratios, then their medians.
    let rounds = if full { 5 } else { 1 };
    let (fsync_span, point_span) = if full {
        (Duration::from_millis(1500), Duration::from_secs(3))
    } else {
        (Duration::from_millis(100), Duration::from_millis(200))
    };
    println!(
        "| round | fsync mean ms (before 1) | p99 ms, 1 client | p99 ÷ (3 fsync + 2 RTT) | fsync mean ms (before 64) | SET/s, 64 clients | SET/s ÷ fsync/s | CPU µs/SET, 64 clients (servers + clients) | floor answers/s, 64 clients | floor ÷ fsync/s | floor CPU µs/answer |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    let (mut p99_ratios, mut rate_ratios, mut cpus) = (Vec::new(), Vec::new(), Vec::new());
    let (mut floor_ratios, mut floor_cpus) = (Vec::new(), Vec::new());
    for round in 1..=rounds {
        let before_one = fsync_latency(fsync_span).0;
        let (_, lat) = load(&cluster, 1, point_span);
        let p99 = percentile(&lat, 0.99);
        let p99_ratio = p99.as_secs_f64() / (3 * before_one + 2 * rtt).as_secs_f64();
        let before_many = fsync_latency(fsync_span).0;
        let many = measure(&cluster, 64, point_span);
        let rate = many.rate;
        let rate_ratio = rate * before_many.as_secs_f64();
        let cpu = (many.server_cpu + many.client_cpu).as_secs_f64();
        // The client protocol alone, right after, against the same fsync measurement.
        let (floor_rate, _, floor_cpu) = floor_point(64, point_span);
        let floor_ratio = floor_rate * before_many.as_secs_f64();
        println!(
            "| {round} | {:.2} | {:.2} | {p99_ratio:.2} | {:.2} | {rate:.0} | {rate_ratio:.1} | {:.1} | {floor_rate:.0} | {floor_ratio:.1} | {:.1} |",
            ms(before_one),
            ms(p99),
            ms(before_many),
            cpu * 1e6,
            floor_cpu.as_secs_f64() * 1e6
        );
        floor_ratios.push(floor_ratio);
        floor_cpus.push(floor_cpu.as_secs_f64());
        p99_ratios.push(p99_ratio);
        rate_ratios.push(rate_ratio);
        cpus.push(cpu);
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    println!(
        "median over {rounds} rounds: p99 at 1 client ÷ (3 fsync + 2 RTT) = {:.2} (target ≤ 1); SET/s at 64 clients ÷ fsync/s = {:.1} (target ≥ 20)",
        median(&mut p99_ratios),
        median(&mut rate_ratios)
    );
    // The ceiling the CPU sets: every core busy with nothing but this cluster and its clients.
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let cpu = median(&mut cpus);
    println!(
        "CPU ceiling: {:.1} µs of CPU per SET at 64 clients (median) → at most {cores} cores ÷ that = {:.0} SET/s = {:.1} × the opening fsync rate ({fsync_rate:.0}/s)",
        cpu * 1e6,
        cores as f64 / cpu,
        cores as f64 / cpu / fsync_rate
    );
    // The floor: what the client protocol alone gets from these cores, without Raft or disk.
    let (floor_one, floor_lat, _) = floor_point(1, point_span);
    println!(
        "client protocol floor (every line answered OK at once: no Raft, no disk): at 64 clients {:.1} × the fsync rate (median), {:.1} µs of CPU per answer; at 1 client {floor_one:.0} answers/s, p50 {:.3} ms, p99 {:.3} ms",
        median(&mut floor_ratios),
        median(&mut floor_cpus) * 1e6,
        ms(percentile(&floor_lat, 0.5)),
        ms(percentile(&floor_lat, 0.99)),
    );
    println!(
        "load average after: {}",
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .trim()
    );

    drop(cluster);

    // Memory with a dead follower: the leader's queue to it is bounded (descriptors, not
    // entries), so the leader's memory per log entry is what it is with every follower up.
    for dead in [false, true] {
        let mut cluster = Cluster::start(3, "bench-memory");
        let leader = cluster
            .wait_for_leader(Duration::from_secs(10))
            .expect("a leader");
        let pid = cluster.procs[leader].as_ref().unwrap().id();
        if dead {
            cluster.kill((leader + 1) % 3);
        }
        let rss0 = rss_kib(pid);
        load(&cluster, 64, span * 2);
        let entries = cluster.state(leader).map_or(0, |s| s.num("last"));
        let rss1 = rss_kib(pid);
        println!(
            "leader memory, {}: RSS {rss0} KiB at start, {rss1} KiB after {entries} entries ({:.0} B per entry)",
            if dead { "one follower dead" } else { "all followers up" },
            (rss1.saturating_sub(rss0) * 1024) as f64 / entries.max(1) as f64
        );
    }
}
