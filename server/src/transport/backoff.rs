//! The reconnect schedule of a peer link: after each failed connection attempt the sender waits
//! a delay that starts at a minimum and doubles up to a cap; a successful connection starts the
//! schedule over. A peer that is down therefore costs a few attempts per second at most, and a
//! peer that comes back is reached within one capped delay.

use std::time::Duration;

/// Exponential backoff between connection attempts.
///
/// ```
/// use refraft_server::transport::backoff::Backoff;
/// use std::time::Duration;
/// let ms = Duration::from_millis;
/// let mut b = Backoff::new(ms(10), ms(50));
/// let waits: Vec<_> = (0..5).map(|_| b.failed()).collect();
/// assert_eq!(waits, [ms(10), ms(20), ms(40), ms(50), ms(50)]);
/// b.connected();
/// assert_eq!(b.failed(), ms(10));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Backoff {
    min: Duration,
    max: Duration,
    next: Duration,
    failures: u64,
}

impl Backoff {
    /// A schedule from `min` doubling up to `max` (a `max` below `min` is taken as `min`).
    pub fn new(min: Duration, max: Duration) -> Self {
        Backoff {
            min,
            max: max.max(min),
            next: min,
            failures: 0,
        }
    }

    /// Records a failed attempt; returns how long to wait before the next one.
    pub fn failed(&mut self) -> Duration {
        let wait = self.next;
        self.next = (self.next * 2).min(self.max);
        self.failures += 1;
        wait
    }

    /// Records a successful connection: the next failure waits the minimum again.
    pub fn connected(&mut self) {
        self.next = self.min;
        self.failures = 0;
    }

    /// Failed attempts since the last successful connection.
    pub fn failures(&self) -> u64 {
        self.failures
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_from_the_minimum_up_to_the_cap_and_restart_after_a_connection() {
        let ms = Duration::from_millis;
        let mut b = Backoff::new(ms(10), ms(500));
        let waits: Vec<_> = (0..9).map(|_| b.failed().as_millis()).collect();
        assert_eq!(waits, [10, 20, 40, 80, 160, 320, 500, 500, 500]);
        assert_eq!(b.failures(), 9);
        b.connected();
        assert_eq!(b.failures(), 0);
        assert_eq!(b.failed(), ms(10));
        assert_eq!(b.failed(), ms(20));
    }

    #[test]
    fn a_cap_below_the_minimum_is_the_minimum_and_a_zero_minimum_stays_zero() {
        let ms = Duration::from_millis;
        let mut b = Backoff::new(ms(30), ms(5));
        assert_eq!([b.failed(), b.failed()], [ms(30), ms(30)]);
        let mut z = Backoff::new(ms(0), ms(100));
        assert_eq!([z.failed(), z.failed()], [ms(0), ms(0)]);
    }
}
