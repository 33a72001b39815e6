//! Property tests of the core's pure parts: the log against a plain `Vec`, vote decisions
//! against their definition (§5.2, §5.4.1), and persist-before-reveal on random schedules of a
//! whole cluster (Figure 2).

use proptest::prelude::*;
use refraft::*;

#[derive(Clone, Debug)]
enum LogOp {
    /// Append an entry whose term is the last term plus this step.
    Append(u64),
    TruncateFrom(Index),
}

fn log_op() -> impl Strategy<Value = LogOp> {
    prop_oneof![
        3 => (0u64..3).prop_map(LogOp::Append),
        1 => (0u64..12).prop_map(LogOp::TruncateFrom),
    ]
}

proptest! {
    /// Every accessor of `Log` agrees with a `Vec<Term>` under random appends and truncations.
    #[test]
    fn log_matches_vec_model(ops in prop::collection::vec(log_op(), 0..40)) {
        let mut log: Log<KvCommand> = Log::default();
        let mut model: Vec<Term> = Vec::new();
        for op in ops {
            match op {
                LogOp::Append(step) => {
                    let term = model.last().copied().unwrap_or(1) + step;
                    log.append(Entry::noop(term));
                    model.push(term);
                }
                LogOp::TruncateFrom(i) => {
                    log.truncate_from(i);
                    model.truncate(i.max(1) as usize - 1);
                }
            }
            prop_assert_eq!(log.last_index(), model.len() as Index);
            prop_assert_eq!(log.last_term(), model.last().copied().unwrap_or(0));
            prop_assert_eq!(log.term_at(0), Some(0));
            for i in 1..=model.len() as Index + 2 {
                prop_assert_eq!(log.term_at(i), model.get(i as usize - 1).copied());
                let from: Vec<Term> = log.entries_from(i, 3).iter().map(|e| e.term).collect();
                let want: Vec<Term> = model.iter().skip(i as usize - 1).take(3).copied().collect();
                prop_assert_eq!(from, want);
            }
            for t in 0..=model.last().copied().unwrap_or(0) + 1 {
                let first = model.iter().position(|&x| x == t).map(|p| p as Index + 1);
                let last = model.iter().rposition(|&x| x == t).map(|p| p as Index + 1);
                prop_assert_eq!(log.first_index_of_term(t), first);
                prop_assert_eq!(log.last_index_of_term(t), last);
            }
        }
    }

    /// A RequestVote is granted exactly when the definition says so, and a grant is persisted
    /// before the reply leaves.
    #[test]
    fn vote_decision_matches_definition(
        voter_term in 0u64..4,
        voted in prop::option::of(2u64..=3),
        voter_log_steps in prop::collection::vec(0u64..2, 0..4),
        candidate in 2u64..=3,
        // Term 0 is refused before any vote decision (`StepError::TermOutOfRange`).
        request_term in 1u64..5,
        last_log_index in 0u64..5,
        last_log_term in 0u64..5,
    ) {
        // A log with non-decreasing terms, none above the voter's term.
        let mut terms = Vec::new();
        let mut t = 0;
        for s in voter_log_steps {
            t = (t + s).clamp(1, voter_term.max(1));
            terms.push(t);
        }
        let voter_term = voter_term.max(terms.last().copied().unwrap_or(0));
        // No vote is cast in term 0 (`DurableState::validate`).
        let voted = voted.filter(|_| voter_term > 0);
        let state = DurableState {
            current_term: voter_term,
            voted_for: voted.map(NodeId),
            log: Log::from_entries(terms.iter().map(|&t| Entry::noop(t)).collect()),
        };
        let mut out = NodeEffects::<KvStore>::new();
        let config = Config::new(NodeId(1), vec![NodeId(1), NodeId(2), NodeId(3)]).unwrap();
        let mut node = Node::new(config, state.clone(), KvStore::default(), &mut out).unwrap();
        out.clear();
        let request = Message::RequestVote(RequestVote { term: request_term, last_log_index, last_log_term, leadership_transfer: false });
        let _ = node.step(Input::Message { from: NodeId(candidate), message: request }, &mut out);

        let term_ok = request_term >= voter_term;
        let vote_free = request_term > voter_term || voted.is_none() || voted == Some(candidate);
        let up_to_date = (last_log_term, last_log_index) >= (state.log.last_term(), state.log.last_index());
        let expected = term_ok && vote_free && up_to_date;

        let mut disk = state.clone();
        let mut reply = None;
        for e in out.as_slice() {
            disk.apply(e);
            if let Effect::Send { message: Message::RequestVoteResponse(r), .. } = e {
                // Whatever the reply reveals is already on disk.
                prop_assert_eq!(disk.current_term, r.term);
                if r.vote_granted {
                    prop_assert_eq!(disk.voted_for, Some(NodeId(candidate)));
                }
                reply = Some(r.clone());
            }
        }
        let reply = reply.expect("every vote request is answered");
        prop_assert_eq!(reply.vote_granted, expected);
        prop_assert_eq!(reply.term, voter_term.max(request_term));
        prop_assert_eq!(node.voted_for() == Some(NodeId(candidate)), expected || (voted == Some(candidate) && request_term <= voter_term));
    }

    /// On random schedules of a 3-node cluster (random deliveries, drops, timeouts, client
    /// requests and restarts), every send and reply is preceded by the persist effects for the
    /// state it could reveal, and a restart from the persisted copy loses nothing.
    #[test]
    fn persist_precedes_every_send_on_random_schedules(
        schedule in prop::collection::vec((0u8..6, 0usize..64, 0usize..3), 1..120)
    ) {
        let ids = vec![NodeId(1), NodeId(2), NodeId(3)];
        let mut nodes = Vec::new();
        let mut disks = vec![DurableState::<KvCommand>::default(); 3];
        let mut network: Vec<(NodeId, NodeId, Message<KvCommand>)> = Vec::new();
        for &id in &ids {
            let mut out = NodeEffects::<KvStore>::new();
            let config = Config::new(id, ids.clone()).unwrap();
            nodes.push(Node::new(config, DurableState::default(), KvStore::default(), &mut out).unwrap());
        }
        let mut serial = 0;
        for (kind, pick, node) in schedule {
            let input = match kind {
                0 | 1 if !network.is_empty() => {
                    let (from, to, message) = network.swap_remove(pick % network.len());
                    if to.0 as usize - 1 != node { network.push((from, to, message)); continue; }
                    Input::Message { from, message }
                }
                2 => Input::Timeout(Timer::Election),
                3 => Input::Timeout(Timer::Heartbeat),
                4 => {
                    serial += 1;
                    Input::ClientRequest(ClientRequest {
                        client: ClientId(1),
                        serial,
                        command: KvCommand::Set { key: "k".into(), value: serial.to_string() },
                    })
                }
                5 => {
                    // Crash and restart from what was persisted.
                    let mut out = NodeEffects::<KvStore>::new();
                    let config = Config::new(ids[node], ids.clone()).unwrap();
                    nodes[node] = Node::new(config, disks[node].clone(), KvStore::default(), &mut out).unwrap();
                    continue;
                }
                _ => {
                    if !network.is_empty() { network.swap_remove(pick % network.len()); }
                    continue;
                }
            };
            let mut out = NodeEffects::<KvStore>::new();
            let _ = nodes[node].step(input, &mut out);
            for e in out.as_slice() {
                disks[node].apply(e);
                match e {
                    Effect::Send { to, message } => {
                        prop_assert_eq!(&disks[node], nodes[node].durable());
                        network.push((ids[node], *to, message.clone()));
                    }
                    Effect::Reply { .. } => prop_assert_eq!(&disks[node], nodes[node].durable()),
                    _ => {}
                }
            }
            prop_assert_eq!(&disks[node], nodes[node].durable());
        }
    }
}
