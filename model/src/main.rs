//! `refraft-model`: model-check the refraft core with stateright.
//!
//! ```text
//! refraft-model check                      # the main job: the suite, one verdict table
//! refraft-model check --threads 2          # one configuration: the default, to full closure
//! refraft-model check --bfs --max-term 1   # breadth-first: shortest counterexamples
//! refraft-model check --break vote-once    # a rule switched off: the checker finds the violation
//! refraft-model explore --address localhost:3000
//! refraft-model simulate --seed 7 --max-states 200000 --servers 5
//! refraft-model replay tests/counterexamples/vote-once.json --trace vote-once.ndjson
//! refraft-model validate vote-once.ndjson  # any implementation's trace (spec/TRACE.md)
//! refraft-model trace-tla run.ndjson --out tla/  # TraceData.tla for spec/Traceraft.tla
//! refraft-model trace-merge n1.ndjson n2.ndjson n3.ndjson -o all.ndjson  # `serve --trace` files
//! ```

mod cli;

/// The allocator of the checker binary (README, "Checker speed": measured against glibc's).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::{Args, Parser, Subcommand};
use refraft::Rule;
use refraft_model::chooser::DeliveryFirst;
use refraft_model::counterexample::first_discovery;
use refraft_model::seeded::Prefix;
use refraft_model::settings::{Backoff, Reads};
use refraft_model::swarm::Swarm;
use refraft_model::{report, Counterexample, NetworkKind, RaftModel, Settings};
use stateright::{Checker, CheckerBuilder, Expectation, HasDiscoveries, Model, UniformChooser};
use std::path::PathBuf;
use std::process::ExitCode;

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
        /// Also write a self-contained HTML report (space-time diagram, state table).
        #[arg(long, value_name = "OUT.html")]
        html: Option<PathBuf>,
        /// Also write the path as a trace (NDJSON, spec/TRACE.md).
        #[arg(long, value_name = "OUT.ndjson")]
        trace: Option<PathBuf>,
    },
    /// Check a trace of any Raft implementation (NDJSON, spec/TRACE.md; `-` for standard
    /// input) against Figure 2's rules and Figure 3's properties.
    Validate {
        /// The trace file.
        file: PathBuf,
        /// Threads in all: one checks the steps in line order (and parses when it would
        /// wait), the others parse (0: one per core; 1: all on one).
        #[arg(long, default_value_t = 0)]
        threads: usize,
    },
    /// Write a trace (or a counterexample path) as TraceData.tla, for TLC trace validation
    /// with spec/Traceraft.tla.
    TraceTla(cli::trace_tla::TraceTlaArgs),
    /// Merge the per-server traces of separate processes (`refraft serve --trace`) into one
    /// cluster trace, each receive after its send.
    TraceMerge {
        /// The traces, one per server (each may span several lives of its server).
        #[arg(required = true, num_args = 1..)]
        files: Vec<PathBuf>,
        /// The merged trace.
        #[arg(short, long, value_name = "ALL.ndjson")]
        out: PathBuf,
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
    /// Requests per client (SET x=<n>, DEL x, GET x, ...).
    #[arg(long, default_value_t = 1)]
    requests: usize,
    /// Highest term explored.
    #[arg(long, default_value_t = 2)]
    max_term: u64,
    /// Servers that may be down at the same moment (they restart from durable state).
    #[arg(long, default_value_t = 1)]
    max_crashes: usize,
    /// Network: duplicating (the default; reordering under --stable), reordering (multiset)
    /// or ordered (FIFO per channel).
    #[arg(long)]
    network: Option<NetworkKind>,
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
    /// Switch one protocol rule off (the README's rule-switch table lists them all; a wrong
    /// name is answered with the list).
    #[arg(long = "break", value_name = "RULE")]
    broken_rule: Option<Rule>,
    /// PreVote (dissertation §9.6): an election starts only after a majority of pre-votes.
    #[arg(long)]
    pre_vote: bool,
    /// CheckQuorum and leader stickiness (dissertation §6.2, §4.2.3).
    #[arg(long)]
    check_quorum: bool,
    /// How GETs are answered: log (as entries), read-index or lease (dissertation §6.4).
    #[arg(long, default_value_t = Reads::Log)]
    reads: Reads,
    /// Most heartbeat rounds (ReadIndex, CheckQuorum) a leader sends in its term.
    #[arg(long, default_value_t = 3)]
    max_rounds: u64,
    /// Followers forward reads to the leader and serve them at its read index (§6.4).
    #[arg(long)]
    forward_reads: bool,
    /// Most leadership transfers asked for (dissertation §3.10); each new leader may be asked
    /// once to hand leadership to one of its followers.
    #[arg(long, default_value_t = 0)]
    transfers: usize,
    /// How far a rejected AppendEntries backs the leader up: conflict-term (§5.3's hint) or
    /// commit (to the follower's commit index + 1).
    #[arg(long, default_value_t = Backoff::ConflictTerm)]
    backoff: Backoff,
    /// A granted vote carries the request's term, not the voter's (etcd-io/raft's choice).
    #[arg(long)]
    echo_vote_term: bool,
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
            network: self.network.unwrap_or(NetworkKind::Duplicating),
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
            pre_vote: self.pre_vote,
            check_quorum: self.check_quorum,
            reads: self.reads,
            max_rounds: self.max_rounds,
            forward_reads: self.forward_reads,
            transfers: self.transfers,
            backoff: self.backoff,
            echo_vote_term: self.echo_vote_term,
        };
        if self.stable && self.network == Some(NetworkKind::Duplicating) {
            return Err("--stable needs a network that removes delivered messages: use --network reordering or ordered (with duplication no run ever ends)".into());
        }
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
    /// Checker threads (1 for one configuration; with the suite, the cores available).
    #[arg(long)]
    threads: Option<usize>,
    /// Stop at this depth (states at it are not checked); the run is then not exhaustive.
    #[arg(long)]
    depth: Option<usize>,
    /// Write each discovered counterexample as JSON into this directory.
    #[arg(long, value_name = "DIR")]
    write: Option<PathBuf>,
    /// Stop at the first violated property (the run is then not exhaustive).
    #[arg(long)]
    first_violation: bool,
    #[command(flatten)]
    seed: SeedArgs,
    /// Run the suite (what `check` with no flags runs), or the entries named (comma-separated),
    /// and print one verdict table. Takes no model flags; only --threads.
    #[arg(long, value_name = "NAMES", num_args = 0.., value_delimiter = ',')]
    suite: Option<Vec<String>>,
}

