//! The properties the checker verifies: the five safety properties of the paper (Figure 3),
//! client linearizability and monotonicity ("always"); reachability properties showing that the
//! interesting states are reached, so that no check holds vacuously ("sometimes"); and, under the
//! stable scheduler only, liveness ("eventually").
//!
//! Properties about history read the servers' ghost state (see `ghost`), which records every
//! election and every applied entry and survives crashes.

use crate::flow;
pub use crate::flow::{
    BACK_TO_PROBE, FLOW_CONTROL, OPTIMISTIC_ADVANCE, STALE_REJECTION, WINDOW_FULL,
};
use crate::ghost::Violation;
use crate::model::{RaftModel, State};
use crate::settings::{Reads, Settings};
use stateright::Property;

/// §5.2 Election Safety: at most one leader is ever elected in a term.
pub const ELECTION_SAFETY: &str = "election safety";
/// §5.3 Leader Append-Only: a leader never overwrites or deletes entries in its log.
pub const LEADER_APPEND_ONLY: &str = "leader append-only";
/// §5.3 Log Matching: two logs with an entry of the same index and term are identical up to it.
pub const LOG_MATCHING: &str = "log matching";
/// §5.4 Leader Completeness: a committed entry is in the log of every leader of a later term.
pub const LEADER_COMPLETENESS: &str = "leader completeness";
/// §5.4.3 State Machine Safety: no two servers apply different entries at one index.
pub const STATE_MACHINE_SAFETY: &str = "state machine safety";
/// Clients see a linearizable key-value store (§8, dissertation §6.3).
pub const LINEARIZABLE: &str = "linearizable";
/// Terms and commit indexes never decrease, and committed entries never change.
pub const MONOTONIC: &str = "monotonic";

/// Reachability: some server becomes leader.
pub const LEADER_ELECTED: &str = "a leader is elected";
/// Reachability: some server applies an entry.
pub const ENTRY_COMMITTED: &str = "an entry is committed";
/// Reachability: leaders are elected in two different terms.
pub const LEADER_REPLACED: &str = "a leader of a later term is elected";
/// Reachability: a restarted server hears from a leader again.
pub const SERVER_REJOINS: &str = "a restarted server rejoins";
/// Reachability: a follower's log loses entries to a new leader.
pub const LOG_TRUNCATED: &str = "a follower's log is truncated by a leader";
/// Reachability: a client is redirected, then served.
pub const CLIENT_REDIRECTED_SERVED: &str = "a client is redirected and then served";
/// Reachability: a client entry of an earlier term commits through a later term's entry.
pub const INDIRECT_COMMIT: &str = "an earlier-term entry commits indirectly (Figure 8)";

/// Dissertation §9.6, §4.2.3 (with PreVote): no server holds a term in which nobody became a
/// candidate. Terms rise only through real elections, each of which gathered a majority of
/// pre-votes from servers that had not heard from a leader (stickiness): a server that
/// cannot win, such as one rejoining from a partition, never raises a term and so never makes
/// a leader step down.
pub const NOT_DISRUPTED: &str = "stable leader not disrupted: terms rise only through elections";
/// Reachability (PreVote): a server refuses or ignores a pre-vote.
pub const PRE_VOTE_REJECTED: &str = "a pre-vote is rejected";
/// Reachability (CheckQuorum): a leader steps down at a failed quorum check.
pub const LOST_QUORUM: &str = "a leader steps down on lost quorum";
/// Reachability (reads): a read is answered after a heartbeat round.
pub const READ_BY_READ_INDEX: &str = "a read is served by ReadIndex";
/// Reachability (lease reads): a read is answered under the leader's lease.
pub const READ_BY_LEASE: &str = "a read is served by lease";

/// Liveness (stable scheduler): a leader is elected.
pub const EVENTUALLY_LEADER: &str = "eventually a leader is elected";
/// Liveness (stable scheduler): every client request is answered.
pub const EVENTUALLY_ANSWERED: &str = "eventually every request is answered";

