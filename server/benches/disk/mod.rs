//! The disk's own figures, the yardsticks of the cluster bench: one writer's fsync loop (its
//! mean's inverse is "the disk's single-writer fsync rate"), and three writers in lockstep, as
//! the three servers of a loopback cluster share this one disk: each SET costs all three an
//! fsync at about the same moment, and its commit waits for two of them (the leader's and a
//! follower's).

use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

fn scratch_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("refraft-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The `p` quantile of `sorted`.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 * p) as usize).min(sorted.len() - 1)]
}

/// Appends of 64 bytes, each followed by fdatasync, for `span`: (mean, median, p99). The
/// mean's inverse is the single-writer fsync rate.
pub fn fsync_latency(span: Duration) -> (Duration, Duration, Duration) {
    let dir = scratch_dir("fsync");
    let mut file = std::fs::File::create(dir.join("f")).unwrap();
    let start = Instant::now();
    let mut samples = Vec::new();
    while start.elapsed() < span {
        let t = Instant::now();
        file.write_all(&[1; 64]).unwrap();
        file.sync_data().unwrap();
        samples.push(t.elapsed());
    }
    let mean = start.elapsed() / samples.len() as u32;
    samples.sort();
    let _ = std::fs::remove_dir_all(dir);
    (mean, percentile(&samples, 0.5), percentile(&samples, 0.99))
}

/// Three threads, each appending 64 bytes + fdatasync to its own file, started together in
/// rounds for `span`: (median, p99) over the rounds of the time until the *second* of the three
/// fsyncs completed, what a commit on three servers sharing this disk waits for at the least.
pub fn second_of_three_fsyncs(span: Duration) -> (Duration, Duration) {
    let dir = scratch_dir("fsync3");
    let barrier = Arc::new(Barrier::new(3));
    let stop = Arc::new(AtomicBool::new(false));
    let deadline = Instant::now() + span;
    let writers: Vec<_> = (0..3)
        .map(|i| {
            let mut file = std::fs::File::create(dir.join(format!("f{i}"))).unwrap();
            let (barrier, stop) = (Arc::clone(&barrier), Arc::clone(&stop));
            std::thread::spawn(move || {
                let mut done = Vec::new();
                loop {
                    // One writer decides whether to go on; all read it after the second wait.
                    if barrier.wait().is_leader() {
                        stop.store(Instant::now() >= deadline, Ordering::SeqCst);
                    }
                    barrier.wait();
                    if stop.load(Ordering::SeqCst) {
                        return done;
                    }
                    let start = Instant::now();
                    file.write_all(&[1; 64]).unwrap();
                    file.sync_data().unwrap();
                    done.push((start, start.elapsed()));
                }
            })
        })
        .collect();
    let per_writer: Vec<Vec<(Instant, Duration)>> =
        writers.into_iter().map(|w| w.join().unwrap()).collect();
    let _ = std::fs::remove_dir_all(dir);
    let rounds = per_writer.iter().map(Vec::len).min().unwrap_or(0);
    let mut second: Vec<Duration> = (0..rounds)
        .map(|r| {
            // Each writer's completion time measured from the round's earliest start.
            let first_start = per_writer.iter().map(|w| w[r].0).min().unwrap();
            let mut ends: Vec<Duration> = per_writer
                .iter()
                .map(|w| w[r].0 + w[r].1 - first_start)
                .collect();
            ends.sort();
            ends[1]
        })
        .collect();
    second.sort();
    (percentile(&second, 0.5), percentile(&second, 0.99))
}
