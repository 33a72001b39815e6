//! PreVote, CheckQuorum, leadership transfer and reads without log entries, in the simulator:
//! scenarios ported by name from etcd-io/raft (`raft_test.go`) and tikv/raft-rs
//! (`harness/tests/integration_cases/test_raft.rs`). Scenarios, not code: timers are fired by
//! hand (`SimConfig::manual_timers`) where the originals step `MsgHup`, `MsgBeat` or
//! `MsgCheckQuorum`, and every run goes through the simulator's safety checks, the no-stale-read
//! check included. Differences from etcd: a new leader appends a no-op (§8), a leader refuses
//! proposals during a transfer with a typed answer instead of dropping them, and CheckQuorum
//! counts numbered heartbeat rounds rather than any message.

use refraft::sim::{run_seeds, SimConfig, SimError, Simulation};
use refraft::KvStore;
use refraft::{
    ClientId, ClientResponse, KvCommand, KvOutput, Node, NodeId, ReadMode, ReadPath, StepError,
    Timer, TransferError,
};

const SEEDS: u64 = 10;

fn ensure(sim: &Simulation, ok: bool, what: impl FnOnce() -> String) -> Result<(), SimError> {
    if ok {
        Ok(())
    } else {
        Err(sim.fail(what()))
    }
}

/// A cluster of `n` with timers fired by hand, reordering but lossless.
fn manual(n: u64, seed: u64, pre_vote: bool, check_quorum: bool, reads: ReadMode) -> Simulation {
    let mut config = SimConfig::new(n, seed).manual_timers();
    config.pre_vote = pre_vote;
    config.check_quorum = check_quorum;
    config.read_mode = reads;
    Simulation::new(config)
}

fn node(sim: &Simulation, id: u64) -> &Node<KvStore> {
    sim.node(NodeId(id)).expect("node is up")
}

fn fire(sim: &mut Simulation, id: u64, timer: Timer) -> Result<(), SimError> {
    let verdict = sim.fire_timer(NodeId(id), timer)?;
    verdict.map_err(|e| sim.fail(format!("n{id} {timer:?}: {e}")))?;
    sim.settle()
}

fn campaign(sim: &mut Simulation, id: u64) -> Result<(), SimError> {
    fire(sim, id, Timer::Election)
}

fn propose(sim: &mut Simulation, id: u64, value: &str) -> Result<(), SimError> {
    let command = KvCommand::Set {
        key: "x".into(),
        value: value.into(),
    };
    if sim.start(NodeId(id), command)?.is_none() {
        return Err(sim.fail(format!("n{id} does not lead")));
    }
    sim.settle()
}

fn elect(sim: &mut Simulation, id: u64) -> Result<(), SimError> {
    campaign(sim, id)?;
    ensure(sim, node(sim, id).is_leader(), || {
        format!("n{id} was not elected")
    })
}

/// etcd TestLeaderElectionPreVote: with PreVote, a server that reaches a majority is elected;
/// one that cannot stays a pre-candidate and keeps its term (0).
fn run_leader_election_with_pre_vote(seed: u64) -> Result<(), SimError> {
    for (n, down, wins) in [
        (3, &[][..], true),
        (3, &[2, 3][..], false),
        (5, &[4, 5][..], true),
    ] {
        let mut sim = manual(n, seed, true, false, ReadMode::ReadIndex);
        for &d in down {
            sim.crash(NodeId(d));
        }
        campaign(&mut sim, 1)?;
        let n1 = node(&sim, 1);
        if wins {
            ensure(&sim, n1.is_leader() && n1.current_term() == 1, || {
                format!("{n} servers, {down:?} down: n1 should lead term 1")
            })?;
        } else {
            ensure(
                &sim,
                n1.is_pre_candidate() && n1.current_term() == 0,
                || format!("{n} servers, {down:?} down: n1 should be a pre-candidate of term 0"),
            )?;
        }
    }
    Ok(())
}

