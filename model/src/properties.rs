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
use crate::ids::{client_id, node_id};
use crate::model::{RaftModel, State};
use crate::msg::Msg;
use crate::server::ServerState;
use crate::settings::{Reads, Settings};
use refraft::{
    AppendEntriesResponse, AppendResult, ClientResponse, ConflictHint, Entry, KvCommand, Message,
    Payload,
};
use stateright::actor::{Id, Network};
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

/// Inductive strength (etcd-io/raft's and CCF's `QuorumLogInv`): every committed entry is on the
/// disks of a majority. Committed means applied by some server (an applied entry is committed).
pub const QUORUM_LOG: &str = "committed entries are on a majority (QuorumLogInv)";
/// Inductive strength (`MoreUpToDateCorrectInv`): a log at least as up-to-date (§5.4.1) as the
/// logs of a majority, itself included, holds every committed entry. Such a server can be
/// elected, so this fails at the step that makes an unsafe election possible.
pub const MORE_UP_TO_DATE_CORRECT: &str =
    "a log as up-to-date as a majority's holds every committed entry (MoreUpToDateCorrectInv)";
/// §8: a server answers `Applied` only for a request whose entry some server has applied.
pub const ACKED_COMMITTED: &str = "an acknowledged request is committed";
/// Figure 2: a restart finds a durable state the core accepts.
pub const DURABLE_STATE_VALID: &str = "a restart finds a valid durable state";

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
/// Safety (`--pre-vote --check-quorum --reads lease`, no transfers): a leader holding a lease
/// (a majority heard from it within the period, so it has a live majority) never steps down
/// other than at its own quorum check: no server, rejoining or not, disrupts it (§9.6, §4.2.3).
pub const LEASE_LEADER_NOT_DISRUPTED: &str = "a leader with a live majority is not disrupted";
/// Reachability (with leases): a leader holding a lease steps down into the term of a
/// candidacy that began before any lease was held (the race that property exempts).
pub const LEASE_RACE_LOST: &str = "a leased leader loses to a candidacy begun before its lease";
/// Reachability (`--transfers`): the target of a leadership transfer is elected (§3.10).
pub const TRANSFER_COMPLETED: &str = "a transfer completes";
/// Reachability (`--transfers`, not under the stable scheduler): a leader's transfer timer
/// fires before the target is elected, and the leader keeps leading (§3.10).
pub const TRANSFER_ABORTED: &str = "a transfer is aborted";
/// Liveness (`--stable --transfers N`): on every run that ends, all N transfers were asked for
/// and none is pending: each target leads or its leader aborted (§3.10). The stable scheduler never fires the abort
/// timer, so there it means that every transfer completes.
pub const TRANSFER_RESOLVED: &str = "a transfer completes or aborts";
/// Reachability (`--forward-reads`): a follower answers a read at the leader's read index.
pub const READ_BY_FOLLOWER: &str = "a read is served by a follower";
/// Reachability (Figure 8 (c)): an entry of an earlier term is on a majority, not yet
/// committed, while a server without it at that index can still be elected.
pub const FIGURE_8C: &str =
    "an earlier-term entry is on a majority and a server without it can be elected (Figure 8 (c))";
/// Reachability: a follower's rejection on a prevLogTerm mismatch, with its conflict-term hint
/// (end of §5.3), can be delivered to the leader, which then backs up on it.
pub const CONFLICT_HINT_USED: &str =
    "a leader backs up on a follower's conflict-term hint (prevLogTerm mismatch)";
/// Reachability: an AppendEntries of an older term can be delivered to a follower that already
/// accepted entries of a newer term.
pub const STALE_APPEND_AFTER_NEWER: &str =
    "a stale AppendEntries arrives after newer entries were accepted";
/// Reachability: a retried request can be delivered to a leader of a later term after the
/// original committed there (dissertation §6.3).
pub const RETRY_AFTER_COMMIT: &str =
    "a retried request reaches a new leader after the original committed";

/// Liveness (stable scheduler): a leader is elected.
pub const EVENTUALLY_LEADER: &str = "eventually a leader is elected";
/// Liveness (stable scheduler): every client request is answered.
pub const EVENTUALLY_ANSWERED: &str = "eventually every request is answered";

