//! refraft's own `Node<KvStore>` behind the adapter seam ([`SimNode`]): every method is a
//! direct call into the core, and the effects are the core's own, so a simulation of refraft
//! draws the same random numbers in the same order as before the simulator became generic.

use super::adapter::{MessageStats, SimEffect, SimNode};
use super::{flow, network};
use crate::client::ClientRequest;
use crate::config::Config;
use crate::durable::DurableState;
use crate::effect::{Effect, Timer};
use crate::error::StepError;
use crate::ids::{Index, NodeId, Term};
use crate::kv::{KvCommand, KvOutput, KvStore};
use crate::log::{Entry, Payload};
use crate::message::Message;
use crate::node::{Input, Node, NodeEffects};
use crate::trace::{Kind, MessageId, Recorder, Step};

impl SimNode for Node<KvStore> {
    type Message = Message<KvCommand>;
    type Input = Input<KvCommand>;
    type Effects = NodeEffects<KvStore>;
    type Drain = std::iter::Map<
        std::vec::IntoIter<Effect<KvCommand, KvOutput>>,
        fn(Effect<KvCommand, KvOutput>) -> SimEffect<Self>,
    >;
    type Entry = Entry<KvCommand>;
    type Disk = DurableState<KvCommand>;
    type Write = Effect<KvCommand, KvOutput>;
    type Timer = Timer;
    type Refusal = StepError;

    fn boot(
        config: &Config,
        disk: Self::Disk,
        _seed: u64,
    ) -> Result<(Self, Self::Effects), String> {
        let mut out = NodeEffects::<KvStore>::new();
        let node = Node::new(config.clone(), disk, KvStore::default(), &mut out)
            .map_err(|e| e.to_string())?;
        Ok((node, out))
    }

    fn new_effects() -> Self::Effects {
        NodeEffects::<KvStore>::new()
    }

    fn step(&mut self, input: Self::Input, out: &mut Self::Effects) -> Result<(), StepError> {
        Node::step(self, input, out)
    }

    fn drain(out: Self::Effects) -> Self::Drain {
        out.into_iter().map(sim_effect)
    }

    fn message_input(from: NodeId, message: Self::Message) -> Self::Input {
        Input::Message { from, message }
    }

    fn timeout_input(timer: Timer) -> Self::Input {
        Input::Timeout(timer)
    }

    fn client_input(request: ClientRequest<KvCommand>) -> Self::Input {
        Input::ClientRequest(request)
    }

    /// The network may deliver stale or unexpected messages, but never ones that only a broken
    /// peer or driver would produce.
    fn refusal_is_benign(refusal: &StepError) -> bool {
        matches!(
            refusal,
            StepError::StaleTerm { .. }
                | StepError::UnexpectedResponse
                | StepError::StaleResponse
                | StepError::LeaderSticky(_)
        )
    }

    fn timer_slot(timer: Timer) -> usize {
        match timer {
            Timer::Election => 0,
            Timer::Heartbeat => 1,
            Timer::QuorumCheck => 2,
            Timer::TransferTimeout => 3,
        }
    }

    fn id(&self) -> NodeId {
        Node::id(self)
    }

    fn current_term(&self) -> Term {
        Node::current_term(self)
    }

    fn is_leader(&self) -> bool {
        Node::is_leader(self)
    }

    fn commit_index(&self) -> Index {
        Node::commit_index(self)
    }

    fn last_applied(&self) -> Index {
        Node::last_applied(self)
    }

    fn last_index(&self) -> Index {
        self.log().last_index()
    }

    fn term_at(&self, index: Index) -> Option<Term> {
        self.log().term_at(index)
    }

    fn entry(&self, index: Index) -> Option<&Self::Entry> {
        self.log().get(index)
    }

    fn entry_term(entry: &Self::Entry) -> Term {
        entry.term
    }

    fn client_request(entry: &Self::Entry) -> Option<ClientRequest<KvCommand>> {
        match &entry.payload {
            Payload::Command {
                client,
                serial,
                command,
            } => Some(ClientRequest {
                client: *client,
                serial: *serial,
                command: (**command).clone(),
            }),
            Payload::Noop => None,
        }
    }

    fn write(disk: &mut Self::Disk, write: &Self::Write) {
        disk.apply(write);
    }

    fn durable_matches(&self, disk: &Self::Disk) -> bool {
        self.durable() == disk
    }

    fn describe(message: &Self::Message) -> String {
        network::describe(message)
    }

    fn message_stats(message: &Self::Message) -> MessageStats {
        match message {
            Message::AppendEntries(a) => MessageStats {
                request: true,
                entries: a.entries.len() as u64,
                command_bytes: a
                    .entries
                    .iter()
                    .map(|e| match &e.payload {
                        Payload::Command { command, .. } => network::command_bytes(command),
                        Payload::Noop => 0,
                    })
                    .sum(),
            },
            Message::RequestVote(_) => MessageStats {
                request: true,
                ..MessageStats::default()
            },
            _ => MessageStats::default(),
        }
    }

    fn check_invariants(&self) -> Result<(), String> {
        flow::check_flow(self)
    }

    fn trace_start(
        &self,
        recorder: &mut Recorder,
        restart: bool,
        effects: &Self::Effects,
    ) -> Option<Step> {
        let kind = if restart { Kind::Restart } else { Kind::Init };
        Some(recorder.start(kind, effects.as_slice(), self))
    }

    fn trace_step(
        &self,
        recorder: &mut Recorder,
        input: &Self::Input,
        id: Option<MessageId>,
        effects: &Self::Effects,
    ) -> Option<Step> {
        Some(recorder.step(input, id, effects.as_slice(), self))
    }
}

/// One of the core's effects in the simulator's terms.
fn sim_effect(effect: Effect<KvCommand, KvOutput>) -> SimEffect<Node<KvStore>> {
    match effect {
        e @ Effect::PersistHardState { .. } => SimEffect::Persist {
            write: e,
            first_index: None,
        },
        e @ Effect::PersistEntries { first_index, .. } => SimEffect::Persist {
            write: e,
            first_index: Some(first_index),
        },
        Effect::Send { to, message } => SimEffect::Send { to, message },
        Effect::SetTimer { timer, after } => SimEffect::SetTimer { timer, after },
        Effect::CancelTimer { timer } => SimEffect::CancelTimer { timer },
        Effect::Apply { index, term, .. } => SimEffect::Apply { index, term },
        Effect::Reply {
            client,
            serial,
            response,
        } => SimEffect::Reply {
            client,
            serial,
            response,
        },
        Effect::ReadReply {
            client,
            serial,
            read_index,
            path,
            response,
        } => SimEffect::ReadReply {
            client,
            serial,
            read_index,
            path,
            response,
        },
    }
}
