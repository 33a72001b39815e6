//! Replication and commit, votes from any state, newer logs overwritten, client retries, the
//! paper's Figure 8 and seed determinism (etcd-io/raft and raft-rs scenarios; helpers in the
//! parent module).

use super::*;
use refraft::sim::{seed_count, NetworkConfig};
use refraft::{ClientId, Config, Effect, Input, NodeEffects, RequestVote, RequestVoteResponse};

// ----- replication and commit -----

fn run_log_replication(seed: u64) -> Result<(), SimError> {
    // One proposal; then a proposal, a new leader, another proposal.
    let mut sim = manual(3, seed);
    campaign(&mut sim, 1)?;
    propose(&mut sim, 1, "somedata")?;
    beat(&mut sim, 1)?;
    ensure(&sim, sim.applied_count(2) == 3, || {
        "first proposal not applied everywhere".into()
    })?;
    campaign(&mut sim, 2)?;
    propose(&mut sim, 2, "moredata")?;
    beat(&mut sim, 2)?;
    let last = node(&sim, 2).log().last_index();
    ensure(&sim, last == 4, || format!("leader's last index {last}"))?;
    for id in 1..=3 {
        let n = node(&sim, id);
        ensure(
            &sim,
            n.commit_index() == last && n.log() == node(&sim, 2).log(),
            || {
                format!(
                    "n{id} commit {} log {:?}",
                    n.commit_index(),
                    log_terms(&sim, id)
                )
            },
        )?;
        let values: Vec<_> = n
            .state_machine()
            .machine()
            .pairs()
            .values()
            .cloned()
            .collect();
        ensure(&sim, values == vec!["moredata".to_string()], || {
            format!("n{id} state {values:?}")
        })?;
    }
    Ok(())
}

#[test]
fn log_replication() {
    run_seeds("log_replication", SEEDS, run_log_replication);
}

#[test]
fn single_node_commit() {
    run_seeds("single_node_commit", SEEDS, |seed| {
        let mut sim = manual(1, seed);
        campaign(&mut sim, 1)?;
        propose(&mut sim, 1, "some data")?;
        propose(&mut sim, 1, "some data")?;
        ensure(&sim, node(&sim, 1).commit_index() == 3, || {
            format!("commit index {}", node(&sim, 1).commit_index())
        })
    });
}

/// etcd TestCannotCommitWithoutNewTermEntry and TestCommitWithoutNewTermEntry, on this core
/// (whose new leaders append a no-op): a leader of term 2 whose old-term entries reach a
/// majority does not commit them by counting (§5.4.2, Figure 8); once its own no-op reaches a
/// majority, everything before it commits too.
fn commit_rules_for_new_term(seed: u64) -> Result<(), SimError> {
    // One entry per AppendEntries, so that old entries and the new no-op travel separately.
    let mut config = no_pre_vote(SimConfig::new(5, seed).manual_timers());
    config.max_entries_per_append = 1;
    let mut sim = Simulation::new(config);
    campaign(&mut sim, 1)?;
    // n1 is cut off from n3, n4, n5: its two proposals reach only n2.
    for p in 3..=5 {
        sim.cut_link(NodeId(1), NodeId(p));
        sim.cut_link(NodeId(p), NodeId(1));
    }
    propose(&mut sim, 1, "a")?;
    propose(&mut sim, 1, "b")?;
    ensure(&sim, node(&sim, 1).commit_index() == 1, || {
        "committed without a majority".into()
    })?;
    // n1 crashes; n2 (the most up-to-date) is elected and replicates the old entries to n3
    // and n4. As soon as both hold index 3, n2's links to them are cut too: its term-2
    // no-op (index 4) reaches at most one of them, not a majority.
    // n5 hears nothing from n2 (n2 wins with the votes of n3 and n4).
    sim.heal();
    sim.crash(NodeId(1));
    sim.cut_link(NodeId(2), NodeId(5));
    sim.fire_timer(NodeId(2), Timer::Election)?
        .map_err(|e| sim.fail(format!("n2 cannot campaign: {e}")))?;
    let holds = |s: &Simulation, id: u64, index| {
        s.node(NodeId(id))
            .is_some_and(|n| n.log().last_index() >= index)
    };
    let spread = sim.run_until(std::time::Duration::from_secs(5), |s| {
        holds(s, 3, 3) && holds(s, 4, 3)
    })?;
    ensure(&sim, spread && node(&sim, 2).is_leader(), || {
        "n2 should win and replicate".into()
    })?;
    for p in 3..=5 {
        sim.cut_link(NodeId(2), NodeId(p));
    }
    sim.settle()?;
    // Reachability: the leader knows that a majority (n2, n3, n4) holds index 3, of term 1.
    let n2 = node(&sim, 2);
    let acked = [3, 4].map(|p| n2.progress(NodeId(p)).map_or(0, |pr| pr.match_index));
    ensure(
        &sim,
        acked.iter().all(|&m| m >= 3) && n2.log().term_at(3) == Some(1),
        || format!("set-up failed: match indexes {acked:?}"),
    )?;
    // Cannot commit without a new-term entry: index 3 (term 1) is on a majority but stays
    // uncommitted (§5.4.2, Figure 8).
    ensure(&sim, n2.commit_index() == 1, || {
        format!(
            "old-term entry committed by counting: commit {}",
            n2.commit_index()
        )
    })?;
    // Commit with the new-term entry: once the no-op (index 4) is on a majority, all commit.
    sim.heal();
    beat(&mut sim, 2)?;
    beat(&mut sim, 2)?;
    ensure(&sim, node(&sim, 2).commit_index() == 4, || {
        format!(
            "commit index {} after the no-op replicated",
            node(&sim, 2).commit_index()
        )
    })?;
    ensure(&sim, sim.applied_count(3) == 4, || {
        "old entries not applied by the four".into()
    })
}

