//! Writing traces: a driver calls [`Recorder::step`] around each `Node::step` (the core itself
//! is unchanged). The recorder numbers the lines and the messages each server sends, so a
//! driver can tag a delivery with the id of the send it carries.

use super::format::{
    runs_of, Kind, MessageId, Msg, StateView, Step, StepEffect, StepInput, TraceRole,
};
use super::validate::runs::Runs;
use crate::client::ClientResponse;
use crate::effect::{Effect, Timer};
use crate::log::{Entry, Payload};
use crate::message::{AppendResult, Message};
use crate::node::{Input, Node, Role};
use crate::read::ReadPath;
use crate::state_machine::StateMachine;
use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};

/// Numbers trace lines and messages. One recorder per trace file (a cluster in one process),
/// or one per server (separate processes: message ids stay unique, as they name the sender).
///
/// ```
/// use refraft::trace::{Kind, Recorder};
/// use refraft::{Config, DurableState, Input, KvStore, Node, NodeEffects, NodeId, Timer};
/// let ids = vec![NodeId(1), NodeId(2), NodeId(3)];
/// let mut out = NodeEffects::<KvStore>::new();
/// let mut node = Node::new(Config::new(NodeId(1), ids).unwrap(), DurableState::default(),
///     KvStore::default(), &mut out).unwrap();
/// let mut recorder = Recorder::default();
/// let init = recorder.start(Kind::Init, out.as_slice(), &node);
/// assert_eq!(init.seq, 1);
/// out.clear();
/// let input = Input::Timeout(Timer::Election);
/// node.step(input.clone(), &mut out).unwrap();
/// let step = recorder.step(&input, None, out.as_slice(), &node);
/// assert_eq!(step.state.term, 0); // a pre-vote round changes no term
/// ```
#[derive(Clone, Debug, Default)]
pub struct Recorder {
    seq: u64,
    sent: BTreeMap<u64, u64>,
    /// Each server's log as of its last line, to write only what changed.
    logs: BTreeMap<u64, Runs>,
}

impl Recorder {
    /// A recorder that goes on numbering after an earlier trace: lines after `seq`, and each
    /// server's sends after its count in `sent` (`(server, sends so far)`). A server restarted
    /// in a new process appends to its own trace file this way, keeping message ids unique.
    ///
    /// ```
    /// use refraft::trace::Recorder;
    /// let recorder = Recorder::resume(41, [(3, 17)]);
    /// assert_eq!(recorder.last_seq(), 41);
    /// ```
    pub fn resume(seq: u64, sent: impl IntoIterator<Item = (u64, u64)>) -> Self {
        Recorder {
            seq,
            sent: sent.into_iter().collect(),
            logs: BTreeMap::new(),
        }
    }

    /// The `seq` of the last line recorded (0 before the first).
    pub fn last_seq(&self) -> u64 {
        self.seq
    }

    /// The line for a server's start (`Kind::Init` or `Kind::Restart`) with the effects
    /// `Node::new` wrote.
    pub fn start<M: StateMachine>(
        &mut self,
        kind: Kind,
        effects: &[Effect<M::Command, M::Output>],
        node: &Node<M>,
    ) -> Step {
        self.line(kind, StepInput::default(), effects, node)
    }

    /// The line for one `Node::step(input)` that wrote `effects`. `id` is the identity of a
    /// received message, when the driver knows it (see [`Recorder::sent_ids`]).
    pub fn step<M: StateMachine>(
        &mut self,
        input: &Input<M::Command>,
        id: Option<MessageId>,
        effects: &[Effect<M::Command, M::Output>],
        node: &Node<M>,
    ) -> Step {
        let (kind, step_input) = input_of(input, id);
        self.line(kind, step_input, effects, node)
    }

    fn line<M: StateMachine>(
        &mut self,
        kind: Kind,
        input: StepInput,
        effects: &[Effect<M::Command, M::Output>],
        node: &Node<M>,
    ) -> Step {
        self.seq += 1;
        let me = node.id().0;
        let effects: Vec<StepEffect> = effects
            .iter()
            .filter_map(|effect| self.effect_of(node, effect))
            .collect();
        // The log is added by `shorten`, from the first index that changed only: computing
        // the whole log's runs at every step would cost the log's length per step.
        let mut state = view_of(node, Vec::new());
        let full = matches!(kind, Kind::Init | Kind::Restart);
        self.shorten(me, &mut state, &effects, node, full);
        Step {
            seq: self.seq,
            node: me,
            kind,
            input,
            effects,
            state,
        }
    }