#[test]
fn leader_election_with_pre_vote() {
    run_seeds(
        "leader_election_with_pre_vote",
        SEEDS,
        run_leader_election_with_pre_vote,
    );
}

/// etcd TestDisruptiveFollower and TestDisruptiveFollowerPreVote: with CheckQuorum, n3 is cut
/// off and its election timer fires; when it comes back, without PreVote its higher term makes
/// the leader step down; with PreVote its term never moved and the leader stays.
fn run_disruptive_follower(seed: u64, pre_vote: bool) -> Result<(), SimError> {
    let mut sim = manual(3, seed, pre_vote, true, ReadMode::ReadIndex);
    elect(&mut sim, 1)?;
    propose(&mut sim, 1, "1")?;
    sim.disconnect(NodeId(3));
    campaign(&mut sim, 3)?;
    sim.connect(NodeId(3));
    // The leader's next round reaches n3 (etcd: n1 sends MsgHeartbeat, n3 answers).
    fire(&mut sim, 1, Timer::Heartbeat)?;
    let (n1, n3) = (node(&sim, 1), node(&sim, 3));
    if pre_vote {
        ensure(&sim, n1.is_leader() && n1.current_term() == 1, || {
            format!(
                "with PreVote the leader was disrupted: n1 {:?} term {}",
                n1.role(),
                n1.current_term()
            )
        })?;
        ensure(&sim, n3.current_term() == 1, || {
            format!("with PreVote n3's term moved to {}", n3.current_term())
        })?;
    } else {
        ensure(&sim, !n1.is_leader() && n1.current_term() == 2, || {
            format!(
                "without PreVote n3 should disrupt: n1 {:?} term {}",
                n1.role(),
                n1.current_term()
            )
        })?;
    }
    Ok(())
}

#[test]
fn disruptive_follower() {
    run_seeds("disruptive_follower", SEEDS, |s| {
        run_disruptive_follower(s, false)
    });
}

#[test]
fn disruptive_follower_with_pre_vote() {
    run_seeds("disruptive_follower_with_pre_vote", SEEDS, |s| {
        run_disruptive_follower(s, true)
    });
}

/// etcd TestLeaderStepdownWhenQuorumLost: a leader cut off from both peers steps down at the
/// first quorum check that finds no majority; with all peers it stays (TestLeaderSupportQuorum).
fn run_leader_step_down_when_quorum_lost(seed: u64) -> Result<(), SimError> {
    let mut sim = manual(3, seed, true, true, ReadMode::ReadIndex);
    elect(&mut sim, 1)?;
    fire(&mut sim, 1, Timer::QuorumCheck)?;
    fire(&mut sim, 1, Timer::QuorumCheck)?;
    ensure(&sim, node(&sim, 1).is_leader(), || {
        "a supported leader stepped down".into()
    })?;
    sim.disconnect(NodeId(2));
    sim.disconnect(NodeId(3));
    // The round sent at the last check was answered before the cut: one more check passes.
    fire(&mut sim, 1, Timer::QuorumCheck)?;
    fire(&mut sim, 1, Timer::QuorumCheck)?;
    let n1 = node(&sim, 1);
    ensure(&sim, !n1.is_leader() && n1.current_term() == 1, || {
        format!("n1 should follow in term 1: {:?}", n1.role())
    })
}

#[test]
fn leader_step_down_when_quorum_lost() {
    run_seeds(
        "leader_step_down_when_quorum_lost",
        SEEDS,
        run_leader_step_down_when_quorum_lost,
    );
}

