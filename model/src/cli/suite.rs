//! `refraft-model check` with no flags: the main job, a suite of configurations each explored
//! to full closure (DFS with server symmetry), ending with one verdict table. Every entry is a
//! command line of `check`, parsed by the same flag definitions, so each row can be re-run
//! alone by copying its flags (`refraft-model check --threads 2 FLAGS`).

use crate::cli::progress;
use crate::say;
use refraft_model::{RaftModel, Settings};
use stateright::{Checker, Expectation, Model};

/// One configuration of the suite.
pub struct Entry {
    /// The column name in the table.
    pub name: &'static str,
    /// Its `check` flags.
    pub flags: &'static [&'static str],
    /// What it is for (printed before it runs).
    pub why: &'static str,
}

/// The suite, in the order it runs (README, "The main job").
pub const SUITE: &[Entry] = &[
    Entry {
        name: "default",
        flags: &[],
        why: "3 servers, no clients, one server down at a time, one restart, two elections",
    },
    Entry {
        name: "kv-pipelined",
        flags: &[
            "--clients",
            "1",
            "--requests",
            "3",
            "--max-term",
            "1",
            "--max-elections",
            "1",
            "--max-crashes",
            "0",
            "--network",
            "reordering",
            "--max-in-flight",
            "6",
        ],
        why: "3 servers, one client: SET x=1, DEL x, GET x through a pipelining leader",
    },
    Entry {
        name: "kv-duplicating",
        flags: &[
            "--servers",
            "2",
            "--clients",
            "1",
            "--requests",
            "3",
            "--max-term",
            "1",
            "--max-crashes",
            "0",
        ],
        why: "2 servers, one client: SET x=1, DEL x, GET x on a network that re-delivers every request (a SET applied twice after the DEL shows in the GET)",
    },
    Entry {
        name: "liveness",
        flags: &["--stable", "--clients", "1", "--max-in-flight", "16"],
        why: "the stable scheduler: a leader is elected and every request is answered on every acyclic run",
    },
];

/// The outcome of one configuration.
pub struct Row {
    /// The entry's name.
    pub name: &'static str,
    /// Unique states explored.
    pub unique: usize,
    /// Whether the search ended by exhausting the state space.
    pub closed: bool,
    /// Wall-clock seconds.
    pub seconds: f64,
    /// Property name, its expectation and whether it was discovered (violated, or reached).
    pub verdicts: Vec<(&'static str, Expectation, bool)>,
}

impl Row {
    /// Whether the configuration passed: closed, every "always" and "eventually" property
    /// holds, every "sometimes" property reached.
    pub fn passed(&self) -> bool {
        self.closed
            && self
                .verdicts
                .iter()
                .all(|(_, e, found)| *found == (*e == Expectation::Sometimes))
    }
}

/// The verdict word of a property.
fn verdict(expectation: &Expectation, found: bool) -> &'static str {
    match (expectation, found) {
        (Expectation::Always, false) => "holds",
        (Expectation::Always, true) => "VIOLATED",
        (Expectation::Sometimes, true) => "reached",
        (Expectation::Sometimes, false) => "NOT REACHED",
        (Expectation::Eventually, false) => "holds",
        (Expectation::Eventually, true) => "VIOLATED",
    }
}

/// Runs `entries` (names of [`SUITE`], or all), each with `settings_of` and `threads` checker
/// threads, and prints the verdict table. Returns whether every configuration passed.
pub fn run(
    entries: &[String],
    threads: usize,
    settings_of: impl Fn(&[&str]) -> Result<Settings, String>,
) -> Result<bool, String> {
    let chosen: Vec<&Entry> = if entries.is_empty() {
        SUITE.iter().collect()
    } else {
        entries
            .iter()
            .map(|n| {
                SUITE.iter().find(|e| e.name == n).ok_or_else(|| {
                    let known: Vec<_> = SUITE.iter().map(|e| e.name).collect();
                    format!("unknown suite entry {n:?}; known: {}", known.join(", "))
                })
            })
            .collect::<Result<_, _>>()?
    };
    let settings: Vec<Settings> = chosen
        .iter()
        .map(|e| settings_of(e.flags))
        .collect::<Result<_, _>>()?;
    say!(
        "Suite: {} configurations, each to full closure (DFS + server symmetry, threads={threads})",
        chosen.len()
    );
    let mut rows = Vec::new();
    for (entry, settings) in chosen.iter().zip(settings) {
        say!(
            "\n== {}: {} (check --threads {threads} {})",
            entry.name,
            entry.why,
            entry.flags.join(" ")
        );
        rows.push(run_one(entry, settings, threads)?);
    }
    say!("\n{}", table(&rows));
    let passed = rows.iter().all(Row::passed);
    say!(
        "Suite: {}",
        if passed {
            "every configuration closed, every property holds or is reached"
        } else {
            "FAILED (see the table)"
        }
    );
    Ok(passed)
}

