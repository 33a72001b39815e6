//! `validate` throughput: a simulator trace (five servers, client load, leaders crashing or cut
//! off, restarts, a network that loses, duplicates and reorders: `sim::churn`, seed 2) read from
//! NDJSON bytes in memory and checked, on one thread (`validate/1`) and on two (`validate/2`:
//! both parse, one checks). Throughput is in trace lines; the bytes per line are printed once.
//!
//! ```text
//! cargo bench -p refraft-model --bench validate
//! ```
//!
//! In test mode (`cargo test --benches`, as CI runs it) the trace is short.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use refraft::sim::{churn, NetworkConfig, SimConfig, Simulation};
use refraft_model::trace::{to_ndjson, validate_parallel};
use std::hint::black_box;
use std::time::Duration;

fn trace(rounds: u64) -> (String, usize) {
    let mut sim = Simulation::new(
        SimConfig::new(5, 2)
            .network(NetworkConfig::unreliable())
            .traced(),
    );
    let _ = churn(&mut sim, 2, rounds, true);
    let (header, steps) = sim.take_trace();
    (to_ndjson(&header, &steps), steps.len())
}

fn bench(c: &mut Criterion) {
    let full = std::env::args().any(|a| a == "--bench");
    let (text, lines) = trace(if full { 2000 } else { 100 });
    eprintln!(
        "validate: {lines} lines, {} bytes, {} bytes per line",
        text.len(),
        text.len() / lines.max(1)
    );
    let mut group = c.benchmark_group("validate");
    group.throughput(Throughput::Elements(lines as u64));
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(10));
    for threads in [1, 2] {
        group.bench_with_input(BenchmarkId::from_parameter(threads), &threads, |b, &t| {
            b.iter(|| {
                let report = validate_parallel(black_box(text.as_bytes()), t).unwrap();
                assert!(report.passed() && report.steps == lines);
                report.steps
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
