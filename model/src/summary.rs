//! One-line renderings of the model's states and messages, for people: the explorer's state
//! view, the sequence diagram's labels, `check` and `replay` output and the HTML report all use
//! them. They read the core only through its public accessors (`Node::role`, `current_term`,
//! `voted_for`, `log`, `commit_index`, `last_applied`), so a change of the model's state types
//! does not change them; a new message kind of the core must be given a short form in
//! [`raft_message`].
//!
//! Notation: a log entry is `index/term:payload` (`2/1:SET x=1` is entry 2, created in term 1);
//! an index and term pair is `index/term` (`prev=1/1`); `-` is "none".
//!
//! ```
//! use refraft::{AppendEntries, Entry, Message};
//! use refraft_model::summary;
//! let ae: Message<refraft::KvCommand> = Message::AppendEntries(AppendEntries {
//!     term: 2,
//!     prev_log_index: 1,
//!     prev_log_term: 1,
//!     entries: vec![Entry::noop(2)].into(),
//!     leader_commit: 1,
//! });
//! assert_eq!(summary::raft_message(&ae), "AE t2 prev=1/1 [2/2:noop] c=1");
//! ```

use crate::actor::ActorState;
use crate::client::ClientState;
use crate::model::{Action, RaftModel, State};
use crate::msg::Msg;
use crate::server::ServerState;
use refraft::{
    AppendResult, ClientResponse, Entry, Index, KvCommand, KvOutput, Message, NodeId, Payload, Role,
};
use stateright::actor::{ActorModelAction, Id};
use stateright::{Expectation, Model};
use std::fmt::Write;

/// An entry at `index`: `index/term:payload`.
pub fn entry(index: Index, e: &Entry<KvCommand>) -> String {
    match &e.payload {
        Payload::Noop => format!("{index}/{}:noop", e.term),
        Payload::Command { command, .. } => format!("{index}/{}:{command}", e.term),
    }
}

/// Entries starting at index `first`, in brackets, separated by spaces.
pub fn entries(first: Index, es: &[Entry<KvCommand>]) -> String {
    let items: Vec<String> = (first..)
        .zip(es)
        .map(|(index, e)| entry(index, e))
        .collect();
    format!("[{}]", items.join(" "))
}

/// A server id, or `-` for none.
fn node(n: Option<NodeId>) -> String {
    n.map_or_else(|| "-".to_string(), |n| n.to_string())
}

/// One of the core's messages: `RV t1 last=0/0`, `RV-ack t1 granted`,
/// `AE t2 prev=1/1 [2/2:SET x=1] c=1`, `AE-ack t2 ok match=2`, `AE-ack t2 reject prev=3 hint=1@2`.
pub fn raft_message(m: &Message<KvCommand>) -> String {
    match m {
        Message::RequestVote(rv) => format!(
            "RV t{} last={}/{}",
            rv.term, rv.last_log_index, rv.last_log_term
        ),
        Message::RequestVoteResponse(r) => format!(
            "RV-ack t{} {}",
            r.term,
            if r.vote_granted { "granted" } else { "denied" }
        ),
        Message::PreVote(rv) => format!(
            "PV t{} last={}/{}",
            rv.term, rv.last_log_index, rv.last_log_term
        ),
        Message::PreVoteResponse(r) => format!(
            "PV-ack t{} {}",
            r.term,
            if r.vote_granted { "granted" } else { "denied" }
        ),
        Message::TimeoutNow(t) => format!("TN t{}", t.term),
        Message::Heartbeat(h) => format!("HB t{} round={}", h.term, h.round),
        Message::HeartbeatResponse(h) => format!("HB-ack t{} round={}", h.term, h.round),
        Message::ReadIndex(r) => format!("RI t{} {}#{}", r.term, r.client, r.serial),
        Message::ReadIndexResponse(r) => match r.read_index {
            Some(i) => format!("RI-ack t{} {}#{} index={i}", r.term, r.client, r.serial),
            None => format!("RI-ack t{} {}#{} refused", r.term, r.client, r.serial),
        },
        Message::AppendEntries(ae) => format!(
            "AE t{} prev={}/{} {} c={}",
            ae.term,
            ae.prev_log_index,
            ae.prev_log_term,
            entries(ae.prev_log_index + 1, &ae.entries),
            ae.leader_commit
        ),
        Message::AppendEntriesResponse(r) => match &r.result {
            AppendResult::Success { match_index } => {
                format!("AE-ack t{} ok match={match_index}", r.term)
            }
            AppendResult::Reject {
                prev_log_index,
                hint,
            } => {
                let hint = match hint {
                    None => "-".to_string(),
                    Some(h) => format!(
                        "{}@{}",
                        h.conflict_term.map_or("-".to_string(), |t| t.to_string()),
                        h.first_index
                    ),
                };
                format!(
                    "AE-ack t{} reject prev={prev_log_index} hint={hint}",
                    r.term
                )
            }
        },
    }
}

