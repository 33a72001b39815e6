//! `refraft-model`: model-check the refraft core with stateright.
//!
//! ```text
//! refraft-model check                      # the default 3-server configuration, to full closure
//! refraft-model check --bfs --max-term 1   # breadth-first: shortest counterexamples
//! refraft-model check --break vote-once    # a rule switched off: the checker finds the violation
//! refraft-model explore --address localhost:3000
//! refraft-model simulate --seed 7 --max-states 200000 --servers 5
//! refraft-model replay tests/counterexamples/vote-once.json
//! ```

use clap::{Args, Parser, Subcommand};
use refraft::Rule;
use refraft_model::{Counterexample, NetworkKind, RaftModel, Settings};
use stateright::report::{ReportData, ReportDiscovery, Reporter};
use stateright::{Checker, CheckerBuilder, Expectation, HasDiscoveries, Model, UniformChooser};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

#[derive(Parser)]
#[command(
    name = "refraft-model",
    version,
    about = "Model-check the refraft Raft core with stateright"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Explore every state within the bounds and check every property.
    Check(CheckArgs),
    /// Serve stateright's web explorer for the configuration.
    Explore(ExploreArgs),
    /// Random walks through the state space, for configurations too big to exhaust.
    Simulate(SimulateArgs),
    /// Replay a counterexample written by `check --write`, step by step, through the core.
    Replay {
        /// The JSON file.
        file: PathBuf,
    },
}

/// The bounds of the model (see `Settings`).
#[derive(Args, Clone)]
struct Bounds {
    /// Number of servers (1 to 5).
    #[arg(long, default_value_t = 3)]
    servers: usize,
    /// Number of clients (0 to 2).
    #[arg(long, default_value_t = 0)]
    clients: usize,
    /// Requests per client (SET x=<n>, GET x, DEL x, ...).
    #[arg(long, default_value_t = 1)]
    requests: usize,
    /// Highest term explored.
    #[arg(long, default_value_t = 2)]
    max_term: u64,
    /// Servers that may be down at the same moment (they restart from durable state).
    #[arg(long, default_value_t = 1)]
    max_crashes: usize,
    /// Network: duplicating, reordering (multiset) or ordered (FIFO per channel).
    #[arg(long, default_value_t = NetworkKind::Duplicating)]
    network: NetworkKind,
    /// The network may also lose messages (partitions included).
    #[arg(long)]
    lossy: bool,
    /// Most messages in flight (distinct messages sent, on the duplicating network), or "none".
    #[arg(long, default_value = "none")]
    max_in_flight: Bound,
    /// Most entries per AppendEntries.
    #[arg(long, default_value_t = 64)]
    max_entries: usize,
    /// Most AppendEntries a leader leaves unanswered per follower (pipelining, §10.2).
    #[arg(long, default_value_t = 2)]
    window: usize,
    /// Bound on restarts in total, summed over servers ("none": unbounded).
    #[arg(long, default_value = "1")]
    max_restarts: Bound,
    /// Leaders also send periodic heartbeats (AppendEntries still go out on election, on
    /// client requests and on answers without them).
    #[arg(long)]
    heartbeats: bool,
    /// Bound on elections started in total, summed over servers ("none": only --max-term).
    #[arg(long, default_value = "2")]
    max_elections: Bound,
    /// Orderly elections: a server times out only while no live server leads and no other is a
    /// candidate (a leader is replaced only after it crashes).
    #[arg(long)]
    orderly_elections: bool,
    /// Clients also retry on a timer, to the next server.
    #[arg(long)]
    client_retry: bool,
    /// The stable scheduler, for liveness: no crashes, no heartbeats, one election at a time.
    #[arg(long)]
    stable: bool,
    /// Switch one protocol rule off: persist-vote, vote-once, election-restriction,
    /// current-term-commit, truncate-only-on-conflict, commit-min-last-new, probe-on-reject,
    /// next-index-bound.
    #[arg(long = "break", value_name = "RULE")]
    broken_rule: Option<Rule>,
}

/// A bound on the command line: a number, or "none".
#[derive(Clone, Copy, Debug)]
struct Bound(Option<usize>);

impl std::str::FromStr for Bound {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "none" => Ok(Bound(None)),
            n => n
                .parse()
                .map(|n| Bound(Some(n)))
                .map_err(|e| format!("{n:?}: {e} (a number, or \"none\")")),
        }
    }
}

impl Bounds {
    fn settings(&self) -> Result<Settings, String> {
        let s = Settings {
            servers: self.servers,
            clients: self.clients,
            requests: self.requests,
            max_term: self.max_term,
            max_crashes: self.max_crashes,
            network: self.network,
            lossy: self.lossy,
            max_in_flight: self.max_in_flight.0,
            max_entries: self.max_entries,
            window: self.window,
            max_restarts: self.max_restarts.0,
            heartbeats: self.heartbeats,
            max_elections: self.max_elections.0,
            orderly_elections: self.orderly_elections,
            client_retry: self.client_retry,
            stable: false,
            broken_rule: self.broken_rule,
        };
        let s = if self.stable { s.stable() } else { s };
        s.validate()?;
        Ok(s)
    }
}

