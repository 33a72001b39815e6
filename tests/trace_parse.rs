//! The fast step reader (`refraft::trace::parse_step`) against serde's: every step serde
//! writes, compact or pretty, the fast reader reads back to the same value; and on any line
//! (valid or mutated), whenever the fast reader returns a step, serde's reader returns the same
//! step. So declining is the fast reader's only freedom: it never changes what a line means.

use proptest::collection::{btree_map, vec};
use proptest::prelude::*;
use refraft::trace::{
    parse_step, Kind, MessageId, Msg, StateView, Step, StepEffect, StepInput, StepReader, TraceRole,
};

fn small() -> impl Strategy<Value = u64> {
    prop_oneof![0..8u64, any::<u64>()]
}

fn opt() -> impl Strategy<Value = Option<u64>> {
    proptest::option::of(small())
}

fn digest() -> impl Strategy<Value = String> {
    "[0-9a-f]{0,16}|[a-zA-Z é\"\\\\\\n]{0,6}"
}

fn msg() -> impl Strategy<Value = Msg> {
    prop_oneof![
        (small(), small(), small(), any::<bool>()).prop_map(|(term, i, t, pre_vote)| {
            Msg::RequestVote {
                term,
                last_log_index: i,
                last_log_term: t,
                pre_vote,
            }
        }),
        (small(), any::<bool>(), any::<bool>()).prop_map(|(term, granted, pre_vote)| {
            Msg::RequestVoteResponse {
                term,
                granted,
                pre_vote,
            }
        }),
        (
            small(),
            small(),
            small(),
            vec(small(), 0..4),
            vec(digest(), 0..3),
            small()
        )
            .prop_map(|(term, pi, pt, entries, digests, c)| Msg::AppendEntries {
                term,
                prev_log_index: pi,
                prev_log_term: pt,
                entries,
                digests,
                leader_commit: c,
            }),
        (small(), any::<bool>(), opt(), opt()).prop_map(|(term, success, m, r)| {
            Msg::AppendEntriesResponse {
                term,
                success,
                match_index: m,
                reject_index: r,
            }
        }),
        small().prop_map(|term| Msg::TimeoutNow { term }),
        (small(), small()).prop_map(|(term, round)| Msg::Heartbeat { term, round }),
        (small(), small()).prop_map(|(term, round)| Msg::HeartbeatResponse { term, round }),
        (small(), small(), small()).prop_map(|(term, client, serial)| Msg::ReadIndex {
            term,
            client,
            serial
        }),
        (small(), small(), small(), opt()).prop_map(|(term, client, serial, read_index)| {
            Msg::ReadIndexResponse {
                term,
                client,
                serial,
                read_index,
            }
        }),
    ]
}

fn id() -> impl Strategy<Value = Option<MessageId>> {
    proptest::option::of((small(), small()).prop_map(|(sender, seq)| MessageId { sender, seq }))
}

fn effect() -> impl Strategy<Value = StepEffect> {
    prop_oneof![
        (small(), opt()).prop_map(|(term, vote)| StepEffect::PersistHardState { term, vote }),
        (small(), vec(small(), 0..4))
            .prop_map(|(from, entries)| StepEffect::PersistLog { from, entries }),
        (small(), id(), msg()).prop_map(|(to, id, msg)| StepEffect::Send { to, id, msg }),
        (small(), small(), proptest::option::of(digest())).prop_map(|(index, term, digest)| {
            StepEffect::Apply {
                index,
                term,
                digest,
            }
        }),
        (small(), small(), any::<bool>(), opt(), any::<bool>()).prop_map(
            |(client, serial, ok, read_index, lease)| StepEffect::Reply {
                client,
                serial,
                ok,
                read_index,
                lease,
            }
        ),
    ]
}

