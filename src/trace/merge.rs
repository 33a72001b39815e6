//! Merging the traces of separate processes (one file per server, as the real runtime writes
//! them) into one cluster trace: each server's steps keep their order, and every receive that
//! names a message comes after the line that sent it. The result is numbered again from 1.

use super::format::{Header, MessageId, Step, StepEffect};
use std::collections::HashSet;

/// Why traces cannot be merged.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MergeError {
    /// Two traces list different servers in their headers.
    Headers {
        /// Which trace (from 0) differs from the first.
        trace: usize,
    },
    /// Two lines send a message with the same id.
    DuplicateSend {
        /// The id.
        id: MessageId,
    },
    /// A receive names a message no trace sends.
    UnknownSend {
        /// Which trace (from 0).
        trace: usize,
        /// The receiving line's `seq` in that trace.
        seq: u64,
        /// The id it names.
        id: MessageId,
    },
    /// No order puts every receive after its send: each trace's next line waits for a
    /// message sent later in another trace.
    Cycle {
        /// For each trace that is not finished: the trace, its waiting line's `seq`, the id.
        waiting: Vec<(usize, u64, MessageId)>,
    },
}

impl std::fmt::Display for MergeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MergeError::Headers { trace } => {
                write!(f, "trace {} lists other servers than trace 1", trace + 1)
            }
            MergeError::DuplicateSend { id } => write!(
                f,
                "message {{sender {}, seq {}}} is sent twice",
                id.sender, id.seq
            ),
            MergeError::UnknownSend { trace, seq, id } => write!(
                f,
                "trace {}, seq {seq}: receives message {{sender {}, seq {}}}, which no trace sends",
                trace + 1,
                id.sender,
                id.seq
            ),
            MergeError::Cycle { waiting } => {
                write!(f, "no order puts every receive after its send:")?;
                for (trace, seq, id) in waiting {
                    write!(
                        f,
                        " trace {} seq {seq} waits for {{sender {}, seq {}}};",
                        trace + 1,
                        id.sender,
                        id.seq
                    )?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for MergeError {}

/// Merges `traces` (each a header and its steps) into one: the steps of each trace in their
/// order, interleaved round-robin wherever the message ids allow, each receive after its send.
///
/// ```
/// use refraft::trace::{merge, Header, Kind, MessageId, Msg, StateView, Step, StepEffect,
///     StepInput, TraceRole};
/// let state = StateView { term: 0, vote: None, role: TraceRole::Follower, log: vec![],
///     log_from: 1, commit: 0, applied: 0, next: Default::default(), r#match: Default::default() };
/// let line = |seq, node, kind, input, effects| Step {
///     seq, node, kind, input, effects, state: state.clone(),
/// };
/// let id = MessageId { sender: 1, seq: 1 };
/// let msg = Msg::TimeoutNow { term: 1 };
/// let a = vec![line(1, 1, Kind::Init, StepInput::default(), vec![]),
///     line(2, 1, Kind::Timeout, StepInput::default(),
///          vec![StepEffect::Send { to: 2, id: Some(id), msg: msg.clone() }])];
/// let receive = StepInput { from: Some(1), id: Some(id), msg: Some(msg), ..StepInput::default() };
/// let b = vec![line(1, 2, Kind::Init, StepInput::default(), vec![]),
///     line(2, 2, Kind::Receive, receive, vec![])];
/// let header = Header::new(vec![1, 2]);
/// let (_, all) = merge(vec![(header.clone(), b), (header, a)]).unwrap();
/// let order: Vec<_> = all.iter().map(|s| (s.seq, s.node, s.kind)).collect();
/// assert_eq!(order, [(1, 2, Kind::Init), (2, 1, Kind::Init), (3, 1, Kind::Timeout),
///     (4, 2, Kind::Receive)]);
/// ```
pub fn merge(traces: Vec<(Header, Vec<Step>)>) -> Result<(Header, Vec<Step>), MergeError> {
    let mut nodes: Vec<u64> = traces
        .first()
        .map(|(h, _)| h.nodes.clone())
        .unwrap_or_default();
    nodes.sort_unstable();
    for (i, (h, _)) in traces.iter().enumerate() {
        let mut these = h.nodes.clone();
        these.sort_unstable();
        if these != nodes {
            return Err(MergeError::Headers { trace: i });
        }
    }
    let mut sent = HashSet::new();
    for (_, steps) in &traces {
        for id in steps.iter().flat_map(sends) {
            if !sent.insert(id) {
                return Err(MergeError::DuplicateSend { id });
            }
        }
    }
    for (i, (_, steps)) in traces.iter().enumerate() {
        for s in steps {
            if let Some(id) = s.input.id.filter(|id| !sent.contains(id)) {
                return Err(MergeError::UnknownSend {
                    trace: i,
                    seq: s.seq,
                    id,
                });
            }
        }
    }
    let total = traces.iter().map(|(_, s)| s.len()).sum();
    let mut queues: Vec<std::vec::IntoIter<Step>> =
        traces.into_iter().map(|(_, s)| s.into_iter()).collect();
    let mut heads: Vec<Option<Step>> = queues.iter_mut().map(Iterator::next).collect();
    let mut emitted = HashSet::with_capacity(sent.len());
    let mut out = Vec::with_capacity(total);
    let mut turn = 0;
    while out.len() < total {
        let n = heads.len();
        let ready = (0..n).map(|k| (turn + k) % n).find(|&i| {
            heads[i]
                .as_ref()
                .is_some_and(|s| s.input.id.map_or(true, |id| emitted.contains(&id)))
        });
        let Some(i) = ready else {
            let waiting = heads
                .iter()
                .enumerate()
                .filter_map(|(i, h)| {
                    let s = h.as_ref()?;
                    Some((i, s.seq, s.input.id?))
                })
                .collect();
            return Err(MergeError::Cycle { waiting });
        };
        let Some(mut step) = heads[i].take() else {
            break;
        };
        heads[i] = queues[i].next();
        emitted.extend(sends(&step));
        step.seq = out.len() as u64 + 1;
        out.push(step);
        turn = i + 1;
    }
    Ok((Header::new(nodes), out))
}

fn sends(step: &Step) -> impl Iterator<Item = MessageId> + '_ {
    step.effects.iter().filter_map(|e| match e {
        StepEffect::Send { id, .. } => *id,
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::{Kind, Msg, StateView, StepInput, TraceRole};

    fn step(node: u64, sends: &[(u64, u64)], receive: Option<(u64, u64)>) -> Step {
        let msg = Msg::TimeoutNow { term: 1 };
        let input = receive.map_or_else(StepInput::default, |(sender, seq)| StepInput {
            from: Some(sender),
            id: Some(MessageId { sender, seq }),
            msg: Some(msg.clone()),
            ..StepInput::default()
        });
        Step {
            seq: 0,
            node,
            kind: if receive.is_some() {
                Kind::Receive
            } else {
                Kind::Timeout
            },
            input,
            effects: sends
                .iter()
                .map(|&(to, seq)| StepEffect::Send {
                    to,
                    id: Some(MessageId { sender: node, seq }),
                    msg: msg.clone(),
                })
                .collect(),
            state: StateView {
                term: 1,
                vote: None,
                role: TraceRole::Follower,
                log: vec![],
                log_from: 1,
                commit: 0,
                applied: 0,
                next: Default::default(),
                r#match: Default::default(),
            },
        }
    }

    fn trace(steps: Vec<Step>) -> (Header, Vec<Step>) {
        (Header::new(vec![1, 2]), steps)
    }

    #[test]
    fn every_receive_follows_its_send_and_each_file_keeps_its_order() {
        // Server 2 receives 1's second message first, then 1's first: both after 1 sent them.
        let one = trace(vec![step(1, &[(2, 1)], None), step(1, &[(2, 2)], None)]);
        let two = trace(vec![step(2, &[], Some((1, 2))), step(2, &[], Some((1, 1)))]);
        let (_, all) = merge(vec![two, one]).unwrap();
        let order: Vec<(u64, u64, Option<u64>)> = all
            .iter()
            .map(|s| (s.seq, s.node, s.input.id.map(|id| id.seq)))
            .collect();
        assert_eq!(
            order,
            [(1, 1, None), (2, 1, None), (3, 2, Some(2)), (4, 2, Some(1))]
        );
    }

    #[test]
    fn traces_no_order_reconciles_are_errors() {
        let other = (Header::new(vec![1, 2, 3]), vec![]);
        assert_eq!(
            merge(vec![trace(vec![]), other]),
            Err(MergeError::Headers { trace: 1 })
        );
        let twice = trace(vec![step(1, &[(2, 1)], None), step(1, &[(2, 1)], None)]);
        assert!(matches!(
            merge(vec![twice]),
            Err(MergeError::DuplicateSend { .. })
        ));
        let unknown = trace(vec![step(2, &[], Some((1, 9)))]);
        assert!(matches!(
            merge(vec![unknown]),
            Err(MergeError::UnknownSend { .. })
        ));
        // Each server receives, before its own send, the message the other sends later.
        let one = trace(vec![step(1, &[], Some((2, 1))), step(1, &[(2, 1)], None)]);
        let two = trace(vec![step(2, &[], Some((1, 1))), step(2, &[(1, 1)], None)]);
        let err = merge(vec![one, two]).unwrap_err();
        assert!(matches!(&err, MergeError::Cycle { waiting } if waiting.len() == 2));
        assert!(err
            .to_string()
            .starts_with("no order puts every receive after its send"));
    }
}