#[test]
fn cannot_commit_without_new_term_entry_and_commit_with_it() {
    run_seeds(
        "cannot_commit_without_new_term_entry_and_commit_with_it",
        SEEDS,
        commit_rules_for_new_term,
    );
}

// ----- votes -----

type Out = NodeEffects<KvStore>;

fn core_node(id: u64, disk: DurableState<KvCommand>) -> Node<KvStore> {
    let ids = (1..=3).map(NodeId).collect();
    let mut config = Config::new(NodeId(id), ids).expect("valid");
    config.pre_vote = false;
    Node::new(config, disk, KvStore::default(), &mut Out::new()).expect("valid disk")
}

/// etcd TestVoteFromAnyState: a follower, a candidate and a leader all grant a vote to a
/// candidate of a higher term with an up-to-date log, and become its followers (§5.1, §5.2).
/// The seed picks how many terms have passed.
fn run_vote_from_any_state(seed: u64) -> Result<(), String> {
    let base_term = seed % 5 + 1;
    for role in ["follower", "candidate", "leader"] {
        let mut n1 = core_node(1, disk(base_term, None, &[1]));
        let mut out = Out::new();
        match role {
            "candidate" => n1
                .step(Input::Timeout(Timer::Election), &mut out)
                .map_err(|e| e.to_string())?,
            "leader" => {
                n1.step(Input::Timeout(Timer::Election), &mut out)
                    .map_err(|e| e.to_string())?;
                let term = n1.current_term();
                let vote = Message::RequestVoteResponse(RequestVoteResponse {
                    term,
                    vote_granted: true,
                });
                n1.step(
                    Input::Message {
                        from: NodeId(2),
                        message: vote,
                    },
                    &mut out,
                )
                .map_err(|e| e.to_string())?;
            }
            _ => {}
        }
        let is_role = match role {
            "candidate" => n1.is_candidate(),
            "leader" => n1.is_leader(),
            _ => !n1.is_candidate() && !n1.is_leader(),
        };
        if !is_role {
            return Err(format!("set-up failed: not a {role}"));
        }
        let term = n1.current_term() + 1;
        out.clear();
        let request = Message::RequestVote(RequestVote {
            term,
            last_log_index: 42,
            last_log_term: term,
            leadership_transfer: false,
        });
        n1.step(
            Input::Message {
                from: NodeId(3),
                message: request,
            },
            &mut out,
        )
        .map_err(|e| e.to_string())?;
        let granted = out.as_slice().iter().any(|e| {
            matches!(e, Effect::Send { to: NodeId(3), message: Message::RequestVoteResponse(r) }
                if r.vote_granted && r.term == term)
        });
        if !granted || n1.is_leader() || n1.is_candidate() {
            return Err(format!(
                "{role}: vote not granted or role kept: {:?}",
                n1.role()
            ));
        }
        if n1.current_term() != term || n1.voted_for() != Some(NodeId(3)) {
            return Err(format!(
                "{role}: term {} vote {:?}",
                n1.current_term(),
                n1.voted_for()
            ));
        }
        // The vote was made durable before it was sent (Figure 2).
        let persisted = out.as_slice().iter().position(|e| {
            matches!(e, Effect::PersistHardState { current_term, voted_for: Some(NodeId(3)) } if *current_term == term)
        });
        let sent = out
            .as_slice()
            .iter()
            .position(|e| matches!(e, Effect::Send { .. }));
        if !matches!((persisted, sent), (Some(p), Some(s)) if p < s) {
            return Err(format!("{role}: vote sent before it was persisted"));
        }
    }
    Ok(())
}

