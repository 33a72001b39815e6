//! `refraft-model trace-tla`: writes `TraceData.tla` (and, for a counterexample, the trace it
//! was made from) into a directory, for TLC trace validation with `spec/Traceraft.tla`
//! (`bash spec/check.sh trace` runs it).

use crate::say;
use clap::Args;
use refraft_model::trace::trace_of;
use refraft_model::trace_data::{self, Features};
use refraft_model::{Counterexample, RaftModel, State};
use stateright::Model;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// The arguments of `trace-tla`.
#[derive(Args)]
pub struct TraceTlaArgs {
    /// The trace (NDJSON, spec/TRACE.md). Not with --counterexample.
    #[arg(
        required_unless_present = "counterexample",
        conflicts_with = "counterexample"
    )]
    file: Option<PathBuf>,
    /// Instead of a trace: a counterexample path (tests/counterexamples/*.json), replayed
    /// through the core with its broken rule kept (the correct core), as far as the correct
    /// core takes the same steps; the trace goes to OUT/trace.ndjson.
    #[arg(long, value_name = "PATH.json")]
    counterexample: Option<PathBuf>,
    /// With --counterexample: replay with the path's rule still broken (TLC must reject it).
    #[arg(long, requires = "counterexample")]
    broken: bool,
    /// The directory to write TraceData.tla into (created if missing).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// The traced servers' Config::pre_vote (default: the core's, on).
    #[arg(long, value_name = "BOOL")]
    pre_vote: Option<bool>,
    /// The traced servers' Config::check_quorum (default: the core's, off).
    #[arg(long, value_name = "BOOL")]
    check_quorum: Option<bool>,
    /// The traced servers' Config::max_in_flight_appends (default: the core's).
    #[arg(long, value_name = "N")]
    window: Option<usize>,
    /// The traced servers' Config::max_entries_per_append (default: the core's).
    #[arg(long, value_name = "N")]
    max_entries: Option<usize>,
}

/// Runs `trace-tla`.
pub fn run(args: &TraceTlaArgs) -> Result<ExitCode, String> {
    std::fs::create_dir_all(&args.out).map_err(|e| format!("{}: {e}", args.out.display()))?;
    let (module, steps) = match (&args.file, &args.counterexample) {
        (Some(file), _) => {
            let features = flags(args, Features::default());
            let f = std::fs::File::open(file).map_err(|e| format!("{}: {e}", file.display()))?;
            let (header, steps) = trace_data::read(BufReader::with_capacity(1 << 20, f))
                .map_err(|e| format!("{}: {e}", file.display()))?;
            let module = trace_data::module(&header, &steps, &features)
                .map_err(|e| format!("{}: {e}", file.display()))?;
            (module, steps.len())
        }
        (None, Some(path)) => counterexample(args, path)?,
        (None, None) => return Err("give a trace file or --counterexample".into()),
    };
    let target = args.out.join("TraceData.tla");
    std::fs::write(&target, module).map_err(|e| format!("{}: {e}", target.display()))?;
    say!("{} ({steps} steps) written", target.display());
    Ok(ExitCode::SUCCESS)
}

fn flags(args: &TraceTlaArgs, base: Features) -> Features {
    Features {
        pre_vote: args.pre_vote.unwrap_or(base.pre_vote),
        check_quorum: args.check_quorum.unwrap_or(base.check_quorum),
        window: args.window.unwrap_or(base.window),
        max_batch: args.max_entries.unwrap_or(base.max_batch),
    }
}

/// Replays the path (rule kept unless --broken) as far as each step is enabled, writes its
/// trace to OUT/trace.ndjson and returns TraceData.tla's text. The features are the model
/// servers' own configuration.
fn counterexample(args: &TraceTlaArgs, path: &Path) -> Result<(String, usize), String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let cx = Counterexample::from_json(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut settings = cx.settings.clone();
    if !args.broken {
        settings.broken_rule = None;
    }
    let model = RaftModel::new(settings).map_err(|e| format!("bad settings: {e}"))?;
    let states = replay_prefix(&model, &cx);
    let taken = states.len() - 1;
    if taken < cx.steps.len() {
        say!(
            "{}: the core {} takes {taken} of the path's {} steps (step {} is not enabled)",
            path.display(),
            if args.broken {
                "with the rule broken"
            } else {
                "with the rule kept"
            },
            cx.steps.len(),
            taken + 1
        );
    }
    let (header, steps) = trace_of(&states, &cx.steps[..taken])?;
    let ndjson = args.out.join("trace.ndjson");
    std::fs::write(&ndjson, refraft_model::trace::to_ndjson(&header, &steps))
        .map_err(|e| format!("{}: {e}", ndjson.display()))?;
    let config = states[0]
        .actor_states
        .iter()
        .find_map(|a| a.server())
        .map(|s| Features::of(s.node.config()))
        .ok_or("the path has no server")?;
    let features = flags(args, config);
    let numbered: Vec<_> = steps
        .into_iter()
        .enumerate()
        .map(|(k, s)| (k + 2, s))
        .collect();
    let module = trace_data::module(&header, &numbered, &features).map_err(|e| format!("{e}"))?;
    Ok((module, numbered.len()))
}

/// The states along the longest prefix of the path whose every step is enabled and changes
/// the state, the initial state first.
fn replay_prefix(model: &RaftModel, cx: &Counterexample) -> Vec<State> {
    let mut states = vec![model.init_states().remove(0)];
    let mut actions = Vec::new();
    for step in &cx.steps {
        let last = states.last().expect("at least the initial state");
        let action = step.to_action();
        actions.clear();
        model.actions(last, &mut actions);
        if !actions.contains(&action) {
            break;
        }
        match model.next_state(last, action) {
            Some(next) => states.push(next),
            None => break,
        }
    }
    states
}
