//! The simulator's side of PreVote, CheckQuorum, leadership transfer and reads without log
//! entries: how servers are configured, one-shot reads and transfers, and the check that no
//! read is stale (it must reflect every write acknowledged before it was issued).

use super::{SimConfig, SimError, SimNode, Simulation};
use crate::client::{ClientRequest, ClientResponse};
use crate::config::{Config, ReadMode};
use crate::error::StepError;
use crate::ids::{ClientId, Index, NodeId};
use crate::kv::{KvCommand, KvOutput};
use crate::node::Input;
use crate::read::ReadPath;
use std::collections::BTreeMap;

/// What the simulation configures on every server and remembers of reads.
#[derive(Clone, Debug)]
pub(super) struct Features {
    pre_vote: bool,
    check_quorum: bool,
    read_mode: ReadMode,
    window: usize,
    forward_reads: bool,
    /// The highest log index of a write acknowledged to a client so far.
    acked_max: Index,
    /// One-shot reads: the acknowledged-write floor when issued, and the answer once given.
    reads: BTreeMap<ClientId, (Index, Option<ReadAnswer>)>,
}

/// The answer to a one-shot read ([`Simulation::read`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReadAnswer {
    /// The server that answered.
    pub server: NodeId,
    /// The read index it was served at.
    pub read_index: Index,
    /// How leadership was confirmed.
    pub path: ReadPath,
    /// The answer.
    pub response: ClientResponse<KvOutput>,
}

impl Features {
    pub(super) fn new(config: &SimConfig) -> Self {
        Features {
            pre_vote: config.pre_vote,
            check_quorum: config.check_quorum,
            read_mode: config.read_mode,
            window: config.max_in_flight_appends,
            forward_reads: config.forward_reads,
            acked_max: 0,
            reads: BTreeMap::new(),
        }
    }

    pub(super) fn configure(&self, config: &mut Config) {
        config.pre_vote = self.pre_vote;
        config.check_quorum = self.check_quorum;
        config.read_mode = self.read_mode;
        config.max_in_flight_appends = self.window;
        config.forward_reads = self.forward_reads;
    }

    pub(super) fn note_ack(&mut self, index: Index) {
        self.acked_max = self.acked_max.max(index);
    }
}

impl Simulation {
    /// Sends the query `GET key` to server `id` as a one-shot read (`Input::Read`, no log
    /// entry) and returns the client id to look its answer up with [`Simulation::read_answer`].
    /// The read must reflect every write acknowledged before now; a stale answer fails the run.
    ///
    /// ```
    /// use refraft::sim::{SimConfig, Simulation};
    /// use refraft::KvOutput;
    /// use std::time::Duration;
    /// let mut sim = Simulation::new(SimConfig::new(3, 1));
    /// let leader = sim.check_one_leader().unwrap();
    /// sim.commit_command("SET x=1".parse().unwrap(), Duration::from_secs(5)).unwrap();
    /// let read = sim.read(leader, "x").unwrap();
    /// sim.run_for(Duration::from_millis(100)).unwrap();
    /// let answer = sim.read_answer(read).unwrap();
    /// assert_eq!(answer.response, refraft::ClientResponse::Applied(KvOutput::Value(Some("1".into()))));
    /// ```
    pub fn read(&mut self, id: NodeId, key: &str) -> Result<ClientId, SimError> {
        let client = ClientId(self.next_oneshot_client);
        self.next_oneshot_client += 1;
        let floor = self.features.acked_max;
        self.features.reads.insert(client, (floor, None));
        let i = self
            .position(id)
            .filter(|&i| self.servers[i].node.is_some())
            .ok_or_else(|| self.fail(format!("read: {id} is down")))?;
        self.note(|| format!("read {client} at {id}"));
        let request = ClientRequest {
            client,
            serial: 1,
            command: KvCommand::Get {
                key: key.to_string(),
            },
        };
        let result = self.step_node(i, Input::Read(request))?;
        self.judge(id, result)?;
        Ok(client)
    }

    /// The answer to the one-shot read of `client`, once given.
    pub fn read_answer(&self, client: ClientId) -> Option<&ReadAnswer> {
        self.features.reads.get(&client)?.1.as_ref()
    }

    /// Asks server `id` to hand leadership to `target` (`Input::TransferLeadership`,
    /// dissertation §3.10). Returns the node's verdict (a typed error for a non-member, for
    /// itself, or when `id` does not lead).
    pub fn transfer_leadership(
        &mut self,
        id: NodeId,
        target: NodeId,
    ) -> Result<Result<(), StepError>, SimError> {
        let i = self
            .position(id)
            .filter(|&i| self.servers[i].node.is_some())
            .ok_or_else(|| self.fail(format!("transfer: {id} is down")))?;
        self.note(|| format!("transfer {id} -> {target}"));
        self.step_node(i, Input::TransferLeadership(target))
    }
}

impl<N: SimNode> Simulation<N> {
    pub(super) fn read_reply(
        &mut self,
        server: NodeId,
        client: ClientId,
        _serial: u64,
        read_index: Index,
        path: ReadPath,
        response: ClientResponse<KvOutput>,
    ) -> Result<(), SimError> {
        let Some((floor, answer)) = self.features.reads.get_mut(&client) else {
            return Ok(());
        };
        let floor = *floor;
        *answer = Some(ReadAnswer {
            server,
            read_index,
            path,
            response: response.clone(),
        });
        if matches!(response, ClientResponse::Applied(_)) && read_index < floor {
            return Err(self.fail(format!(
                "stale read: {server} served {client} at read index {read_index}, but index \
                 {floor} was acknowledged before the read was issued"
            )));
        }
        Ok(())
    }
}