#[test]
fn vote_from_any_state() {
    for seed in 0..seed_count(SEEDS) {
        if let Err(e) = run_vote_from_any_state(seed) {
            panic!("vote_from_any_state: seed {seed}: {e}");
        }
    }
}

/// etcd TestElectionOverwriteNewerLogs: a newly elected leader does not hold the newest
/// (highest-term) entry, and overwrites it with its own lower-term entry, which is allowed
/// because the newer entry was never committed.
fn run_election_overwrites_newer_logs(seed: u64) -> Result<(), SimError> {
    let disks = vec![
        disk(1, Some(1), &[1]), // n1 won the first election
        disk(1, Some(1), &[1]), // n2 got n1's entry
        disk(2, Some(3), &[2]), // n3 won the second election
        disk(2, Some(3), &[]),  // n4 voted for n3 but got no entry
        disk(2, Some(3), &[]),  // n5 likewise
    ];
    let mut sim =
        Simulation::from_disks(no_pre_vote(SimConfig::new(5, seed).manual_timers()), disks)?;
    // n1's first campaign (term 2) fails: n3, n4 and n5 already voted in term 2.
    campaign(&mut sim, 1)?;
    ensure(
        &sim,
        !node(&sim, 1).is_leader() && node(&sim, 1).current_term() == 2,
        || "n1 should lose term 2".into(),
    )?;
    // Its second campaign (term 3) wins with n2, n4 and n5; n3's newer log loses its entry.
    campaign(&mut sim, 1)?;
    ensure(
        &sim,
        node(&sim, 1).is_leader() && node(&sim, 1).current_term() == 3,
        || "n1 should lead term 3".into(),
    )?;
    beat(&mut sim, 1)?;
    for id in 1..=5 {
        ensure(&sim, log_terms(&sim, id) == vec![1, 3], || {
            format!("n{id} log terms {:?}", log_terms(&sim, id))
        })?;
    }
    Ok(())
}

#[test]
fn election_overwrites_newer_logs() {
    run_seeds(
        "election_overwrites_newer_logs",
        SEEDS,
        run_election_overwrites_newer_logs,
    );
}

/// raft-rs / etcd TestProposal-style: proposals to a follower are redirected to the leader,
/// and a client that follows the hint and retries with the same serial commits exactly once
/// (dissertation §6.3), on an unreliable network.
fn run_client_retries_commit_once(seed: u64) -> Result<(), SimError> {
    let mut sim = Simulation::new(SimConfig::new(3, seed).network(NetworkConfig::unreliable()));
    sim.check_one_leader()?;
    let client = ClientId(7);
    for v in 0..20u64 {
        let serial = sim.submit(
            client,
            KvCommand::Set {
                key: "c".into(),
                value: v.to_string(),
            },
        )?;
        let done = sim.run_until(std::time::Duration::from_secs(10), |s| {
            !s.client_busy(client)
        })?;
        ensure(&sim, done, || format!("request {serial} unanswered"))?;
    }
    sim.set_network(NetworkConfig::reliable());
    sim.run_for(std::time::Duration::from_secs(1))?;
    // Every serial is applied once: the session table saw all 20, in order.
    let applied: Vec<u64> = sim
        .checker()
        .applied()
        .values()
        .filter_map(|(e, _)| match &e.payload {
            refraft::Payload::Command {
                client: c, serial, ..
            } if *c == client => Some(*serial),
            _ => None,
        })
        .collect();
    let mut firsts = applied.clone();
    firsts.dedup();
    let expect: Vec<u64> = (1..=20).collect();
    let mut unique = firsts.clone();
    unique.sort();
    unique.dedup();
    ensure(&sim, unique == expect, || {
        format!("serials in the log: {applied:?}")
    })?;
    let n = node(&sim, 1);
    let session = n
        .state_machine()
        .sessions()
        .get(&client)
        .map(|s| s.last_serial);
    ensure(&sim, session == Some(20), || {
        format!("session at {session:?}")
    })?;
    ensure(
        &sim,
        n.state_machine().machine().get("c") == Some("19"),
        || "wrong final value".into(),
    )
}

