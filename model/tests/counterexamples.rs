//! Regression tests: every counterexample kept in `tests/counterexamples/` (at the workspace
//! root) replays deterministically through the core and still shows its violation. They were
//! written by `refraft-model check --break RULE --write tests/counterexamples ...`.

use refraft_model::Counterexample;
use std::path::PathBuf;

fn files() -> Vec<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/counterexamples");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    files
}

#[test]
fn every_kept_counterexample_replays() {
    let files = files();
    assert!(
        files.len() >= 7,
        "expected one counterexample per rule switch that has one (7 of 8), found {}",
        files.len()
    );
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let cx =
            Counterexample::from_json(&text).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        assert!(
            cx.settings.broken_rule.is_some(),
            "{}: no rule is broken",
            file.display()
        );
        assert_eq!(
            cx.reproduces(),
            Ok(true),
            "{} no longer reproduces",
            file.display()
        );
    }
}

#[test]
fn a_damaged_counterexample_is_a_typed_error() {
    assert!(Counterexample::from_json("{\"settings\": 3}").is_err());
    let file = &files()[0];
    let mut cx = Counterexample::from_json(&std::fs::read_to_string(file).unwrap()).unwrap();
    // Dropping the first step leaves a path whose later steps are not enabled (or no longer
    // violate): never a panic.
    cx.steps.remove(0);
    assert_ne!(cx.reproduces(), Ok(true));
}