/// etcd TestFreeStuckCandidateWithCheckQuorum: n3, cut off, keeps campaigning (no PreVote) and
/// reaches a term the others never saw. When it is back, n2 still hears from the leader and
/// ignores its vote request (stickiness), and its log is behind, so it cannot win: it would be
/// stuck. The leader adopts n3's term and steps down (here on the vote request; in etcd on
/// n3's answer to a heartbeat), which frees n3; n1 is then elected in a newer term.
fn run_free_stuck_candidate_with_check_quorum(seed: u64) -> Result<(), SimError> {
    let mut sim = manual(3, seed, false, true, ReadMode::ReadIndex);
    elect(&mut sim, 1)?;
    sim.disconnect(NodeId(3));
    propose(&mut sim, 1, "1")?;
    campaign(&mut sim, 3)?;
    campaign(&mut sim, 3)?;
    let stuck = node(&sim, 3).current_term();
    ensure(&sim, stuck == 3 && node(&sim, 3).is_candidate(), || {
        format!("n3 should be a candidate of term 3, is at {stuck}")
    })?;
    sim.connect(NodeId(3));
    // n3's votes are ignored by n2, which still hears from n1 (stickiness).
    campaign(&mut sim, 3)?;
    ensure(&sim, node(&sim, 2).current_term() == 1, || {
        format!("sticky n2 moved to term {}", node(&sim, 2).current_term())
    })?;
    ensure(&sim, !node(&sim, 3).is_leader(), || {
        "n3 won with a stale log".into()
    })?;
    let n1 = node(&sim, 1);
    ensure(
        &sim,
        !n1.is_leader() && n1.current_term() == node(&sim, 3).current_term(),
        || {
            format!(
                "n1 should follow at n3's term: {:?} t{}",
                n1.role(),
                n1.current_term()
            )
        },
    )?;
    // n3's log is behind, so n1 (or n2) wins the next election.
    campaign(&mut sim, 1)?;
    ensure(&sim, node(&sim, 1).is_leader(), || {
        "no leader after freeing n3".into()
    })
}

#[test]
fn free_stuck_candidate_with_check_quorum() {
    run_seeds(
        "free_stuck_candidate_with_check_quorum",
        SEEDS,
        run_free_stuck_candidate_with_check_quorum,
    );
}

fn value(v: &str) -> ClientResponse<KvOutput> {
    ClientResponse::Applied(KvOutput::Value(Some(v.into())))
}

/// etcd TestReadOnlyOptionSafe: reads at the leader are confirmed by a heartbeat round
/// acknowledged by a majority and answered at the commit index, with no log entry.
fn run_read_only_safe(seed: u64) -> Result<(), SimError> {
    let mut sim = manual(3, seed, true, false, ReadMode::ReadIndex);
    elect(&mut sim, 1)?;
    propose(&mut sim, 1, "1")?;
    let last = node(&sim, 1).log().last_index();
    let round = node(&sim, 1).leadership().round();
    let read = sim.read(NodeId(1), "x")?;
    ensure(&sim, sim.read_answer(read).is_none(), || {
        "answered before the round".into()
    })?;
    sim.settle()?;
    let answer = sim.read_answer(read).cloned();
    ensure(
        &sim,
        node(&sim, 1).leadership().round() == round + 1,
        || "no round sent".into(),
    )?;
    ensure(&sim, node(&sim, 1).log().last_index() == last, || {
        "the read took a log entry".into()
    })?;
    ensure(
        &sim,
        answer.as_ref().is_some_and(|a| {
            a.path == ReadPath::ReadIndex && a.read_index == last && a.response == value("1")
        }),
        || format!("answer {answer:?}"),
    )?;
    // A follower refuses, naming the leader.
    let at_follower = sim.read(NodeId(2), "x")?;
    let refused = sim.read_answer(at_follower).cloned();
    ensure(
        &sim,
        refused.as_ref().is_some_and(|a| {
            a.response
                == ClientResponse::NotLeader {
                    leader_hint: Some(NodeId(1)),
                }
        }),
        || format!("follower answered {refused:?}"),
    )
}

#[test]
fn read_only_safe() {
    run_seeds("read_only_safe", SEEDS, run_read_only_safe);
}