#[derive(Args)]
struct CheckArgs {
    #[command(flatten)]
    bounds: Bounds,
    /// Breadth-first search: shortest counterexamples, but every state is kept in memory
    /// (several KB each) and stateright's BFS ignores symmetry.
    #[arg(long, conflicts_with = "dfs")]
    bfs: bool,
    /// Depth-first search with server symmetry (the default): fingerprints only in memory.
    #[arg(long)]
    dfs: bool,
    /// Do not reduce by server symmetry.
    #[arg(long)]
    no_symmetry: bool,
    /// Checker threads.
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Stop at this depth (states at it are not checked); the run is then not exhaustive.
    #[arg(long)]
    depth: Option<usize>,
    /// Write each discovered counterexample as JSON into this directory.
    #[arg(long, value_name = "DIR")]
    write: Option<PathBuf>,
    /// Stop at the first violated property (the run is then not exhaustive).
    #[arg(long)]
    first_violation: bool,
}

#[derive(Args)]
struct ExploreArgs {
    #[command(flatten)]
    bounds: Bounds,
    /// Address to serve on.
    #[arg(long, default_value = "localhost:3000")]
    address: String,
}

#[derive(Args)]
struct SimulateArgs {
    #[command(flatten)]
    bounds: Bounds,
    /// Seed of the random walks.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Stop after generating this many states.
    #[arg(long, default_value_t = 1_000_000)]
    max_states: usize,
    /// Longest walk.
    #[arg(long, default_value_t = 200)]
    depth: usize,
    /// Reduce by server symmetry.
    #[arg(long)]
    symmetry: bool,
    /// Checker threads (more than one makes the run depend on thread timing).
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Write each discovered counterexample as JSON into this directory.
    #[arg(long, value_name = "DIR")]
    write: Option<PathBuf>,
    /// Stop at the first violated property.
    #[arg(long)]
    first_violation: bool,
}

/// Prints progress lines, then each discovery as a list of steps and an explorer link.
struct CliReporter;

impl Reporter<RaftModel> for CliReporter {
    fn report_checking(&mut self, data: ReportData) {
        let secs = data.duration.as_secs_f64();
        println!(
            "{} states={}, unique={}, depth={}, sec={:.1}, unique/s={:.0}",
            if data.done { "Done." } else { "Checking." },
            data.total_states,
            data.unique_states,
            data.max_depth,
            secs,
            data.unique_states as f64 / secs.max(1e-9),
        );
    }

