//! Arbitrary-input fuzz harness: a three-node cluster's nodes are driven with arbitrary inputs
//! mixed with the messages they really sent — any term (`u64::MAX` included), any index, senders
//! that are not members (and the node itself), responses nobody asked for, timers that are not
//! armed, client requests, crashes and restarts from disk.
//!
//! After every step: no panic (overflow checks are on: `[profile.release]` and
//! `[profile.test]` set `overflow-checks`, and the test checks it), every refusal is a typed
//! `StepError` after which the node's durable state is still valid, every send and reply comes
//! after the persist effects that back what it reveals (Figure 2), the disk copy equals the
//! node's durable state, the disk's term never goes back, and a restart from disk always works.
//!
//! `cargo test --release --test fuzz_step` runs 3000 cases; the soak
//! `FUZZ_CASES=200000 cargo test --release --test fuzz_step -- --ignored` runs more.

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use refraft::*;

const MEMBERS: [u64; 3] = [1, 2, 3];

/// Terms and indexes: mostly small (where the protocol acts), sometimes at the edge of `u64`.
fn number() -> impl Strategy<Value = u64> {
    prop_oneof![
        8 => 0u64..6,
        1 => (u64::MAX - 2)..=u64::MAX,
        1 => any::<u64>(),
    ]
}

fn command() -> impl Strategy<Value = KvCommand> {
    prop_oneof![
        Just(KvCommand::Set {
            key: "x".into(),
            value: "1".into()
        }),
        Just(KvCommand::Get { key: "x".into() }),
        Just(KvCommand::Delete { key: "x".into() }),
    ]
}

fn entry() -> impl Strategy<Value = Entry<KvCommand>> {
    (number(), prop::option::of((0u64..3, 0u64..4, command()))).prop_map(|(term, c)| Entry {
        term,
        payload: match c {
            None => Payload::Noop,
            Some((client, serial, command)) => Payload::Command {
                client: ClientId(client),
                serial,
                command: command.into(),
            },
        },
    })
}

fn message() -> impl Strategy<Value = Message<KvCommand>> {
    let hint = prop::option::of((prop::option::of(number()), number())).prop_map(|h| {
        h.map(|(conflict_term, first_index)| ConflictHint {
            conflict_term,
            first_index,
        })
    });
    prop_oneof![
        (number(), number(), number(), any::<bool>(), any::<bool>()).prop_map(
            |(term, last_log_index, last_log_term, leadership_transfer, pre)| {
                let request = RequestVote {
                    term,
                    last_log_index,
                    last_log_term,
                    leadership_transfer,
                };
                if pre {
                    Message::PreVote(request)
                } else {
                    Message::RequestVote(request)
                }
            }
        ),
        (number(), any::<bool>(), any::<bool>()).prop_map(|(term, vote_granted, pre)| {
            let response = RequestVoteResponse { term, vote_granted };
            if pre {
                Message::PreVoteResponse(response)
            } else {
                Message::RequestVoteResponse(response)
            }
        }),
        number().prop_map(|term| Message::TimeoutNow(TimeoutNow { term })),
        (number(), number(), any::<bool>()).prop_map(|(term, round, ack)| {
            if ack {
                Message::HeartbeatResponse(HeartbeatResponse { term, round })
            } else {
                Message::Heartbeat(Heartbeat { term, round })
            }
        }),
        (
            number(),
            number(),
            number(),
            prop::collection::vec(entry(), 0..4),
            number()
        )
            .prop_map(
                |(term, prev_log_index, prev_log_term, entries, leader_commit)| {
                    Message::AppendEntries(AppendEntries {
                        term,
                        prev_log_index,
                        prev_log_term,
                        entries: entries.into(),
                        leader_commit,
                    })
                }
            ),
        (number(), number()).prop_map(|(term, match_index)| {
            Message::AppendEntriesResponse(AppendEntriesResponse {
                term,
                result: AppendResult::Success { match_index },
            })
        }),
        (number(), number(), hint).prop_map(|(term, prev_log_index, hint)| {
            Message::AppendEntriesResponse(AppendEntriesResponse {
                term,
                result: AppendResult::Reject {
                    prev_log_index,
                    hint,
                },
            })
        }),
        (number(), 0..3u64, 0..3u64, prop::option::of(number())).prop_map(
            |(term, client, serial, read_index)| {
                let client = ClientId(client);
                match read_index {
                    Some(0) => Message::ReadIndex(ReadIndexRequest {
                        term,
                        client,
                        serial,
                    }),
                    read_index => Message::ReadIndexResponse(ReadIndexResponse {
                        term,
                        client,
                        serial,
                        read_index,
                    }),
                }
            }
        ),
    ]
}