/// etcd TestReadOnlyOptionSafe's follower half (a follower's `MsgReadIndex` is forwarded to
/// the leader), dissertation §6.4: with `forward_reads`, a read at a follower is confirmed by
/// the leader's heartbeat round and served by the follower at the leader's read index, with no
/// log entry, once it has applied that index; a follower cut off from the leader answers nothing (its read waits, and is
/// refused once its election timer fires).
fn run_read_at_follower_forwarded(seed: u64, mode: ReadMode) -> Result<(), SimError> {
    let mut config = SimConfig::new(3, seed).manual_timers();
    config.check_quorum = mode == ReadMode::Lease;
    config.read_mode = mode;
    config.forward_reads = true;
    let mut sim = Simulation::new(config);
    elect(&mut sim, 1)?;
    propose(&mut sim, 1, "1")?;
    if mode == ReadMode::Lease {
        fire(&mut sim, 1, Timer::QuorumCheck)?;
    }
    let last = node(&sim, 1).log().last_index();
    let read = sim.read(NodeId(2), "x")?;
    sim.settle()?;
    // The follower learned the read index but has not yet heard that it is committed: it
    // waits until it has applied it (the next heartbeat carries the commit index).
    ensure(&sim, sim.read_answer(read).is_none(), || {
        "served before applying the read index".into()
    })?;
    fire(&mut sim, 1, Timer::Heartbeat)?;
    let answer = sim.read_answer(read).cloned();
    ensure(
        &sim,
        answer.as_ref().is_some_and(|a| {
            a.server == NodeId(2)
                && a.path == ReadPath::Forwarded
                && a.read_index == last
                && a.response == value("1")
        }),
        || format!("forwarded read answered {answer:?}"),
    )?;
    ensure(&sim, node(&sim, 1).log().last_index() == last, || {
        "the read took a log entry".into()
    })?;
    sim.disconnect(NodeId(3));
    let cut_off = sim.read(NodeId(3), "x")?;
    sim.settle()?;
    ensure(&sim, sim.read_answer(cut_off).is_none(), || {
        "a follower cut off from the leader answered".into()
    })?;
    fire(&mut sim, 3, Timer::Election)?;
    let refused = sim.read_answer(cut_off).cloned();
    ensure(
        &sim,
        refused
            .as_ref()
            .is_some_and(|a| a.path == ReadPath::Refused),
        || format!("after its election timer: {refused:?}"),
    )
}

#[test]
fn read_at_follower_forwarded() {
    run_seeds("read_at_follower_forwarded", SEEDS, |s| {
        run_read_at_follower_forwarded(s, ReadMode::ReadIndex)
    });
}

#[test]
fn read_at_follower_forwarded_lease() {
    run_seeds("read_at_follower_forwarded_lease", SEEDS, |s| {
        run_read_at_follower_forwarded(s, ReadMode::Lease)
    });
}

/// etcd TestReadOnlyOptionLease: with CheckQuorum and a lease granted by a passed quorum
/// check, the leader answers at once, without a heartbeat round.
fn run_read_only_lease_based(seed: u64) -> Result<(), SimError> {
    let mut sim = manual(3, seed, true, true, ReadMode::Lease);
    elect(&mut sim, 1)?;
    propose(&mut sim, 1, "1")?;
    // Before the first passed check there is no lease: the read takes a round.
    let first = sim.read(NodeId(1), "x")?;
    sim.settle()?;
    let answer = sim.read_answer(first).cloned();
    ensure(
        &sim,
        answer
            .as_ref()
            .is_some_and(|a| a.path == ReadPath::ReadIndex),
        || format!("without a lease: {answer:?}"),
    )?;
    fire(&mut sim, 1, Timer::QuorumCheck)?;
    let round = node(&sim, 1).leadership().round();
    let read = sim.read(NodeId(1), "x")?;
    let answer = sim.read_answer(read).cloned();
    ensure(
        &sim,
        answer
            .as_ref()
            .is_some_and(|a| a.path == ReadPath::Lease && a.response == value("1")),
        || format!("under the lease: {answer:?}"),
    )?;
    ensure(&sim, node(&sim, 1).leadership().round() == round, || {
        "a round was sent".into()
    })
}

