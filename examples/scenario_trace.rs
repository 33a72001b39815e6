//! Writes the trace (NDJSON, `spec/TRACE.md`) of one simulator scenario into a file, for TLC
//! trace validation (`bash spec/check.sh trace`, spec/README.md "Trace validation"):
//!
//! - `figure8`: the paper's Figure 8 situation, scheduled by hand as in
//!   `tests/sim_scenarios.rs` (etcd's TestCannotCommitWithoutNewTermEntry): a leader of a new
//!   term finds old-term entries on a majority, does not commit them by counting (§5.4.2), and
//!   commits them once its own no-op is on a majority. Without PreVote, one entry per
//!   AppendEntries (`trace-tla --pre-vote false --max-entries 1`).
//! - `backup`: 6.824's TestBackup (`tests/sim_6824.rs`): two partitioned leaders take 50
//!   entries each that are overwritten when the majority's leader backs up over them.
//! - `churn`: `sim::churn` on five servers, `--unreliable` on a network that loses,
//!   duplicates and reorders; `--rounds N` rounds (`--steps N`: as many rounds as it takes to
//!   write at least N steps).
//! - `reads`: one-shot reads (`Input::Read`, no log entry, dissertation §6.4) on three
//!   servers: at the leader between writes, each served after its heartbeat round; one at a
//!   follower (refused); then at the next leader after a crash. `--lease`: lease reads
//!   (CheckQuorum on, `trace-tla --check-quorum true --reads lease`).
//!
//! ```text
//! cargo run --release --example scenario_trace -- figure8 --out figure8.ndjson
//! cargo run --release --example scenario_trace -- churn --unreliable --steps 10000 --out churn.ndjson
//! ```
//!
//! Each scenario checks that it reached the situation it is named after, and exits with 1 if
//! not (a trace that does not show it would vet nothing).

use refraft::sim::{churn, NetworkConfig, SimConfig, SimError, Simulation};
use refraft::trace::{Header, Step};
use refraft::{KvCommand, NodeId, ReadMode, Timer};
use std::time::Duration;

struct Options {
    scenario: String,
    seed: u64,
    rounds: u64,
    steps: Option<usize>,
    unreliable: bool,
    lease: bool,
    out: String,
}

fn main() {
    let options = parse();
    let result = match options.scenario.as_str() {
        "figure8" => figure8(options.seed),
        "backup" => backup(options.seed),
        "churn" => churn_trace(&options),
        "reads" => reads(options.seed, options.lease),
        other => usage(&format!("unknown scenario {other:?}")),
    };
    let (header, steps) = match result {
        Ok(trace) => trace,
        Err(e) => {
            eprintln!("scenario {}: {e}", options.scenario);
            std::process::exit(1);
        }
    };
    let mut text = serde_json::to_string(&header).expect("trace types serialize");
    text.push('\n');
    for step in &steps {
        text.push_str(&serde_json::to_string(step).expect("trace types serialize"));
        text.push('\n');
    }
    if let Err(e) = std::fs::write(&options.out, text) {
        eprintln!("error: {}: {e}", options.out);
        std::process::exit(2);
    }
    eprintln!("{}: {} steps", options.out, steps.len());
}

fn parse() -> Options {
    let mut args = std::env::args().skip(1);
    let scenario = args.next().unwrap_or_else(|| usage("name a scenario"));
    let mut options = Options {
        scenario,
        seed: 1,
        rounds: 200,
        steps: None,
        unreliable: false,
        lease: false,
        out: String::new(),
    };
    while let Some(arg) = args.next() {
        let mut value = |name: &str| -> String {
            args.next()
                .unwrap_or_else(|| usage(&format!("{name} takes a value")))
        };
        let mut number = |name: &str| -> u64 {
            value(name)
                .parse()
                .unwrap_or_else(|_| usage(&format!("{name} takes a number")))
        };
        match arg.as_str() {
            "--seed" => options.seed = number("--seed"),
            "--rounds" => options.rounds = number("--rounds"),
            "--steps" => options.steps = Some(number("--steps") as usize),
            "--unreliable" => options.unreliable = true,
            "--lease" => options.lease = true,
            "--out" => options.out = value("--out"),
            other => usage(&format!("unknown argument {other:?}")),
        }
    }
    if options.out.is_empty() {
        usage("--out FILE is required");
    }
    options
}