fn input() -> impl Strategy<Value = StepInput> {
    (
        opt(),
        id(),
        proptest::option::of(msg()),
        proptest::option::of("election|heartbeat|quorum_check|t\"x"),
        vec((small(), small()), 0..3),
        opt(),
    )
        .prop_map(|(from, id, msg, timer, requests, target)| StepInput {
            from,
            id,
            msg,
            timer,
            requests,
            target,
        })
}

fn role() -> impl Strategy<Value = TraceRole> {
    prop_oneof![
        Just(TraceRole::Follower),
        Just(TraceRole::PreCandidate),
        Just(TraceRole::Candidate),
        Just(TraceRole::Leader),
    ]
}

fn kind() -> impl Strategy<Value = Kind> {
    prop_oneof![
        Just(Kind::Init),
        Just(Kind::Restart),
        Just(Kind::Timeout),
        Just(Kind::Receive),
        Just(Kind::Client),
        Just(Kind::Read),
        Just(Kind::Transfer),
    ]
}

fn state() -> impl Strategy<Value = StateView> {
    (
        (
            small(),
            opt(),
            role(),
            vec((small(), small()), 0..4),
            small(),
        ),
        (
            small(),
            small(),
            btree_map(small(), small(), 0..3),
            btree_map(small(), small(), 0..3),
        ),
    )
        .prop_map(
            |((term, vote, role, log, log_from), (commit, applied, next, matched))| StateView {
                term,
                vote,
                role,
                log,
                log_from,
                commit,
                applied,
                next,
                r#match: matched,
            },
        )
}

fn step() -> impl Strategy<Value = Step> {
    (
        small(),
        small(),
        kind(),
        input(),
        vec(effect(), 0..4),
        state(),
    )
        .prop_map(|(seq, node, kind, input, effects, state)| Step {
            seq,
            node,
            kind,
            input,
            effects,
            state,
        })
}

/// Whenever the fast reader accepts `line`, serde reads the same step from it.
fn agrees_with_serde(line: &[u8]) -> Result<(), TestCaseError> {
    if let Ok(fast) = parse_step(line) {
        let slow: Result<Step, _> = serde_json::from_slice(line);
        prop_assert!(
            slow.as_ref().ok() == Some(&fast),
            "fast read {:?}, serde {:?}, of {:?}",
            fast,
            slow,
            String::from_utf8_lossy(line)
        );
    }
    Ok(())
}

/// What a line with one byte changed, removed or inserted can look like.
fn mutation() -> impl Strategy<Value = (usize, u8, u8)> {
    let bytes = prop_oneof![
        Just(b'"'),
        Just(b','),
        Just(b':'),
        Just(b'{'),
        Just(b'}'),
        Just(b'['),
        Just(b']'),
        Just(b'0'),
        Just(b'9'),
        Just(b'-'),
        Just(b'.'),
        Just(b'e'),
        Just(b' '),
        Just(b'\\'),
        Just(b'n'),
        Just(0xff),
        any::<u8>(),
    ];
    (any::<usize>(), 0..3u8, bytes)
}

