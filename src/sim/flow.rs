//! The simulator's checks of pipelining and flow control (dissertation §10.2): after every step,
//! a leader's view of each follower satisfies the flow-control invariant the model checker
//! checks (`Progress::check`), and at the end of a run the entries AppendEntries carried per
//! committed client command can be compared with a bound.

use super::{SimNode, Simulation};
use crate::kv::KvStore;
use crate::node::Node;

/// Dissertation §10.2, as `Progress::check` states it: for every follower of a leader,
/// `match_index < next_index <= last_index + 1`, at most one request in flight in Probe and
/// the window in Replicate, and in Replicate the requests in flight form one chain from the
/// acknowledged index to `next_index - 1`.
pub(super) fn check_flow(node: &Node<KvStore>) -> Result<(), String> {
    if !node.is_leader() {
        return Ok(());
    }
    let last_index = node.log().last_index();
    let window = node.config().max_in_flight_appends;
    for peer in node.config().peers() {
        if let Some(p) = node.progress(peer) {
            p.check(last_index, window).map_err(|e| {
                format!(
                    "flow control violated: leader {} of term {}, follower {peer}: {e}",
                    node.id(),
                    node.current_term()
                )
            })?;
        }
    }
    Ok(())
}

impl<N: SimNode> Simulation<N> {
    /// Client commands committed (and applied somewhere) so far.
    pub fn committed_commands(&self) -> u64 {
        self.checker
            .applied()
            .values()
            .filter(|(e, _)| N::client_request(e).is_some())
            .count() as u64
    }

    /// Entries carried by AppendEntries so far (every send counted once, network duplicates
    /// not) per committed client command; `None` before any command commits. With pipelining
    /// each entry is sent once per follower when nothing goes wrong; losses, reordering and
    /// elections add re-sends.
    pub fn entries_per_committed_command(&self) -> Option<f64> {
        let committed = self.committed_commands();
        (committed > 0).then(|| self.stats.entries_sent as f64 / committed as f64)
    }
}
