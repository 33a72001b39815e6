//! The runtime's clocks for the node's two timers. The election timeout is drawn at random
//! from the range the node names (§5.2: randomized timeouts make split votes rare); the core
//! never draws it, so it stays deterministic.

use refraft::Timer;
use std::ops::Range;
use std::time::{Duration, Instant};

/// Deadlines of the armed timers.
///
/// ```
/// use refraft::Timer;
/// use refraft_server::timers::Timers;
/// use std::time::{Duration, Instant};
/// let mut timers = Timers::new(7);
/// let start = Instant::now();
/// timers.set(Timer::Heartbeat, Duration::from_millis(5)..Duration::from_millis(5), start);
/// assert!(timers.take_due(start).is_empty());
/// assert_eq!(timers.take_due(start + Duration::from_millis(5)), vec![Timer::Heartbeat]);
/// ```
#[derive(Debug)]
pub struct Timers {
    /// One deadline per timer of `ALL`, in that order.
    deadlines: [Option<Instant>; 4],
    rng: u64,
}

/// Every timer the core arms, in the order `take_due` reports them.
const ALL: [Timer; 4] = [
    Timer::Election,
    Timer::Heartbeat,
    Timer::QuorumCheck,
    Timer::TransferTimeout,
];

impl Timers {
    /// No timer armed; `seed` feeds the election-timeout draws.
    pub fn new(seed: u64) -> Self {
        Timers {
            deadlines: [None; 4],
            rng: seed | 1,
        }
    }

    fn slot(&mut self, timer: Timer) -> &mut Option<Instant> {
        let slot = match timer {
            Timer::Election => 0,
            Timer::Heartbeat => 1,
            Timer::QuorumCheck => 2,
            Timer::TransferTimeout => 3,
        };
        &mut self.deadlines[slot]
    }

    /// Arms `timer` to fire after a delay drawn uniformly from `after`.
    pub fn set(&mut self, timer: Timer, after: Range<Duration>, now: Instant) {
        let span = after.end.saturating_sub(after.start).as_nanos() as u64;
        let delay =
            after.start + Duration::from_nanos(if span == 0 { 0 } else { self.next() % span });
        *self.slot(timer) = Some(now + delay);
    }

    /// Disarms `timer`.
    pub fn cancel(&mut self, timer: Timer) {
        *self.slot(timer) = None;
    }

    /// How long until the next deadline (`max` if none is armed).
    pub fn until_next(&self, now: Instant, max: Duration) -> Duration {
        self.deadlines
            .into_iter()
            .flatten()
            .map(|d| d.saturating_duration_since(now))
            .min()
            .unwrap_or(max)
            .min(max)
    }

    /// The timers due at `now`, disarmed.
    pub fn take_due(&mut self, now: Instant) -> Vec<Timer> {
        let mut due = Vec::new();
        for timer in ALL {
            let slot = self.slot(timer);
            if slot.is_some_and(|d| d <= now) {
                *slot = None;
                due.push(timer);
            }
        }
        due
    }

    /// xorshift64*: enough spread for timeouts.
    fn next(&mut self) -> u64 {
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        self.rng.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}
