//! Typed answers for every request the log store does not carry out. None of them changes the
//! store: a failed write leaves it exactly as it was.

use super::Watermark;
use crate::ids::{Index, Term};
use std::fmt;

/// Why a read or a write of the log store was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LogStoreError {
    /// The index lies in the prefix that compaction discarded: at or below the snapshot index
    /// for an entry, strictly below it for a term (the snapshot keeps the term of its last
    /// entry). The caller should send or load the snapshot instead.
    Compacted {
        /// The index asked for.
        index: Index,
        /// The last index the snapshot covers.
        snapshot_index: Index,
    },
    /// The index lies past the last entry.
    PastEnd {
        /// The index asked for.
        index: Index,
        /// The store's last index.
        last_index: Index,
    },
    /// A read of committed entries starts past the commit index + 1.
    PastCommit {
        /// The index asked for.
        index: Index,
        /// The commit index when the read was made.
        commit_index: Index,
    },
    /// A range whose start lies after its end.
    InvalidRange {
        /// The first index of the range.
        start: Index,
        /// The index past the last of the range.
        end: Index,
    },
    /// An append starts past the next free index: it would leave a hole in the log.
    Gap {
        /// The index the first appended entry was meant for.
        index: Index,
        /// The next free index (`last_index + 1`).
        next_index: Index,
    },
    /// An append starts at or below the last index: the writer must truncate first (or use
    /// `replace_from`) so that overwriting an entry is never an accident.
    Overlap {
        /// The index the first appended entry was meant for.
        index: Index,
        /// The next free index (`last_index + 1`).
        next_index: Index,
    },
    /// An entry's term is lower than the term of the entry before it. Leaders append entries
    /// of their own, growing term (§5.3), so terms never decrease along a log.
    TermDecrease {
        /// The index of the offending entry.
        index: Index,
        /// Its term.
        term: Term,
        /// The term of the entry before it.
        previous_term: Term,
    },
    /// A truncation would remove a committed entry. A committed entry is in every future
    /// leader's log (§5.4, Leader Completeness), so a correct node never removes one.
    TruncateCommitted {
        /// The first index the truncation would remove.
        index: Index,
        /// The commit index.
        commit_index: Index,
    },
    /// A watermark was asked to move backwards (§5.3: `commitIndex` only grows).
    Regress {
        /// Which watermark.
        watermark: Watermark,
        /// The index asked for.
        index: Index,
        /// The watermark's current value.
        current: Index,
    },
    /// A compaction past the commit index: only committed (and thus applied or applicable)
    /// entries may be folded into a snapshot (§7).
    CompactUncommitted {
        /// The index asked for.
        index: Index,
        /// The commit index.
        commit_index: Index,
    },
    /// The writer was dropped while a reader waited for a watermark that can now never move.
    Closed,
}

impl fmt::Display for LogStoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use LogStoreError::*;
        match self {
            Compacted {
                index,
                snapshot_index,
            } => write!(
                f,
                "index {index} was compacted into the snapshot up to {snapshot_index}"
            ),
            PastEnd { index, last_index } => {
                write!(f, "index {index} is past the last index {last_index}")
            }
            PastCommit {
                index,
                commit_index,
            } => write!(
                f,
                "committed read from {index} is past the commit index {commit_index} + 1"
            ),
            InvalidRange { start, end } => write!(f, "range {start}..{end} ends before it starts"),
            Gap { index, next_index } => {
                write!(
                    f,
                    "append at {index} leaves a gap: next index is {next_index}"
                )
            }
            Overlap { index, next_index } => write!(
                f,
                "append at {index} overlaps the log: next index is {next_index}"
            ),
            TermDecrease {
                index,
                term,
                previous_term,
            } => write!(
                f,
                "entry {index} has term {term}, below the previous term {previous_term}"
            ),
            TruncateCommitted {
                index,
                commit_index,
            } => write!(
                f,
                "truncating from {index} would remove entries committed up to {commit_index}"
            ),
            Regress {
                watermark,
                index,
                current,
            } => write!(
                f,
                "{watermark:?} index cannot move back from {current} to {index}"
            ),
            CompactUncommitted {
                index,
                commit_index,
            } => write!(
                f,
                "cannot compact up to {index}, past the commit index {commit_index}"
            ),
            Closed => write!(f, "the log writer is gone"),
        }
    }
}

impl std::error::Error for LogStoreError {}
