//! Leader churn, the 6.824 "Figure 8" pattern as a reusable driver: every round each server
//! that thinks it leads takes a command, time passes, the leader is often crashed (or, on an
//! unreliable network, cut off) right after taking it, and down servers come back. Used by the
//! trace tests and by `examples/sim_trace.rs`.

use super::{SimError, SimNode, SimRng, Simulation};
use crate::ids::NodeId;
use crate::kv::KvCommand;
use std::time::Duration;

/// Runs `rounds` rounds of churn on `sim` (at most two servers down or cut off at once),
/// then brings every server back and lets the cluster settle for 3 s of simulated time.
/// `unreliable` cuts servers off instead of crashing them. Deterministic for a seed.
///
/// ```
/// use refraft::sim::{churn, SimConfig, Simulation};
/// let mut sim = Simulation::new(SimConfig::new(5, 1));
/// churn(&mut sim, 1, 20, false).unwrap();
/// assert!(sim.checker().elections().len() >= 2);
/// ```
pub fn churn<N: SimNode>(
    sim: &mut Simulation<N>,
    seed: u64,
    rounds: u64,
    unreliable: bool,
) -> Result<(), SimError> {
    let mut rng = SimRng::new(seed ^ 0x7ace);
    let mut down: Vec<NodeId> = Vec::new();
    for round in 0..rounds {
        let mut leader = None;
        for p in sim.ids() {
            let command = KvCommand::Set {
                key: format!("k{}", round % 3),
                value: rng.below(10_000).to_string(),
            };
            if sim.start(p, command)?.is_some() {
                leader = Some(p);
            }
        }
        sim.run_for(Duration::from_millis(rng.below(300)))?;
        if let Some(l) = leader {
            if down.len() < 2 && rng.below(2) == 0 {
                if unreliable {
                    sim.disconnect(l);
                } else {
                    sim.crash(l);
                }
                down.push(l);
            }
        }
        if down.len() == 2 || (!down.is_empty() && rng.below(3) == 0) {
            let s = down.remove(rng.below(down.len() as u64) as usize);
            bring_back(sim, s, unreliable)?;
        }
    }
    for s in down {
        bring_back(sim, s, unreliable)?;
    }
    sim.run_for(Duration::from_secs(3))
}

fn bring_back<N: SimNode>(
    sim: &mut Simulation<N>,
    s: NodeId,
    unreliable: bool,
) -> Result<(), SimError> {
    if unreliable {
        sim.connect(s);
        Ok(())
    } else {
        sim.restart(s)
    }
}
