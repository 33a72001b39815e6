//! Criterion benches of the durable log: the disk's own fsync rate (the unit the README's
//! figures are given in), appending to a file and overwriting a zero-filled one, WAL append
//! with one fsync per entry and with group commit, preallocating a segment, and recovery (1 M
//! entries under `cargo bench`; small under `cargo test --benches`).

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use refraft::{ClientId, Entry, KvCommand, Payload};
use refraft_server::wal::segment::SegmentWriter;
use refraft_server::wal::{Wal, DEFAULT_SEGMENT_BYTES};
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;

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

criterion_group!(benches, fsync, append, preallocate, recovery);
criterion_main!(benches);