/// A reachability property: with the model's latch on ([`crate::reached`]) its condition is
/// not evaluated again once it held.
macro_rules! sometimes {
    ($name:path, $condition:expr $(,)?) => {
        Property::sometimes($name, |model: &RaftModel, state: &State| {
            let condition: fn(&RaftModel, &State) -> bool = $condition;
            match &model.reached {
                Some(reached) => reached.check($name, || condition(model, state)),
                None => condition(model, state),
            }
        })
    };
}

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
        Property::always(QUORUM_LOG, quorum_log),
        Property::always(MORE_UP_TO_DATE_CORRECT, more_up_to_date_correct),
        Property::always(ACKED_COMMITTED, acked_committed),
        Property::always(DURABLE_STATE_VALID, durable_state_valid),
        Property::always(FLOW_CONTROL, flow::flow_control),
        sometimes!(LEADER_ELECTED, leader_elected),
        sometimes!(ENTRY_COMMITTED, entry_committed),
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
        p.push(sometimes!(LEADER_REPLACED, leader_replaced));
        p.push(sometimes!(LOG_TRUNCATED, log_truncated));
        p.push(sometimes!(
            STALE_APPEND_AFTER_NEWER,
            stale_append_after_newer,
        ));
    }
    // A conflict at a prevLogTerm and Figure 8 (c) take two earlier leaders that wrote
    // different entries at one index, and a third election.
    let three_terms =
        two_terms && settings.max_term >= 3 && settings.max_elections.is_none_or(|e| e >= 3);
    if three_terms {
        p.push(sometimes!(CONFLICT_HINT_USED, conflict_hint_used));
        p.push(sometimes!(FIGURE_8C, figure_8c));
    }
    if two_terms && settings.clients > 0 && settings.requests > 0 && settings.client_retry {
        p.push(sometimes!(RETRY_AFTER_COMMIT, retry_after_commit));
    }
    if settings.max_crashes > 0 {
        p.push(sometimes!(SERVER_REJOINS, server_rejoins));
    }
    if settings.clients > 0 && settings.requests > 0 && settings.servers > 1 {
        p.push(sometimes!(CLIENT_REDIRECTED_SERVED, redirected_then_served,));
        if two_terms {
            p.push(sometimes!(INDIRECT_COMMIT, indirect_commit));
        }
        // Pipelining needs entries beyond a leader's no-op: client entries.
        p.push(sometimes!(OPTIMISTIC_ADVANCE, flow::optimistic_advance,));
        // Two requests in flight at once take two client entries; a full window takes as many
        // as it holds. With one client they also take a follower that lags while another
        // commits (three servers): with two servers every commit waits for the one follower's
        // answer, so a lone client's next request never finds the previous one in flight.
        let entries = settings.clients * settings.requests;
        let lags = settings.servers >= 3 || settings.clients >= 2;
        if entries >= settings.window && (settings.window == 1 || lags) {
            p.push(sometimes!(WINDOW_FULL, flow::window_full));
        }
        if entries >= 2 && settings.window >= 2 && lags {
            p.push(sometimes!(BACK_TO_PROBE, flow::back_to_probe));
            p.push(sometimes!(STALE_REJECTION, flow::stale_rejection));
        }
    }
    p
}

/// The properties of PreVote, CheckQuorum and reads, in the configurations that use them.
fn features(settings: &Settings, p: &mut Vec<Property<RaftModel>>) {
    if settings.pre_vote {
        p.push(Property::always(NOT_DISRUPTED, not_disrupted));
        if settings.servers > 1 {
            p.push(sometimes!(PRE_VOTE_REJECTED, |m, s| {
                m.servers(s).any(|(srv, _)| srv.ghost.pre_vote_rejected)
            }));
        }
    }
    if settings.check_quorum && settings.servers > 1 && !settings.stable {
        p.push(sometimes!(LOST_QUORUM, |m, s| {
            m.servers(s).any(|(srv, _)| srv.ghost.lost_quorum)
        }));
    }
    let reads = settings.clients > 0 && settings.requests > 1;
    if reads && settings.reads == Reads::ReadIndex {
        p.push(sometimes!(READ_BY_READ_INDEX, |m, s| {
            m.servers(s).any(|(srv, _)| srv.ghost.read_by_read_index)
        }));
    }
    if reads && settings.reads == Reads::Lease {
        p.push(sometimes!(READ_BY_LEASE, |m, s| {
            m.servers(s).any(|(srv, _)| srv.ghost.read_by_lease)
        }));
    }
    if checks_lease_disruption(settings) {
        p.push(Property::always(
            LEASE_LEADER_NOT_DISRUPTED,
            lease_leader_not_disrupted,
        ));
        p.push(sometimes!(LEASE_RACE_LOST, |m, s| {
            m.servers(s).any(|(srv, _)| {
                srv.ghost
                    .disrupted_by
                    .is_some_and(|term| s.history.unleased_candidacies.contains(&term))
            })
        }));
    }
    if settings.transfers > 0 {
        p.push(sometimes!(TRANSFER_COMPLETED, |m, s| {
            m.servers(s).any(|(srv, _)| srv.ghost.transfer_completed)
        }));
        if !settings.stable {
            p.push(sometimes!(TRANSFER_ABORTED, |m, s| {
                m.servers(s).any(|(srv, _)| srv.ghost.transfer_aborted)
            }));
        }
        if settings.stable {
            // stateright's `eventually` holds on a path once the condition held at one state
            // of it, so the condition must be false at the start: no transfer is pending, and
            // either every transfer the bound allows has been asked for or a leader of the
            // last term leads (it is never asked, see `RaftModel::actions`). Each leader is
            // asked at most once and a pending transfer keeps its leader, so the last transfer
            // is asked only after the others resolved.
            p.push(Property::eventually(TRANSFER_RESOLVED, |m, s| {
                let asked: usize = m.servers(s).map(|(srv, _)| srv.ghost.transfers).sum();
                let last_term_leads = m.servers(s).any(|(srv, crashed)| {
                    !crashed
                        && srv.node.is_leader()
                        && srv.node.current_term() >= m.settings.max_term
                });
                (asked >= m.settings.transfers || last_term_leads)
                    && m.servers(s)
                        .all(|(srv, crashed)| crashed || srv.node.leadership().transfer().is_none())
            }));
        }
    }
    if reads && settings.reads.without_log() && settings.forward_reads && settings.servers > 1 {
        p.push(sometimes!(READ_BY_FOLLOWER, |m, s| {
            m.servers(s).any(|(srv, _)| srv.ghost.read_by_follower)
        }));
    }
}