fn run_one(entry: &Entry, settings: Settings, threads: usize) -> Result<Row, String> {
    let stable = settings.stable;
    let model = RaftModel::new(settings)?
        .with_stutter_pruning(!stable)
        .with_reached_latch();
    let checker = model
        .checker()
        .threads(threads)
        .symmetry_fn(refraft_model::symmetry::class_key)
        .spawn_dfs();
    let flags: Vec<String> = entry.flags.iter().map(|f| f.to_string()).collect();
    let (checker, duration) = progress::run(checker, &flags);
    let discoveries = checker.discoveries();
    let verdicts = checker
        .model()
        .properties()
        .into_iter()
        .map(|p| {
            (
                p.name,
                p.expectation.clone(),
                discoveries.contains_key(p.name),
            )
        })
        .collect();
    let row = Row {
        name: entry.name,
        unique: checker.unique_state_count(),
        closed: checker.is_done(),
        seconds: duration.as_secs_f64(),
        verdicts,
    };
    say!(
        "{}: states={} unique={} depth={} seconds={:.1}",
        entry.name,
        checker.state_count(),
        row.unique,
        checker.max_depth(),
        row.seconds
    );
    Ok(row)
}

/// The verdict table: one column per configuration; rows for the unique states, closure and
/// time, then one row per property (`—` where a configuration does not check it).
pub fn table(rows: &[Row]) -> String {
    let mut names: Vec<(&str, Expectation)> = Vec::new();
    for row in rows {
        for (name, e, _) in &row.verdicts {
            if !names.iter().any(|(n, _)| n == name) {
                names.push((name, e.clone()));
            }
        }
    }
    let mut lines: Vec<Vec<String>> = vec![std::iter::once("configuration".to_string())
        .chain(rows.iter().map(|r| r.name.to_string()))
        .collect()];
    let mut add = |label: String, cell: &dyn Fn(&Row) -> String| {
        lines.push(
            std::iter::once(label)
                .chain(rows.iter().map(cell))
                .collect(),
        );
    };
    add("unique states".into(), &|r| r.unique.to_string());
    add("closed".into(), &|r| {
        if r.closed { "yes" } else { "NO" }.to_string()
    });
    add("seconds".into(), &|r| format!("{:.1}", r.seconds));
    for (name, e) in &names {
        let label = format!("{} {name}", format!("{e:?}").to_lowercase());
        add(label, &|r| {
            r.verdicts
                .iter()
                .find(|(n, _, _)| n == name)
                .map_or("—".to_string(), |(_, e, found)| {
                    verdict(e, *found).to_string()
                })
        });
    }
    let columns = lines[0].len();
    let width: Vec<usize> = (0..columns)
        .map(|c| {
            lines
                .iter()
                .map(|l| l[c].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for (i, line) in lines.iter().enumerate() {
        let cells: Vec<String> = line
            .iter()
            .zip(&width)
            .map(|(cell, w)| format!("{cell:<w$}"))
            .collect();
        out.push_str(&format!("| {} |\n", cells.join(" | ")));
        if i == 0 {
            let rule: Vec<String> = width.iter().map(|w| "-".repeat(*w)).collect();
            out.push_str(&format!("|-{}-|\n", rule.join("-|-")));
        }
    }
    out
}
