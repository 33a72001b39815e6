//! Majorities (§5.2, §5.3): the index that a majority of the members has reached.

use crate::ids::Index;

/// The largest index that at least a majority of `match_indexes` (one per member, the leader's
/// own last index included) is at or beyond: sort descending, take the majority position.
///
/// This is the definition; the leader uses it on every acknowledgement.
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