    /// Sets the log in `state` to the part that changed since the server's last
    /// line: from the first index a persist effect wrote, or where the log grew or shrank.
    fn shorten<M: StateMachine>(
        &mut self,
        me: u64,
        state: &mut StateView,
        effects: &[StepEffect],
        node: &Node<M>,
        full: bool,
    ) {
        let log = node.log();
        let new_len = log.last_index();
        let old = self.logs.entry(me).or_default();
        let mut from = old.len().min(new_len) + 1;
        for e in effects {
            if let StepEffect::PersistLog { from: f, .. } = e {
                from = from.min(*f);
            }
        }
        // The part kept must be unchanged (it is, unless a persistence rule is broken and the
        // log changed without a persist effect): else write the whole log.
        let before = from - 1;
        if full || before > 0 && old.term_at(before) != log.term_at(before) {
            from = 1;
        }
        let from = from.max(1);
        old.truncate(from - 1);
        let tail = runs_of(log.entries_from(from, usize::MAX).iter().map(|e| e.term));
        old.extend(&tail);
        state.log = tail;
        state.log_from = from;
    }

    fn effect_of<M: StateMachine>(
        &mut self,
        node: &Node<M>,
        effect: &Effect<M::Command, M::Output>,
    ) -> Option<StepEffect> {
        let me = node.id().0;
        Some(match effect {
            Effect::PersistHardState {
                current_term,
                voted_for,
            } => StepEffect::PersistHardState {
                term: *current_term,
                vote: voted_for.map(|v| v.0),
            },
            Effect::PersistEntries {
                first_index,
                entries,
            } => StepEffect::PersistLog {
                from: *first_index,
                entries: entries.iter().map(|e| e.term).collect(),
            },
            Effect::Send { to, message } => {
                let counter = self.sent.entry(me).or_insert(0);
                *counter += 1;
                StepEffect::Send {
                    to: to.0,
                    id: Some(MessageId {
                        sender: me,
                        seq: *counter,
                    }),
                    msg: msg_of(message),
                }
            }
            Effect::Apply { index, term, .. } => StepEffect::Apply {
                index: *index,
                term: *term,
                digest: node.log().get(*index).map(digest_of),
            },
            Effect::Reply {
                client,
                serial,
                response,
            } => StepEffect::Reply {
                client: client.0,
                serial: *serial,
                ok: matches!(response, ClientResponse::Applied(_)),
                read_index: None,
                lease: false,
            },
            Effect::ReadReply {
                client,
                serial,
                read_index,
                path,
                response,
            } => {
                let served = matches!(response, ClientResponse::Applied(_));
                StepEffect::Reply {
                    client: client.0,
                    serial: *serial,
                    ok: served,
                    read_index: served.then_some(*read_index),
                    lease: served && *path == ReadPath::Lease,
                }
            }
            Effect::SetTimer { .. } | Effect::CancelTimer { .. } => return None,
        })
    }

    /// The ids of the sends in `step`, in order, with their receivers: what a driver attaches
    /// to each delivery so that the receiving line can name the message.
    pub fn sent_ids(step: &Step) -> impl Iterator<Item = (u64, MessageId)> + '_ {
        step.effects.iter().filter_map(|e| match e {
            StepEffect::Send {
                to, id: Some(id), ..
            } => Some((*to, *id)),
            _ => None,
        })
    }
}

/// The trace form of an input.
pub fn input_of<C>(input: &Input<C>, id: Option<MessageId>) -> (Kind, StepInput) {
    let mut out = StepInput::default();
    let kind = match input {
        Input::Message { from, message } => {
            out.from = Some(from.0);
            out.id = id;
            out.msg = Some(msg_of(message));
            Kind::Receive
        }
        Input::Timeout(timer) => {
            out.timer = Some(timer_name(*timer).to_string());
            Kind::Timeout
        }
        Input::ClientRequest(r) => {
            out.requests = vec![(r.client.0, r.serial)];
            Kind::Client
        }
        Input::ClientRequests(rs) => {
            out.requests = rs.iter().map(|r| (r.client.0, r.serial)).collect();
            Kind::Client
        }
        Input::Read(r) => {
            out.requests = vec![(r.client.0, r.serial)];
            Kind::Read
        }
        Input::TransferLeadership(target) => {
            out.target = Some(target.0);
            Kind::Transfer
        }
    };
    (kind, out)
}

