//! The deeper searches on the command line: `check --from-prefix` (seeded mid-run search) writes
//! full paths that replay from the initial state, refuses a scenario line that names no enabled
//! step, and `simulate --swarm` is deterministic for a seed and reports its walks.

use refraft_model::counterexample::Step;
use refraft_model::Counterexample;
use std::path::PathBuf;
use std::process::Output;

mod support;
use support::bin::{run, text, VOTE_ONCE};

/// An empty directory for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = support::bin::scratch(&format!("deeper-{name}"));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn a_seeded_violation_is_written_as_the_full_path() {
    let dir = scratch("seeded");
    let prefix = dir.join("prefix.txt");
    std::fs::write(
        &prefix,
        "# n0 starts the term-1 election\n  1. n0 timeout Server(Election)\n",
    )
    .unwrap();
    let out_dir = dir.join("out");
    let mut args = vec!["check"];
    args.extend_from_slice(VOTE_ONCE);
    args.extend_from_slice(&["--bfs", "--first-violation", "--from-prefix"]);
    args.push(prefix.to_str().unwrap());
    args.extend_from_slice(&["--write", out_dir.to_str().unwrap()]);
    let out = run(&args);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "a violation: {stdout}");
    assert!(stdout.contains("rule-neutral (a correct run"), "{stdout}");
    assert!(stdout.contains("seeded: the states below"), "{stdout}");
    // The printed steps start at the seed: no explorer command (it starts elsewhere).
    assert!(!stdout.contains("explore:"), "{stdout}");
    let json = std::fs::read_to_string(out_dir.join("election-safety.json")).unwrap();
    let cx = Counterexample::from_json(&json).unwrap();
    assert!(
        matches!(&cx.steps[0], Step::Timeout { actor: 0, .. }),
        "the prefix comes first: {:?}",
        cx.steps[0]
    );
    assert_eq!(cx.reproduces(), Ok(true), "replays from the initial state");
    let replay = run(&[
        "replay",
        out_dir.join("election-safety.json").to_str().unwrap(),
    ]);
    assert_eq!(replay.status.code(), Some(0), "{}", text(&replay.stderr));
}

#[test]
fn a_scenario_step_that_is_not_enabled_is_an_error_naming_the_line() {
    let dir = scratch("bad-step");
    let prefix = dir.join("prefix.txt");
    std::fs::write(
        &prefix,
        "n0 timeout Server(Election)\nn2 → n0 RV-ack t1 granted\n",
    )
    .unwrap();
    let mut args = vec!["check"];
    args.extend_from_slice(VOTE_ONCE);
    args.extend_from_slice(&["--from-prefix", prefix.to_str().unwrap()]);
    let out = run(&args);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(err.contains("line 2"), "{err}");
    assert!(
        err.contains("n0 → n1 RV t1 last=0/0"),
        "lists the enabled steps: {err}"
    );
}

#[test]
fn a_prefix_that_needs_the_broken_rule_is_flagged() {
    // With vote-once broken, n1 grants two votes in term 1; the second grant is impossible
    // with the rule kept, so the prefix is not rule-neutral, and the run says so.
    let dir = scratch("not-neutral");
    let prefix = dir.join("prefix.txt");
    std::fs::write(
        &prefix,
        "n0 timeout Server(Election)\nn2 timeout Server(Election)\nn0 → n1 RV t1 last=0/0\n\
         n2 → n1 RV t1 last=0/0\n",
    )
    .unwrap();
    let mut args = vec!["check"];
    args.extend_from_slice(VOTE_ONCE);
    args.extend_from_slice(&["--depth", "1", "--from-prefix", prefix.to_str().unwrap()]);
    let out = run(&args);
    let stdout = text(&out.stdout);
    assert!(stdout.contains("NOT rule-neutral"), "{stdout}");
}

#[test]
fn the_swarm_search_is_deterministic_and_counts_walks() {
    let args = [
        "simulate",
        "--swarm",
        "--seed",
        "3",
        "--max-states",
        "3000",
        "--depth",
        "40",
        "--max-crashes",
        "0",
    ];
    let summary = |out: &Output| -> Vec<String> {
        text(&out.stdout)
            .lines()
            .filter(|l| l.starts_with("states=") || l.starts_with("walks="))
            .map(|l| l.split(" seconds=").next().unwrap().to_string())
            .collect()
    };
    let (a, b) = (run(&args), run(&args));
    assert_eq!(a.status.code(), Some(0), "{}", text(&a.stdout));
    let (sa, sb) = (summary(&a), summary(&b));
    assert_eq!(sa.len(), 2, "{}", text(&a.stdout));
    assert!(sa[1].starts_with("walks=") && sa[1] != "walks=0", "{sa:?}");
    assert_eq!(sa, sb, "same seed, same walks");
}