/// `step`'s line as serde writes it, with `edits` (from [`mutation`]) applied in order: byte
/// `at` replaced (op 0), removed (op 1) or a byte inserted there (otherwise).
fn mutated(step: &Step, edits: Vec<(usize, u8, u8)>) -> Vec<u8> {
    let mut line = serde_json::to_vec(step).unwrap();
    for (at, op, byte) in edits {
        let at = at % (line.len() + 1);
        match op {
            0 if at < line.len() => line[at] = byte,
            1 if at < line.len() => {
                line.remove(at);
            }
            _ => line.insert(at, byte),
        }
    }
    line
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn reads_back_what_serde_writes(step in step()) {
        let compact = serde_json::to_string(&step).unwrap();
        let escapes = compact.contains('\\');
        match parse_step(compact.as_bytes()) {
            Ok(read) => prop_assert_eq!(&read, &step),
            // Only strings with escapes are left to serde.
            Err(e) => prop_assert!(escapes, "declined {compact} at {}", e.offset),
        }
        let pretty = serde_json::to_string_pretty(&step).unwrap();
        if !escapes {
            let read = parse_step(pretty.as_bytes()).ok();
            prop_assert_eq!(read.as_ref(), Some(&step));
        }
        agrees_with_serde(pretty.as_bytes())?;
    }

    #[test]
    fn accepts_only_what_serde_reads_the_same(step in step(), edits in vec(mutation(), 1..4)) {
        let line = mutated(&step, edits);
        agrees_with_serde(&line)?;
    }

    /// One `StepReader` and one `Step` reused line after line (the leaders' maps refilled in
    /// place, the buffers of declined lines too) read what `parse_step` reads from scratch.
    #[test]
    fn a_reused_step_reads_what_a_fresh_one_does(
        lines in vec((step(), vec(mutation(), 0..3)), 1..16),
    ) {
        let mut reader = StepReader::new();
        let mut reused = Step::default();
        for (step, edits) in lines {
            let line = mutated(&step, edits);
            match (parse_step(&line), reader.read_into(&line, &mut reused)) {
                (Ok(fresh), Ok(())) => prop_assert_eq!(&reused, &fresh),
                (Err(a), Err(b)) => prop_assert_eq!(a, b),
                (a, b) => prop_assert!(false, "fresh {:?}, reused {:?}", a, b),
            }
        }
    }
}

#[test]
fn declines_what_serde_refuses_or_reads_otherwise() {
    let good = br#"{"seq":1,"node":2,"kind":"init","state":{"term":0,"vote":null,"role":"follower","log":[],"commit":0,"applied":0}}"#;
    assert!(parse_step(good).is_ok());
    for bad in [
        // A duplicate field, a leading zero, a float, a negative number, trailing characters.
        &br#"{"seq":1,"seq":1,"node":2,"kind":"init","state":{"term":0,"vote":null,"role":"follower","log":[],"commit":0,"applied":0}}"#[..],
        br#"{"seq":01,"node":2,"kind":"init","state":{"term":0,"vote":null,"role":"follower","log":[],"commit":0,"applied":0}}"#,
        br#"{"seq":1.0,"node":2,"kind":"init","state":{"term":0,"vote":null,"role":"follower","log":[],"commit":0,"applied":0}}"#,
        br#"{"seq":-1,"node":2,"kind":"init","state":{"term":0,"vote":null,"role":"follower","log":[],"commit":0,"applied":0}}"#,
        br#"{"seq":1,"node":2,"kind":"init","state":{"term":0,"vote":null,"role":"follower","log":[],"commit":0,"applied":0}}x"#,
        // Past u64, a missing field, an unknown kind, a tag that is not the first key.
        br#"{"seq":18446744073709551616,"node":2,"kind":"init","state":{"term":0,"vote":null,"role":"follower","log":[],"commit":0,"applied":0}}"#,
        br#"{"seq":1,"node":2,"kind":"init","state":{"term":0,"vote":null,"role":"follower","log":[],"applied":0}}"#,
        br#"{"seq":1,"node":2,"kind":"sleep","state":{"term":0,"vote":null,"role":"follower","log":[],"commit":0,"applied":0}}"#,
        br#"{"seq":1,"node":2,"kind":"receive","input":{"msg":{"term":1,"type":"TimeoutNow"}},"state":{"term":0,"vote":null,"role":"follower","log":[],"commit":0,"applied":0}}"#,
    ] {
        assert!(
            parse_step(bad).is_err(),
            "accepted {}",
            String::from_utf8_lossy(bad)
        );
    }
    // serde reads the last one (the tag may come anywhere): the fast reader declined only.
    let late_tag = br#"{"seq":1,"node":2,"kind":"receive","input":{"msg":{"term":1,"type":"TimeoutNow"}},"state":{"term":0,"vote":null,"role":"follower","log":[],"commit":0,"applied":0}}"#;
    let step: Step = serde_json::from_slice(late_tag).unwrap();
    assert_eq!(step.input.msg, Some(Msg::TimeoutNow { term: 1 }));
}
