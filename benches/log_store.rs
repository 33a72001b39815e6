//! Throughput of the concurrent log store (`refraft::log_store`), with `Vec<u8>` payloads.
//!
//! ```sh
//! cargo bench --bench log_store
//! ```
//!
//! - `append_one/N`: one entry per append, N-byte payload.
//! - `append_batch64/N`: 64 entries per append, N-byte payloads (throughput in entries).
//! - `append_one_with_reader/64`: as `append_one/64` while a reader thread reads ranges.
//! - `read16/idle`, `read16/with_writer`: one reader copying 16 entries of 64 bytes, alone or
//!   while a writer thread appends.
//!
//! Building the entries and freeing compacted ones happen outside the timed part: appends run
//! in chunks, and between chunks the log is committed and compacted so memory stays bounded.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use refraft::log_store::{LogReader, LogWriter};
use refraft::{ClientId, Entry, Index, Payload};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

const SIZES: [usize; 3] = [8, 64, 1024];
/// Entries appended between two (untimed) compactions.
const CHUNK: u64 = 4096;
const BATCH: u64 = 64;

fn entry(serial: u64, size: usize) -> Entry<Vec<u8>> {
    Entry {
        term: 1,
        payload: Payload::Command {
            client: ClientId(1),
            serial,
            command: vec![0xA5; size].into(),
        },
    }
}

/// Commits and compacts everything but the last `keep` entries (memory stays bounded).
fn compact(writer: &mut LogWriter<Vec<u8>>, keep: Index) {
    let last_index = writer.reader().last_index();
    writer.advance_commit(last_index).unwrap();
    let upto = last_index.saturating_sub(keep);
    if upto > writer.reader().snapshot_index() {
        writer.compact_to(upto).unwrap();
    }
}

/// Times `iters` single-entry appends of `size`-byte payloads.
fn time_append_one(writer: &mut LogWriter<Vec<u8>>, iters: u64, size: usize) -> Duration {
    let mut total = Duration::ZERO;
    let mut left = iters;
    while left > 0 {
        let n = left.min(CHUNK);
        let next = writer.reader().last_index() + 1;
        let entries: Vec<_> = (next..next + n).map(|i| entry(i, size)).collect();
        let start = Instant::now();
        for (index, e) in (next..).zip(entries) {
            writer.append_one(index, e).unwrap();
        }
        total += start.elapsed();
        compact(writer, 64);
        left -= n;
    }
    total
}

fn append(c: &mut Criterion) {
    let mut group = c.benchmark_group("append_one");
    group
        .measurement_time(Duration::from_secs(2))
        .warm_up_time(Duration::from_millis(500))
        .sample_size(20)
        .throughput(Throughput::Elements(1));
    for size in SIZES {
        group.bench_with_input(BenchmarkId::from_parameter(size), &size, |b, &size| {
            b.iter_custom(|iters| time_append_one(&mut LogWriter::new(), iters, size))
        });
    }
    group.finish();

    let mut group = c.benchmark_group("append_batch64");
    group
        .measurement_time(Duration::from_secs(2))
        .warm_up_time(Duration::from_millis(500))
        .sample_size(20)
        .throughput(Throughput::Elements(BATCH));
    for size in SIZES {
        group.bench_with_input(BenchmarkId::from_parameter(size), &size, |b, &size| {
            b.iter_custom(|iters| {
                let mut writer = LogWriter::new();
                let mut total = Duration::ZERO;
                let mut left = iters;
                while left > 0 {
                    let batches = left.min(CHUNK / BATCH);
                    let next = writer.reader().last_index() + 1;
                    let prepared: Vec<Vec<_>> = (0..batches)
                        .map(|k| {
                            let first = next + k * BATCH;
                            (first..first + BATCH).map(|i| entry(i, size)).collect()
                        })
                        .collect();
                    let start = Instant::now();
                    for (k, batch) in prepared.into_iter().enumerate() {
                        writer.append(next + k as u64 * BATCH, batch).unwrap();
                    }
                    total += start.elapsed();
                    compact(&mut writer, 64);
                    left -= batches;
                }
                total
            })
        });
    }
    group.finish();
}

/// Reads the 16 entries ending at the last index, until `stop`.
fn read_loop(reader: LogReader<Vec<u8>>, stop: &AtomicBool) {
    while !stop.load(Ordering::Relaxed) {
        let last_index = reader.last_index();
        let from = last_index
            .saturating_sub(15)
            .max(reader.snapshot_index() + 1);
        // A compaction may overtake the read; that answer is fine here.
        let _ = std::hint::black_box(reader.entries_from(from, 16));
    }
}

fn concurrent(c: &mut Criterion) {
    let mut group = c.benchmark_group("append_one_with_reader");
    group
        .measurement_time(Duration::from_secs(2))
        .warm_up_time(Duration::from_millis(500))
        .sample_size(20)
        .throughput(Throughput::Elements(1));
    let mut writer = LogWriter::new();
    let stop = AtomicBool::new(false);
    std::thread::scope(|scope| {
        let reader = writer.reader().clone();
        let stop_ref = &stop;
        scope.spawn(move || read_loop(reader, stop_ref));
        group.bench_function(BenchmarkId::from_parameter(64), |b| {
            b.iter_custom(|iters| time_append_one(&mut writer, iters, 64))
        });
        stop.store(true, Ordering::Relaxed);
    });
    group.finish();

    let mut group = c.benchmark_group("read16");
    group
        .measurement_time(Duration::from_secs(2))
        .warm_up_time(Duration::from_millis(500))
        .sample_size(20)
        .throughput(Throughput::Elements(16));
    let mut writer = LogWriter::new();
    writer
        .append(1, (1..=1024).map(|i| entry(i, 64)).collect())
        .unwrap();
    let reader = writer.reader().clone();
    let read = |b: &mut criterion::Bencher| {
        b.iter(|| {
            let last_index = reader.last_index();
            let from = last_index
                .saturating_sub(15)
                .max(reader.snapshot_index() + 1);
            std::hint::black_box(reader.entries_from(from, 16))
        })
    };
    group.bench_function("idle", read);
    let stop = AtomicBool::new(false);
    std::thread::scope(|scope| {
        let stop_ref = &stop;
        scope.spawn(move || {
            let mut index = writer.reader().last_index();
            while !stop_ref.load(Ordering::Relaxed) {
                index += 1;
                writer.append_one(index, entry(index, 64)).unwrap();
                if index % CHUNK == 0 {
                    compact(&mut writer, 1024);
                }
            }
        });
        group.bench_function("with_writer", read);
        stop.store(true, Ordering::Relaxed);
    });
    group.finish();
}

criterion_group!(benches, append, concurrent);
criterion_main!(benches);
