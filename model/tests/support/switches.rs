//! The search behind the rule-switch tests (`rule_switches.rs`, `read_rule_switches.rs`): with
//! one rule switched off, search until a property is violated, keep the path as JSON, replay it
//! through the core, and show that the same steps do not violate the property with the rule kept.

use refraft::Rule;
use refraft_model::chooser::DeliveryFirst;
use refraft_model::seeded::Prefix;
use refraft_model::swarm::Swarm;
use refraft_model::{Counterexample, RaftModel, Settings};
use stateright::{Checker, HasDiscoveries, Model};

/// How to search.
pub enum Search {
    /// Breadth-first: the shortest counterexample.
    Bfs,
    /// Random walks that prefer deliveries (one choice in `.1` is another action), depth 60,
    /// as `refraft-model simulate --delivery-first N --depth 60 --seed S` runs them.
    Biased(u64, u64),
    /// Seeded mid-run BFS on 2 threads: the end state of the prefix
    /// `tests/prefixes/<file>` is the only initial state (`check --bfs --from-prefix`). The
    /// prefix is asserted rule-neutral (a correct run with the rule kept, no property failing
    /// on it); the path kept is the full one, prefix included.
    Seeded(&'static str),
    /// Swarm search with this seed, one thread (deterministic), depth 80, as
    /// `refraft-model simulate --swarm --depth 80 --seed S` runs it.
    Swarm(u64),
}

/// The prefix `tests/prefixes/<file>`, resolved against the model of `settings`, and checked
/// to be rule-neutral.
pub fn prefix(file: &str, settings: &Settings) -> Prefix {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/prefixes")
        .join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{file}: {e}"));
    let model = RaftModel::new(settings.clone()).unwrap();
    let prefix = Prefix::parse(&model, &text, None).unwrap_or_else(|e| panic!("{file}: {e}"));
    prefix
        .check_neutral(settings)
        .unwrap_or_else(|e| panic!("{file}: {e}"));
    prefix
}

/// Searches `settings` with rule `rule` off until `property` is violated; returns the path as a
/// replayable counterexample.
pub fn counterexample(
    rule: Rule,
    settings: Settings,
    property: &'static str,
    search: Search,
) -> Counterexample {
    counterexample_kept_as(&rule.to_string(), rule, settings, property, search)
}

/// [`counterexample`], kept (with `REFRAFT_WRITE_COUNTEREXAMPLES`) as `tests/counterexamples/STEM.json`.
pub fn counterexample_kept_as(
    stem: &str,
    rule: Rule,
    settings: Settings,
    property: &'static str,
    search: Search,
) -> Counterexample {
    let settings = Settings {
        broken_rule: Some(rule),
        ..settings
    };
    let model = RaftModel::new(settings.clone()).unwrap();
    let stop = HasDiscoveries::AnyOf([property].into_iter().collect());
    let start = std::time::Instant::now();
    let full = |path: Option<stateright::Path<_, _>>| {
        path.map(|p| Counterexample::from_path(&settings, property, p))
    };
    let (cx, states) = match search {
        Search::Bfs => {
            let c = model
                .checker()
                .threads(2)
                .finish_when(stop)
                .spawn_bfs()
                .join();
            (full(c.discovery(property)), c.unique_state_count())
        }
        Search::Swarm(seed) => {
            let swarm = Swarm::new(&settings);
            let c = model
                .checker()
                .finish_when(stop)
                .target_max_depth(80)
                .target_state_count(50_000_000)
                .spawn_simulation(seed, swarm.clone())
                .join();
            eprintln!("{rule}: swarm seed {seed}, {} walks", swarm.walks());
            (full(c.discovery(property)), c.unique_state_count())
        }
        Search::Seeded(file) => {
            let prefix = prefix(file, &settings);
            let c = prefix
                .seeded_model(settings.clone())
                .unwrap()
                .checker()
                .threads(2)
                .finish_when(stop)
                .spawn_bfs()
                .join();
            let cx = c
                .discovery(property)
                .map(|p| prefix.full_counterexample(&settings, property, p));
            (cx, c.unique_state_count())
        }
        Search::Biased(seed, other_one_in) => {
            let c = model
                .checker()
                .finish_when(stop)
                .target_max_depth(60)
                .target_state_count(20_000_000)
                .spawn_simulation(seed, DeliveryFirst { other_one_in })
                .join();
            (full(c.discovery(property)), c.unique_state_count())
        }
    };
    let cx = cx
        .unwrap_or_else(|| panic!("{rule}: no counterexample to {property:?} in {states} states"));
    // Shown with `--nocapture`: the README's table quotes these.
    eprintln!(
        "{rule}: {property:?} violated in {} steps, {states} states, {:.1} s",
        cx.steps.len(),
        start.elapsed().as_secs_f64()
    );
    // `REFRAFT_WRITE_COUNTEREXAMPLES=1 cargo test --release -p refraft-model --test
    // rule_switches` (or `--test read_rule_switches`) refreshes the kept paths that `counterexamples.rs` replays.
    if std::env::var_os("REFRAFT_WRITE_COUNTEREXAMPLES").is_some() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/counterexamples");
        std::fs::write(dir.join(format!("{stem}.json")), cx.to_json()).unwrap();
    }
    // The JSON form replays to the same violation.
    let again = Counterexample::from_json(&cx.to_json()).unwrap();
    assert_eq!(
        again.reproduces(),
        Ok(true),
        "{rule}: the written path does not replay"
    );
    // With the rule kept, the same steps do not violate the property.
    let kept = Counterexample {
        settings: Settings {
            broken_rule: None,
            ..settings
        },
        ..cx.clone()
    };
    assert_ne!(
        kept.reproduces(),
        Ok(true),
        "{rule}: the path violates {property:?} even with the rule kept"
    );
    cx
}

/// `servers` servers and `clients` clients of one request each, up to term `max_term`, no crashes,
/// no periodic heartbeats.
pub fn small(servers: usize, clients: usize, max_term: u64) -> Settings {
    Settings {
        servers,
        clients,
        requests: 1,
        max_term,
        max_crashes: 0,
        heartbeats: false,
        ..Settings::default()
    }
}