/// Whether `settings` check "a leader with a live majority is not disrupted" (and so track the
/// candidacies it reads, see [`crate::History::unleased_candidacies`]).
pub fn checks_lease_disruption(settings: &Settings) -> bool {
    settings.pre_vote
        && settings.check_quorum
        && settings.reads == Reads::Lease
        && settings.transfers == 0
}

/// No leader holding a lease steps down into a term whose candidacies all began while a lease
/// was held. A candidacy begun before the lease (a race in the first moments of a term: the
/// candidate timed out before it heard the new leader's first round) may still win its votes
/// and depose the leader (dissertation §4.2.3 protects leaders from servers that start an
/// election while the leader is live, not from elections already under way); a pre-vote whose
/// term a voter adopted (rule `prevote-keeps-term` broken) is no candidacy at all.
fn lease_leader_not_disrupted(m: &RaftModel, s: &State) -> bool {
    m.servers(s).all(|(srv, _)| {
        srv.ghost
            .disrupted_by
            .is_none_or(|term| s.history.unleased_candidacies.contains(&term))
    })
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

/// The disk logs of all servers, crashed ones included (they restart from them).
fn disk_logs<'a>(m: &RaftModel, s: &'a State) -> Vec<&'a [Entry<KvCommand>]> {
    m.servers(s)
        .map(|(srv, _)| srv.disk.log.entries())
        .collect()
}

/// Every applied (so committed) entry, as (index from 0, entry), from every server's history.
fn committed<'a>(
    m: &RaftModel,
    s: &'a State,
) -> impl Iterator<Item = (usize, &'a Entry<KvCommand>)> {
    m.servers(s)
        .flat_map(|(srv, _)| srv.ghost.applied.iter().map(|a| &a.entry).enumerate())
}

/// §5.4.1 on whole logs: `a` is at least as up-to-date as `b`.
fn at_least_as_up_to_date(a: &[Entry<KvCommand>], b: &[Entry<KvCommand>]) -> bool {
    let last = |l: &[Entry<KvCommand>]| (l.last().map_or(0, |e| e.term), l.len());
    last(a) >= last(b)
}

/// Whether `log` is at least as up-to-date as a majority of `logs` (itself among them): a
/// server with this log can collect a majority of votes.
fn electable(log: &[Entry<KvCommand>], logs: &[&[Entry<KvCommand>]]) -> bool {
    let behind = logs
        .iter()
        .filter(|l| at_least_as_up_to_date(log, l))
        .count();
    is_majority(behind, logs.len())
}

/// Whether the logs of a majority of `logs` hold `entry` at `index` (from 0).
fn on_majority(logs: &[&[Entry<KvCommand>]], index: usize, entry: &Entry<KvCommand>) -> bool {
    let holders = logs.iter().filter(|l| l.get(index) == Some(entry)).count();
    is_majority(holders, logs.len())
}

/// Whether `count` of `total` servers are a majority (§5.2).
fn is_majority(count: usize, total: usize) -> bool {
    count > total / 2
}

fn quorum_log(m: &RaftModel, s: &State) -> bool {
    let logs = disk_logs(m, s);
    committed(m, s).all(|(i, e)| on_majority(&logs, i, e))
}

fn more_up_to_date_correct(m: &RaftModel, s: &State) -> bool {
    let logs = disk_logs(m, s);
    logs.iter()
        .filter(|l| electable(l, &logs))
        .all(|l| committed(m, s).all(|(i, e)| l.get(i) == Some(e)))
}