/// A seeded mid-run search: the end state of a replayed prefix is the only initial state.
#[derive(Args)]
struct SeedArgs {
    /// Replay this prefix (a counterexample's JSON, or a scenario: one step per line as `check`
    /// prints them) from the initial state and search from its end state; a violation is
    /// written as the full path, prefix included.
    #[arg(long, value_name = "FILE")]
    from_prefix: Option<PathBuf>,
    /// Use only the first N steps of the prefix.
    #[arg(long, value_name = "N", requires = "from_prefix")]
    prefix_steps: Option<usize>,
}

impl SeedArgs {
    /// The prefix, read and checked against `settings`, or `None` without `--from-prefix`.
    fn load(&self, settings: &Settings) -> Result<Option<Prefix>, String> {
        let Some(file) = &self.from_prefix else {
            return Ok(None);
        };
        let text = std::fs::read_to_string(file).map_err(|e| format!("{}: {e}", file.display()))?;
        let model = RaftModel::new(settings.clone())?;
        let prefix = Prefix::parse(&model, &text, self.prefix_steps)
            .map_err(|e| format!("{}: {e}", file.display()))?;
        let neutral = match prefix.check_neutral(settings) {
            Ok(()) => "rule-neutral (a correct run with the rule kept)".to_string(),
            Err(e) => format!("NOT rule-neutral: {e}"),
        };
        say!(
            "Seed: the end state of {} ({} steps), {neutral}",
            file.display(),
            prefix.steps.len()
        );
        Ok(Some(prefix))
    }
}

#[derive(Args)]
struct ExploreArgs {
    #[command(flatten)]
    bounds: Bounds,
    #[command(flatten)]
    ignored: IgnoredSearchFlags,
    /// Address to serve on.
    #[arg(long, default_value = "localhost:3000")]
    address: String,
}

