//! A biased chooser for random walks: deliveries are preferred over timeouts, crashes and
//! losses, so that walks reach deep protocol scenarios (an election, a write, a read at a
//! deposed leader) instead of ending in timer churn. Deterministic for a seed.

use crate::model::{Action, RaftModel, State};
use stateright::actor::ActorModelAction;
use stateright::Chooser;

/// Picks a delivery with probability `1 - 1/other_one_in`, otherwise any other action
/// (timeouts, crashes, drops), uniformly within each group.
///
/// ```
/// use refraft_model::chooser::DeliveryFirst;
/// let chooser = DeliveryFirst { other_one_in: 6 };
/// assert_eq!(chooser.other_one_in, 6);
/// ```
#[derive(Clone, Copy, Debug)]
pub struct DeliveryFirst {
    /// One choice in this many goes to a non-delivery action (when both kinds are enabled).
    pub other_one_in: u64,
}

/// The chooser's random state (SplitMix64).
pub struct DeliveryFirstState(u64);

impl DeliveryFirstState {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

impl Chooser<RaftModel> for DeliveryFirst {
    type State = DeliveryFirstState;

    fn new_state(&self, seed: u64) -> DeliveryFirstState {
        DeliveryFirstState(seed)
    }

    fn choose_initial_state(&self, state: &mut DeliveryFirstState, initial: &[State]) -> usize {
        state.below(initial.len())
    }

    fn choose_action(
        &self,
        state: &mut DeliveryFirstState,
        _current: &State,
        actions: &[Action],
    ) -> usize {
        let (deliveries, others): (Vec<usize>, Vec<usize>) = (0..actions.len())
            .partition(|&i| matches!(actions[i], ActorModelAction::Deliver { .. }));
        let pick_other = deliveries.is_empty()
            || (!others.is_empty() && state.below(self.other_one_in as usize) == 0);
        let group = if pick_other { &others } else { &deliveries };
        group[state.below(group.len())]
    }
}