#[test]
fn client_retries_commit_once() {
    run_seeds(
        "client_retries_commit_once",
        SEEDS,
        run_client_retries_commit_once,
    );
}

/// The paper's Figure 8, step by step (the 6.824 `figure8` tests are its randomized form). An
/// entry of an old term that reaches a majority is not committed by counting (§5.4.2), because
/// a later leader may still overwrite it, and does here. `config` lets a test switch a rule off.
fn figure8_paper(config: SimConfig, check_commit: bool) -> Result<(), SimError> {
    // The paper's schedule, with Figure 2's elections (a pre-vote round would change who can
    // campaign when).
    let mut config = no_pre_vote(config.manual_timers());
    config.max_entries_per_append = 1;
    let mut sim = Simulation::new(config);
    let cut_from = |sim: &mut Simulation, from: u64, to: &[u64]| {
        for &p in to {
            sim.cut_link(NodeId(from), NodeId(p));
        }
    };
    let holds = |s: &Simulation, id: u64, index| {
        s.node(NodeId(id))
            .is_some_and(|n| n.log().last_index() >= index)
    };
    // (a) S1 leads, its no-op commits everywhere; its next entry (index 2) reaches only S2.
    campaign(&mut sim, 1)?;
    beat(&mut sim, 1)?;
    cut_from(&mut sim, 1, &[3, 4, 5]);
    propose(&mut sim, 1, "from S1")?;
    // (b) S1 crashes; S5 is elected by S3, S4 and itself and appends its no-op (index 2), which
    // reaches no one.
    sim.crash(NodeId(1));
    sim.heal();
    sim.fire_timer(NodeId(5), Timer::Election)?
        .map_err(|e| sim.fail(format!("S5 cannot campaign: {e}")))?;
    let won = sim.run_until(std::time::Duration::from_secs(1), |s| {
        s.node(NodeId(5)).is_some_and(|n| n.is_leader())
    })?;
    ensure(&sim, won, || "S5 should win".into())?;
    cut_from(&mut sim, 5, &[1, 2, 3, 4]);
    sim.settle()?;
    // (c) S5 crashes; S1 restarts, is elected by S2 and S3, and copies its index-2 entry (of
    // the old term) to S3: now on a majority. Its own no-op (index 3) reaches no majority.
    sim.crash(NodeId(5));
    sim.heal();
    sim.restart(NodeId(1))?;
    cut_from(&mut sim, 1, &[4, 5]);
    for _ in 0..3 {
        // Its first campaign may fall in the term S3 already voted in.
        sim.fire_timer(NodeId(1), Timer::Election)?
            .map_err(|e| sim.fail(format!("S1 cannot campaign: {e}")))?;
        let one_second = std::time::Duration::from_secs(1);
        if sim.run_until(one_second, |s| {
            s.node(NodeId(1)).is_some_and(|n| n.is_leader())
        })? {
            break;
        }
    }
    let spread = sim.run_until(std::time::Duration::from_secs(1), |s| holds(s, 3, 2))?;
    cut_from(&mut sim, 1, &[2, 3]);
    sim.settle()?;
    let s1 = node(&sim, 1);
    ensure(
        &sim,
        spread && s1.is_leader() && s1.log().term_at(2) == Some(1),
        || "set-up failed: S1 should lead with its old entry on a majority".into(),
    )?;
    // §5.4.2: the old-term entry is on a majority, but is not committed by counting. (Left to
    // the simulator's own checks when a test has switched the rule off.)
    ensure(&sim, !check_commit || s1.commit_index() < 2, || {
        format!(
            "S1 committed index {} by counting old-term replicas",
            s1.commit_index()
        )
    })?;
    // (d) S1 crashes; S5 restarts and is elected by S3 and S4 (its last term, 2, beats their
    // 1), then overwrites index 2 everywhere. Legal, because index 2 was never committed.
    sim.crash(NodeId(1));
    sim.heal();
    sim.restart(NodeId(5))?;
    cut_from(&mut sim, 5, &[2]);
    for _ in 0..3 {
        if node(&sim, 5).is_leader() {
            break;
        }
        campaign(&mut sim, 5)?;
    }
    ensure(&sim, node(&sim, 5).is_leader(), || {
        "S5 should win again".into()
    })?;
    sim.heal();
    beat(&mut sim, 5)?;
    beat(&mut sim, 5)?;
    for id in 2..=5 {
        ensure(&sim, log_terms(&sim, id).get(1) == Some(&2), || {
            format!("S{id} log terms {:?}", log_terms(&sim, id))
        })?;
    }
    ensure(&sim, sim.applied_count(2) == 4, || {
        "S5's entry not applied by the four".into()
    })
}