#[test]
fn read_only_lease_based() {
    run_seeds("read_only_lease_based", SEEDS, run_read_only_lease_based);
}

/// etcd TestReadOnlyForNewLeader: a new leader does not serve a read until an entry of its
/// own term (its no-op) is committed; then the read index covers what earlier leaders
/// committed.
fn run_read_only_for_new_leader(seed: u64) -> Result<(), SimError> {
    let mut sim = manual(3, seed, true, false, ReadMode::ReadIndex);
    elect(&mut sim, 1)?;
    propose(&mut sim, 1, "1")?;
    sim.disconnect(NodeId(1));
    // n2 wins term 2; its no-op is held back from n3 until the read is in.
    sim.fire_timer(NodeId(2), Timer::Election)?
        .map_err(|e| sim.fail(format!("n2 cannot campaign: {e}")))?;
    while !node(&sim, 2).is_leader() {
        if !sim.step_event()? {
            return Err(sim.fail("n2 was not elected"));
        }
    }
    sim.cut_link(NodeId(2), NodeId(3));
    sim.settle()?;
    sim.heal();
    sim.disconnect(NodeId(1));
    let n2 = node(&sim, 2);
    ensure(
        &sim,
        n2.is_leader() && n2.commit_index() < n2.log().last_index(),
        || {
            format!(
                "n2 should lead with its no-op uncommitted: {:?} commit {}",
                n2.role(),
                n2.commit_index()
            )
        },
    )?;
    let read = sim.read(NodeId(2), "x")?;
    ensure(&sim, sim.read_answer(read).is_none(), || {
        "served before its term's commit".into()
    })?;
    fire(&mut sim, 2, Timer::Heartbeat)?;
    let answer = sim.read_answer(read).cloned();
    let last = node(&sim, 2).log().last_index();
    ensure(
        &sim,
        answer
            .as_ref()
            .is_some_and(|a| a.read_index == last && a.response == value("1")),
        || format!("answer {answer:?}, last index {last}"),
    )
}

#[test]
fn read_only_for_new_leader() {
    run_seeds(
        "read_only_for_new_leader",
        SEEDS,
        run_read_only_for_new_leader,
    );
}

/// etcd TestLeaderTransferToUpToDateNode (and back, as in raft-rs's
/// test_leader_transfer_to_up_to_date_node_from_follower).
fn run_leader_transfer_to_up_to_date_node(seed: u64) -> Result<(), SimError> {
    let mut sim = manual(3, seed, true, true, ReadMode::ReadIndex);
    elect(&mut sim, 1)?;
    propose(&mut sim, 1, "1")?;
    for (from, to) in [(1, 2), (2, 1)] {
        sim.transfer_leadership(NodeId(from), NodeId(to))?
            .map_err(|e| sim.fail(format!("transfer refused: {e}")))?;
        sim.settle()?;
        ensure(
            &sim,
            node(&sim, to).is_leader() && !node(&sim, from).is_leader(),
            || format!("n{to} should lead after the transfer"),
        )?;
        // The new leader commits its no-op: the cluster works.
        propose(&mut sim, to, "2")?;
    }
    Ok(())
}

#[test]
fn leader_transfer_to_up_to_date_node() {
    run_seeds(
        "leader_transfer_to_up_to_date_node",
        SEEDS,
        run_leader_transfer_to_up_to_date_node,
    );
}