/// The properties of a configuration. Reachability properties that a configuration cannot reach
/// by construction (a restart without crashes, a client state without clients) are left out.
pub fn all(settings: &Settings) -> Vec<Property<RaftModel>> {
    let mut p = vec![
        Property::always(ELECTION_SAFETY, election_safety),
        Property::always(LEADER_APPEND_ONLY, leader_append_only),
        Property::always(LOG_MATCHING, log_matching),
        Property::always(LEADER_COMPLETENESS, leader_completeness),
        Property::always(STATE_MACHINE_SAFETY, state_machine_safety),
        Property::always(LINEARIZABLE, linearizable),
        Property::always(MONOTONIC, monotonic),
        Property::always(FLOW_CONTROL, flow::flow_control),
        Property::sometimes(LEADER_ELECTED, leader_elected),
        Property::sometimes(ENTRY_COMMITTED, entry_committed),
    ];
    features(settings, &mut p);
    if settings.stable {
        p.push(Property::eventually(EVENTUALLY_LEADER, leader_elected));
        if settings.clients > 0 && settings.requests > 0 {
            p.push(Property::eventually(EVENTUALLY_ANSWERED, all_answered));
        }
        return p;
    }
    // A leader replaced, a log truncated by a new leader and an indirect commit all take a
    // second term with its own leader.
    let two_terms = settings.servers > 1
        && settings.max_term >= 2
        && settings.max_elections.is_none_or(|e| e >= 2);
    if two_terms {
        p.push(Property::sometimes(LEADER_REPLACED, leader_replaced));
        p.push(Property::sometimes(LOG_TRUNCATED, log_truncated));
    }
    if settings.max_crashes > 0 {
        p.push(Property::sometimes(SERVER_REJOINS, server_rejoins));
    }
    if settings.clients > 0 && settings.requests > 0 && settings.servers > 1 {
        p.push(Property::sometimes(
            CLIENT_REDIRECTED_SERVED,
            redirected_then_served,
        ));
        if two_terms {
            p.push(Property::sometimes(INDIRECT_COMMIT, indirect_commit));
        }
        // Pipelining needs entries beyond a leader's no-op: client entries.
        p.push(Property::sometimes(
            OPTIMISTIC_ADVANCE,
            flow::optimistic_advance,
        ));
        // Two requests in flight at once take two client entries; a full window takes as many
        // as it holds.
        let entries = settings.clients * settings.requests;
        if entries >= settings.window {
            p.push(Property::sometimes(WINDOW_FULL, flow::window_full));
        }
        if entries >= 2 && settings.window >= 2 {
            p.push(Property::sometimes(BACK_TO_PROBE, flow::back_to_probe));
            p.push(Property::sometimes(STALE_REJECTION, flow::stale_rejection));
        }
    }
    p
}

/// The properties of PreVote, CheckQuorum and reads, in the configurations that use them.
fn features(settings: &Settings, p: &mut Vec<Property<RaftModel>>) {
    if settings.pre_vote {
        p.push(Property::always(NOT_DISRUPTED, not_disrupted));
        if settings.servers > 1 {
            p.push(Property::sometimes(PRE_VOTE_REJECTED, |m, s| {
                m.servers(s).any(|(srv, _)| srv.ghost.pre_vote_rejected)
            }));
        }
    }
    if settings.check_quorum && settings.servers > 1 && !settings.stable {
        p.push(Property::sometimes(LOST_QUORUM, |m, s| {
            m.servers(s).any(|(srv, _)| srv.ghost.lost_quorum)
        }));
    }
    let reads = settings.clients > 0 && settings.requests > 1;
    if reads && settings.reads == Reads::ReadIndex {
        p.push(Property::sometimes(READ_BY_READ_INDEX, |m, s| {
            m.servers(s).any(|(srv, _)| srv.ghost.read_by_read_index)
        }));
    }
    if reads && settings.reads == Reads::Lease {
        p.push(Property::sometimes(READ_BY_LEASE, |m, s| {
            m.servers(s).any(|(srv, _)| srv.ghost.read_by_lease)
        }));
    }
}

fn not_disrupted(m: &RaftModel, s: &State) -> bool {
    let elected = m
        .servers(s)
        .map(|(srv, _)| srv.ghost.candidate_term)
        .max()
        .unwrap_or(0);
    m.servers(s)
        .all(|(srv, _)| srv.node.current_term() <= elected)
}

