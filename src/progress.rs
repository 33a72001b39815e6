//! What a leader knows of one follower, and how much it may send it at once: flow control
//! (dissertation §10.2, "batching and pipelining"; raft-rs and etcd call the two states Probe and
//! Replicate).
//!
//! - **Probe**: the leader does not know where the follower's log matches its own. It sends one
//!   AppendEntries from `next_index` and waits for the answer before sending another (a heartbeat
//!   re-sends it, in case it was lost).
//! - **Replicate**: the follower acknowledged an index, so the leader knows where its log
//!   matches. It sends new entries optimistically: `next_index` advances when it sends, not when
//!   the follower answers, and up to `Config::max_in_flight_appends` AppendEntries may be
//!   unanswered at once. Each entry is then sent once per follower.
//!
//! A rejection means the optimistic guess failed (a lost or reordered request, or a follower
//! that restarted): the leader goes back to probing from the hint (§5.3).

use crate::config::{Config, Rule};
use crate::ids::Index;
use serde::{Deserialize, Serialize};

/// How a leader sends to one follower (dissertation §10.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Flow {
    /// Where the follower's log matches is unknown: one AppendEntries at a time.
    Probe,
    /// The follower matches through `match_index`: new entries are sent as they come, up to a
    /// window of unanswered AppendEntries.
    Replicate,
}

/// One AppendEntries sent and not yet answered: the entries after `prev_log_index` through
/// `last_index`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct InFlight {
    /// The request's `prev_log_index`.
    pub prev_log_index: Index,
    /// The last index the request carries (`prev_log_index` for an empty probe).
    pub last_index: Index,
}

/// What a leader knows of one follower (Figure 2, "volatile state on leaders"), with its flow
/// control state (dissertation §10.2).
///
/// ```
/// use refraft::{Flow, Progress};
/// let p = Progress::new(5);
/// assert_eq!((p.flow, p.next_index, p.match_index), (Flow::Probe, 5, 0));
/// assert!(p.may_send(8)); // a probe goes out when none is unanswered
/// assert!(p.check(4, 8).is_ok());
/// ```
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Progress {
    /// The index of the next entry to send to that server.
    pub next_index: Index,
    /// The highest index known to be replicated on that server. It only grows.
    pub match_index: Index,
    /// Probe or Replicate.
    pub flow: Flow,
    /// The AppendEntries sent with entries (or as a probe) and not yet answered, oldest first.
    /// Heartbeats in Replicate are not counted.
    pub in_flight: Vec<InFlight>,
}

impl Progress {
    /// A follower a new leader knows nothing of: probe from `next_index` (its last index + 1,
    /// §5.3), nothing matched.
    pub fn new(next_index: Index) -> Self {
        Progress {
            next_index,
            match_index: 0,
            flow: Flow::Probe,
            in_flight: Vec::new(),
        }
    }

    /// Whether another AppendEntries may go out now: in Probe only when none is unanswered; in
    /// Replicate while the window has room (dissertation §10.2).
    pub fn may_send(&self, window: usize) -> bool {
        match self.flow {
            Flow::Probe => self.in_flight.is_empty(),
            Flow::Replicate => self.in_flight.len() < window,
        }
    }

    /// Records a request sent with `prev_log_index` and entries through `last_index`. In
    /// Replicate `next_index` advances past them at once: the optimistic step of §10.2.
    pub(crate) fn record_send(
        &mut self,
        prev_log_index: Index,
        last_index: Index,
        config: &Config,
    ) {
        self.in_flight.push(InFlight {
            prev_log_index,
            last_index,
        });
        if self.flow == Flow::Replicate {
            // Dissertation §10.2: next_index moves past the entries actually sent, so it never
            // passes the leader's last index + 1 (Figure 2's initial value, the most it can be).
            self.next_index = if config.keeps(Rule::NextIndexBound) {
                last_index + 1
            } else {
                // Rule switched off: advance by a whole batch, whether it was full or not.
                prev_log_index + config.max_entries_per_append as Index + 1
            };
        }
    }

