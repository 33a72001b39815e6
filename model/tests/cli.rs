//! The `refraft-model` command line, run as a person runs it: the binary, its exit status, its
//! standard output and error.

use refraft_model::Counterexample;
use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

mod support;
use support::bin::{run, text, BIN, VOTE_ONCE};

fn scratch(name: &str) -> PathBuf {
    support::bin::scratch(&format!("cli-{name}"))
}

fn vote_once_check(extra: &[&str]) -> Output {
    let mut args = vec!["check"];
    args.extend_from_slice(VOTE_ONCE);
    args.extend_from_slice(&["--bfs", "--first-violation"]);
    args.extend_from_slice(extra);
    run(&args)
}

/// Asserts a one-line error on standard error, exit status 2, and no panic.
fn assert_usage_error(out: &Output, wanted: &str) {
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "stderr: {err}");
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    assert!(err.contains(wanted), "{wanted:?} in {err:?}");
}

#[test]
fn the_violation_comes_first_with_an_explore_command_and_url() {
    let out = vote_once_check(&["--threads", "1"]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "a violation: {stdout}");
    let discoveries: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("Discovered"))
        .collect();
    assert!(
        discoveries[0].starts_with("Discovered \"election safety\" counterexample"),
        "{discoveries:?}"
    );
    let explore = stdout
        .lines()
        .find(|l| l.trim_start().starts_with("explore: "))
        .unwrap();
    // Only model flags: the search flags --bfs, --first-violation and --threads are left out.
    assert!(
        explore.contains(
            "refraft-model explore --break vote-once --max-term 1 --max-crashes 0   then open http://localhost:3000/#/steps/0/"
        ),
        "{explore}"
    );
}

#[test]
fn the_shortest_path_ends_at_the_first_violating_state() {
    let dir = scratch("first");
    let out = vote_once_check(&["--write", dir.to_str().unwrap()]);
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("Discovered \"election safety\" counterexample (7 steps)"),
        "{stdout}"
    );
    let json = std::fs::read_to_string(dir.join("election-safety.json")).unwrap();
    // The CLI's spellings.
    assert!(json.contains("\"broken_rule\": \"vote-once\""), "{json}");
    assert!(json.contains("\"network\": \"duplicating\""), "{json}");
    let cx = Counterexample::from_json(&json).unwrap();
    let model = refraft_model::RaftModel::new(cx.settings.clone()).unwrap();
    let states = cx.replay_on(&model).unwrap();
    let violating: Vec<bool> = states
        .iter()
        .map(|s| !refraft_model::summary::violated(&model, s).is_empty())
        .collect();
    assert_eq!(violating.iter().filter(|&&v| v).count(), 1, "{violating:?}");
    assert!(violating.last().unwrap());
    // The report is written beside the JSON.
    let html = std::fs::read_to_string(dir.join("election-safety.html")).unwrap();
    assert!(html.contains("first violated at step 7"));
}

#[test]
fn one_timing_figure_per_run() {
    let out = vote_once_check(&[]);
    let stdout = text(&out.stdout);
    assert!(!stdout.contains("Done."), "{stdout}");
    let timed: Vec<&str> = stdout.lines().filter(|l| l.contains("seconds=")).collect();
    assert_eq!(timed.len(), 1, "{stdout}");
}

#[test]
fn write_dir_is_checked_before_the_run() {
    let blocker = scratch("write-blocker");
    std::fs::write(&blocker, "a file, not a directory").unwrap();
    let dir = blocker.join("sub");
    let out = vote_once_check(&["--write", dir.to_str().unwrap()]);
    assert_usage_error(&out, "--write");
    assert!(!text(&out.stdout).contains("states="), "no run");
}

#[test]
fn a_closed_pipe_ends_check_quietly() {
    let mut child = Command::new(BIN)
        .args(["check", "--max-crashes", "0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    assert!(first.starts_with("Model:"), "{first}");
    drop(stdout); // `| head -1`
    let out = child.wait_with_output().unwrap();
    let err = text(&out.stderr);
    assert!(err.is_empty(), "quiet: {err}");
    assert_eq!(out.status.code(), Some(141), "as if ended by SIGPIPE");
}

#[test]
fn explore_refuses_bad_addresses_with_one_line() {
    assert_usage_error(&run(&["explore", "--address", "notanaddress"]), "--address");
    assert_usage_error(
        &run(&["explore", "--address", "127.0.0.1:70000"]),
        "--address",
    );
    let busy = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = busy.local_addr().unwrap().to_string();
    assert_usage_error(&run(&["explore", "--address", &addr]), "cannot listen");
}

#[test]
fn explore_accepts_and_ignores_search_flags() {
    // The address error shows the search flags were accepted (clap would refuse them first).
    let out = run(&[
        "explore",
        "--bfs",
        "--first-violation",
        "--threads",
        "2",
        "--address",
        "notanaddress",
    ]);
    assert_usage_error(&out, "--address");
}

#[test]
fn simulate_rejects_zero_states_and_shows_progress() {
    assert_usage_error(
        &run(&["simulate", "--max-states", "0"]),
        "--max-states must be at least 1",
    );
    let out = run(&["simulate", "--max-states", "400000", "--max-crashes", "0"]);
    let stdout = text(&out.stdout);
    assert!(stdout.contains("\nChecking. states="), "progress: {stdout}");
}

#[test]
fn stable_with_a_duplicating_network_is_an_error() {
    assert_usage_error(
        &run(&["check", "--stable", "--network", "duplicating"]),
        "--stable needs a network that removes delivered messages",
    );
}

fn kept(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/counterexamples")
        .join(name)
}

#[test]
fn replay_numbers_steps_like_check_and_shows_the_cluster() {
    let out = run(&["replay", kept("vote-once.json").to_str().unwrap()]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains("\n    1. n0 timeout Server(Election)\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains("VIOLATED here: election safety"),
        "{stdout}"
    );
    assert!(
        stdout.contains("n0 Follower t0 vote=- log=[] commit=0 applied=0"),
        "{stdout}"
    );
    assert!(stdout.contains(" Leader t1 "), "{stdout}");
    assert!(
        stdout.contains("\"election safety\": reproduced"),
        "{stdout}"
    );
}

#[test]
fn replay_names_an_impossible_step_and_what_was_enabled() {
    let mut cx =
        Counterexample::from_json(&std::fs::read_to_string(kept("vote-once.json")).unwrap())
            .unwrap();
    cx.steps.remove(0);
    let dir = scratch("impossible");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("broken.json");
    std::fs::write(&file, cx.to_json()).unwrap();
    let out = run(&["replay", file.to_str().unwrap()]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("step 1 is impossible: n0 → n2 RV t1 last=0/0 is not enabled in the initial state; enabled there:"),
        "{err}"
    );
    assert!(err.contains("\n  n0 timeout Server(Election)"), "{err}");
}

#[test]
fn replay_reads_the_old_spelling() {
    let json = std::fs::read_to_string(kept("vote-once.json"))
        .unwrap()
        .replace("\"vote-once\"", "\"VoteOncePerTerm\"")
        .replace("\"duplicating\"", "\"Duplicating\"");
    let cx = Counterexample::from_json(&json).unwrap();
    assert_eq!(
        cx.settings.broken_rule,
        Some(refraft::Rule::VoteOncePerTerm)
    );
    assert_eq!(cx.reproduces(), Ok(true));
}