fn usage(message: &str) -> ! {
    eprintln!(
        "error: {message}\nusage: scenario_trace figure8|backup|churn|reads --out FILE \
         [--seed N] [--rounds N] [--steps N] [--unreliable] [--lease]"
    );
    std::process::exit(2)
}

fn set(n: u64) -> KvCommand {
    KvCommand::Set {
        key: "x".into(),
        value: n.to_string(),
    }
}

fn ensure(sim: &Simulation, ok: bool, what: &str) -> Result<(), SimError> {
    if ok {
        Ok(())
    } else {
        Err(sim.fail(what.to_string()))
    }
}

fn commit_index(sim: &Simulation, id: u64) -> u64 {
    sim.node(NodeId(id)).map_or(0, |n| n.commit_index())
}

fn fire(sim: &mut Simulation, id: u64, timer: Timer) -> Result<(), SimError> {
    sim.fire_timer(NodeId(id), timer)?
        .map_err(|e| sim.fail(format!("n{id}: {timer:?}: {e}")))?;
    sim.settle()
}

/// The Figure 8 schedule of `tests/sim_scenarios.rs` (`commit_rules_for_new_term`), traced.
fn figure8(seed: u64) -> Result<(Header, Vec<Step>), SimError> {
    let mut config = SimConfig::new(5, seed).manual_timers().traced();
    config.pre_vote = false;
    config.max_entries_per_append = 1;
    let mut sim = Simulation::new(config);
    fire(&mut sim, 1, Timer::Election)?;
    // n1 takes two entries that reach only n2.
    for p in 3..=5 {
        sim.cut_link(NodeId(1), NodeId(p));
        sim.cut_link(NodeId(p), NodeId(1));
    }
    for v in 1..=2 {
        let taken = sim.start(NodeId(1), set(v))?.is_some();
        ensure(&sim, taken, "n1 leads")?;
        sim.settle()?;
    }
    // n1 crashes; n2 wins without n5 and spreads the old entries to n3 and n4, then is cut
    // off before its own no-op reaches a majority.
    sim.heal();
    sim.crash(NodeId(1));
    sim.cut_link(NodeId(2), NodeId(5));
    sim.fire_timer(NodeId(2), Timer::Election)?
        .map_err(|e| sim.fail(format!("n2 cannot campaign: {e}")))?;
    let holds = |s: &Simulation, id: u64| {
        s.node(NodeId(id))
            .is_some_and(|n| n.log().last_index() >= 3)
    };
    let spread = sim.run_until(Duration::from_secs(5), |s| holds(s, 3) && holds(s, 4))?;
    ensure(&sim, spread, "n2 replicates the old entries")?;
    for p in 3..=5 {
        sim.cut_link(NodeId(2), NodeId(p));
    }
    sim.settle()?;
    // Figure 8 (c)/(d): the old entry (index 3) is on a majority, and not committed.
    ensure(
        &sim,
        commit_index(&sim, 2) == 1,
        "old-term entry not committed by counting",
    )?;
    sim.heal();
    fire(&mut sim, 2, Timer::Heartbeat)?;
    fire(&mut sim, 2, Timer::Heartbeat)?;
    // Figure 8 (e): with the new term's no-op on a majority, everything commits.
    ensure(
        &sim,
        commit_index(&sim, 2) == 4,
        "committed with the new-term entry",
    )?;
    Ok(sim.take_trace())
}