/// `check`'s search flags, which `explore` accepts (so that a `check` command line can be
/// copied) and ignores: the explorer searches on demand.
#[derive(Args)]
struct IgnoredSearchFlags {
    #[arg(long, hide = true)]
    bfs: bool,
    #[arg(long, hide = true)]
    dfs: bool,
    #[arg(long, hide = true)]
    no_symmetry: bool,
    #[arg(long, hide = true)]
    threads: Option<usize>,
    #[arg(long, hide = true)]
    depth: Option<usize>,
    #[arg(long, hide = true)]
    write: Option<PathBuf>,
    #[arg(long, hide = true)]
    first_violation: bool,
}

impl IgnoredSearchFlags {
    fn any(&self) -> bool {
        self.bfs
            || self.dfs
            || self.no_symmetry
            || self.threads.is_some()
            || self.depth.is_some()
            || self.write.is_some()
            || self.first_violation
    }
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
    /// Prefer deliveries: one choice in N goes to a timeout, crash or loss (0: uniform).
    #[arg(long, default_value_t = 0)]
    delivery_first: u64,
    /// Checker threads (more than one makes the run depend on thread timing).
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Write each discovered counterexample as JSON into this directory.
    #[arg(long, value_name = "DIR")]
    write: Option<PathBuf>,
    /// Stop at the first violated property.
    #[arg(long)]
    first_violation: bool,
    /// Swarm search: each walk draws its own delivery bias, the servers whose election timers
    /// may fire, whether crashes and losses happen, and an election budget.
    #[arg(long, conflicts_with = "delivery_first")]
    swarm: bool,
    #[command(flatten)]
    seed_from: SeedArgs,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Check(args) => check(args),
        Command::Explore(args) => explore(args),
        Command::Simulate(args) => simulate(args),
        Command::Replay { file, html, trace } => {
            cli::replay::run(&file, html.as_deref(), trace.as_deref())
        }
        Command::Validate { file, threads } => cli::validate::run(&file, threads),
        Command::TraceTla(args) => cli::trace_tla::run(&args),
        Command::TraceMerge { files, out } => cli::trace_merge::run(&files, &out),
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
    say!(
        "Model: servers={} clients={} requests={} max-term={} max-crashes={} network={}{} max-entries={} window={}{}{}{}{}",
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
        features(s),
    );
}

/// The model flags given on this process's command line, after the subcommand.
fn model_flags(subcommand: &str) -> Vec<String> {
    let args: Vec<String> = std::env::args().skip(2).collect();
    cli::flags::model_flags(subcommand, &args)
}

/// Fails unless counterexamples can be written into `dir` (created if missing): checked before
/// the run, not after it.
fn check_write_dir(dir: Option<&std::path::Path>) -> Result<(), String> {
    let Some(dir) = dir else { return Ok(()) };
    std::fs::create_dir_all(dir).map_err(|e| format!("--write {}: {e}", dir.display()))?;
    let probe = dir.join(".refraft-model-write-test");
    std::fs::write(&probe, b"").map_err(|e| format!("--write {}: {e}", dir.display()))?;
    let _ = std::fs::remove_file(&probe);
    Ok(())
}

/// The features switched on, as flags.
fn features(s: &Settings) -> String {
    let mut f = String::new();
    if s.pre_vote {
        f.push_str(" pre-vote");
    }
    if s.check_quorum {
        f.push_str(" check-quorum");
    }
    if s.reads.without_log() {
        f.push_str(&format!(" reads={} max-rounds={}", s.reads, s.max_rounds));
        if s.forward_reads {
            f.push_str(" forward-reads");
        }
        if s.transfers > 0 {
            f.push_str(&format!(" transfers={}", s.transfers));
        }
    }
    if s.backoff != Backoff::ConflictTerm {
        f.push_str(&format!(" backoff={}", s.backoff));
    }
    if s.echo_vote_term {
        f.push_str(" echo-vote-term");
    }
    f
}

/// The settings of a `check` command line's flags (a suite entry).
fn check_settings(flags: &[&str]) -> Result<Settings, String> {
    let words = ["refraft-model", "check"].iter().chain(flags);
    match Cli::try_parse_from(words)
        .map_err(|e| e.to_string())?
        .command
    {
        Command::Check(args) => args.bounds.settings(),
        _ => unreachable!("parsed as check"),
    }
}