/// Every message in flight, as (destination, message). stateright 0.31's `iter_all` never ends on
/// the ordered network once one channel holds two messages (its iterator returns that
/// channel's first message forever), so the ordered network's channels are read directly.
fn in_flight<'a>(s: &'a State) -> Box<dyn Iterator<Item = (Id, &'a Msg)> + 'a> {
    match &s.network {
        Network::Ordered(channels) => Box::new(
            channels
                .iter()
                .flat_map(|(&(_, dst), msgs)| msgs.iter().map(move |m| (dst, m))),
        ),
        network => Box::new(network.iter_all().map(|env| (env.dst, env.msg))),
    }
}

fn acked_committed(m: &RaftModel, s: &State) -> bool {
    in_flight(s).all(|(dst, msg)| match msg {
        Msg::Reply { serial, response } if matches!(**response, ClientResponse::Applied(_)) => {
            // A read without a log entry (dissertation §6.4) is acknowledged with no entry.
            let k = (*serial as usize).saturating_sub(1);
            let command = crate::client_command(m.settings.servers, usize::from(dst), k);
            if m.settings.reads.without_log() && matches!(command, refraft::KvCommand::Get { .. }) {
                return true;
            }
            let client = client_id(dst);
            committed(m, s).any(|(_, e)| {
                matches!(&e.payload, Payload::Command { client: c, serial: n, .. }
                    if *c == client && n == serial)
            })
        }
        _ => true,
    })
}

fn durable_state_valid(m: &RaftModel, s: &State) -> bool {
    m.servers(s).all(|(srv, _)| {
        !srv.ghost
            .violations
            .contains(&Violation::InvalidDurableState)
    })
}

fn figure_8c(m: &RaftModel, s: &State) -> bool {
    let logs = disk_logs(m, s);
    let top_term = m.servers(s).map(|(srv, _)| srv.node.current_term()).max();
    let applied: Vec<_> = committed(m, s).collect();
    logs.iter().any(|a| {
        a.iter().enumerate().any(|(i, e)| {
            Some(e.term) < top_term
                && !applied.contains(&(i, e))
                && on_majority(&logs, i, e)
                && logs
                    .iter()
                    .any(|b| b.get(i) != Some(e) && electable(b, &logs))
        })
    })
}

/// The messages in flight to live servers, with the receiving server's state. The hazards below
/// are states in which such a delivery is enabled (a state predicate: recording the delivery
/// itself as ghost state would split every later state in two).
fn deliverable<'a>(
    m: &RaftModel,
    s: &'a State,
) -> impl Iterator<Item = (Id, &'a Msg, &'a ServerState)> + 'a {
    let servers: Vec<_> = m.servers(s).collect();
    s.network.iter_deliverable().filter_map(move |env| {
        let (srv, crashed) = *servers.get(usize::from(env.dst))?;
        (!crashed).then_some((env.src, env.msg, srv))
    })
}

/// The Raft message a model message carries, if any.
fn raft(msg: &Msg) -> Option<&Message<KvCommand>> {
    match msg {
        Msg::Raft(message) => Some(message),
        _ => None,
    }
}

fn conflict_hint_used(m: &RaftModel, s: &State) -> bool {
    deliverable(m, s).any(|(src, msg, srv)| match raft(msg) {
        Some(Message::AppendEntriesResponse(AppendEntriesResponse {
            term,
            result:
                AppendResult::Reject {
                    prev_log_index,
                    hint:
                        Some(ConflictHint {
                            conflict_term: Some(_),
                            ..
                        }),
                },
        })) => {
            // The leader acts on a rejection of the entry before `next_index` that it has not
            // seen matched since (see `handle_append_entries_response`).
            *term == srv.node.current_term()
                && srv.node.progress(node_id(src)).is_some_and(|p| {
                    *prev_log_index >= p.match_index && *prev_log_index < p.next_index
                })
        }
        _ => false,
    })
}

fn stale_append_after_newer(m: &RaftModel, s: &State) -> bool {
    deliverable(m, s).any(|(_, msg, srv)| match raft(msg) {
        Some(Message::AppendEntries(request)) => {
            request.term < srv.node.current_term()
                && !srv.node.is_leader()
                && srv.node.log().last_term() > request.term
        }
        _ => false,
    })
}

fn retry_after_commit(m: &RaftModel, s: &State) -> bool {
    deliverable(m, s).any(|(_, msg, srv)| match msg {
        Msg::Request(request) if srv.node.is_leader() => {
            let log = srv.node.log();
            let committed = &log.entries()[..srv.node.commit_index() as usize];
            committed.iter().any(|e| {
                e.term < srv.node.current_term()
                    && matches!(&e.payload, Payload::Command { client, serial, .. }
                        if *client == request.client && *serial == request.serial)
            })
        }
        _ => false,
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