    /// A success through `match_index`; returns whether `match_index` grew.
    pub(crate) fn on_success(&mut self, match_index: Index) -> bool {
        // §5.3: matchIndex comes from what the follower acknowledged and never goes back (a
        // reordered, older acknowledgement changes nothing).
        let raised = match_index > self.match_index;
        self.match_index = self.match_index.max(match_index);
        match self.flow {
            // Dissertation §10.2: an answer that shows where the logs match ends the probe. A
            // stale answer to an earlier probe (neither raising match_index nor reaching the
            // probed index) changes nothing.
            Flow::Probe if raised || match_index + 1 >= self.next_index => {
                self.flow = Flow::Replicate;
                self.next_index = self.match_index + 1;
                self.in_flight.clear();
            }
            Flow::Probe => {}
            // Every request the follower has now acknowledged leaves the window.
            Flow::Replicate => {
                let matched = self.match_index;
                self.in_flight.retain(|f| f.last_index > matched);
                self.next_index = self.next_index.max(self.match_index + 1);
            }
        }
        raised
    }

    /// A rejection of `prev_log_index` that is not stale, with the leader's next guess `hinted`
    /// (§5.3, from the follower's hint).
    pub(crate) fn on_reject(&mut self, prev_log_index: Index, hinted: Index, config: &Config) {
        // §5.3: after a rejection, decrement nextIndex (to the hint) and retry — never below
        // what the follower acknowledged, never above the rejected index.
        self.next_index = hinted.min(prev_log_index).max(self.match_index + 1);
        if config.keeps(Rule::ProbeOnReject) {
            // Dissertation §10.2: the optimistic guess failed; what is still in flight was sent
            // from a wrong guess, so forget it and probe one request at a time.
            self.flow = Flow::Probe;
            self.in_flight.clear();
        }
    }

    /// A heartbeat is due. A probe may have been lost: allow it to be sent again.
    pub(crate) fn on_heartbeat(&mut self) {
        if self.flow == Flow::Probe {
            self.in_flight.clear();
        }
    }

    /// What must hold of every leader's progress (checked by the model on every state): `match
    /// < next <= last + 1`; the window bound (one in Probe); and in Replicate, the requests in
    /// flight form one chain that starts where the follower acknowledged and ends at
    /// `next_index - 1`, so optimistic sends never skip or repeat an entry.
    pub fn check(&self, last_index: Index, window: usize) -> Result<(), String> {
        if self.match_index >= self.next_index || self.next_index > last_index + 1 {
            return Err(format!(
                "match_index {} and next_index {} outside 0 <= match < next <= last + 1 = {}",
                self.match_index,
                self.next_index,
                last_index + 1
            ));
        }
        let bound = if self.flow == Flow::Probe { 1 } else { window };
        if self.in_flight.len() > bound {
            return Err(format!(
                "{} requests in flight in {:?}, more than {bound}",
                self.in_flight.len(),
                self.flow
            ));
        }
        if self.flow == Flow::Replicate {
            // The first request starts at or below the acknowledged index, each next one where
            // the one before ends, and next_index follows the last.
            let mut end = self.match_index;
            for (k, f) in self.in_flight.iter().enumerate() {
                let joins = if k == 0 {
                    f.prev_log_index <= self.match_index
                } else {
                    f.prev_log_index == end
                };
                if !joins || f.last_index <= f.prev_log_index.max(self.match_index) {
                    return Err(format!(
                        "the window {:?} is not one chain from match_index {}",
                        self.in_flight, self.match_index
                    ));
                }
                end = f.last_index;
            }
            if self.next_index != end + 1 {
                return Err(format!(
                    "next_index {} does not continue the window {:?} from match_index {}",
                    self.next_index, self.in_flight, self.match_index
                ));
            }
        }
        Ok(())
    }
}