#[derive(Clone, Debug)]
enum Op {
    /// An arbitrary message to node `to` (index into the members) from `from` (any id: 0 and 4
    /// are not members, and `from` may be the node itself).
    Arbitrary {
        to: usize,
        from: u64,
        message: Message<KvCommand>,
    },
    /// Deliver the `pick`-th message really sent and still in flight (modulo their number).
    Real { pick: usize },
    /// Fire a timer, armed or not.
    Timeout { to: usize, timer: Timer },
    /// A client request.
    Request {
        to: usize,
        client: u64,
        serial: u64,
        command: KvCommand,
    },
    /// Crash node `to` and restart it from its disk.
    Restart { to: usize },
}

fn op() -> impl Strategy<Value = Op> {
    let to = 0usize..3;
    prop_oneof![
        3 => (to.clone(), 0u64..5, message()).prop_map(|(to, from, message)| Op::Arbitrary { to, from, message }),
        6 => any::<usize>().prop_map(|pick| Op::Real { pick }),
        2 => (to.clone(), prop_oneof![
                Just(Timer::Election),
                Just(Timer::Heartbeat),
                Just(Timer::QuorumCheck),
                Just(Timer::TransferTimeout)
            ])
            .prop_map(|(to, timer)| Op::Timeout { to, timer }),
        1 => (to.clone(), 0u64..3, 0u64..4, command())
            .prop_map(|(to, client, serial, command)| Op::Request { to, client, serial, command }),
        1 => to.prop_map(|to| Op::Restart { to }),
    ]
}

struct Server {
    node: Node<KvStore>,
    disk: DurableState<KvCommand>,
}

fn config(i: usize) -> Config {
    let mut config = Config::new(
        NodeId(MEMBERS[i]),
        MEMBERS.iter().map(|&m| NodeId(m)).collect(),
    )
    .unwrap();
    config.forward_reads = true;
    config
}

fn start(i: usize, disk: DurableState<KvCommand>) -> Result<Server, TestCaseError> {
    let mut out = NodeEffects::<KvStore>::new();
    let node = Node::new(config(i), disk.clone(), KvStore::default(), &mut out)
        .map_err(|e| TestCaseError::fail(format!("restart from disk failed: {e}")))?;
    Ok(Server { node, disk })
}

/// Performs `effects` of server `i` in order against its disk, checking persist-before-reveal;
/// returns the messages sent, as (from, to, message).
fn perform(
    i: usize,
    s: &mut Server,
    effects: NodeEffects<KvStore>,
) -> Result<Vec<(NodeId, NodeId, Message<KvCommand>)>, TestCaseError> {
    let me = NodeId(MEMBERS[i]);
    let mut sent = Vec::new();
    for effect in effects {
        if s.disk.apply(&effect) {
            continue;
        }
        match effect {
            Effect::Send { to, message } => {
                match &message {
                    // Dissertation §9.6: a pre-vote asks for the term its sender would stand
                    // in, and a granted pre-vote echoes it; neither is a term either server
                    // holds, so neither reveals one.
                    Message::PreVote(m) => {
                        prop_assert_eq!(m.term, s.disk.current_term + 1, "pre-vote term")
                    }
                    Message::PreVoteResponse(r) if r.vote_granted => {
                        prop_assert!(
                            r.term > s.disk.current_term,
                            "pre-vote granted for an old term"
                        )
                    }
                    // Figure 2: what a message reveals is on disk before it leaves.
                    _ => prop_assert_eq!(
                        message.term(),
                        s.disk.current_term,
                        "term revealed unpersisted"
                    ),
                }
                match &message {
                    Message::RequestVoteResponse(r) if r.vote_granted => {
                        prop_assert_eq!(s.disk.voted_for, Some(to), "vote revealed unpersisted")
                    }
                    Message::RequestVote(_) => {
                        prop_assert_eq!(s.disk.voted_for, Some(me), "candidacy unpersisted")
                    }
                    Message::AppendEntriesResponse(AppendEntriesResponse {
                        result: AppendResult::Success { match_index },
                        ..
                    }) => {
                        prop_assert!(*match_index <= s.disk.log.last_index(), "ack past the disk");
                        prop_assert_eq!(
                            &s.disk.log.entries()[..*match_index as usize],
                            &s.node.log().entries()[..*match_index as usize],
                            "acknowledged entries unpersisted"
                        );
                    }
                    Message::AppendEntries(ae) => {
                        let first = ae.prev_log_index as usize;
                        let on_disk = s.disk.log.entries().get(first..first + ae.entries.len());
                        prop_assert_eq!(on_disk, Some(&ae.entries[..]), "entries sent unpersisted");
                    }
                    _ => {}
                }
                sent.push((me, to, message));
            }
            Effect::Reply { .. } | Effect::Apply { .. } => {
                // Only what is committed is applied or answered, and it is on disk.
                prop_assert!(s.node.commit_index() <= s.disk.log.last_index());
            }
            _ => {}
        }
    }
    prop_assert_eq!(
        &s.disk,
        s.node.durable(),
        "disk copy differs from the node's durable state"
    );
    Ok(sent)
}

