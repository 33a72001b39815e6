//! `refraft-model trace-tla`, run as a person runs it: a trace becomes `TraceData.tla` for
//! TLC trace validation (`spec/Traceraft.tla`); bad input is a one-line error naming the
//! line, with exit status 2 and no panic. (TLC itself runs in `bash spec/check.sh trace`.)

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_refraft-model");

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("trace-tla-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn run(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .output()
        .expect("the binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

const HEADER: &str = r#"{"format":"raft-trace","version":1,"nodes":[1,2]}"#;
const STATE: &str =
    r#""state":{"term":0,"vote":null,"role":"follower","log":[],"commit":0,"applied":0}"#;

fn init(seq: u64, node: u64) -> String {
    format!(r#"{{"seq":{seq},"node":{node},"kind":"init",{STATE}}}"#)
}

/// Converts `lines` (written to a file) and returns the output and the output directory.
fn convert(name: &str, lines: &[String]) -> (Output, PathBuf) {
    let dir = scratch(name);
    let file = dir.join("trace.ndjson");
    std::fs::write(&file, lines.join("\n") + "\n").unwrap();
    let out_dir = dir.join("tla");
    let out = run(&[
        "trace-tla",
        file.to_str().unwrap(),
        "--out",
        out_dir.to_str().unwrap(),
    ]);
    (out, out_dir)
}

fn assert_error(out: &Output, wanted: &str) {
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "stderr: {err}");
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    assert!(err.contains(wanted), "{wanted:?} in {err:?}");
}

#[test]
fn the_example_trace_becomes_a_module_of_its_lines_and_features() {
    let dir = scratch("example");
    let example = root().join("spec/trace-example.ndjson");
    let out = run(&[
        "trace-tla",
        example.to_str().unwrap(),
        "--out",
        dir.to_str().unwrap(),
        "--window",
        "4",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("(42 steps) written"));
    let module = std::fs::read_to_string(dir.join("TraceData.tla")).unwrap();
    assert!(module.starts_with("---- MODULE TraceData ----"));
    assert!(module.contains("TraceServer == {1, 2, 3, 4, 5}"));
    // The core's defaults, except the window given.
    assert!(module.contains("TracePreVote == TRUE"));
    assert!(module.contains("TraceMaxInFlight == 4"));
    assert_eq!(module.matches("[line |-> ").count(), 42);
    // Line 2 is the first step; the messages carry the spec's field names.
    assert!(module.contains("[line |-> 2, run |-> 1, node |-> 1, kind |-> \"init\""));
    assert!(module.contains("mtype |-> \"PreVote\""));
    assert!(module.trim_end().ends_with("===="));
}

#[test]
fn a_send_is_kept_for_tlc_only_when_a_later_line_receives_it() {
    let send = |seq: u64, to: u64| {
        format!(
            r#"{{"effect":"send","to":{to},"id":{{"sender":1,"seq":{seq}}},"msg":{{"type":"RequestVote","term":1,"last_log_index":0,"last_log_term":0}}}}"#
        )
    };
    let lines = vec![
        HEADER.to_string(),
        init(1, 1),
        init(2, 2),
        format!(
            r#"{{"seq":3,"node":1,"kind":"timeout","input":{{"timer":"election"}},"effects":[{},{}],{STATE}}}"#,
            send(1, 2),
            send(2, 2)
        ),
        format!(
            r#"{{"seq":4,"node":2,"kind":"receive","input":{{"from":1,"id":{{"sender":1,"seq":1}},"msg":{{"type":"RequestVote","term":1,"last_log_index":0,"last_log_term":0}}}},{STATE}}}"#
        ),
    ];
    let (out, dir) = convert("keep", &lines);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let module = std::fs::read_to_string(dir.join("TraceData.tla")).unwrap();
    // Message 1 is received later, message 2 never: only 1 is kept (under its id).
    let timeout = module
        .lines()
        .find(|l| l.contains("kind |-> \"timeout\""))
        .unwrap();
    assert_eq!(timeout.matches("[keep |-> TRUE, ").count(), 1, "{timeout}");
    assert_eq!(timeout.matches("[keep |-> FALSE, ").count(), 1, "{timeout}");
    assert!(timeout.contains("mid |-> <<1, 1>>]"), "{timeout}");
    assert!(!timeout.contains("<<1, 2>>"), "{timeout}");
    assert!(
        module.contains("mid |-> <<1, 1>>, last |-> TRUE"),
        "{module}"
    );
}

#[test]
fn bad_traces_are_errors_with_their_line() {
    let receive = |id: &str| {
        format!(
            r#"{{"seq":3,"node":2,"kind":"receive","input":{{"from":1,{id}"msg":{{"type":"TimeoutNow","term":1}}}},{STATE}}}"#
        )
    };
    let cases: Vec<(&str, Vec<String>, &str)> = vec![
        ("empty", vec![String::new()], "line 1: the trace is empty"),
        (
            "header",
            vec![r#"{"format":"other","version":1,"nodes":[1]}"#.into()],
            "line 1: format \"other\" version 1",
        ),
        (
            "json",
            vec![HEADER.into(), init(1, 1), "{\"seq\":2,".into()],
            "line 3: ",
        ),
        (
            "node",
            vec![HEADER.into(), init(1, 9)],
            "line 2: server 9 is not in the header",
        ),
        (
            "transfer",
            vec![
                HEADER.into(),
                format!(r#"{{"seq":1,"node":1,"kind":"transfer","input":{{"target":1}},{STATE}}}"#),
            ],
            "line 2: a leadership transfer step is not modelled by spec/Raft.tla's trace validation",
        ),
        (
            "no-id",
            vec![HEADER.into(), init(1, 1), init(2, 2), receive("")],
            "line 4: a receive without a message id",
        ),
        (
            "never-sent",
            vec![
                HEADER.into(),
                init(1, 1),
                init(2, 2),
                receive(r#""id":{"sender":1,"seq":5},"#),
            ],
            "line 4: message {sender 1, seq 5} was not sent by an earlier line",
        ),
        (
            "huge-log",
            vec![
                HEADER.into(),
                format!(
                    r#"{{"seq":1,"node":1,"kind":"init","state":{{"term":1,"vote":null,"role":"follower","log":[[1,18446744073709551615]],"commit":0,"applied":0}}}}"#
                ),
            ],
            "line 2: a log of more than 1000000 entries",
        ),
    ];
    for (name, lines, wanted) in cases {
        let (out, _) = convert(name, &lines);
        assert_error(&out, wanted);
    }
    let missing = scratch("missing");
    let out = run(&[
        "trace-tla",
        missing.join("none.ndjson").to_str().unwrap(),
        "--out",
        missing.to_str().unwrap(),
    ]);
    assert_error(&out, "none.ndjson: ");
}

#[test]
fn a_counterexample_is_replayed_with_its_rule_kept_as_far_as_the_correct_core_goes() {
    let dir = scratch("counterexample");
    let path = root().join("tests/counterexamples/vote-once.json");
    let out = run(&[
        "trace-tla",
        "--counterexample",
        path.to_str().unwrap(),
        "--out",
        dir.to_str().unwrap(),
    ]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        stdout.contains("with the rule kept takes 6 of the path's 8 steps (step 7 is not enabled)"),
        "{stdout}"
    );
    let group = dir.join("servers3-prevote0-checkquorum0-window2-batch64");
    let module = std::fs::read_to_string(group.join("TraceData.tla")).unwrap();
    assert!(module.contains("TraceFiles == <<\"vote-once.ndjson\">>"));
    // The trace written beside it: the header, three inits and the six steps.
    let trace = std::fs::read_to_string(dir.join("vote-once.ndjson")).unwrap();
    assert_eq!(trace.lines().count(), 10);
    // With --broken, the whole path: the second vote in term 1 is in it.
    let broken = scratch("counterexample-broken");
    let out = run(&[
        "trace-tla",
        "--counterexample",
        path.to_str().unwrap(),
        "--broken",
        "--out",
        broken.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let trace = std::fs::read_to_string(broken.join("vote-once.ndjson")).unwrap();
    assert_eq!(trace.lines().count(), 12);
}

#[test]
fn reads_are_converted_and_a_forwarded_read_is_validated_up_to_its_line() {
    // A read at the leader (dissertation §6.4) becomes a `read` line with the id of its read;
    // the line that answers it lists that id as served.
    let dir = scratch("read");
    let path = root().join("tests/counterexamples/read-after-own-term-commit.json");
    let out = run(&[
        "trace-tla",
        "--counterexample",
        path.to_str().unwrap(),
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let group = dir.join("servers3-prevote0-checkquorum0-window2-batch64");
    let module = std::fs::read_to_string(group.join("TraceData.tla")).unwrap();
    assert!(
        module.contains("kind |-> \"read\", rid |-> 1, "),
        "{module}"
    );
    assert!(module.contains("TraceReadMode == \"ReadIndex\""));
    // A follower forwarding a read (ReadIndex messages) is not modelled: the path is
    // validated up to the line before it.
    let dir = scratch("forwarded-read");
    let path = root().join("tests/counterexamples/forwarded-read-after-apply.json");
    let out = run(&[
        "trace-tla",
        "--counterexample",
        path.to_str().unwrap(),
        "--out",
        dir.to_str().unwrap(),
    ]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        stdout.contains("validated up to line 21: line 22: the message ReadIndex is not modelled"),
        "{stdout}"
    );
}

#[test]
fn trace_merge_joins_per_server_files_each_receive_after_its_send() {
    let dir = scratch("merge");
    let send = format!(
        r#"{{"seq":2,"node":1,"kind":"timeout","input":{{"timer":"election"}},"effects":[{{"effect":"send","to":2,"id":{{"sender":1,"seq":1}},"msg":{{"type":"RequestVote","term":1,"last_log_index":0,"last_log_term":0,"pre_vote":true}}}}],{STATE}}}"#
    );
    let receive = |seq: u64| {
        format!(
            r#"{{"seq":2,"node":2,"kind":"receive","input":{{"from":1,"id":{{"sender":1,"seq":{seq}}},"msg":{{"type":"RequestVote","term":1,"last_log_index":0,"last_log_term":0,"pre_vote":true}}}},{STATE}}}"#
        )
    };
    let write = |name: &str, lines: &[String]| {
        let file = dir.join(name);
        std::fs::write(&file, lines.join("\n") + "\n").unwrap();
        file.to_str().unwrap().to_string()
    };
    let n1 = write("n1.ndjson", &[HEADER.into(), init(1, 1), send]);
    let n2 = write("n2.ndjson", &[HEADER.into(), init(1, 2), receive(1)]);
    let all = dir.join("all.ndjson");
    // The receiving server's file first: its receive still comes after the send.
    let out = run(&["trace-merge", &n2, &n1, "-o", all.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let merged = std::fs::read_to_string(&all).unwrap();
    let kinds: Vec<&str> = merged
        .lines()
        .skip(1)
        .map(|l| {
            l.split("\"kind\":\"")
                .nth(1)
                .unwrap()
                .split('"')
                .next()
                .unwrap()
        })
        .collect();
    assert_eq!(kinds, ["init", "init", "timeout", "receive"]);
    assert!(merged
        .lines()
        .nth(4)
        .unwrap()
        .starts_with(r#"{"seq":4,"node":2,"#));
    let n2 = write("n2-bad.ndjson", &[HEADER.into(), init(1, 2), receive(7)]);
    let out = run(&["trace-merge", &n1, &n2, "-o", all.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr)
            .contains("trace 2, seq 2: receives message {sender 1, seq 7}, which no trace sends"),
        "{}",
        text(&out.stderr)
    );
}
