//! Stepping a server: configuring and booting it, feeding it one input, and performing the
//! effects it returns (persisting, sending, arming timers, applying, replying), with the
//! per-step safety checks.

use super::{SimEffect, SimError, SimNode, Simulation};
use crate::config::Config;
use crate::ids::{Index, NodeId, Term};

impl<N: SimNode> Simulation<N> {
    pub(super) fn config_for(&self, id: NodeId) -> Config {
        let mut config = Config::new(id, self.ids()).expect("ids are distinct members");
        config.max_entries_per_append = self.max_entries_per_append;
        self.features.configure(&mut config);
        #[cfg(feature = "rule-switches")]
        let config = config.with_broken_rule(self.broken_rule);
        config
    }

    pub(super) fn boot_server(&mut self, i: usize) -> Result<(), SimError> {
        let id = self.servers[i].id;
        let config = self.config_for(id);
        let disk = self.servers[i].disk.clone();
        // The implementation's own randomness, if any, replays with the run: derived from the
        // seed, the server and its incarnation, never from the simulation's generator.
        let seed = self.seed ^ (id.0 << 48) ^ self.servers[i].incarnation.wrapping_mul(0x9E37);
        match N::boot(&config, disk, seed) {
            Ok((node, out)) => {
                if let Some(tracer) = self.tracer.as_mut() {
                    let restart = self.servers[i].incarnation > 0;
                    let line = node.trace_start(tracer.recorder(), restart, &out);
                    tracer.push(line);
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
        input: N::Input,
    ) -> Result<Result<(), N::Refusal>, SimError> {
        self.step_node_traced(i, input, None)
    }

    /// [`Self::step_node`] for a delivery whose send had trace id `id`.
    pub(super) fn step_node_traced(
        &mut self,
        i: usize,
        input: N::Input,
        id: Option<crate::trace::MessageId>,
    ) -> Result<Result<(), N::Refusal>, SimError> {
        let mut out = N::new_effects();
        let node = self.servers[i].node.as_mut().expect("stepped server is up");
        let was_leader = node
            .is_leader()
            .then(|| (node.current_term(), node.last_index()));
        let traced = self.tracer.is_some().then(|| input.clone());
        let result = node.step(input, &mut out);
        if let (Some(tracer), Some(input)) = (self.tracer.as_mut(), traced) {
            let line = node.trace_step(tracer.recorder(), &input, id, &out);
            tracer.push(line);
        }
        self.perform(i, out, was_leader)?;
        Ok(result)
    }

    /// Whether a node's refusal of an input is a sign of a bug ([`SimNode::refusal_is_benign`]).
    pub(super) fn judge(&self, id: NodeId, result: Result<(), N::Refusal>) -> Result<(), SimError> {
        match result {
            Ok(()) => Ok(()),
            Err(e) if N::refusal_is_benign(&e) => Ok(()),
            Err(e) => Err(self.fail(format!(
                "{id} refused an input a correct cluster sends: {e}"
            ))),
        }
    }

    pub(super) fn perform(
        &mut self,
        i: usize,
        out: N::Effects,
        leader_before: Option<(Term, Index)>,
    ) -> Result<(), SimError> {
        let id = self.servers[i].id;
        let mut changed_from: Option<Index> = None;
        for effect in N::drain(out) {
            match effect {
                SimEffect::Persist { write, first_index } => {
                    if let Some(first) = first_index {
                        changed_from = Some(changed_from.map_or(first, |c| c.min(first)));
                    }
                    N::write(&mut self.servers[i].disk, &write);
                }
                SimEffect::Send { to, message } => self.send(id, to, message),
                SimEffect::SetTimer { timer, after } => self.set_timer(i, timer, after),
                SimEffect::CancelTimer { timer } => self.cancel_timer(i, timer),
                SimEffect::Apply { index, term } => {
                    let node = self.servers[i].node.as_ref().expect("up");
                    if let Err(e) = self.checker.record_apply(node, index, term) {
                        return Err(self.fail(e));
                    }
                }
                SimEffect::Reply {
                    client,
                    serial,
                    response,
                } => self.client_reply(id, client, serial, response)?,
                SimEffect::ReadReply {
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
        if !node.durable_matches(&s.disk) {
            return Err(self.fail(format!(
                "{id}'s durable state differs from what its persist effects wrote"
            )));
        }
        if let Err(e) = self.checker.check_node(node, changed_from) {
            return Err(self.fail(e));
        }
        if let Err(e) = node.check_invariants() {
            return Err(self.fail(e));
        }
        Ok(())
    }
}
