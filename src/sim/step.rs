//! Stepping a server: configuring and booting it, feeding it one input, and performing the
//! effects it returns (persisting, sending, arming timers, applying, replying), with the
//! per-step safety checks.

use super::{flow, SimError, Simulation};
use crate::config::Config;
use crate::effect::Effect;
use crate::error::StepError;
use crate::ids::{Index, NodeId, Term};
use crate::kv::{KvCommand, KvStore};
use crate::node::{Input, Node, NodeEffects};

impl Simulation {
    pub(super) fn config_for(&self, id: NodeId) -> Config {
        let mut config = Config::new(id, self.ids()).expect("ids are distinct members");
        config.max_entries_per_append = self.max_entries_per_append;
        self.features.configure(&mut config);
        #[cfg(feature = "rule-switches")]
        let config = config.with_broken_rule(self.broken_rule);
        config
    }

    pub(super) fn boot(&mut self, i: usize) -> Result<(), SimError> {
        let id = self.servers[i].id;
        let config = self.config_for(id);
        let mut out = NodeEffects::<KvStore>::new();
        let disk = self.servers[i].disk.clone();
        match Node::new(config, disk, KvStore::default(), &mut out) {
            Ok(node) => {
                if let Some(tracer) = self.tracer.as_mut() {
                    tracer.start(self.servers[i].incarnation > 0, out.as_slice(), &node);
                }
                self.servers[i].node = Some(node);
                self.perform(i, out, None)
            }
            Err(e) => Err(self.fail(format!("{id} cannot restart from its disk: {e}"))),
        }
    }

    /// Steps server `i` and performs the effects; the outer error is a safety violation, the
    /// inner one the node's verdict on the input.
    pub(super) fn step_node(
        &mut self,
        i: usize,
        input: Input<KvCommand>,
    ) -> Result<Result<(), StepError>, SimError> {
        self.step_node_traced(i, input, None)
    }

    /// [`Self::step_node`] for a delivery whose send had trace id `id`.
    pub(super) fn step_node_traced(
        &mut self,
        i: usize,
        input: Input<KvCommand>,
        id: Option<crate::trace::MessageId>,
    ) -> Result<Result<(), StepError>, SimError> {
        let mut out = NodeEffects::<KvStore>::new();
        let node = self.servers[i].node.as_mut().expect("stepped server is up");
        let was_leader = node
            .is_leader()
            .then(|| (node.current_term(), node.log().last_index()));
        let traced = self.tracer.is_some().then(|| input.clone());
        let result = node.step(input, &mut out);
        if let (Some(tracer), Some(input)) = (self.tracer.as_mut(), traced) {
            tracer.step(&input, id, out.as_slice(), node);
        }
        self.perform(i, out, was_leader)?;
        Ok(result)
    }

    /// Whether a node's refusal of an input is a sign of a bug: the network may deliver stale
    /// or unexpected messages, but never ones that only a broken peer or driver would produce.
    pub(super) fn judge(&self, id: NodeId, result: Result<(), StepError>) -> Result<(), SimError> {
        match result {
            Ok(())
            | Err(StepError::StaleTerm { .. })
            | Err(StepError::UnexpectedResponse)
            | Err(StepError::StaleResponse)
            | Err(StepError::LeaderSticky(_)) => Ok(()),
            Err(e) => Err(self.fail(format!(
                "{id} refused an input a correct cluster sends: {e}"
            ))),
        }
    }

    pub(super) fn perform(
        &mut self,
        i: usize,
        out: NodeEffects<KvStore>,
        leader_before: Option<(Term, Index)>,
    ) -> Result<(), SimError> {
        let id = self.servers[i].id;
        let mut changed_from: Option<Index> = None;
        for effect in out {
            match effect {
                e @ (Effect::PersistHardState { .. } | Effect::PersistEntries { .. }) => {
                    if let Effect::PersistEntries { first_index, .. } = &e {
                        changed_from =
                            Some(changed_from.map_or(*first_index, |c| c.min(*first_index)));
                    }
                    self.servers[i].disk.apply(&e);
                }
                Effect::Send { to, message } => self.send(id, to, message),
                Effect::SetTimer { timer, after } => self.set_timer(i, timer, after),
                Effect::CancelTimer { timer } => self.cancel_timer(i, timer),
                Effect::Apply { index, term, .. } => {
                    let node = self.servers[i].node.as_ref().expect("up");
                    if let Err(e) = self.checker.record_apply(node, index, term) {
                        return Err(self.fail(e));
                    }
                }
                Effect::Reply {
                    client,
                    serial,
                    response,
                } => self.client_reply(id, client, serial, response)?,
                Effect::ReadReply {
                    client,
                    serial,
                    read_index,
                    path,
                    response,
                } => self.read_reply(id, client, serial, read_index, path, response)?,
            }
        }
        let s = &self.servers[i];
        let node = s.node.as_ref().expect("up");
        // §5.3, Leader Append-Only: a server that leads the same term before and after a step
        // never overwrites or deletes entries of its own log.
        if let (Some((term, last)), Some(from)) = (leader_before, changed_from) {
            if node.is_leader() && node.current_term() == term && from <= last {
                return Err(self.fail(format!(
                    "Leader Append-Only violated: leader {id} rewrote its log from {from} \
                     (last index {last})"
                )));
            }
        }
        if node.durable() != &s.disk {
            return Err(self.fail(format!(
                "{id}'s durable state differs from what its persist effects wrote"
            )));
        }
        if let Err(e) = self.checker.check_node(node, changed_from) {
            return Err(self.fail(e));
        }
        if let Err(e) = flow::check_flow(node) {
            return Err(self.fail(e));
        }
        Ok(())
    }
}