#[test]
fn figure8_paper_scenario() {
    run_seeds("figure8_paper_scenario", SEEDS, |seed| {
        figure8_paper(SimConfig::new(5, seed), true)
    });
}

/// With §5.4.2's rule switched off, the same schedule commits S1's old-term entry by counting
/// and then loses it: the simulator must report the violation on every seed.
#[cfg(feature = "rule-switches")]
#[test]
fn figure8_paper_scenario_catches_counting_old_terms() {
    for seed in 0..seed_count(SEEDS) {
        let mut config = SimConfig::new(5, seed);
        config.broken_rule = Some(refraft::Rule::CurrentTermCommit);
        match figure8_paper(config, false) {
            Err(e)
                if e.message.contains("Leader Completeness")
                    || e.message.contains("State Machine Safety") => {}
            other => panic!("seed {seed}: broken commit rule not caught: {other:?}"),
        }
    }
}

/// Soak: every seeded scenario above over thousands of seeds (`SIM_SEEDS`, default 2000):
/// `cargo test --release --test sim_scenarios -- --ignored`.
#[test]
#[ignore]
fn soak_scenarios() {
    run_seeds("soak_scenarios", seed_count(2000), |seed| {
        let seed = seed + 1_000_000;
        run_dueling_candidates(seed)?;
        run_candidate_concedes(seed)?;
        run_old_messages_ignored(seed)?;
        run_log_replication(seed)?;
        run_election_overwrites_newer_logs(seed)?;
        commit_rules_for_new_term(seed)?;
        figure8_paper(SimConfig::new(5, seed), true)?;
        run_client_retries_commit_once(seed)
    });
}

/// The simulator's own promise: the same seed replays the same run, event for event; another
/// seed takes another path.
fn lossy_run(seed: u64) -> Result<Simulation, SimError> {
    let config = SimConfig::new(5, seed).network(NetworkConfig::unreliable_long_reordering());
    let mut sim = Simulation::new(config);
    for v in 0..10u64 {
        sim.submit(
            ClientId(1),
            KvCommand::Set {
                key: "r".into(),
                value: v.to_string(),
            },
        )?;
        sim.run_for(std::time::Duration::from_millis(300))?;
        if v == 4 {
            let victim = sim
                .connected_leaders()
                .first()
                .copied()
                .unwrap_or(NodeId(1));
            sim.crash(victim);
        }
    }
    Ok(sim)
}

#[test]
fn same_seed_replays_exactly() {
    let fingerprint = |sim: &Simulation| {
        let logs: Vec<_> = sim.ids().iter().map(|&id| sim.disk(id).cloned()).collect();
        (
            sim.stats(),
            sim.now(),
            logs,
            sim.checker().elections().clone(),
            sim.fail("").trace,
        )
    };
    for seed in 0..seed_count(SEEDS) {
        let a = fingerprint(&lossy_run(seed).expect("run"));
        let b = fingerprint(&lossy_run(seed).expect("run"));
        assert!(a == b, "seed {seed} did not replay exactly");
        let c = fingerprint(&lossy_run(seed + 1000).expect("run"));
        assert!(
            a.0 != c.0,
            "seeds {seed} and {} gave identical runs",
            seed + 1000
        );
    }
}