/// `check` with no arguments, or with `--suite`: the suite (see `cli::suite`).
fn check_suite(args: &CheckArgs, entries: &[String]) -> Result<ExitCode, String> {
    let other = std::env::args().skip(2).find(|a| {
        a.starts_with("--")
            && !["--suite", "--threads"]
                .iter()
                .any(|f| a == f || a.starts_with(&format!("{f}=")))
    });
    if let Some(flag) = other {
        return Err(format!(
            "--suite takes no model flags and no search flag but --threads ({flag}): run one configuration without --suite"
        ));
    }
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let passed = cli::suite::run(entries, threads.max(1), check_settings)?;
    Ok(if passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn check(args: CheckArgs) -> Result<ExitCode, String> {
    // `check` alone runs the suite; any flag selects one configuration.
    let alone = std::env::args().count() == 2;
    if alone || args.suite.is_some() {
        let entries = args.suite.clone().unwrap_or_default();
        return check_suite(&args, &entries);
    }
    let settings = args.bounds.settings()?;
    check_write_dir(args.write.as_deref())?;
    print_settings(&settings);
    let prefix = args.seed.load(&settings)?;
    let model = match &prefix {
        Some(p) => p
            .seeded_model(settings.clone())
            .map_err(|e| e.to_string())?,
        None => RaftModel::new(settings.clone())?,
    };
    let threads = args.threads.unwrap_or(1).max(1);
    let mut builder = model
        .with_stutter_pruning(true)
        .with_reached_latch()
        .checker()
        .threads(threads);
    if let Some(depth) = args.depth {
        builder = builder.target_max_depth(depth);
    }
    if args.first_violation {
        builder = builder.finish_when(HasDiscoveries::AnyFailures);
    }
    let symmetry = !args.bfs && !args.no_symmetry;
    if symmetry {
        builder = builder.symmetry_fn(refraft_model::symmetry::class_key);
    }
    say!(
        "Search: {}{}, threads={}",
        if args.bfs { "BFS" } else { "DFS" },
        if symmetry { " + server symmetry" } else { "" },
        threads
    );
    let bounded = args.depth.is_some() || args.first_violation || prefix.is_some();
    let out = Output {
        settings: &settings,
        model_flags: model_flags("check"),
        bounded,
        write: args.write.as_deref(),
        prefix: prefix.as_ref(),
    };
    if args.bfs {
        finish(builder.spawn_bfs(), out, None)
    } else {
        finish(builder.spawn_dfs(), out, None)
    }
}

fn simulate(args: SimulateArgs) -> Result<ExitCode, String> {
    let settings = args.bounds.settings()?;
    if args.max_states == 0 {
        return Err("--max-states must be at least 1 (0 would never stop)".into());
    }
    if args.depth == 0 {
        return Err("--depth must be at least 1".into());
    }
    check_write_dir(args.write.as_deref())?;
    print_settings(&settings);
    let prefix = args.seed_from.load(&settings)?;
    say!(
        "Search: {}random walks, seed={}, depth<={}, states<={}",
        if args.swarm { "swarm " } else { "" },
        args.seed,
        args.depth,
        args.max_states
    );
    let model = match &prefix {
        Some(p) => p
            .seeded_model(settings.clone())
            .map_err(|e| e.to_string())?,
        None => RaftModel::new(settings.clone())?,
    };
    let mut builder: CheckerBuilder<RaftModel> = model
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
    let out = Output {
        settings: &settings,
        model_flags: model_flags("simulate"),
        bounded: true,
        write: args.write.as_deref(),
        prefix: prefix.as_ref(),
    };
    if args.swarm {
        let swarm = Swarm::new(&settings);
        let walks = swarm.clone();
        return finish(
            builder.spawn_simulation(args.seed, swarm),
            out,
            Some(&walks),
        );
    }
    if args.delivery_first > 0 {
        let chooser = DeliveryFirst {
            other_one_in: args.delivery_first,
        };
        return finish(builder.spawn_simulation(args.seed, chooser), out, None);
    }
    finish(
        builder.spawn_simulation(args.seed, UniformChooser),
        out,
        None,
    )
}

/// How `finish` reports and writes a run's discoveries.
struct Output<'a> {
    settings: &'a Settings,
    model_flags: Vec<String>,
    /// Whether the run was cut short (not a full closure).
    bounded: bool,
    write: Option<&'a std::path::Path>,
    /// The prefix of a seeded search: written counterexamples start with its steps.
    prefix: Option<&'a Prefix>,
}

/// Waits for the checker, prints the report and each property's result, writes counterexamples.
fn finish(
    checker: impl Checker<RaftModel> + Send + Sync,
    out: Output,
    swarm: Option<&Swarm>,
) -> Result<ExitCode, String> {
    let Output {
        settings,
        model_flags,
        bounded,
        write,
        prefix,
    } = out;
    if let Some(p) = prefix {
        say!(
            "Paths below start at the seed, after the prefix's {} steps (written files hold the full path)",
            p.steps.len()
        );
    }
    let (checker, duration) = cli::progress::run(checker, &model_flags);
    let secs = duration.as_secs_f64();
    let model = checker.model();
    let discoveries = checker.discoveries();
    say!(
        "\nstates={} unique={} depth={} seconds={:.1} unique/s={:.0}{}",
        checker.state_count(),
        checker.unique_state_count(),
        checker.max_depth(),
        secs,
        checker.unique_state_count() as f64 / secs.max(1e-9),
        if prefix.is_some() {
            " (seeded: the states below the prefix's end only)"
        } else if bounded {
            " (bounded run: not exhaustive)"
        } else {
            " (full closure within the bounds)"
        }
    );
    if let Some(swarm) = swarm {
        say!("walks={}", swarm.walks());
    }
    let mut ok = true;
    say!("\nProperties:");
    for p in model.properties() {
        let found = discoveries.contains_key(p.name);
        let (verdict, good) = match (&p.expectation, found) {
            (Expectation::Always, false) => ("holds", true),
            (Expectation::Always, true) => ("VIOLATED", false),
            (Expectation::Sometimes, true) => ("reached", true),
            // Below a seed, an example may lie in the prefix already.
            (Expectation::Sometimes, false) if prefix.is_some() => {
                ("not reached below the seed", true)
            }
            (Expectation::Sometimes, false) => ("NOT REACHED", false),
            (Expectation::Eventually, false) => ("holds on every acyclic path", true),
            (Expectation::Eventually, true) => ("VIOLATED", false),
        };
        ok &= good;
        say!(
            "  {:<10} {:<55} {}",
            format!("{:?}", p.expectation).to_lowercase(),
            p.name,
            verdict
        );
        if let (Some(dir), true, false) = (write, found, p.expectation == Expectation::Sometimes) {
            let path = first_discovery(model, p.name, discoveries[p.name].clone());
            let cx = match prefix {
                Some(prefix) => prefix.full_counterexample(settings, p.name, path),
                None => Counterexample::from_path(settings, p.name, path),
            };
            // Replayed from the real initial state (a seeded model starts at the seed).
            let model = &RaftModel::new(settings.clone())?;
            let stem = p.name.replace(|c: char| !c.is_ascii_alphanumeric(), "-");
            let file = dir.join(format!("{stem}.json"));
            std::fs::write(&file, cx.to_json()).map_err(|e| format!("{}: {e}", file.display()))?;
            say!("             counterexample written to {}", file.display());
            let states = cx.replay_on(model).map_err(|e| e.to_string())?;
            let html = dir.join(format!("{stem}.html"));
            std::fs::write(&html, report::html(model, &cx, &states))
                .map_err(|e| format!("{}: {e}", html.display()))?;
            say!("             report written to {}", html.display());
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
    let addr = cli::explore::check_address(&args.address)?;
    print_settings(&settings);
    if args.ignored.any() {
        say!("Note: search flags (--bfs, --threads, ...) are ignored: the explorer searches on demand");
    }
    let model = RaftModel::new(settings)?;
    say!(
        "Serving the explorer on http://{}/ (Ctrl-C stops it)",
        args.address
    );
    model.checker().serve(addr);
    Ok(ExitCode::SUCCESS)
}
