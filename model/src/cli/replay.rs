//! `refraft-model replay FILE [--html OUT]`: re-runs a counterexample through the core and
//! prints it the way `check` does, with the cluster's one-line state after every step.

use crate::say;
use refraft_model::{report, summary, Counterexample, RaftModel};
use stateright::Model;
use std::path::Path;
use std::process::ExitCode;

/// Replays `file`; writes the HTML report to `html` and the trace to `trace` if given.
pub fn run(file: &Path, html: Option<&Path>, trace: Option<&Path>) -> Result<ExitCode, String> {
    for out in html.iter().chain(trace.iter()) {
        report::check_writable(out)?;
    }
    let text = std::fs::read_to_string(file).map_err(|e| format!("{}: {e}", file.display()))?;
    let cx = Counterexample::from_json(&text).map_err(|e| format!("{}: {e}", file.display()))?;
    crate::print_settings(&cx.settings);
    let model = RaftModel::new(cx.settings.clone()).map_err(|e| format!("bad settings: {e}"))?;
    let states = cx
        .replay_on(&model)
        .map_err(|e| format!("{}: {e}", file.display()))?;
    say!(
        "\n{:?} path ({} steps), replayed through the core:",
        cx.property,
        cx.steps.len()
    );
    say!("  initial state:");
    for line in cluster_lines(&model, &states[0]) {
        say!("         {line}");
    }
    for (i, (step, state)) in cx.steps.iter().zip(&states[1..]).enumerate() {
        say!("  {:>3}. {}", i + 1, model.format_action(&step.to_action()));
        let violated = summary::violated(&model, state);
        if !violated.is_empty() {
            say!("       VIOLATED here: {}", violated.join(", "));
        }
        for line in cluster_lines(&model, state) {
            say!("         {line}");
        }
    }
    let reproduced = cx
        .reproduces_on(&model, &states)
        .map_err(|e| e.to_string())?;
    say!(
        "\n{:?}: {}",
        cx.property,
        if reproduced {
            "reproduced"
        } else {
            "NOT reproduced"
        }
    );
    if let Some(out) = html {
        std::fs::write(out, report::html(&model, &cx, &states))
            .map_err(|e| format!("{}: {e}", out.display()))?;
        say!("HTML report written to {}", out.display());
    }
    if let Some(out) = trace {
        let (header, steps) = refraft_model::trace::trace_of(&states, &cx.steps)?;
        std::fs::write(out, refraft_model::trace::to_ndjson(&header, &steps))
            .map_err(|e| format!("{}: {e}", out.display()))?;
        say!("trace ({} steps) written to {}", steps.len(), out.display());
    }
    Ok(if reproduced {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// One line per actor of `state`.
fn cluster_lines(model: &RaftModel, state: &refraft_model::State) -> Vec<String> {
    (0..state.actor_states.len())
        .map(|i| summary::actor(model, state, i))
        .collect()
}
