//! `serve --trace`: three real server processes write their steps (spec/TRACE.md) under a
//! SET/GET/DEL load while the leader is killed with SIGKILL once and restarted; the three
//! files are merged (`refraft::trace::merge`, what `refraft-model trace-merge` runs) and the
//! merged trace must pass the checker `refraft-model validate` runs (`refraft::trace::Validator`).
//!
//! `REFRAFT_KEEP_TRACE=FILE` keeps the merged trace (for `spec/check.sh trace-file`, say);
//! `REFRAFT_TRACE_LOAD_MS=N` runs the load N ms before the kill and N ms after the new leader
//! (default 700; `spec/check.sh trace` takes a short trace for TLC with 150).

mod support;

use refraft::trace::{merge, parse_step, Header, Kind, Step, StepEffect, Validator};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use support::cluster::Cluster;
use support::history::{History, Load};

const KEYS: &[&str] = &["a", "b", "c"];

fn read_trace(path: &Path) -> (Header, Vec<Step>) {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    // The last kill -9 may have torn a last line, as a restart would cut it off.
    let whole = text.rfind('\n').map_or(0, |i| i + 1);
    let mut lines = text[..whole].lines();
    let header: Header = serde_json::from_str(lines.next().expect("a header")).expect("a header");
    let steps = lines
        .enumerate()
        .map(|(i, line)| {
            parse_step(line.as_bytes())
                .map_err(|e| e.to_string())
                .or_else(|_| serde_json::from_str(line).map_err(|e| e.to_string()))
                .unwrap_or_else(|e| panic!("{} line {}: {e}", path.display(), i + 2))
        })
        .collect();
    (header, steps)
}

#[test]
fn traces_of_a_real_cluster_with_a_leader_killed_merge_and_validate() {
    let mut cluster = Cluster::new(3, "trace", |_, _, direct| direct);
    cluster.traced = true;
    for i in 0..3 {
        cluster.spawn(i);
    }
    let leader = cluster
        .wait_for_leader(Duration::from_secs(10))
        .expect("a first leader");
    let load_ms = std::env::var("REFRAFT_TRACE_LOAD_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(700);
    let history = Arc::new(History::default());
    let load = Load::start(
        &history,
        cluster.clients(),
        KEYS,
        vec![11, 12],
        Duration::from_secs(6),
    );
    std::thread::sleep(Duration::from_millis(load_ms));
    cluster.kill(leader);
    std::thread::sleep(Duration::from_millis(300));
    cluster.spawn(leader);
    cluster
        .wait_for_leader(Duration::from_secs(10))
        .expect("a leader after the kill");
    std::thread::sleep(Duration::from_millis(load_ms));
    load.join();
    cluster
        .wait_converged(Duration::from_secs(20))
        .unwrap_or_else(|states| panic!("servers did not converge: {states:#?}"));
    for i in 0..3 {
        cluster.kill(i);
    }

    let traces: Vec<_> = (0..3).map(|i| read_trace(&cluster.trace_file(i))).collect();
    // The killed leader's file spans two lives: `init`, then a `restart` showing what its
    // data directory gave back, with a term and log at least as long as before.
    let lives: Vec<&Step> = traces[leader]
        .1
        .iter()
        .filter(|s| matches!(s.kind, Kind::Init | Kind::Restart))
        .collect();
    assert_eq!(
        lives.iter().map(|s| s.kind).collect::<Vec<_>>(),
        [Kind::Init, Kind::Restart]
    );
    assert!(lives[1].state.term >= 1 && !lives[1].state.log.is_empty());
    let receives = traces
        .iter()
        .flat_map(|(_, s)| s)
        .filter(|s| s.kind == Kind::Receive);
    let (mut named, mut all) = (0, 0);
    for s in receives {
        all += 1;
        named += usize::from(s.input.id.is_some());
    }
    assert_eq!(named, all, "every receive names its message");
    let clients = traces
        .iter()
        .flat_map(|(_, s)| s)
        .filter(|s| s.kind == Kind::Client)
        .count();
    let sends = traces
        .iter()
        .flat_map(|(_, s)| s)
        .flat_map(|s| &s.effects)
        .filter(|e| matches!(e, StepEffect::Send { .. }))
        .count();
    assert!(
        clients > 10 && all > 100,
        "{clients} client steps, {all} receives"
    );

    let (header, steps) = merge(traces).unwrap_or_else(|e| panic!("merge: {e}"));
    let mut validator = Validator::new(&header).expect("a good header");
    for (i, step) in steps.iter().enumerate() {
        validator.check(i + 2, step).expect("a well-formed step");
    }
    let report = validator.finish();
    let shown: Vec<String> = report
        .violations
        .iter()
        .take(10)
        .map(ToString::to_string)
        .collect();
    assert!(report.passed(), "violations:\n{}", shown.join("\n"));
    eprintln!(
        "merged trace: {} steps ({clients} client steps, {all} receives of {sends} sends), every rule holds",
        steps.len()
    );
    if let Ok(keep) = std::env::var("REFRAFT_KEEP_TRACE") {
        let mut text = serde_json::to_string(&header).unwrap();
        for step in &steps {
            text.push('\n');
            text.push_str(&serde_json::to_string(step).unwrap());
        }
        text.push('\n');
        std::fs::write(&keep, text).unwrap();
        for i in 0..3 {
            let _ = std::fs::copy(cluster.trace_file(i), format!("{keep}.n{}", i + 1));
        }
    }
}