/// etcd TestLeaderTransferToSlowFollower: the target lacks entries; the leader catches it up
/// first, then sends TimeoutNow.
fn run_leader_transfer_to_slow_follower(seed: u64) -> Result<(), SimError> {
    let mut sim = manual(3, seed, true, false, ReadMode::ReadIndex);
    elect(&mut sim, 1)?;
    sim.disconnect(NodeId(3));
    propose(&mut sim, 1, "1")?;
    propose(&mut sim, 1, "2")?;
    sim.connect(NodeId(3));
    let behind = node(&sim, 3).log().last_index() < node(&sim, 1).log().last_index();
    ensure(&sim, behind, || "n3 should be behind".into())?;
    sim.transfer_leadership(NodeId(1), NodeId(3))?
        .map_err(|e| sim.fail(format!("transfer refused: {e}")))?;
    sim.settle()?;
    ensure(&sim, node(&sim, 3).is_leader(), || "n3 should lead".into())
}

#[test]
fn leader_transfer_to_slow_follower() {
    run_seeds(
        "leader_transfer_to_slow_follower",
        SEEDS,
        run_leader_transfer_to_slow_follower,
    );
}

/// etcd TestLeaderTransferTimeout and TestLeaderTransferIgnoreProposal: while the transfer to
/// an unreachable n3 is in progress, proposals are refused; the transfer timer aborts it and
/// proposals are taken again.
fn run_leader_transfer_timeout(seed: u64) -> Result<(), SimError> {
    let mut sim = manual(3, seed, true, false, ReadMode::ReadIndex);
    elect(&mut sim, 1)?;
    sim.disconnect(NodeId(3));
    propose(&mut sim, 1, "1")?;
    sim.transfer_leadership(NodeId(1), NodeId(3))?
        .map_err(|e| sim.fail(format!("transfer refused: {e}")))?;
    sim.settle()?;
    ensure(
        &sim,
        node(&sim, 1).leadership().transfer() == Some(NodeId(3)),
        || "no transfer in progress".into(),
    )?;
    let last = node(&sim, 1).log().last_index();
    sim.start(NodeId(1), "SET x=2".parse().unwrap())?;
    ensure(&sim, node(&sim, 1).log().last_index() == last, || {
        "a proposal was taken during the transfer".into()
    })?;
    // A client is told why, with a typed answer naming the target (etcd drops the proposal).
    let client = ClientId(100);
    let serial = sim.submit(client, "SET x=2".parse().unwrap())?;
    sim.settle()?;
    let answer = sim.client_answer(client, serial).cloned();
    ensure(
        &sim,
        answer == Some(ClientResponse::TransferInProgress { target: NodeId(3) }),
        || format!("a client's proposal during the transfer: {answer:?}"),
    )?;
    ensure(&sim, node(&sim, 1).log().last_index() == last, || {
        "a client's proposal was taken during the transfer".into()
    })?;
    ensure(
        &sim,
        sim.timer_armed(NodeId(1), Timer::TransferTimeout),
        || "no transfer timer".into(),
    )?;
    fire(&mut sim, 1, Timer::TransferTimeout)?;
    ensure(
        &sim,
        node(&sim, 1).is_leader() && node(&sim, 1).leadership().transfer().is_none(),
        || "the transfer was not aborted".into(),
    )?;
    propose(&mut sim, 1, "3")
}

#[test]
fn leader_transfer_timeout_and_ignore_proposal() {
    run_seeds(
        "leader_transfer_timeout_and_ignore_proposal",
        SEEDS,
        run_leader_transfer_timeout,
    );
}

