//! The simulator's only source of randomness: SplitMix64 (Steele, Lea and Flood, "Fast
//! Splittable Pseudorandom Number Generators", 2014), seeded by the caller. The same seed gives
//! the same sequence on every platform, which is what makes a failing run replay exactly.
//!
//! The core never draws random numbers; only drivers such as the simulator do (§5.2's randomized
//! election timeout is drawn here, from the range the node names).

use std::ops::Range;
use std::time::Duration;

/// A SplitMix64 generator: a 64-bit counter advanced by the golden-ratio increment, each output
/// passed through a fixed bit mixer. Small, fast, and good enough for simulation choices.
///
/// ```
/// use refraft::sim::SimRng;
/// let mut a = SimRng::new(7);
/// let mut b = SimRng::new(7);
/// assert_eq!(a.next_u64(), b.next_u64());
/// assert!(a.below(10) < 10);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SimRng {
    state: u64,
}

impl SimRng {
    /// A generator seeded with `seed`.
    pub fn new(seed: u64) -> Self {
        SimRng { state: seed }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (0 when `n` is 0). Uses the widening multiply, whose bias is at most
    /// `n / 2^64`: negligible for simulation choices.
    pub fn below(&mut self, n: u64) -> u64 {
        ((self.next_u64() as u128 * n as u128) >> 64) as u64
    }

    /// True with probability `per_mille / 1000`.
    pub fn chance(&mut self, per_mille: u32) -> bool {
        self.below(1000) < per_mille as u64
    }

    /// A duration drawn uniformly from `range` at nanosecond grain (the start when it is empty).
    pub fn duration(&mut self, range: &Range<Duration>) -> Duration {
        let lo = range.start.as_nanos() as u64;
        let hi = range.end.as_nanos() as u64;
        if hi <= lo {
            return range.start;
        }
        Duration::from_nanos(lo + self.below(hi - lo))
    }

    /// A number in `range` (the start when it is empty).
    pub fn in_range(&mut self, range: Range<u64>) -> u64 {
        if range.end <= range.start {
            return range.start;
        }
        range.start + self.below(range.end - range.start)
    }
}