    fn report_discoveries(
        &mut self,
        model: &RaftModel,
        discoveries: BTreeMap<&'static str, ReportDiscovery<RaftModel>>,
    ) {
        for (name, d) in discoveries {
            let encoded = d.path.encode(model);
            let actions = d.path.into_actions();
            println!(
                "\nDiscovered {name:?} {} ({} steps):",
                d.classification,
                actions.len()
            );
            for (i, action) in actions.iter().enumerate() {
                println!("  {:>3}. {}", i + 1, model.format_action(action));
            }
            println!("  explorer: refraft-model explore ... then open /#/steps/{encoded}");
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Check(args) => check(args),
        Command::Explore(args) => explore(args),
        Command::Simulate(args) => simulate(args),
        Command::Replay { file } => replay(&file),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

fn print_settings(s: &Settings) {
    println!(
        "Model: servers={} clients={} requests={} max-term={} max-crashes={} network={}{} max-entries={} window={}{}{}{}",
        s.servers,
        s.clients,
        s.requests,
        s.max_term,
        s.max_crashes,
        s.network,
        if s.lossy { " lossy" } else { "" },
        s.max_entries,
        s.window,
        s.max_in_flight.map(|m| format!(" max-in-flight={m}")).unwrap_or_default(),
        if s.stable { " stable-scheduler" } else if s.orderly_elections { " orderly-elections" } else { "" },
        s.broken_rule.map(|r| format!(" BROKEN RULE: {r}")).unwrap_or_default(),
    );
}

fn check(args: CheckArgs) -> Result<ExitCode, String> {
    let settings = args.bounds.settings()?;
    print_settings(&settings);
    let mut builder = RaftModel::new(settings.clone())?
        .checker()
        .threads(args.threads.max(1));
    if let Some(depth) = args.depth {
        builder = builder.target_max_depth(depth);
    }
    if args.first_violation {
        builder = builder.finish_when(HasDiscoveries::AnyFailures);
    }
    let symmetry = !args.bfs && !args.no_symmetry;
    if symmetry {
        builder = builder.symmetry();
    }
    println!(
        "Search: {}{}, threads={}",
        if args.bfs { "BFS" } else { "DFS" },
        if symmetry { " + server symmetry" } else { "" },
        args.threads.max(1)
    );
    let start = Instant::now();
    let bounded = args.depth.is_some() || args.first_violation;
    let write = args.write.as_deref();
    if args.bfs {
        finish(builder.spawn_bfs(), &settings, start, bounded, write)
    } else {
        finish(builder.spawn_dfs(), &settings, start, bounded, write)
    }
}

fn simulate(args: SimulateArgs) -> Result<ExitCode, String> {
    let settings = args.bounds.settings()?;
    print_settings(&settings);
    println!(
        "Search: random walks, seed={}, depth<={}, states<={}",
        args.seed, args.depth, args.max_states
    );
    let mut builder: CheckerBuilder<RaftModel> = RaftModel::new(settings.clone())?
        .checker()
        .threads(args.threads.max(1))
        .target_max_depth(args.depth)
        .target_state_count(args.max_states);
    if args.symmetry {
        builder = builder.symmetry();
    }
    if args.first_violation {
        builder = builder.finish_when(HasDiscoveries::AnyFailures);
    }
    let start = Instant::now();
    finish(
        builder.spawn_simulation(args.seed, UniformChooser),
        &settings,
        start,
        true,
        args.write.as_deref(),
    )
}

/// Waits for the checker, prints the report and each property's result, writes counterexamples.
fn finish(
    checker: impl Checker<RaftModel> + Send + Sync,
    settings: &Settings,
    start: Instant,
    bounded: bool,
    write: Option<&std::path::Path>,
) -> Result<ExitCode, String> {
    let checker = checker.join_and_report(&mut CliReporter);
    let secs = start.elapsed().as_secs_f64();
    let model = checker.model();
    let discoveries = checker.discoveries();
    println!(
        "\nstates={} unique={} depth={} seconds={:.1} unique/s={:.0}{}",
        checker.state_count(),
        checker.unique_state_count(),
        checker.max_depth(),
        secs,
        checker.unique_state_count() as f64 / secs.max(1e-9),
        if bounded {
            " (bounded run: not exhaustive)"
        } else {
            " (full closure within the bounds)"
        }
    );
    let mut ok = true;
    println!("\nProperties:");
    for p in model.properties() {
        let found = discoveries.contains_key(p.name);
        let (verdict, good) = match (&p.expectation, found) {
            (Expectation::Always, false) => ("holds", true),
            (Expectation::Always, true) => ("VIOLATED", false),
            (Expectation::Sometimes, true) => ("reached", true),
            (Expectation::Sometimes, false) => ("NOT REACHED", false),
            (Expectation::Eventually, false) => ("holds on every acyclic path", true),
            (Expectation::Eventually, true) => ("VIOLATED", false),
        };
        ok &= good;
        println!(
            "  {:<10} {:<55} {}",
            format!("{:?}", p.expectation).to_lowercase(),
            p.name,
            verdict
        );
        if let (Some(dir), true, false) = (write, found, p.expectation == Expectation::Sometimes) {
            let path = discoveries[p.name].clone();
            let cx = Counterexample::from_path(settings, p.name, path);
            std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
            let file = dir.join(format!(
                "{}.json",
                p.name.replace(|c: char| !c.is_ascii_alphanumeric(), "-")
            ));
            std::fs::write(&file, cx.to_json()).map_err(|e| format!("{}: {e}", file.display()))?;
            println!("             counterexample written to {}", file.display());
        }
    }
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn explore(args: ExploreArgs) -> Result<ExitCode, String> {
    let settings = args.bounds.settings()?;
    print_settings(&settings);
    println!(
        "Serving the explorer on http://{}/ (Ctrl-C stops it)",
        args.address
    );
    RaftModel::new(settings)?
        .checker()
        .serve(args.address.as_str());
    Ok(ExitCode::SUCCESS)
}

fn replay(file: &std::path::Path) -> Result<ExitCode, String> {
    let text = std::fs::read_to_string(file).map_err(|e| format!("{}: {e}", file.display()))?;
    let cx = Counterexample::from_json(&text).map_err(|e| e.to_string())?;
    print_settings(&cx.settings);
    let states = cx.replay().map_err(|e| e.to_string())?;
    for (i, step) in cx.steps.iter().enumerate() {
        println!("{:>3}. {:?}", i + 1, step);
    }
    println!("{} states replayed", states.len());
    let reproduced = cx.reproduces().map_err(|e| e.to_string())?;
    println!(
        "\n{:?}: {}",
        cx.property,
        if reproduced {
            "reproduced"
        } else {
            "NOT reproduced"
        }
    );
    Ok(if reproduced {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
