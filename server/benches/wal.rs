//! Criterion benches of the durable log: the disk's own fsync rate (the unit the README's
//! figures are given in), appending to a file and overwriting a zero-filled one, WAL append
//! with one fsync per entry and with group commit, preallocating a segment, the sync that moves
//! on to the next segment (onto the background spare, and inline as before it), and recovery
//! (1 M entries and 64 MiB segments under `cargo bench`; small under `cargo test --benches`).

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, SamplingMode, Throughput};
use refraft::{ClientId, Entry, KvCommand, Payload};
use refraft_server::wal::record;
use refraft_server::wal::segment::{self, SegmentWriter};
use refraft_server::wal::{Wal, DEFAULT_SEGMENT_BYTES};
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use std::time::{Duration, Instant};

fn full_run() -> bool {
    std::env::args().any(|a| a == "--bench")
}

fn scratch(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("refraft-bench-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn entry(i: u64) -> Entry<KvCommand> {
    Entry {
        term: 1,
        payload: Payload::Command {
            client: ClientId(i % 64),
            serial: i,
            command: std::sync::Arc::new(KvCommand::Set {
                key: format!("key{}", i % 16),
                value: format!("value-{i}"),
            }),
        },
    }
}

fn fsync(c: &mut Criterion) {
    let dir = scratch("fsync");
    let mut file = std::fs::File::create(dir.join("f")).unwrap();
    let mut g = c.benchmark_group("disk");
    g.throughput(Throughput::Elements(1));
    g.bench_function("write_64B_fdatasync", |b| {
        b.iter(|| {
            file.write_all(&[7; 64]).unwrap();
            file.sync_data().unwrap();
        })
    });
    // The same write into a file zero-filled (and synced) beforehand: the size stays put.
    let zeroed = std::fs::File::create(dir.join("z")).unwrap();
    let size = 64u64 << 20;
    for at in (0..size).step_by(1 << 20) {
        zeroed.write_all_at(&[0; 1 << 20], at).unwrap();
    }
    zeroed.sync_all().unwrap();
    let mut at = 0;
    g.bench_function("overwrite_64B_fdatasync", |b| {
        b.iter(|| {
            zeroed.write_all_at(&[7; 64], at % size).unwrap();
            zeroed.sync_data().unwrap();
            at += 64;
        })
    });
    g.finish();
    let _ = std::fs::remove_dir_all(dir);
}

fn preallocate(c: &mut Criterion) {
    let dir = scratch("preallocate");
    let size = if full_run() {
        DEFAULT_SEGMENT_BYTES
    } else {
        1 << 20
    };
    let mut g = c.benchmark_group("wal_segment");
    g.sample_size(10);
    let mut seq = 0;
    g.bench_function(format!("create_preallocated_{}MiB", size >> 20), |b| {
        b.iter(|| {
            seq += 1;
            let path = dir.join(refraft_server::wal::segment::segment_name(seq));
            SegmentWriter::create(path.clone(), size).unwrap();
            std::fs::remove_file(path).unwrap();
        })
    });
    g.finish();
    let _ = std::fs::remove_dir_all(dir);
}

fn append(c: &mut Criterion) {
    let dir = scratch("append");
    let (mut wal, _) = Wal::<KvCommand>::open(&dir).unwrap();
    let mut next = 1;
    let mut g = c.benchmark_group("wal_append");
    g.throughput(Throughput::Elements(1));
    g.bench_function("single_entry_one_fsync", |b| {
        b.iter(|| {
            wal.append(next, &[entry(next)]).unwrap();
            wal.sync().unwrap();
            next += 1;
        })
    });
    for batch in [16u64, 64] {
        g.throughput(Throughput::Elements(batch));
        g.bench_function(format!("group_commit_{batch}_records_one_fsync"), |b| {
            b.iter(|| {
                for _ in 0..batch {
                    wal.append(next, &[entry(next)]).unwrap();
                    next += 1;
                }
                wal.sync().unwrap();
            })
        });
    }
    g.finish();
    drop(wal);
    let _ = std::fs::remove_dir_all(dir);
}

fn recovery(c: &mut Criterion) {
    let entries: u64 = if full_run() { 1_000_000 } else { 10_000 };
    let dir = scratch("recovery");
    {
        let (mut wal, _) = Wal::<KvCommand>::open(&dir).unwrap();
        let batch: Vec<_> = (0..1000).collect();
        for start in (1..=entries).step_by(1000) {
            for i in &batch {
                wal.append(start + i, &[entry(start + i)]).unwrap();
            }
            wal.sync().unwrap();
        }
    }
    let bytes: u64 = refraft_server::wal::segment::list(&dir)
        .unwrap()
        .iter()
        .map(|(_, p)| std::fs::metadata(p).unwrap().len())
        .sum();
    eprintln!("recovery bench: {entries} entries in {bytes} bytes of WAL");
    let mut g = c.benchmark_group("wal_recovery");
    g.sample_size(10);
    g.throughput(Throughput::Elements(entries));
    g.bench_function(format!("{entries}_entries"), |b| {
        b.iter_batched(
            || (),
            |()| {
                let (_, recovered) = Wal::<KvCommand>::open(&dir).unwrap();
                assert_eq!(recovered.entries.len() as u64, entries);
                // Returned, so it is freed outside the timing: a server keeps its log.
                recovered
            },
            BatchSize::PerIteration,
        )
    });
    g.finish();
    // The segment scan (checksums and decoding, the CPU-bound part) on one thread and in two
    // and four runs, side by side in one run of the bench.
    let segments = refraft_server::wal::segment::list(&dir).unwrap();
    let mut g = c.benchmark_group("wal_scan");
    g.sample_size(10);
    g.throughput(Throughput::Elements(entries));
    for runs in [1usize, 2, 4] {
        g.bench_function(format!("{entries}_entries_in_{runs}_runs"), |b| {
            b.iter_batched(
                || (),
                |()| {
                    segments
                        .iter()
                        .map(|(_, path)| {
                            refraft_server::wal::segment::scan_in_runs::<KvCommand>(
                                path, true, runs,
                            )
                            .unwrap()
                        })
                        .collect::<Vec<_>>()
                },
                BatchSize::PerIteration,
            )
        });
    }
    g.finish();
    let _ = std::fs::remove_dir_all(dir);
}

/// A `Set` of `value_len` bytes, the same for every call: its record's length depends only on
/// `value_len` and the log index.
fn sized_entry(value_len: usize) -> Entry<KvCommand> {
    Entry {
        term: 1,
        payload: Payload::Command {
            client: ClientId(1),
            serial: 1,
            command: std::sync::Arc::new(KvCommand::Set {
                key: "fill".into(),
                value: "x".repeat(value_len),
            }),
        },
    }
}

/// The length of the record of `entry` at log index `index`.
fn record_len(index: u64, entry: &Entry<KvCommand>) -> u64 {
    let mut bytes = Vec::new();
    record::encode(index, std::slice::from_ref(entry), &mut bytes).unwrap();
    bytes.len() as u64
}

/// Appends records (of 1 MiB while there is room, then one sized to land exactly) from log
/// index `*next` until the records of `wal`'s tail end at `target`, and syncs.
fn fill_to(wal: &mut Wal<KvCommand>, next: &mut u64, target: u64) {
    let mut at = wal.tail_offset();
    while at < target {
        let room = target - at;
        let mut value_len = room.min(1 << 20).saturating_sub(64) as usize;
        if room > (2 << 20) {
            value_len = 1 << 20;
        }
        let mut entry = sized_entry(value_len);
        let mut len = record_len(*next, &entry);
        // The last one: a few tries, as the length fields are varints.
        while room <= (2 << 20) && len != room {
            value_len = (value_len as i64 + room as i64 - len as i64) as usize;
            entry = sized_entry(value_len);
            len = record_len(*next, &entry);
        }
        wal.append(*next, &[entry]).unwrap();
        *next += 1;
        at += len;
    }
    wal.sync().unwrap();
    assert_eq!(wal.tail_offset(), target);
}

/// The sync that fills a segment and moves on to the next, side by side in one run: onto the
/// spare, preallocated in the background and given the time to finish (`Wal::sync`), and
/// inline as before the spare (the tail's write and fdatasync, then `SegmentWriter::create` of
/// the next segment, what `Wal::sync` did on `main`). Both write the same 61-byte record 32
/// bytes before the preallocated end (so both extend the tail a little, as the batch that
/// crosses a segment's end does). Only the sync is timed; filling the segment is not.
fn roll(c: &mut Criterion) {
    let size = if full_run() {
        DEFAULT_SEGMENT_BYTES
    } else {
        1 << 20
    };
    let last = sized_entry(40);
    assert!(record_len(1, &last) > 32);
    let mut g = c.benchmark_group("wal_roll");
    // One iteration a sample (each fills a whole segment, untimed, first).
    g.sample_size(30)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(1));

    let dir = scratch("roll-spare");
    let (mut wal, _) = Wal::<KvCommand>::open_with_segment_size(&dir, size).unwrap();
    let mut next = 1;
    g.bench_function(format!("sync_onto_ready_spare_{}MiB", size >> 20), |b| {
        b.iter_custom(|iters| {
            let mut timed = Duration::ZERO;
            for _ in 0..iters {
                fill_to(&mut wal, &mut next, size - 32);
                while !wal.spare_ready() {
                    std::thread::sleep(Duration::from_millis(1));
                }
                let before = wal.tail_path().to_path_buf();
                wal.append(next, std::slice::from_ref(&last)).unwrap();
                next += 1;
                let start = Instant::now();
                wal.sync().unwrap();
                timed += start.elapsed();
                assert_ne!(wal.tail_path(), before, "the sync rolled");
                // Only the tail is kept (and the spare): the disk holds at most three segments.
                std::fs::remove_file(before).unwrap();
            }
            timed
        })
    });
    drop(wal);
    let _ = std::fs::remove_dir_all(dir);

    let dir = scratch("roll-inline");
    let mut seq = 1;
    let mut tail = dir.join(segment::segment_name(seq));
    SegmentWriter::create(tail.clone(), size).unwrap();
    let mut bytes = Vec::new();
    record::encode(1, std::slice::from_ref(&last), &mut bytes).unwrap();
    g.bench_function(
        format!("tail_sync_then_inline_create_{}MiB", size >> 20),
        |b| {
            b.iter_custom(|iters| {
                let mut timed = Duration::ZERO;
                for _ in 0..iters {
                    let mut writer = SegmentWriter::reopen(tail.clone(), size - 32, 0).unwrap();
                    let following = dir.join(segment::segment_name(seq + 1));
                    let start = Instant::now();
                    writer.write(&bytes).unwrap();
                    writer.sync().unwrap();
                    SegmentWriter::create(following.clone(), size).unwrap();
                    timed += start.elapsed();
                    std::fs::remove_file(&tail).unwrap();
                    (tail, seq) = (following, seq + 1);
                }
                timed
            })
        },
    );
    g.finish();
    let _ = std::fs::remove_dir_all(dir);
}

criterion_group!(benches, fsync, append, preallocate, roll, recovery);
criterion_main!(benches);
