//! Model paths as traces (`spec/TRACE.md`): `replay FILE --trace OUT.ndjson` writes the steps of
//! a counterexample in the trace format, and [`validate`] reads any trace (NDJSON) and checks
//! it with `refraft::trace::Validator`.
//!
//! A path's states hold each server's `Node`; a step's effects are recomputed by stepping a
//! copy of the server's node from the state before with the step's input (the core is
//! deterministic, so these are the effects the model performed).

use crate::counterexample::Step as PathStep;
use crate::ids::node_id;
use crate::model::State;
use crate::msg::Msg;
use crate::ModelTimer;
use refraft::trace::{
    parse_step, Header, Kind, MessageId, Recorder, Report, Step, TraceError, Validator,
};
use refraft::{Input, KvCommand, KvStore, Message, NodeEffects};
use std::collections::HashMap;
use std::io::Read;

/// The trace of a replayed path: `states[0]` is the initial state and `states[i + 1]` the
/// state after `steps[i]`. Servers are nodes `0..n`, as in the model. Fails if re-stepping a
/// server does not reproduce the path's next state (the path is not of this core).
pub fn trace_of(states: &[State], steps: &[PathStep]) -> Result<(Header, Vec<Step>), String> {
    let first = &states[0];
    let servers: Vec<usize> = (0..first.actor_states.len())
        .filter(|&i| first.actor_states[i].server().is_some())
        .collect();
    let header = Header::new(servers.iter().map(|&i| i as u64).collect());
    let mut recorder = Recorder::default();
    let mut ids: HashMap<(usize, usize, Message<KvCommand>), MessageId> = HashMap::new();
    let mut lines = Vec::new();
    let remember = |line: &Step,
                    ids: &mut HashMap<_, _>,
                    from: usize,
                    sent: Vec<(usize, Message<KvCommand>)>| {
        for ((to, id), (_, message)) in Recorder::sent_ids(line).zip(sent) {
            ids.insert((from, to as usize, message), id);
        }
    };
    for &i in &servers {
        if let Some(s) = first.actor_states[i].server() {
            let line = recorder.start(Kind::Init, &[], &s.node);
            lines.push(line);
        }
    }
    for (step, pair) in steps.iter().zip(states.windows(2)) {
        let (before, after) = (&pair[0], &pair[1]);
        let (dst, input, id) = match step {
            PathStep::Deliver { src, dst, msg } => {
                let input = match msg {
                    Msg::Raft(m) => Input::Message {
                        from: node_id((*src).into()),
                        message: (**m).clone(),
                    },
                    Msg::Request(r) => Input::ClientRequest(r.clone()),
                    Msg::Read(r) => Input::Read(r.clone()),
                    Msg::Reply { .. } => continue,
                };
                let id = match msg {
                    Msg::Raft(m) => ids.get(&(*src, *dst, (**m).clone())).copied(),
                    _ => None,
                };
                (*dst, input, id)
            }
            PathStep::Timeout {
                actor,
                timer: ModelTimer::Server(timer),
            } => (*actor, Input::Timeout(*timer), None),
            PathStep::Recover(actor) => {
                if let Some(s) = after.actor_states[*actor].server() {
                    lines.push(recorder.start(Kind::Restart, &[], &s.node));
                }
                continue;
            }
            PathStep::Timeout { .. } | PathStep::Drop { .. } | PathStep::Crash(_) => continue,
        };
        let Some(server) = before.actor_states.get(dst).and_then(|a| a.server()) else {
            continue;
        };
        let mut node = server.node.clone();
        let mut out = NodeEffects::<KvStore>::new();
        let _ = node.step(input.clone(), &mut out);
        let line = recorder.step(&input, id, out.as_slice(), &node);
        let sent = out
            .as_slice()
            .iter()
            .filter_map(|e| match e {
                refraft::Effect::Send { to, message } => Some((to.0 as usize, message.clone())),
                _ => None,
            })
            .collect();
        remember(&line, &mut ids, dst, sent);
        if after.actor_states[dst].server().map(|s| &s.node) != Some(&node) {
            return Err(format!(
                "step {}: re-stepping server {dst} does not reproduce the path's state",
                lines.len() + 1
            ));
        }
        lines.push(line);
    }
    Ok((header, lines))
}