/// etcd TestLeaderTransferToNonExistingNode and TestLeaderTransferToSelf, and
/// TestLeaderTransferSecondTransferToSameNode: typed errors; a second request for the same
/// target changes nothing (its timer keeps running from the first).
fn run_leader_transfer_errors(seed: u64) -> Result<(), SimError> {
    let mut sim = manual(3, seed, true, false, ReadMode::ReadIndex);
    elect(&mut sim, 1)?;
    let to_nobody = sim.transfer_leadership(NodeId(1), NodeId(9))?;
    ensure(
        &sim,
        to_nobody == Err(StepError::Transfer(TransferError::NotAMember(NodeId(9)))),
        || format!("transfer to n9: {to_nobody:?}"),
    )?;
    let to_self = sim.transfer_leadership(NodeId(1), NodeId(1))?;
    ensure(
        &sim,
        to_self == Err(StepError::Transfer(TransferError::ToSelf)),
        || format!("transfer to self: {to_self:?}"),
    )?;
    let at_follower = sim.transfer_leadership(NodeId(2), NodeId(3))?;
    ensure(
        &sim,
        at_follower
            == Err(StepError::Transfer(TransferError::NotLeader {
                leader_hint: Some(NodeId(1)),
            })),
        || format!("transfer at a follower: {at_follower:?}"),
    )?;
    sim.disconnect(NodeId(3));
    sim.transfer_leadership(NodeId(1), NodeId(3))?
        .map_err(|e| sim.fail(format!("transfer refused: {e}")))?;
    sim.settle()?;
    let again = sim.transfer_leadership(NodeId(1), NodeId(3))?;
    ensure(
        &sim,
        again.is_ok() && node(&sim, 1).leadership().transfer() == Some(NodeId(3)),
        || format!("second transfer: {again:?}"),
    )?;
    fire(&mut sim, 1, Timer::TransferTimeout)?;
    ensure(
        &sim,
        node(&sim, 1).leadership().transfer().is_none(),
        || "one timeout should abort both requests".into(),
    )
}

#[test]
fn leader_transfer_errors_and_second_transfer_to_same_node() {
    run_seeds("leader_transfer_errors", SEEDS, run_leader_transfer_errors);
}

/// Lease and ReadIndex reads with timers on their own, a lossy network and partitions: every
/// read answered reflects every write acknowledged before it was issued (the simulator fails
/// the run otherwise).
fn run_reads_under_churn(seed: u64, mode: ReadMode, forward: bool) -> Result<(), SimError> {
    let mut config = SimConfig::new(3, seed).network(refraft::sim::NetworkConfig::unreliable());
    config.check_quorum = true;
    config.read_mode = mode;
    config.forward_reads = forward;
    let mut sim = Simulation::new(config);
    let mut served = 0;
    for round in 0..6u64 {
        let leader = sim.check_one_leader()?;
        sim.commit_command(
            format!("SET x={round}").parse().unwrap(),
            std::time::Duration::from_secs(10),
        )?;
        let reads: Vec<_> = sim
            .ids()
            .into_iter()
            .map(|id| sim.read(id, "x"))
            .collect::<Result<_, _>>()?;
        sim.run_for(std::time::Duration::from_millis(200))?;
        served += reads
            .iter()
            .filter(|&&r| {
                matches!(
                    sim.read_answer(r).map(|a| &a.response),
                    Some(ClientResponse::Applied(_))
                )
            })
            .count();
        sim.disconnect(leader);
        sim.run_for(std::time::Duration::from_millis(400))?;
        sim.connect(leader);
    }
    ensure(&sim, served >= 3, || format!("only {served} reads served"))
}

#[test]
fn reads_under_churn_read_index() {
    run_seeds("reads_under_churn_read_index", SEEDS, |s| {
        run_reads_under_churn(s, ReadMode::ReadIndex, false)
    });
}

#[test]
fn reads_under_churn_lease() {
    run_seeds("reads_under_churn_lease", SEEDS, |s| {
        run_reads_under_churn(s, ReadMode::Lease, false)
    });
}

/// The same with reads at followers forwarded to the leader (dissertation §6.4).
#[test]
fn reads_under_churn_forwarded() {
    run_seeds("reads_under_churn_forwarded", SEEDS, |s| {
        run_reads_under_churn(s, ReadMode::ReadIndex, true)
    });
    run_seeds("reads_under_churn_forwarded_lease", SEEDS, |s| {
        run_reads_under_churn(s, ReadMode::Lease, true)
    });
}