fn election_safety(m: &RaftModel, s: &State) -> bool {
    let ghosts: Vec<_> = m.servers(s).map(|(srv, _)| &srv.ghost).collect();
    ghosts.iter().enumerate().all(|(i, a)| {
        ghosts[i + 1..]
            .iter()
            .all(|b| a.elected.intersection(&b.elected).next().is_none())
    })
}

fn leader_append_only(m: &RaftModel, s: &State) -> bool {
    m.servers(s)
        .all(|(srv, _)| !srv.ghost.violations.contains(&Violation::LeaderAppendOnly))
}

fn log_matching(m: &RaftModel, s: &State) -> bool {
    let logs: Vec<_> = m
        .servers(s)
        .map(|(srv, _)| srv.node.log().entries())
        .collect();
    logs.iter().enumerate().all(|(i, a)| {
        logs[i + 1..].iter().all(|b| {
            // The last index at which both logs hold an entry of the same term: the prefixes up
            // to there must be equal.
            let common = a.len().min(b.len());
            match (0..common).rev().find(|&k| a[k].term == b[k].term) {
                Some(k) => a[..=k] == b[..=k],
                None => true,
            }
        })
    })
}

fn leader_completeness(m: &RaftModel, s: &State) -> bool {
    let servers: Vec<_> = m.servers(s).collect();
    servers.iter().all(|(leader, crashed)| {
        if *crashed || !leader.node.is_leader() {
            return true;
        }
        let term = leader.node.current_term();
        servers.iter().all(|(other, _)| {
            other.ghost.applied.iter().enumerate().all(|(i, a)| {
                a.term >= term || leader.node.log().get(i as u64 + 1) == Some(&a.entry)
            })
        })
    })
}

fn state_machine_safety(m: &RaftModel, s: &State) -> bool {
    let applied: Vec<_> = m.servers(s).map(|(srv, _)| &srv.ghost.applied).collect();
    applied.iter().enumerate().all(|(i, a)| {
        applied[i + 1..]
            .iter()
            .all(|b| a.iter().zip(b.iter()).all(|(x, y)| x.entry == y.entry))
    }) && m.servers(s).all(|(srv, _)| {
        !srv.ghost
            .violations
            .contains(&Violation::AppliedDifferently)
    })
}

fn linearizable(_: &RaftModel, s: &State) -> bool {
    s.history.is_linearizable()
}

fn monotonic(m: &RaftModel, s: &State) -> bool {
    m.servers(s).all(|(srv, crashed)| {
        let g = &srv.ghost;
        let steps_ok = !g.violations.contains(&Violation::TermDecreased)
            && !g.violations.contains(&Violation::CommitIndexDecreased);
        // Committed entries never change: what this server applied is still in its log.
        let log = srv.node.log().entries();
        let kept =
            g.applied.len() <= log.len() && g.applied.iter().zip(log).all(|(a, e)| a.entry == *e);
        steps_ok && (crashed || kept)
    })
}

fn leader_elected(m: &RaftModel, s: &State) -> bool {
    m.servers(s).any(|(srv, _)| !srv.ghost.elected.is_empty())
}

fn entry_committed(m: &RaftModel, s: &State) -> bool {
    m.servers(s).any(|(srv, _)| !srv.ghost.applied.is_empty())
}

fn leader_replaced(m: &RaftModel, s: &State) -> bool {
    let mut terms = m.servers(s).flat_map(|(srv, _)| srv.ghost.elected.iter());
    match terms.next() {
        Some(first) => terms.any(|t| t != first),
        None => false,
    }
}

fn server_rejoins(m: &RaftModel, s: &State) -> bool {
    m.servers(s).any(|(srv, _)| srv.ghost.rejoined)
}

fn log_truncated(m: &RaftModel, s: &State) -> bool {
    m.servers(s).any(|(srv, _)| srv.ghost.truncated)
}

fn redirected_then_served(m: &RaftModel, s: &State) -> bool {
    m.clients(s).any(|c| c.served_after_redirect)
}

fn indirect_commit(m: &RaftModel, s: &State) -> bool {
    m.servers(s).any(|(srv, _)| srv.ghost.committed_indirectly)
}

fn all_answered(m: &RaftModel, s: &State) -> bool {
    m.clients(s).all(|c| c.answered >= m.settings.requests)
}
