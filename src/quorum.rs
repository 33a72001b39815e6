//! Majorities (§5.2, §5.3): the index that a majority of the members has reached.
//!
//! [`majority_index`] is the definition (sort, take the majority position). [`MatchTracker`] is
//! what the leader runs on every acknowledgement: it keeps the peers' `match_index` values
//! sorted, so that one acknowledgement costs one short shift instead of a collect and a sort.
//! `tests/quorum_props.rs` proves the two equal over random acknowledgement sequences.

use crate::ids::Index;

/// The largest index that at least a majority of `match_indexes` (one per member, the leader's
/// own last index included) is at or beyond: sort descending, take the majority position.
///
/// This is the definition that [`MatchTracker`] is checked against.
///
/// ```
/// use refraft::quorum::majority_index;
/// assert_eq!(majority_index(&mut [5, 1, 3]), 3);
/// assert_eq!(majority_index(&mut [5, 1, 3, 4]), 3);
/// assert_eq!(majority_index(&mut []), 0);
/// ```
pub fn majority_index(match_indexes: &mut [Index]) -> Index {
    if match_indexes.is_empty() {
        return 0;
    }
    match_indexes.sort_unstable_by(|a, b| b.cmp(a));
    match_indexes[match_indexes.len() / 2]
}

/// The leader's peers' `match_index` values (Figure 2, "volatile state on leaders") as a sorted
/// multiset, kept up to date one acknowledgement at a time.
///
/// It holds no node ids, only the values, so it is the same under any permutation of the ids
/// (the model checker's symmetry reduction needs nothing from it), and it is a function of the
/// leader's progress table: two leaders with equal progress hold equal trackers, so it adds no
/// states to a model checker that hashes the node.
///
/// ```
/// use refraft::quorum::{majority_index, MatchTracker};
/// // A leader of 5 voters: 4 peers, all at 0; the leader's own log ends at 7.
/// let mut tracker = MatchTracker::new(4);
/// assert_eq!(tracker.majority_index(7), 0);
/// tracker.raise(0, 5); // one peer acknowledged up to 5
/// assert_eq!(tracker.majority_index(7), 0);
/// tracker.raise(0, 6); // a second peer: the leader and two peers hold 5
/// assert_eq!(tracker.majority_index(7), 5);
/// assert_eq!(tracker.majority_index(7), majority_index(&mut [7, 5, 6, 0, 0]));
/// assert_eq!(tracker.as_slice(), &[0, 0, 5, 6]);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MatchTracker {
    /// One value per peer, ascending.
    sorted: Vec<Index>,
}

impl MatchTracker {
    /// A tracker for `peers` peers, all at `match_index` 0, as a new leader starts them (§5.3).
    pub fn new(peers: usize) -> Self {
        MatchTracker {
            sorted: vec![0; peers],
        }
    }

    /// A tracker holding `match_indexes` (in any order).
    pub fn from_match_indexes(match_indexes: impl IntoIterator<Item = Index>) -> Self {
        let mut sorted: Vec<Index> = match_indexes.into_iter().collect();
        sorted.sort_unstable();
        MatchTracker { sorted }
    }

    /// The peers' values, ascending.
    pub fn as_slice(&self) -> &[Index] {
        &self.sorted
    }

    /// One peer's `match_index` went from `old` to `new`. A `new` not above `old` changes
    /// nothing: `match_index` only grows (§5.3), so a stale acknowledgement lowers nothing.
    ///
    /// Returns `false`, changing nothing, when no peer is at `old`: the caller's table and
    /// this tracker disagree, and the caller should rebuild it with
    /// [`MatchTracker::from_match_indexes`].
    pub fn raise(&mut self, old: Index, new: Index) -> bool {
        // The last peer at `old`: the peers after it are above `old`, and those below `new`
        // shift down one place to make room for `new`.
        let at_or_below = self.sorted.partition_point(|&m| m <= old);
        if at_or_below == 0 || self.sorted[at_or_below - 1] != old {
            return false;
        }
        if new <= old {
            return true;
        }
        let pos = at_or_below - 1;
        let end = self.sorted.partition_point(|&m| m < new);
        // sorted[pos] = old < new, so end > pos.
        self.sorted[pos..end].rotate_left(1);
        self.sorted[end - 1] = new;
        true
    }

    /// The largest index stored on a majority of all voters: these peers and a leader whose
    /// own log ends at `leader_last_index` (the leader holds its whole log). Equal to
    /// [`majority_index`] over the peers' values and `leader_last_index`.
    pub fn majority_index(&self, leader_last_index: Index) -> Index {
        let peers = self.sorted.len();
        let voters = peers + 1;
        // §5.2: a majority of the voters, the leader included.
        let quorum = voters / 2 + 1;
        // The k-th largest peer value (k from 1), if there is one.
        let kth_largest = |k: usize| peers.checked_sub(k).map(|i| self.sorted[i]);
        // The quorum-th largest of the peers and the leader: either the leader is among the
        // top `quorum` (then it is the smaller of the leader and the (quorum-1)-th peer), or it
        // is not (then it is the quorum-th peer).
        let with_leader = match quorum.checked_sub(1).filter(|&k| k > 0) {
            Some(k) => kth_largest(k).map_or(leader_last_index, |a| a.min(leader_last_index)),
            None => leader_last_index,
        };
        match kth_largest(quorum) {
            Some(b) => b.max(with_leader),
            None => with_leader,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raise_keeps_order_and_duplicates() {
        let mut t = MatchTracker::from_match_indexes([3, 1, 3, 0]);
        assert_eq!(t.as_slice(), &[0, 1, 3, 3]);
        assert!(t.raise(3, 4));
        assert_eq!(t.as_slice(), &[0, 1, 3, 4]);
        assert!(t.raise(0, 9));
        assert_eq!(t.as_slice(), &[1, 3, 4, 9]);
        assert!(t.raise(1, 1));
        assert!(t.raise(4, 2), "a stale value is accepted and ignored");
        assert_eq!(t.as_slice(), &[1, 3, 4, 9]);
        assert!(!t.raise(2, 5), "no peer is at 2");
        assert_eq!(t.as_slice(), &[1, 3, 4, 9]);
    }

    #[test]
    fn single_voter_commits_its_own_log() {
        assert_eq!(MatchTracker::new(0).majority_index(4), 4);
    }

    #[test]
    fn two_voters_need_both() {
        let t = MatchTracker::from_match_indexes([2]);
        assert_eq!(t.majority_index(5), 2);
        assert_eq!(t.majority_index(1), 1);
    }
}
