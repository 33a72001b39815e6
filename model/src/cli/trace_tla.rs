//! `refraft-model trace-tla`: writes `TraceData.tla` (and, for counterexamples, the traces
//! they were made from) into a directory, for TLC trace validation with `spec/Traceraft.tla`
//! (`bash spec/check.sh trace` runs it).

use crate::say;
use clap::Args;
use refraft::trace::{Header, Step};
use refraft::{ReadMode, RejectHint};
use refraft_model::settings::Backoff;
use refraft_model::trace::trace_of;
use refraft_model::trace_data::{self, Features, Run};
use refraft_model::{Counterexample, RaftModel, State};
use stateright::Model;
use std::collections::BTreeMap;
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
    /// Instead of a trace: counterexample paths (tests/counterexamples/*.json), each replayed
    /// through the core with its broken rule kept (the correct core), as far as the correct
    /// core takes the same steps; traces go to OUT/NAME.ndjson, and TraceData.tla to one
    /// directory OUT/GROUP per cluster and features.
    #[arg(long, value_name = "PATH.json", num_args = 1..)]
    counterexample: Vec<PathBuf>,
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
    /// The traced servers' Config::read_mode: read-index or lease (default: the core's,
    /// read-index).
    #[arg(long, value_name = "MODE", value_parser = parse_read_mode)]
    reads: Option<ReadMode>,
    /// The traced servers' Config::reject_hint, as `check --backoff`: conflict-term or commit
    /// (default: the core's, conflict-term).
    #[arg(long, value_name = "HINT")]
    backoff: Option<Backoff>,
    /// The traced servers' Config::vote_grant_echoes_term (default: the core's, off).
    #[arg(long, value_name = "BOOL")]
    echo_vote_term: Option<bool>,
}

fn parse_read_mode(s: &str) -> Result<ReadMode, String> {
    match s {
        "read-index" => Ok(ReadMode::ReadIndex),
        "lease" => Ok(ReadMode::Lease),
        _ => Err(format!("{s:?} is not read-index or lease")),
    }
}

/// Runs `trace-tla`.
pub fn run(args: &TraceTlaArgs) -> Result<ExitCode, String> {
    std::fs::create_dir_all(&args.out).map_err(|e| format!("{}: {e}", args.out.display()))?;
    let Some(file) = &args.file else {
        return counterexamples(args);
    };
    let features = flags(args, Features::default());
    let f = std::fs::File::open(file).map_err(|e| format!("{}: {e}", file.display()))?;
    let at = |e: trace_data::TraceDataError| format!("{}: {e}", file.display());
    let (header, steps) = trace_data::read(BufReader::with_capacity(1 << 20, f)).map_err(at)?;
    let name = file.display().to_string();
    let run = Run {
        name: &name,
        header: &header,
        steps: &steps,
    };
    let module = trace_data::module(&[run], &features).map_err(at)?;
    write(&args.out, &module, steps.len())?;
    Ok(ExitCode::SUCCESS)
}

fn write(dir: &Path, module: &str, steps: usize) -> Result<(), String> {
    let target = dir.join("TraceData.tla");
    std::fs::write(&target, module).map_err(|e| format!("{}: {e}", target.display()))?;
    say!("{} ({steps} steps) written", target.display());
    Ok(())
}

fn flags(args: &TraceTlaArgs, base: Features) -> Features {
    Features {
        pre_vote: args.pre_vote.unwrap_or(base.pre_vote),
        check_quorum: args.check_quorum.unwrap_or(base.check_quorum),
        window: args.window.unwrap_or(base.window),
        max_batch: args.max_entries.unwrap_or(base.max_batch),
        read_mode: args.reads.unwrap_or(base.read_mode),
        reject_hint: args.backoff.map_or(base.reject_hint, Backoff::reject_hint),
        echo_vote_term: args.echo_vote_term.unwrap_or(base.echo_vote_term),
    }
}

/// One counterexample's trace, with the features of its servers.
struct Replayed {
    name: String,
    header: Header,
    steps: Vec<(usize, Step)>,
    features: Features,
}

/// Each path replayed (rule kept unless --broken) as far as each step is enabled; its trace
/// goes to OUT/NAME.ndjson. The traces of one cluster and features share one TLC run:
/// OUT/GROUP/TraceData.tla. A path with a step the spec's trace validation does not model
/// (a forwarded read, a transfer) is validated up to the line before it, as reported.
fn counterexamples(args: &TraceTlaArgs) -> Result<ExitCode, String> {
    let mut groups: BTreeMap<String, Vec<Replayed>> = BTreeMap::new();
    for path in &args.counterexample {
        let Some(r) = replayed(args, path)? else {
            continue;
        };
        let f = &r.features;
        let group = format!(
            "servers{}-prevote{}-checkquorum{}-window{}-batch{}{}{}{}",
            r.header.nodes.len(),
            u8::from(f.pre_vote),
            u8::from(f.check_quorum),
            f.window,
            f.max_batch,
            if f.read_mode == ReadMode::Lease {
                "-lease"
            } else {
                ""
            },
            if f.reject_hint == RejectHint::CommitIndex {
                "-commithint"
            } else {
                ""
            },
            if f.echo_vote_term { "-echovote" } else { "" }
        );
        groups.entry(group).or_default().push(r);
    }
    for (group, members) in &mut groups {
        let mut kept: Vec<&Replayed> = Vec::new();
        for r in members.iter_mut() {
            // A step the spec does not model (a forwarded read, a transfer): the trace is validated up
            // to the line before it.
            loop {
                let run = Run {
                    name: &r.name,
                    header: &r.header,
                    steps: &r.steps,
                };
                match trace_data::module(&[run], &r.features) {
                    Ok(_) => break,
                    Err(e @ trace_data::TraceDataError::NotModelled { line, .. }) => {
                        say!("{}: validated up to line {}: {e}", r.name, line - 1);
                        r.steps.retain(|(l, _)| *l < line);
                    }
                    Err(e) => return Err(format!("{}: {e}", r.name)),
                }
            }
            kept.push(r);
        }
        let Some(first) = kept.first() else { continue };
        let runs: Vec<Run<'_>> = kept
            .iter()
            .map(|r| Run {
                name: &r.name,
                header: &r.header,
                steps: &r.steps,
            })
            .collect();
        let module = trace_data::module(&runs, &first.features).map_err(|e| e.to_string())?;
        let dir = args.out.join(group);
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        write(&dir, &module, kept.iter().map(|r| r.steps.len()).sum())?;
    }
    Ok(ExitCode::SUCCESS)
}

/// The path replayed as a trace, or `None` (said why) where its configuration is one whose
/// trace validation has not been run yet.
fn replayed(args: &TraceTlaArgs, path: &Path) -> Result<Option<Replayed>, String> {
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
    let stem = path
        .file_stem()
        .map_or("path".into(), |s| s.to_string_lossy().into_owned());
    let ndjson = args.out.join(format!("{stem}.ndjson"));
    std::fs::write(&ndjson, refraft_model::trace::to_ndjson(&header, &steps))
        .map_err(|e| format!("{}: {e}", ndjson.display()))?;
    let config = states[0]
        .actor_states
        .iter()
        .find_map(|a| a.server())
        .map(|s| Features::of(s.node.config()))
        .ok_or("the path has no server")?;
    Ok(Some(Replayed {
        name: ndjson
            .file_name()
            .map_or(stem.clone(), |n| n.to_string_lossy().into_owned()),
        header,
        steps: steps
            .into_iter()
            .enumerate()
            .map(|(k, s)| (k + 2, s))
            .collect(),
        features: flags(args, config),
    }))
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
