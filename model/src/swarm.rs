//! Swarm search (Groce et al., "Swarm Testing", ISSTA 2012) over stateright's random walks:
//! every walk draws its own bounds and biases, so that across walks the search reaches schedules
//! that one fixed random distribution almost never produces (one server that never times out
//! while two others fight over four terms; a run without crashes next to one full of them).
//! Seeded and deterministic with one checker thread: stateright gives each walk a seed drawn
//! from the run's seed, and everything a walk draws comes from that seed.
//!
//! Per walk, [`Swarm`] draws:
//! - the delivery bias: one choice in `2..=max_other_one_in` goes to a non-delivery action
//!   (as [`crate::chooser::DeliveryFirst`]);
//! - which servers' election timers may fire (a non-empty subset);
//! - whether servers may crash, and whether messages may be lost (on a lossy network);
//! - an election budget: election timeouts stop once this many candidacies happened in the
//!   walk's state (between 1 and the `max_elections` bound, if any).
//!
//! A restriction never blocks the walk: when it leaves no action, any enabled action is taken.
//! The walks stay walks of the model (the chooser only picks among enabled actions), so every
//! path found is a real path from the initial state.
//!
//! ```
//! use refraft_model::swarm::Swarm;
//! use refraft_model::{RaftModel, Settings};
//! use stateright::{Checker, Model};
//! let settings = Settings { max_term: 2, max_crashes: 0, ..Settings::default() };
//! let swarm = Swarm::new(&settings);
//! let checker = RaftModel::new(settings).unwrap().checker()
//!     .target_max_depth(30).target_state_count(2_000)
//!     .spawn_simulation(1, swarm.clone()).join();
//! checker.assert_no_discovery("election safety");
//! assert!(swarm.walks() > 1);
//! ```

use crate::actor::ModelTimer;
use crate::model::{Action, RaftModel, State};
use crate::settings::Settings;
use refraft::Timer;
use stateright::actor::ActorModelAction;
use stateright::Chooser;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// The swarm chooser: per-walk bounds and biases (see the module documentation).
#[derive(Clone, Debug)]
pub struct Swarm {
    /// Number of servers (actor ids `0..servers`).
    pub servers: usize,
    /// The largest delivery bias drawn: one choice in up to this many is not a delivery.
    pub max_other_one_in: u64,
    /// The largest election budget drawn (`max_elections`, or four).
    pub max_elections: usize,
    walks: Arc<AtomicUsize>,
}

impl Swarm {
    /// The swarm for the model of `settings`.
    pub fn new(settings: &Settings) -> Self {
        Swarm {
            servers: settings.servers,
            max_other_one_in: 16,
            max_elections: settings.max_elections.unwrap_or(4).max(1),
            walks: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// How many walks were started so far (shared by the clones the checker's threads hold).
    pub fn walks(&self) -> usize {
        self.walks.load(Ordering::Relaxed)
    }
}

/// One walk's draw and its random state (SplitMix64).
#[derive(Clone, Debug)]
pub struct Walk {
    rng: u64,
    /// One choice in this many goes to a non-delivery action.
    pub other_one_in: u64,
    /// Bit `i`: server `i`'s election timer may fire.
    pub may_time_out: u64,
    /// Whether servers may crash in this walk.
    pub crashes: bool,
    /// Whether messages may be lost in this walk (lossy networks).
    pub drops: bool,
    /// Election timeouts stop once the servers' candidacies sum to this.
    pub elections: usize,
}

impl Walk {
    fn next(&mut self) -> u64 {
        self.rng = self.rng.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    /// Whether this walk lets `action` be chosen (before the fallback to any action).
    fn allows(&self, state: &State, action: &Action) -> bool {
        match action {
            ActorModelAction::Timeout(id, ModelTimer::Server(Timer::Election)) => {
                let me = usize::from(*id);
                let candidacies: usize = state
                    .actor_states
                    .iter()
                    .filter_map(|a| a.server())
                    .map(|s| s.ghost.candidacies)
                    .sum();
                self.may_time_out & (1 << me) != 0 && candidacies < self.elections
            }
            ActorModelAction::Crash(_) => self.crashes,
            ActorModelAction::Drop(_) => self.drops,
            _ => true,
        }
    }
}

impl Chooser<RaftModel> for Swarm {
    type State = Walk;

    fn new_state(&self, seed: u64) -> Walk {
        self.walks.fetch_add(1, Ordering::Relaxed);
        let mut walk = Walk {
            rng: seed,
            other_one_in: 2,
            may_time_out: 0,
            crashes: false,
            drops: false,
            elections: 1,
        };
        walk.other_one_in = 2 + walk.below(self.max_other_one_in.saturating_sub(1));
        let all = (1u64 << self.servers.min(63)) - 1;
        walk.may_time_out = 1 + walk.below(all);
        walk.crashes = walk.below(2) == 0;
        walk.drops = walk.below(2) == 0;
        walk.elections = 1 + walk.below(self.max_elections as u64) as usize;
        walk
    }

    fn choose_initial_state(&self, walk: &mut Walk, initial: &[State]) -> usize {
        walk.below(initial.len() as u64) as usize
    }

    fn choose_action(&self, walk: &mut Walk, current: &State, actions: &[Action]) -> usize {
        let (deliveries, others): (Vec<usize>, Vec<usize>) = (0..actions.len())
            .filter(|&i| walk.allows(current, &actions[i]))
            .partition(|&i| matches!(actions[i], ActorModelAction::Deliver { .. }));
        if deliveries.is_empty() && others.is_empty() {
            return walk.below(actions.len() as u64) as usize;
        }
        let pick_other =
            deliveries.is_empty() || (!others.is_empty() && walk.below(walk.other_one_in) == 0);
        let group = if pick_other { &others } else { &deliveries };
        group[walk.below(group.len() as u64) as usize]
    }
}