/// The trace name of a timer.
pub fn timer_name(timer: Timer) -> &'static str {
    match timer {
        Timer::Election => "election",
        Timer::Heartbeat => "heartbeat",
        Timer::QuorumCheck => "quorum_check",
        Timer::TransferTimeout => "transfer_timeout",
    }
}

/// The trace form of a message.
pub fn msg_of<C>(message: &Message<C>) -> Msg {
    match message {
        Message::RequestVote(m) | Message::PreVote(m) => Msg::RequestVote {
            term: m.term,
            last_log_index: m.last_log_index,
            last_log_term: m.last_log_term,
            pre_vote: matches!(message, Message::PreVote(_)),
        },
        Message::RequestVoteResponse(m) | Message::PreVoteResponse(m) => Msg::RequestVoteResponse {
            term: m.term,
            granted: m.vote_granted,
            pre_vote: matches!(message, Message::PreVoteResponse(_)),
        },
        Message::AppendEntries(m) => Msg::AppendEntries {
            term: m.term,
            prev_log_index: m.prev_log_index,
            prev_log_term: m.prev_log_term,
            entries: m.entries.iter().map(|e| e.term).collect(),
            digests: Vec::new(),
            leader_commit: m.leader_commit,
        },
        Message::AppendEntriesResponse(m) => match &m.result {
            AppendResult::Success { match_index } => Msg::AppendEntriesResponse {
                term: m.term,
                success: true,
                match_index: Some(*match_index),
                reject_index: None,
            },
            AppendResult::Reject { prev_log_index, .. } => Msg::AppendEntriesResponse {
                term: m.term,
                success: false,
                match_index: None,
                reject_index: Some(*prev_log_index),
            },
        },
        Message::TimeoutNow(m) => Msg::TimeoutNow { term: m.term },
        Message::Heartbeat(m) => Msg::Heartbeat {
            term: m.term,
            round: m.round,
        },
        Message::HeartbeatResponse(m) => Msg::HeartbeatResponse {
            term: m.term,
            round: m.round,
        },
        Message::ReadIndex(m) => Msg::ReadIndex {
            term: m.term,
            client: m.client.0,
            serial: m.serial,
        },
        Message::ReadIndexResponse(m) => Msg::ReadIndexResponse {
            term: m.term,
            client: m.client.0,
            serial: m.serial,
            read_index: m.read_index,
        },
    }
}

/// Figure 2's state of `node`, in trace form.
pub fn state_of<M: StateMachine>(node: &Node<M>) -> StateView {
    view_of(node, runs_of(node.log().entries().iter().map(|e| e.term)))
}

/// The state of `node` with `log` as its log runs.
fn view_of<M: StateMachine>(node: &Node<M>, log: Vec<(u64, u64)>) -> StateView {
    let (role, next, matched) = match node.role() {
        Role::Follower { .. } => (TraceRole::Follower, BTreeMap::new(), BTreeMap::new()),
        Role::PreCandidate { .. } => (TraceRole::PreCandidate, BTreeMap::new(), BTreeMap::new()),
        Role::Candidate { .. } => (TraceRole::Candidate, BTreeMap::new(), BTreeMap::new()),
        Role::Leader { progress } => (
            TraceRole::Leader,
            progress.iter().map(|(p, g)| (p.0, g.next_index)).collect(),
            progress.iter().map(|(p, g)| (p.0, g.match_index)).collect(),
        ),
    };
    StateView {
        term: node.current_term(),
        vote: node.voted_for().map(|v| v.0),
        role,
        log,
        log_from: 1,
        commit: node.commit_index(),
        applied: node.last_applied(),
        next,
        r#match: matched,
    }
}

/// A stable 64-bit digest (FNV-1a over the value's `Hash` feed) of an entry's payload, as hex:
/// lets a validator compare what two servers applied at one index.
pub fn digest_of<C: Hash>(entry: &Entry<C>) -> String {
    let mut h = Fnv(0xcbf2_9ce4_8422_2325);
    match &entry.payload {
        Payload::Noop => 0u8.hash(&mut h),
        Payload::Command {
            client,
            serial,
            command,
        } => {
            1u8.hash(&mut h);
            client.hash(&mut h);
            serial.hash(&mut h);
            command.hash(&mut h);
        }
    }
    format!("{:016x}", h.finish())
}

struct Fnv(u64);

impl Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
}