/// How often a run reached the states where the checks matter (steps after which the stepped
/// node leads, or has committed; refusals of `u64::MAX` terms and of non-members; restarts).
#[derive(Debug, Default)]
struct Reached {
    leaders: usize,
    commits: usize,
    too_large: usize,
    unknown_peer: usize,
    restarts: usize,
}

fn drive(ops: Vec<Op>) -> Result<Reached, TestCaseError> {
    let mut reached = Reached::default();
    let mut servers: Vec<Server> = (0..3)
        .map(|i| start(i, DurableState::default()))
        .collect::<Result<_, _>>()?;
    let mut in_flight: Vec<(NodeId, NodeId, Message<KvCommand>)> = Vec::new();
    for op in ops {
        let (i, input) = match op {
            Op::Arbitrary { to, from, message } => (
                to,
                Input::Message {
                    from: NodeId(from),
                    message,
                },
            ),
            Op::Real { pick } => {
                if in_flight.is_empty() {
                    continue;
                }
                let (from, to, message) = in_flight.swap_remove(pick % in_flight.len());
                let i = MEMBERS.iter().position(|&m| NodeId(m) == to).unwrap();
                (i, Input::Message { from, message })
            }
            Op::Timeout { to, timer } => (to, Input::Timeout(timer)),
            Op::Request {
                to,
                client,
                serial,
                command,
            } => {
                let request = ClientRequest {
                    client: ClientId(client),
                    serial,
                    command,
                };
                // Half the GETs are reads without log entries (forwarded at followers, §6.4).
                let read = matches!(request.command, KvCommand::Get { .. }) && serial % 2 == 0;
                if read {
                    (to, Input::Read(request))
                } else {
                    (to, Input::ClientRequest(request))
                }
            }
            Op::Restart { to } => {
                let disk = servers[to].disk.clone();
                servers[to] = start(to, disk)?;
                reached.restarts += 1;
                continue;
            }
        };
        let s = &mut servers[i];
        let term_before = s.disk.current_term;
        let mut effects = NodeEffects::<KvStore>::new();
        let result = s.node.step(input, &mut effects);
        match &result {
            Err(StepError::TermOutOfRange { .. }) => reached.too_large += 1,
            Err(StepError::UnknownPeer(_)) => reached.unknown_peer += 1,
            _ => {}
        }
        if let Err(e) = &result {
            // A typed refusal with a message, and a node that is still valid.
            prop_assert!(!e.to_string().is_empty());
        }
        in_flight.extend(perform(i, s, effects)?);
        prop_assert!(
            s.disk.current_term >= term_before,
            "the disk's term went back"
        );
        prop_assert!(
            s.disk.current_term < u64::MAX,
            "a term that cannot be incremented"
        );
        prop_assert!(s.node.durable().validate_for(s.node.config()).is_ok());
        in_flight.truncate(64);
        reached.leaders += usize::from(s.node.is_leader());
        reached.commits += usize::from(s.node.commit_index() > 0);
    }
    // Every disk restarts.
    for (i, s) in servers.iter().enumerate() {
        start(i, s.disk.clone())?;
    }
    Ok(reached)
}

fn overflow_checks_are_on() -> bool {
    std::panic::catch_unwind(|| std::hint::black_box(u64::MAX) + 1).is_err()
}

fn cases(default: u32) -> u32 {
    std::env::var("FUZZ_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(default)
}

fn run(cases: u32) {
    assert!(
        overflow_checks_are_on(),
        "build with overflow-checks = true"
    );
    let config = ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    proptest!(config, |(ops in prop::collection::vec(op(), 1..120))| {
        drive(ops)?;
    });
}

#[test]
fn arbitrary_inputs_never_panic_and_keep_persist_before_reveal() {
    run(cases(3000));
}

#[test]
#[ignore = "soak: FUZZ_CASES=200000 cargo test --release --test fuzz_step -- --ignored"]
fn soak() {
    run(cases(200_000));
}

/// The harness reaches the states where the checks matter: leaders are elected, entries commit,
/// and messages of term `u64::MAX` and from unknown peers are refused.
#[test]
fn the_harness_reaches_leaders_commits_and_refusals() {
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let mut total = Reached::default();
    for _ in 0..300 {
        let ops = prop::collection::vec(op(), 1..120)
            .new_tree(&mut runner)
            .unwrap()
            .current();
        let r = drive(ops).unwrap();
        total.leaders += r.leaders;
        total.commits += r.commits;
        total.too_large += r.too_large;
        total.unknown_peer += r.unknown_peer;
        total.restarts += r.restarts;
    }
    assert!(total.leaders > 100, "{total:?}");
    assert!(total.commits > 100, "{total:?}");
    assert!(total.too_large > 10, "{total:?}");
    assert!(total.unknown_peer > 10, "{total:?}");
    assert!(total.restarts > 10, "{total:?}");
}