/// The trace as NDJSON text: the header line, then one line per step.
pub fn to_ndjson(header: &Header, steps: &[Step]) -> String {
    let mut text = serde_json::to_string(header).expect("trace types serialize");
    text.push('\n');
    for step in steps {
        text.push_str(&serde_json::to_string(step).expect("trace types serialize"));
        text.push('\n');
    }
    text
}

/// A trace file that cannot be validated: unreadable, malformed, or structurally wrong.
#[derive(Debug)]
pub enum ReadError {
    /// Reading failed.
    Io(std::io::Error),
    /// The trace's structure is wrong (with its line).
    Trace(TraceError),
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReadError::Io(e) => write!(f, "{e}"),
            ReadError::Trace(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for ReadError {}

/// Reads an NDJSON trace and validates it. Blank lines are skipped.
///
/// The trace is read in large chunks, line by line without a per-line `String`; each step line
/// goes to [`refraft::trace::parse_step`], and the lines it declines (another key order, string
/// escapes, unknown fields, or bad JSON) to serde, which reads them or names the error.
///
/// ```
/// let text = "{\"format\":\"raft-trace\",\"version\":1,\"nodes\":[1]}\n\
///     {\"seq\":1,\"node\":1,\"kind\":\"init\",\"state\":{\"term\":0,\"vote\":null,\"role\":\"follower\",\"log\":[],\"commit\":0,\"applied\":0}}\n";
/// let report = refraft_model::trace::validate(text.as_bytes()).unwrap();
/// assert!(report.passed() && report.steps == 1);
/// let bad = "{\"format\":\"raft-trace\",\"version\":1,\"nodes\":[1]}\n{\"seq\":1,\n";
/// let err = refraft_model::trace::validate(bad.as_bytes()).unwrap_err().to_string();
/// assert!(err.starts_with("line 2: "), "{err}");
/// ```
pub fn validate(reader: impl Read) -> Result<Report, ReadError> {
    let mut validator: Option<Validator> = None;
    lines(reader, |number, line| match validator.as_mut() {
        None => {
            validator = Some(Validator::new(&header_of(line)?).map_err(ReadError::Trace)?);
            Ok(())
        }
        Some(v) => v
            .check(number, &step_of(number, line)?)
            .map_err(ReadError::Trace),
    })?;
    match validator {
        Some(v) => Ok(v.finish()),
        None => Err(ReadError::Trace(TraceError::BadHeader(
            "the trace is empty".to_string(),
        ))),
    }
}

/// The header line.
fn header_of(line: &[u8]) -> Result<Header, ReadError> {
    serde_json::from_slice(line).map_err(|e| {
        ReadError::Trace(TraceError::BadHeader(format!(
            "{e} (the first line must be {{\"format\":\"raft-trace\",\"version\":1,\"nodes\":[...]}})"
        )))
    })
}

/// A step line: the fast reader, else serde (which reads the line or names the error).
pub fn step_of(number: usize, line: &[u8]) -> Result<Step, ReadError> {
    parse_step(line).or_else(|_| {
        serde_json::from_slice(line).map_err(|e| {
            ReadError::Trace(TraceError::Malformed {
                line: number,
                message: e.to_string(),
            })
        })
    })
}

/// Calls `each(number, line)` for every line that is not blank, numbered from 1, reading
/// `reader` in chunks of [`CHUNK`] bytes (a longer line grows the buffer).
pub fn lines(
    mut reader: impl Read,
    mut each: impl FnMut(usize, &[u8]) -> Result<(), ReadError>,
) -> Result<(), ReadError> {
    let mut buf = vec![0u8; CHUNK];
    let (mut start, mut end, mut number) = (0usize, 0usize, 0usize);
    let mut line = |number: usize, text: &[u8]| {
        if text.iter().all(u8::is_ascii_whitespace) {
            Ok(())
        } else {
            each(number, text)
        }
    };
    loop {
        while let Some(n) = memchr::memchr(b'\n', &buf[start..end]) {
            number += 1;
            line(number, &buf[start..start + n])?;
            start += n + 1;
        }
        buf.copy_within(start..end, 0);
        end -= start;
        start = 0;
        if end == buf.len() {
            buf.resize(buf.len() * 2, 0);
        }
        let read = loop {
            match reader.read(&mut buf[end..]) {
                Ok(n) => break n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(ReadError::Io(e)),
            }
        };
        if read == 0 {
            if end > 0 {
                line(number + 1, &buf[..end])?;
            }
            return Ok(());
        }
        end += read;
    }
}

/// How much of a trace is read at once.
pub const CHUNK: usize = 4 << 20;