/// 6.824's TestBackup (`tests/sim_6824.rs`), traced.
fn backup(seed: u64) -> Result<(Header, Vec<Step>), SimError> {
    let n = 5;
    let id = |i: u64| NodeId(i % n + 1);
    let mut sim = Simulation::new(SimConfig::new(n, seed).traced());
    let mut rng = refraft::sim::SimRng::new(seed ^ 0xBAC);
    let ten = Duration::from_secs(10);
    sim.commit_command(set(rng.below(10_000)), ten)?;
    let leader1 = sim.check_one_leader()?;
    for k in 2..=4 {
        sim.disconnect(id(leader1.0 + k - 1));
    }
    for _ in 0..50 {
        sim.start(leader1, set(rng.below(10_000)))?;
    }
    sim.run_for(Duration::from_millis(150))?;
    sim.disconnect(leader1);
    sim.disconnect(id(leader1.0));
    for k in 2..=4 {
        sim.connect(id(leader1.0 + k - 1));
    }
    for _ in 0..50 {
        sim.commit_command(set(rng.below(10_000)), ten)?;
    }
    let leader2 = sim.check_one_leader()?;
    let other = (0..n)
        .map(|k| id(leader1.0 + 1 + k))
        .find(|&p| p != leader2 && !sim.is_disconnected(p))
        .ok_or_else(|| sim.fail("three are connected"))?;
    sim.disconnect(other);
    for _ in 0..50 {
        sim.start(leader2, set(rng.below(10_000)))?;
    }
    sim.run_for(Duration::from_millis(150))?;
    for p in sim.ids() {
        sim.disconnect(p);
    }
    sim.connect(leader1);
    sim.connect(id(leader1.0));
    sim.connect(other);
    for _ in 0..50 {
        sim.commit_command(set(rng.below(10_000)), ten)?;
    }
    for p in sim.ids() {
        sim.connect(p);
    }
    let last = sim.commit_command(set(rng.below(10_000)), ten)?;
    // The first leader's 50 uncommitted entries were overwritten: the 102 commands committed
    // and the leaders' no-ops are applied by every server.
    sim.wait_applied(last, 5, Duration::from_secs(2))?;
    ensure(&sim, last >= 102, "every committed command in the log")?;
    Ok(sim.take_trace())
}

/// One-shot reads at a leader between writes, at a follower, and at the next leader.
fn reads(seed: u64, lease: bool) -> Result<(Header, Vec<Step>), SimError> {
    let mut config = SimConfig::new(3, seed).traced();
    if lease {
        config.check_quorum = true;
        config.read_mode = ReadMode::Lease;
    }
    let mut sim = Simulation::new(config);
    let ten = Duration::from_secs(10);
    sim.commit_command(set(1), ten)?;
    let mut served = 0;
    for round in 0..2 {
        let leader = sim.check_one_leader()?;
        for v in 2..=5 {
            let read = sim.read(leader, "x")?;
            sim.start(leader, set(v))?;
            sim.run_for(Duration::from_millis(120))?;
            served += usize::from(sim.read_answer(read).is_some_and(|a| a.read_index > 0));
        }
        let follower = sim.ids().into_iter().find(|&p| p != leader);
        let follower = follower.ok_or_else(|| sim.fail("three servers"))?;
        sim.read(follower, "x")?;
        sim.run_for(Duration::from_millis(50))?;
        if round == 0 {
            sim.crash(leader);
            sim.run_for(Duration::from_secs(1))?;
            sim.restart(leader)?;
            sim.commit_command(set(6), ten)?;
        }
    }
    ensure(&sim, served == 8, "every read at a leader served")?;
    Ok(sim.take_trace())
}

/// `sim::churn`, for `--rounds` rounds or, with `--steps N`, in batches of 50 rounds until
/// the trace has N steps.
fn churn_trace(options: &Options) -> Result<(Header, Vec<Step>), SimError> {
    let network = if options.unreliable {
        NetworkConfig::unreliable()
    } else {
        NetworkConfig::reliable()
    };
    let mut sim = Simulation::new(SimConfig::new(5, options.seed).network(network).traced());
    let (header, mut steps) = match options.steps {
        None => {
            churn(&mut sim, options.seed, options.rounds, options.unreliable)?;
            sim.take_trace()
        }
        Some(wanted) => {
            let mut steps = Vec::new();
            let mut batch = 0;
            while steps.len() < wanted {
                churn(&mut sim, options.seed + batch, 50, options.unreliable)?;
                steps.extend(sim.take_trace().1);
                batch += 1;
            }
            (sim.take_trace().0, steps)
        }
    };
    ensure(
        &sim,
        sim.checker().elections().len() >= 2,
        "several leaders",
    )?;
    if let Some(wanted) = options.steps {
        steps.truncate(wanted);
    }
    Ok((header, steps))
}
