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
        files.len() >= 20,
        "expected one counterexample per rule switch that has one (20), found {}",
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
        // With the rule kept, the same steps do not violate the property (or are not even
        // possible).
        let kept = Counterexample {
            settings: refraft_model::Settings {
                broken_rule: None,
                ..cx.settings.clone()
            },
            ..cx.clone()
        };
        assert_ne!(
            kept.reproduces(),
            Ok(true),
            "{}: violated with the rule kept",
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

#[test]
fn inductive_invariants_fail_at_the_step_the_bug_happens() {
    // Along each kept path, the step at which each "always" property first fails (printed with
    // `--nocapture`; the README quotes it). Wherever leader completeness fails,
    // MoreUpToDateCorrectInv fails at the same step or earlier; on the paths of
    // `truncate-only-on-conflict` and `apply-only-committed` it fails three steps earlier, at
    // the step that loses (or wrongly applies) the entry rather than at the election.
    use refraft_model::properties::{LEADER_COMPLETENESS, MORE_UP_TO_DATE_CORRECT};
    use refraft_model::RaftModel;
    use stateright::{Expectation, Model};
    let mut earlier = Vec::new();
    for file in files() {
        let cx = Counterexample::from_json(&std::fs::read_to_string(&file).unwrap()).unwrap();
        let model = RaftModel::new(cx.settings.clone()).unwrap();
        let states = cx.replay().unwrap();
        let first_failures: Vec<(&str, usize)> = model
            .properties()
            .into_iter()
            .filter(|p| p.expectation == Expectation::Always)
            .filter_map(|p| {
                let at = states.iter().position(|s| !(p.condition)(&model, s))?;
                Some((p.name, at))
            })
            .collect();
        eprintln!("{}: {first_failures:?}", file.display());
        let at = |name| first_failures.iter().find(|(n, _)| *n == name).map(|f| f.1);
        if let Some(lc) = at(LEADER_COMPLETENESS) {
            let inv = at(MORE_UP_TO_DATE_CORRECT);
            assert!(
                inv.is_some_and(|inv| inv <= lc),
                "{}: invariant at {inv:?}, leader completeness at {lc}",
                file.display()
            );
            if inv.is_some_and(|inv| inv < lc) {
                earlier.push(cx.settings.broken_rule.unwrap());
            }
        }
    }
    for rule in [
        refraft::Rule::TruncateOnlyOnConflict,
        refraft::Rule::ApplyOnlyCommitted,
    ] {
        assert!(earlier.contains(&rule), "{rule}: not caught earlier");
    }
}