/// A model message: a Raft message, `REQ c3#1 SET x=1`, or `REPLY #1 done`.
pub fn message(m: &Msg) -> String {
    match m {
        Msg::Raft(m) => raft_message(m),
        Msg::Request(r) => format!("REQ {}#{} {}", r.client, r.serial, r.command),
        Msg::Read(r) => format!("READ {}#{} {}", r.client, r.serial, r.command),
        Msg::Reply { serial, response } => {
            let answer = match &**response {
                ClientResponse::Applied(KvOutput::Done) => "done".to_string(),
                ClientResponse::Applied(KvOutput::Value(v)) => {
                    format!("value={}", v.as_deref().unwrap_or("-"))
                }
                ClientResponse::NotLeader { leader_hint } => {
                    format!("not-leader hint={}", node(*leader_hint))
                }
                ClientResponse::SessionExpired => "session-expired".to_string(),
                ClientResponse::TransferInProgress { target } => {
                    format!("transfer-in-progress target={target}")
                }
            };
            format!("REPLY #{serial} {answer}")
        }
    }
}

/// One server: `n1 Leader t2 vote=n1 log=[1/1:noop 2/2:SET x=1] commit=1 applied=1`, with
/// `DOWN` in front of a crashed server (its last state, which stateright keeps) and the disk
/// image after `disk:` where it differs from the node's own durable state (a persistence rule
/// switched off).
pub fn server(s: &ServerState, crashed: bool) -> String {
    let n = &s.node;
    let role = match n.role() {
        Role::Follower { leader: None } => "Follower".to_string(),
        Role::Follower { leader: Some(l) } => format!("Follower(leader={l})"),
        Role::PreCandidate { votes } => {
            let votes: Vec<String> = votes.iter().map(|v| v.to_string()).collect();
            format!("PreCandidate(votes={})", votes.join(","))
        }
        Role::Candidate { votes } => {
            let votes: Vec<String> = votes.iter().map(|v| v.to_string()).collect();
            format!("Candidate(votes={})", votes.join(","))
        }
        Role::Leader { .. } => "Leader".to_string(),
    };
    let mut line = format!(
        "{}{} {role} t{} vote={} log={} commit={} applied={}",
        if crashed { "DOWN " } else { "" },
        n.id(),
        n.current_term(),
        node(n.voted_for()),
        entries(1, n.log().entries()),
        n.commit_index(),
        n.last_applied(),
    );
    if &s.disk != n.durable() {
        let _ = write!(
            line,
            " disk: t{} vote={} log={}",
            s.disk.current_term,
            node(s.disk.voted_for),
            entries(1, s.disk.log.entries())
        );
    }
    line
}

/// One client: `c3 answered=0/1 at=n0 redirected`.
pub fn client(c: &ClientState, requests: usize) -> String {
    format!(
        "c{} answered={}/{requests} at=n{}{}",
        c.id,
        c.answered,
        c.target,
        if c.redirected { " redirected" } else { "" }
    )
}

/// One actor of `state`: a server or a client line.
pub fn actor(model: &RaftModel, state: &State, index: usize) -> String {
    match &*state.actor_states[index] {
        ActorState::Server(s) => server(s, state.crashed[index]),
        ActorState::Client(c) => client(c, model.settings.requests),
    }
}

