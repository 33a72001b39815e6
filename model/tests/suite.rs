//! The main job, `refraft-model check` with no flags: a suite of configurations and one verdict
//! table. The full suite takes minutes (README, "The main job"); these tests run the binary on
//! its client entries (`check --suite NAMES`), and check that the client workload makes a
//! double-applied command visible to linearizability.

mod support;
use support::bin::{run, text};

/// The cells of the table row whose label starts with `label`.
fn row<'a>(stdout: &'a str, label: &str) -> Vec<&'a str> {
    let line = stdout
        .lines()
        .find(|l| l.starts_with(&format!("| {label}")))
        .unwrap_or_else(|| panic!("no row {label:?} in {stdout}"));
    line.trim_matches('|')
        .split('|')
        .map(str::trim)
        .skip(1)
        .collect()
}

/// The flags the suite prints for entry `name`.
fn flags_of(stdout: &str, name: &str) -> Vec<String> {
    let line = stdout
        .lines()
        .find(|l| l.starts_with(&format!("== {name}:")))
        .unwrap_or_else(|| panic!("entry {name} not run: {stdout}"));
    let inner = line.rsplit_once("(check ").unwrap().1.trim_end_matches(')');
    inner.split_whitespace().map(str::to_string).collect()
}

#[test]
fn the_client_entries_close_with_one_verdict_table() {
    let out = run(&[
        "check",
        "--suite",
        "kv-pipelined,kv-duplicating",
        "--threads",
        "2",
    ]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    assert_eq!(
        row(&stdout, "configuration"),
        ["kv-pipelined", "kv-duplicating"]
    );
    assert_eq!(row(&stdout, "closed"), ["yes", "yes"]);
    for unique in row(&stdout, "unique states") {
        assert!(unique.parse::<usize>().unwrap() > 100, "{stdout}");
    }
    // The key-value store is exercised: linearizability is checked, and requests are served.
    assert_eq!(row(&stdout, "always linearizable"), ["holds", "holds"]);
    assert_eq!(
        row(&stdout, "sometimes a client is redirected and then served"),
        ["reached", "reached"]
    );
    assert_eq!(stdout.matches("\n| ").count(), 1 + 3 + 12 + 7, "{stdout}");
    assert!(
        stdout.contains("Suite: every configuration closed"),
        "{stdout}"
    );
}

#[test]
fn a_double_applied_set_is_visible_in_the_suite_workload() {
    // The kv-duplicating entry's flags, as the suite prints them, with deduplication broken:
    // the network re-delivers SET x=1 after DEL x, it is applied again, and GET x finds x=1.
    let listing = run(&["check", "--suite", "kv-duplicating", "--threads", "1"]);
    let flags = flags_of(&text(&listing.stdout), "kv-duplicating");
    let mut args: Vec<&str> = vec!["check"];
    args.extend(flags.iter().map(String::as_str));
    args.extend(["--break", "apply-once", "--bfs", "--first-violation"]);
    let out = run(&args);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("Discovered \"linearizable\" counterexample"),
        "{stdout}"
    );
}

#[test]
fn the_suite_takes_no_model_flags() {
    let out = run(&["check", "--suite", "--clients", "1"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("--suite takes no model flags"));
    let out = run(&["check", "--suite", "nonesuch"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("unknown suite entry \"nonesuch\""));
}
