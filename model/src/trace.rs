//! Model paths as traces (`spec/TRACE.md`): `replay FILE --trace OUT.ndjson` writes the steps of
//! a counterexample in the trace format, and [`validate`] reads any trace (NDJSON) and checks
//! it with `refraft::trace::Validator` (reading is in [`crate::trace_file`]).
//!
//! A path's states hold each server's `Node`; a step's effects are recomputed by stepping a
//! copy of the server's node from the state before with the step's input (the core is
//! deterministic, so these are the effects the model performed).

use crate::counterexample::Step as PathStep;
use crate::ids::node_id;
use crate::model::State;
use crate::msg::Msg;
use crate::ModelTimer;
use refraft::trace::{Header, Kind, MessageId, Recorder, Step};
use refraft::{Input, KvCommand, KvStore, Message, NodeEffects};
use std::collections::HashMap;

pub use crate::trace_file::{validate, ReadError};
pub use crate::trace_pool::validate_parallel;

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
                    Msg::Request(r) => Input::ClientRequest(refraft::ClientRequest::clone(r)),
                    Msg::Read(r) => Input::Read(refraft::ClientRequest::clone(r)),
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
