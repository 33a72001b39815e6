//! Clients: they submit commands, follow `NotLeader` hints (§8), and retry the same serial
//! elsewhere after a timeout (dissertation §6.3); one-shot requests (the 6.824 lab's `Start`).

use super::driver::Event;
use super::{SimError, SimNode, Simulation};
use crate::client::{ClientRequest, ClientResponse};
use crate::ids::{ClientId, Index, NodeId, Term};
use crate::kv::{KvCommand, KvOutput};
use std::collections::BTreeMap;
use std::time::Duration;

#[derive(Clone, Debug)]
pub(super) struct ClientState {
    pub(super) serial: u64,
    pub(super) pending: Option<KvCommand>,
    pub(super) target: usize,
    pub(super) attempt: u64,
    pub(super) answers: BTreeMap<u64, ClientResponse<KvOutput>>,
}

impl<N: SimNode> Simulation<N> {
    /// Has `client` submit `command` as its next request (serial = previous + 1). The client
    /// tries the last server it heard of as leader, follows `NotLeader` hints, and after
    /// [`SimConfig::client_timeout`] without an answer retries the same serial elsewhere.
    /// Returns the serial. A client has one request outstanding at a time: a new submission
    /// abandons the previous one.
    pub fn submit(&mut self, client: ClientId, command: KvCommand) -> Result<u64, SimError> {
        let n = self.servers.len();
        let start = self.rng.below(n as u64) as usize;
        let c = self.clients.entry(client).or_insert(ClientState {
            serial: 0,
            pending: None,
            target: start,
            attempt: 0,
            answers: BTreeMap::new(),
        });
        c.serial += 1;
        c.pending = Some(command);
        let serial = c.serial;
        self.send_client_request(client)?;
        Ok(serial)
    }

    /// Submits `command` for a fresh client and runs until the cluster acknowledges it, for at
    /// most `max`. Returns the index it was applied at (the 6.824 lab's `one`).
    pub fn commit_command(&mut self, command: KvCommand, max: Duration) -> Result<Index, SimError> {
        let client = ClientId(self.next_oneshot_client);
        self.next_oneshot_client += 1;
        let serial = self.submit(client, command)?;
        let done = self.run_until(max, |s| s.client_answer(client, serial).is_some())?;
        if !done {
            return Err(self.fail(format!("no agreement on {client}#{serial} within {max:?}")));
        }
        match self.client_answer(client, serial) {
            Some(ClientResponse::Applied(_)) => self
                .checker
                .applied_index_of(client, serial)
                .ok_or_else(|| self.fail("acknowledged but not applied")),
            other => Err(self.fail(format!("{client}#{serial} answered {other:?}"))),
        }
    }

    /// Calls server `id` directly with `command` as a one-shot request (the 6.824 lab's
    /// `Start`): if it leads, returns the index and term the entry got; no retries follow.
    pub fn start(
        &mut self,
        id: NodeId,
        command: KvCommand,
    ) -> Result<Option<(Index, Term)>, SimError> {
        let Some(i) = self
            .position(id)
            .filter(|&i| self.servers[i].node.is_some())
        else {
            return Ok(None);
        };
        let client = ClientId(self.next_oneshot_client);
        self.next_oneshot_client += 1;
        let node = self.servers[i].node.as_ref().expect("up");
        if !node.is_leader() {
            return Ok(None);
        }
        let term = node.current_term();
        self.note(|| format!("start {client} at {id}"));
        let request = ClientRequest {
            client,
            serial: 1,
            command,
        };
        let result = self.step_node(i, N::client_input(request))?;
        self.judge(id, result)?;
        let index = self.servers[i].node.as_ref().expect("up").last_index();
        Ok(Some((index, term)))
    }

    /// The answer a client received for `serial`, if any.
    pub fn client_answer(
        &self,
        client: ClientId,
        serial: u64,
    ) -> Option<&ClientResponse<KvOutput>> {
        self.clients.get(&client)?.answers.get(&serial)
    }

    /// Whether `client` has a request without an answer yet.
    pub fn client_busy(&self, client: ClientId) -> bool {
        self.clients
            .get(&client)
            .is_some_and(|c| c.pending.is_some())
    }

    pub(super) fn send_client_request(&mut self, client: ClientId) -> Result<(), SimError> {
        let n = self.servers.len();
        let timeout = self.client_timeout;
        let c = self.clients.get_mut(&client).expect("known client");
        let Some(command) = c.pending.clone() else {
            return Ok(());
        };
        c.attempt += 1;
        let (attempt, serial, target) = (c.attempt, c.serial, c.target % n);
        self.schedule(
            timeout,
            Event::ClientRetry {
                client,
                attempt,
                next_server: true,
            },
        );
        let id = self.servers[target].id;
        if self.servers[target].node.is_none() || self.disconnected.contains(&id) {
            // The server is down or unreachable: the request is lost; the client tries the
            // next server after its timeout.
            return Ok(());
        }
        self.note(|| format!("{client}#{serial} -> {id}"));
        let request = ClientRequest {
            client,
            serial,
            command,
        };
        let result = self.step_node(target, N::client_input(request))?;
        self.judge(id, result)
    }

    pub(super) fn client_reply(
        &mut self,
        from: NodeId,
        client: ClientId,
        serial: u64,
        response: ClientResponse<KvOutput>,
    ) -> Result<(), SimError> {
        if let ClientResponse::Applied(_) = &response {
            match self.checker.record_ack(client, serial) {
                Ok(index) => self.features.note_ack(index),
                Err(e) => return Err(self.fail(e)),
            }
        }
        let n = self.servers.len();
        let Some(c) = self.clients.get_mut(&client) else {
            return Ok(());
        };
        if c.serial != serial || c.pending.is_none() {
            return Ok(());
        }
        match response {
            ClientResponse::NotLeader { leader_hint } => {
                // §8: follow the hint; without one, try the next server a little later.
                let from_pos = self.servers.iter().position(|s| s.id == from).unwrap_or(0);
                c.target = leader_hint
                    .filter(|&h| h != from)
                    .and_then(|h| self.servers.iter().position(|s| s.id == h))
                    .unwrap_or((from_pos + 1) % n);
                c.attempt += 1;
                let attempt = c.attempt;
                let backoff = Duration::from_millis(10);
                self.schedule(
                    backoff,
                    Event::ClientRetry {
                        client,
                        attempt,
                        next_server: false,
                    },
                );
            }
            answer => {
                c.pending = None;
                c.answers.insert(serial, answer);
            }
        }
        Ok(())
    }
}
