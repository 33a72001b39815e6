//! Reads without log entries (dissertation §6.4), as one server's steps show them. A read
//! arrives as a `read` step (a client's query) or as a received `ReadIndex` (a follower
//! forwarding one); the leader serves it with a `reply` effect (`ok`, carrying `read_index`
//! from format 1.1) or, for a forwarded read, by sending a `ReadIndexResponse` with its read
//! index; the follower then answers it with its own `reply`. Checked, where served:
//! 1. the leader had committed an entry of its term: the read index is an entry of its term
//!    (step 1; without `read_index`, its commit index must be);
//! 2. a heartbeat round sent after the read arrived was acknowledged by a majority in the
//!    current term (step 3), unless the reply says a lease confirmed it (§6.4.1);
//! 3. the server answering had applied the read index (step 4).
//!
//! Not checked: whether a lease was still valid (a trace carries no clock), rule 2 for a
//! forwarded read (a `ReadIndexResponse` does not say how it was confirmed), and the value a
//! read returned (a trace carries no outputs).

use super::runs::Runs;
use super::{Findings, TraceRule};
use crate::trace::format::{Kind, Msg, Step, StepEffect, TraceRole};
use std::collections::{BTreeMap, HashMap};

/// A read this server has received and not yet answered.
#[derive(Clone, Copy, Debug)]
struct Arrival {
    /// The server's term when it arrived.
    term: u64,
    /// The last heartbeat round it had sent in that term, before the read's step.
    round: u64,
}

/// What the read checks know of one server.
#[derive(Debug, Default)]
pub(crate) struct ReadTrack {
    /// The term the rounds below are of (as leader).
    term: u64,
    /// The highest heartbeat round sent in `term`.
    round: u64,
    /// Each peer's highest heartbeat round acknowledged in `term`.
    acked: BTreeMap<u64, u64>,
    /// Reads received and not answered, by (client, serial).
    pending: HashMap<(u64, u64), Arrival>,
}

impl ReadTrack {
    /// Takes in one step (after the server's log was updated to `log`).
    pub(crate) fn check(&mut self, step: &Step, log: &Runs, majority: u64, f: &mut Findings) {
        let state = &step.state;
        if matches!(step.kind, Kind::Init | Kind::Restart) {
            // Pending reads are volatile: a restarted server has none.
            self.pending.clear();
        }
        if state.role != TraceRole::Leader || state.term != self.term {
            self.term = state.term;
            self.round = 0;
            self.acked.clear();
        }
        let arrival = Arrival {
            term: state.term,
            round: self.round,
        };
        if step.kind == Kind::Read {
            for &request in &step.input.requests {
                self.pending.insert(request, arrival);
            }
        }
        match (&step.input.msg, step.input.from) {
            (Some(Msg::ReadIndex { client, serial, .. }), _) => {
                self.pending.insert((*client, *serial), arrival);
            }
            (Some(Msg::HeartbeatResponse { term, round }), Some(from))
                if *term == state.term && state.role == TraceRole::Leader =>
            {
                let r = self.acked.entry(from).or_insert(0);
                *r = (*r).max(*round);
            }
            _ => {}
        }
        if step.effects.is_empty() {
            return;
        }
        for effect in &step.effects {
            match effect {
                StepEffect::Send {
                    msg: Msg::Heartbeat { term, round },
                    ..
                } if *term == self.term && state.role == TraceRole::Leader => {
                    self.round = self.round.max(*round);
                }
                StepEffect::Send {
                    msg:
                        Msg::ReadIndexResponse {
                            client,
                            serial,
                            read_index: Some(index),
                            ..
                        },
                    ..
                } if self.pending.remove(&(*client, *serial)).is_some() => {
                    let what = format!("forwarded read ({client}, {serial})");
                    self.own_term(step, log, Some(*index), &what, f);
                }
                StepEffect::Reply {
                    client,
                    serial,
                    ok,
                    read_index,
                    lease,
                } => {
                    let arrived = self.pending.remove(&(*client, *serial));
                    if !ok {
                        continue;
                    }
                    let what = format!("read ({client}, {serial})");
                    if let Some(index) = read_index {
                        if state.applied < *index {
                            f.report(
                                TraceRule::ReadAfterApply,
                                format!(
                                    "answered {what} at read index {index} with last_applied {}",
                                    state.applied
                                ),
                            );
                        }
                    }
                    let Some(arrived) = arrived else { continue };
                    if state.role != TraceRole::Leader {
                        continue;
                    }
                    self.own_term(step, log, *read_index, &what, f);
                    if !lease {
                        self.quorum_round(step, arrived, majority, &what, f);
                    }
                }
                _ => {}
            }
        }
    }

    /// §6.4 step 1: the read index is taken only once an entry of the leader's term is
    /// committed (then the entry at the read index, the commit index, is of its term).
    fn own_term(&self, step: &Step, log: &Runs, index: Option<u64>, what: &str, f: &mut Findings) {
        let state = &step.state;
        let (index, name) = match index {
            Some(i) => (i, "read index"),
            None => (state.commit, "commit index"),
        };
        let term = log.term_at(index);
        if term != Some(state.term) || index > state.commit {
            f.report(
                TraceRule::ReadAfterOwnTermCommit,
                format!(
                    "served {what} in term {} at {name} {index} (an entry of term {term:?}, commit_index {}): no entry of its term committed",
                    state.term, state.commit
                ),
            );
        }
    }

    /// §6.4 step 3: a majority (the leader with its peers) acknowledged a heartbeat round of
    /// the current term sent after the read arrived.
    fn quorum_round(
        &self,
        step: &Step,
        arrived: Arrival,
        majority: u64,
        what: &str,
        f: &mut Findings,
    ) {
        // A round of a later term than the read's arrival was sent after it.
        let after = if arrived.term == self.term {
            arrived.round
        } else {
            0
        };
        let acks = 1 + self.acked.values().filter(|&&r| r > after).count() as u64;
        if acks < majority {
            f.report(
                TraceRule::ReadIndexQuorumRound,
                format!(
                    "served {what} in term {} with {acks} of the {majority} servers needed acknowledging a heartbeat round sent after it arrived (round > {after})",
                    step.state.term
                ),
            );
        }
    }
}
