//! The client actor: it runs a fixed script of key-value requests one after another, sends each
//! to a server, follows `NotLeader` hints (§8), and optionally retries on a timer. A retry
//! re-sends the same serial, so the session table applies it at most once (dissertation §6.3).

use crate::actor::{ActorState, ModelTimer, RaftActor};
use crate::ids::{client_id, server_id};
use crate::interned::Interned;
use crate::msg::Msg;
use refraft::{ClientRequest, ClientResponse, KvCommand, KvOutput};
use serde::{Deserialize, Serialize};
use stateright::actor::{model_timeout, Id, Out};
use std::borrow::Cow;

/// The state of one client. It orders by `id` first, so symmetry reduction never moves clients.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ClientState {
    /// The client's own actor index (also its session id).
    pub id: usize,
    /// How many requests have been answered.
    pub answered: usize,
    /// The server the current request was last sent to.
    pub target: usize,
    /// The current request was redirected (`NotLeader`) at least once.
    pub redirected: bool,
    /// A redirected request was later served.
    pub served_after_redirect: bool,
}

/// How every client of one model is configured.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ClientSetup {
    /// Servers are actors `0..servers`; clients follow.
    pub servers: usize,
    /// How many requests each client makes.
    pub requests: usize,
    /// Whether a timer re-sends the current request to the next server.
    pub retry: bool,
    /// Whether `GET`s are sent as reads without log entries (dissertation §6.4). Then each new
    /// request also goes to the server after the one that answered the last, so that a read
    /// can meet a server other than the one that acknowledged the write before it.
    pub reads: bool,
}

/// The `k`-th request (from 0) of the client with actor index `id`: `SET x=<n>`, `DEL x`,
/// `GET x`, `SET x=<n>`, ... where `n` numbers the clients from 1, so that two clients write
/// different values to one key.
///
/// The order makes a wrong answer visible to linearizability: a `SET` applied twice (a retry or
/// a re-delivered request taken as new, after the `DEL`) makes the `GET` return the value where
/// it must find none; a `SET` or `DEL` acknowledged before it committed and then lost makes a
/// later `GET` (of this client or another) disagree with what was acknowledged.
///
/// ```
/// use refraft_model::client_command;
/// assert_eq!(client_command(3, 3, 0).to_string(), "SET x=1");
/// assert_eq!(client_command(3, 4, 0).to_string(), "SET x=2");
/// assert_eq!(client_command(3, 4, 1).to_string(), "DEL x");
/// assert_eq!(client_command(3, 4, 2).to_string(), "GET x");
/// ```
pub fn client_command(servers: usize, id: usize, k: usize) -> KvCommand {
    let key = "x".to_string();
    match k % 3 {
        0 => KvCommand::Set {
            key,
            value: (id - servers + 1).to_string(),
        },
        1 => KvCommand::Delete { key },
        _ => KvCommand::Get { key },
    }
}

impl ClientSetup {
    /// Starts client `id` and sends its first request, to server `id mod servers`.
    pub fn start(&self, id: Id, o: &mut Out<RaftActor>) -> ClientState {
        let id = usize::from(id);
        let state = ClientState {
            id,
            answered: 0,
            target: id % self.servers,
            redirected: false,
            served_after_redirect: false,
        };
        self.send_current(&state, o);
        state
    }

    fn send_current(&self, state: &ClientState, o: &mut Out<RaftActor>) {
        if state.answered >= self.requests {
            return;
        }
        let request = ClientRequest {
            client: client_id(Id::from(state.id)),
            serial: state.answered as u64 + 1,
            command: client_command(self.servers, state.id, state.answered),
        };
        let is_get = matches!(request.command, KvCommand::Get { .. });
        let msg = if self.reads && is_get {
            Msg::Read(Interned::new(request))
        } else {
            Msg::Request(Interned::new(request))
        };
        o.send(Id::from(state.target), msg);
        if self.retry {
            o.set_timer(ModelTimer::ClientRetry, model_timeout());
        }
    }

    /// Handles a server's answer.
    pub fn on_reply(
        &self,
        state: &mut Cow<ActorState>,
        serial: u64,
        response: &ClientResponse<KvOutput>,
        o: &mut Out<RaftActor>,
    ) {
        let ActorState::Client(c) = state.as_ref() else {
            return;
        };
        // Only an answer to the current request counts; duplicates and late answers are dropped.
        if c.answered >= self.requests || serial != c.answered as u64 + 1 {
            return;
        }
        let mut next = c.clone();
        match response {
            ClientResponse::Applied(_) => {
                next.answered += 1;
                next.served_after_redirect |= next.redirected;
                next.redirected = false;
                if self.reads {
                    next.target = (next.target + 1) % self.servers;
                }
                if next.answered >= self.requests {
                    o.cancel_timer(ModelTimer::ClientRetry);
                }
            }
            ClientResponse::NotLeader {
                leader_hint: Some(leader),
            }
            | ClientResponse::TransferInProgress { target: leader } => {
                // §8: the server names the leader it knows of; try that one.
                next.target = usize::from(server_id(*leader));
                next.redirected = true;
            }
            // The server knows no leader yet (an election is under way): ask it again later.
            // The request is re-sent unchanged, so on a duplicating network this is no new
            // state; the retry timer, when on, moves the client to another server.
            ClientResponse::NotLeader { leader_hint: None } => {}
            // The session moved past this serial: it was answered already (dissertation §6.3).
            ClientResponse::SessionExpired => next.answered += 1,
        }
        self.send_current(&next, o);
        *state.to_mut() = ActorState::Client(next);
    }

    /// The retry timer fired: re-send the current request to the next server.
    pub fn on_retry(&self, state: &mut Cow<ActorState>, o: &mut Out<RaftActor>) {
        let ActorState::Client(c) = state.as_ref() else {
            return;
        };
        if c.answered >= self.requests {
            return;
        }
        let mut next = c.clone();
        next.target = (next.target + 1) % self.servers;
        self.send_current(&next, o);
        *state.to_mut() = ActorState::Client(next);
    }
}