/// The "always" properties that are false at `state`, evaluated on it.
pub fn violated(model: &RaftModel, state: &State) -> Vec<&'static str> {
    model
        .properties()
        .into_iter()
        .filter(|p| p.expectation == Expectation::Always && !(p.condition)(model, state))
        .map(|p| p.name)
        .collect()
}

/// The "sometimes" properties that are true at `state`.
pub fn reached(model: &RaftModel, state: &State) -> Vec<&'static str> {
    model
        .properties()
        .into_iter()
        .filter(|p| p.expectation == Expectation::Sometimes && (p.condition)(model, state))
        .map(|p| p.name)
        .collect()
}

/// The verdict line for `state`: `VIOLATED at this state: election safety`, or
/// `Safety holds at this state.`
pub fn verdict(model: &RaftModel, state: &State) -> String {
    let violated = violated(model, state);
    if violated.is_empty() {
        "Safety holds at this state (every \"always\" property, evaluated on it).".to_string()
    } else {
        format!("VIOLATED at this state: {}", violated.join(", "))
    }
}

/// The messages in flight, one per line: `n0→n1 AE t1 prev=0/0 [1/1:noop] c=0`.
pub fn in_flight(model: &RaftModel, state: &State) -> Vec<String> {
    state
        .network
        .iter_deliverable()
        .map(|env| {
            format!(
                "{}→{} {}",
                actor_name(model, usize::from(env.src)),
                actor_name(model, usize::from(env.dst)),
                message(env.msg)
            )
        })
        .collect()
}

/// The name of actor `index`: servers are the core's `n<i>`, clients `c<i>`.
pub fn actor_name(model: &RaftModel, index: usize) -> String {
    if index < model.settings.servers {
        NodeId(index as u64).to_string()
    } else {
        format!("c{index}")
    }
}

/// One step, as `check`, `replay` and the explorer list it: `n0 → n2 RV t1 last=0/0`,
/// `n0 timeout Server(Election)`, `n1 crashes`, `n1 restarts`, `lost: n0 → n2 AE ...`.
pub fn action(model: &RaftModel, action: &Action) -> String {
    let name = |id: Id| actor_name(model, usize::from(id));
    match action {
        ActorModelAction::Deliver { src, dst, msg } => {
            format!("{} → {} {}", name(*src), name(*dst), message(msg))
        }
        ActorModelAction::Drop(env) => {
            format!(
                "lost: {} → {} {}",
                name(env.src),
                name(env.dst),
                message(&env.msg)
            )
        }
        ActorModelAction::Timeout(id, timer) => format!("{} timeout {timer:?}", name(*id)),
        ActorModelAction::Crash(id) => format!("{} crashes", name(*id)),
        ActorModelAction::Recover(id) => format!("{} restarts", name(*id)),
        ActorModelAction::SelectRandom { actor, random, .. } => {
            format!("{} random {random:?}", name(*actor))
        }
    }
}

/// The whole state for a person: the verdict, then one line per actor (a `*` marks those
/// that changed since `before`, followed by what they were), then the messages in flight.
pub fn state_view(model: &RaftModel, before: Option<&State>, state: &State) -> String {
    let mut out = verdict(model, state);
    out.push('\n');
    let reached = reached(model, state);
    if !reached.is_empty() {
        let _ = writeln!(out, "Reached here: {}", reached.join(", "));
    }
    out.push('\n');
    for i in 0..state.actor_states.len() {
        let line = actor(model, state, i);
        let was = before.map(|b| actor(model, b, i)).filter(|w| *w != line);
        match was {
            Some(was) => {
                let _ = writeln!(out, "* {line}\n    was: {was}");
            }
            None => {
                let _ = writeln!(out, "  {line}");
            }
        }
    }
    let msgs = in_flight(model, state);
    let _ = writeln!(out, "\nIn flight ({}):", msgs.len());
    for m in msgs {
        let _ = writeln!(out, "  {m}");
    }
    out
}
