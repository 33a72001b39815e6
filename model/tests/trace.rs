//! Model paths as traces (`replay --trace`) and `refraft-model validate`, run as users run
//! them: every kept counterexample becomes a trace; the validator, which knows nothing of rule
//! switches, rejects those whose broken rule shows in one server's steps or in Figure 3's
//! properties, naming the rule, and passes the others (liveness, client and flow-control rules,
//! and invariants stronger than Figure 3). Bad trace files are errors with their line.

use refraft_model::trace::{to_ndjson, trace_of, validate};
use refraft_model::{Counterexample, RaftModel};
use stateright::Model;
use std::path::PathBuf;
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn counterexample(name: &str) -> Counterexample {
    let path = root()
        .join("tests/counterexamples")
        .join(format!("{name}.json"));
    Counterexample::from_json(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

fn trace_text(name: &str) -> String {
    let cx = counterexample(name);
    let model = RaftModel::new(cx.settings.clone()).unwrap();
    let states = cx.replay_on(&model).unwrap();
    let (header, steps) = trace_of(&states, &cx.steps).unwrap();
    to_ndjson(&header, &steps)
}

/// The path of `name` replayed through the correct core (its rule kept), as far as each of
/// its steps is enabled, as a trace; and how many of the path's steps that is.
fn kept_trace_text(name: &str) -> (String, usize) {
    let cx = counterexample(name);
    let mut settings = cx.settings.clone();
    settings.broken_rule = None;
    let model = RaftModel::new(settings).unwrap();
    let mut states = vec![model.init_states().remove(0)];
    let mut actions = Vec::new();
    for step in &cx.steps {
        let last = states.last().unwrap();
        let action = step.to_action();
        actions.clear();
        model.actions(last, &mut actions);
        match actions.contains(&action) {
            true => match model.next_state(last, action) {
                Some(next) => states.push(next),
                None => break,
            },
            false => break,
        }
    }
    let taken = states.len() - 1;
    let (header, steps) = trace_of(&states, &cx.steps[..taken]).unwrap();
    (to_ndjson(&header, &steps), taken)
}

/// The read rules' counterexamples, replayed with the rule kept, break no rule of the trace:
/// the correct core waits for its heartbeat round, its own term's commit, or its apply.
#[test]
fn read_counterexamples_pass_with_the_rule_kept() {
    for name in [
        "read-index-quorum-round",
        "read-after-own-term-commit",
        "forwarded-read-after-apply",
    ] {
        let (text, taken) = kept_trace_text(name);
        let report = validate(text.as_bytes()).unwrap();
        assert!(report.passed(), "{name}: {:?}", report.violations);
        // The read itself is among the steps taken.
        assert!(text.contains("\"kind\":\"read\""), "{name}: {taken} steps");
    }
}

/// The first rule the validator reports on each kept counterexample's trace (`None`: passes).
const EXPECTED: &[(&str, Option<&str>)] = &[
    ("adopt-higher-term", None), // liveness (--stable)
    ("append-stale-term", None), // MoreUpToDateCorrectInv, before any Figure 3 property
    ("apply-once", None),        // linearizability of the clients' history
    ("apply-only-committed", Some("apply-only-committed")),
    ("check-quorum", None), // a stale lease read (a trace cannot show a lease expired)
    ("commit-min-last-new", Some("follower-commit-bound")), // --backoff commit
    ("current-term-commit", Some("commit-current-term")),
    (
        "current-term-commit-exhaustive",
        Some("commit-current-term"),
    ),
    ("current-term-votes", Some("election-safety")),
    ("election-restriction", Some("leader-completeness")),
    ("forwarded-read-after-apply", Some("read-after-apply")),
    ("lease-needs-stickiness", None), // a stale lease read
    ("lease-needs-stickiness-live-majority", None), // a leader with a live majority disrupted
    ("match-index-from-ack", Some("match-from-ack")),
    ("next-index-bound", None), // flow control
    ("persist-entries", Some("persist-before-reveal")),
    ("persist-term", Some("persist-before-reveal")),
    ("persist-vote", Some("persist-before-reveal")),
    ("pre-vote-majority-live-majority", None), // a leader with a live majority disrupted
    ("prev-log-term", Some("log-matching")),
    ("prevote-keeps-term", None),               // disruption
    ("prevote-keeps-term-live-majority", None), // a leader with a live majority disrupted
    ("probe-on-reject", None),                  // flow control
    (
        "read-after-own-term-commit",
        Some("read-after-own-term-commit"),
    ),
    ("read-index-quorum-round", Some("read-index-quorum-round")),
    ("reply-after-apply", None), // acknowledged => committed (client side)
    ("truncate-only-on-conflict", Some("leader-completeness")),
    ("up-to-date-term-first", Some("leader-completeness")),
    ("vote-once", Some("one-vote-per-term")),
    ("vote-stale-term", Some("persist-before-reveal")), // --echo-vote-term: a grant of term 1 with term 3 on disk
];

#[test]
fn kept_counterexamples_as_traces() {
    let mut kept: Vec<String> = std::fs::read_dir(root().join("tests/counterexamples"))
        .unwrap()
        .map(|e| {
            e.unwrap()
                .path()
                .file_stem()
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    kept.sort();
    let listed: Vec<&str> = EXPECTED.iter().map(|(n, _)| *n).collect();
    assert_eq!(
        kept, listed,
        "every kept counterexample has an expected verdict here"
    );
    for &(name, expected) in EXPECTED {
        let report = validate(trace_text(name).as_bytes()).unwrap();
        let first = report.violations.first();
        let got = first.map(|v| v.rule.name());
        assert_eq!(got, expected, "{name}: {:?}", report.violations);
        assert!(report.steps > 5, "{name}: {} steps", report.steps);
    }
}

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_refraft-model"))
}

fn tmp(name: &str, text: &str) -> PathBuf {
    let dir = root().join("target/trace-tests");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn replay_writes_a_trace_that_validate_reads() {
    let out = root().join("target/trace-tests/vote-once.ndjson");
    std::fs::create_dir_all(out.parent().unwrap()).unwrap();
    let cx = root().join("tests/counterexamples/vote-once.json");
    let replay = bin()
        .arg("replay")
        .arg(&cx)
        .arg("--trace")
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        replay.status.success(),
        "{}",
        String::from_utf8_lossy(&replay.stderr)
    );
    assert!(String::from_utf8_lossy(&replay.stdout).contains("trace (11 steps) written to"));
    let run = bin().arg("validate").arg(&out).output().unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert_eq!(run.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("one-vote-per-term [§5.2, Figure 2 (votedFor)]"),
        "{stdout}"
    );
    assert!(
        stdout.contains("violation(s) in 11 steps, first at line 9"),
        "{stdout}"
    );
    let good = tmp("good.ndjson", &trace_text("apply-once"));
    let run = bin().arg("validate").arg(&good).output().unwrap();
    assert_eq!(run.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&run.stdout).contains("9 steps, every rule holds"));
}

#[test]
fn bad_trace_files_are_errors_with_their_line() {
    let text = trace_text("apply-once");
    let mut lines: Vec<&str> = text.lines().collect();
    let cases: Vec<(&str, String, &str)> = vec![
        ("missing.ndjson", String::new(), "No such file"),
        (
            "empty.ndjson",
            String::new(),
            "line 1: bad header: the trace is empty",
        ),
        (
            "header.ndjson",
            "{\"format\":\"other\",\"version\":1,\"nodes\":[0]}\n".into(),
            "line 1: bad header: format is \"other\"",
        ),
        (
            "garbage.ndjson",
            format!("{}\n{}\nnot json\n", lines[0], lines[1]),
            "line 3: expected ident",
        ),
        (
            "field.ndjson",
            format!("{}\n{{\"seq\":1,\"node\":0,\"kind\":\"jump\"}}\n", lines[0]),
            "line 2: unknown variant `jump`",
        ),
        (
            "node.ndjson",
            format!(
                "{}\n{}\n",
                lines[0],
                lines[1].replace("\"node\":0", "\"node\":77")
            ),
            "line 2: node 77 is not in the header's nodes",
        ),
    ];
    lines.swap(2, 3);
    let swapped = lines.join("\n");
    for (name, body, message) in cases.iter().map(|(a, b, c)| (*a, b.clone(), *c)).chain([(
        "order.ndjson",
        swapped,
        "line 4: seq 2 does not increase (previous 3)",
    )]) {
        let path = if name == "missing.ndjson" {
            root().join("target/trace-tests/missing.ndjson")
        } else {
            tmp(name, &body)
        };
        let run = bin().arg("validate").arg(&path).output().unwrap();
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert_eq!(run.status.code(), Some(2), "{name}: {stderr}");
        assert!(
            stderr.starts_with("error: ") && stderr.contains(message),
            "{name}: {stderr}"
        );
        assert_eq!(stderr.lines().count(), 1, "{name}: one line: {stderr}");
    }
}
