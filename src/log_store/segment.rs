//! The state behind the store's lock: the entries after the snapshot and the watermarks, as a
//! plain sequential structure. Every method checks its input and returns a typed error before
//! it changes anything, so a refused write leaves the segment as it was.

use super::{LogStoreError, Watermark};
use crate::ids::{Index, Term};
use crate::log::Entry;
use std::collections::VecDeque;

/// Entries `snapshot_index + 1 ..= last_index()` and the watermarks over them.
///
/// Invariant: `snapshot_index <= commit_index <= last_index()` and
/// `durable_index <= last_index()`; terms never decrease along `entries`, starting from
/// `snapshot_term`.
#[derive(Debug)]
pub(crate) struct Segment<C> {
    pub(crate) snapshot_index: Index,
    pub(crate) snapshot_term: Term,
    pub(crate) entries: VecDeque<Entry<C>>,
    pub(crate) commit_index: Index,
    pub(crate) durable_index: Index,
}

impl<C> Segment<C> {
    pub(crate) fn new() -> Self {
        Segment {
            snapshot_index: 0,
            snapshot_term: 0,
            entries: VecDeque::new(),
            commit_index: 0,
            durable_index: 0,
        }
    }

    pub(crate) fn last_index(&self) -> Index {
        self.snapshot_index + self.entries.len() as Index
    }

    pub(crate) fn watermark(&self, watermark: Watermark) -> Index {
        match watermark {
            Watermark::Last => self.last_index(),
            Watermark::Commit => self.commit_index,
            Watermark::Durable => self.durable_index,
        }
    }

    /// The position in `entries` of the entry at `index`.
    fn position(&self, index: Index) -> Result<usize, LogStoreError> {
        if index <= self.snapshot_index {
            return Err(LogStoreError::Compacted {
                index,
                snapshot_index: self.snapshot_index,
            });
        }
        if index > self.last_index() {
            return Err(LogStoreError::PastEnd {
                index,
                last_index: self.last_index(),
            });
        }
        Ok((index - self.snapshot_index - 1) as usize)
    }

    /// Index `snapshot_index` answers with the snapshot's term (index 0 with term 0).
    pub(crate) fn term_at(&self, index: Index) -> Result<Term, LogStoreError> {
        if index == self.snapshot_index {
            return Ok(self.snapshot_term);
        }
        Ok(self.entries[self.position(index)?].term)
    }

    pub(crate) fn entry(&self, index: Index) -> Result<&Entry<C>, LogStoreError> {
        Ok(&self.entries[self.position(index)?])
    }

    /// The entries `start..end` (`end` exclusive). An empty range is fine anywhere from the
    /// first retained index to `last_index() + 1`.
    pub(crate) fn range(
        &self,
        start: Index,
        end: Index,
    ) -> Result<impl Iterator<Item = &Entry<C>>, LogStoreError> {
        if start > end {
            return Err(LogStoreError::InvalidRange { start, end });
        }
        if start <= self.snapshot_index {
            return Err(LogStoreError::Compacted {
                index: start,
                snapshot_index: self.snapshot_index,
            });
        }
        if end > self.last_index() + 1 {
            return Err(LogStoreError::PastEnd {
                index: end - 1,
                last_index: self.last_index(),
            });
        }
        let from = (start - self.snapshot_index - 1) as usize;
        let to = (end - self.snapshot_index - 1) as usize;
        Ok(self.entries.range(from..to))
    }

    /// Copies of the entries `start..end`, checked as [`range`](Self::range) checks them.
    pub(crate) fn cloned_range(
        &self,
        start: Index,
        end: Index,
    ) -> Result<Vec<Entry<C>>, LogStoreError>
    where
        C: Clone,
    {
        Ok(self.range(start, end)?.cloned().collect())
    }

    /// Checks that `entries` may follow the entry at `index - 1`.
    fn check_terms(&self, index: Index, entries: &[Entry<C>]) -> Result<(), LogStoreError> {
        let mut previous_term = self.term_at(index - 1)?;
        for (offset, entry) in entries.iter().enumerate() {
            if entry.term < previous_term {
                return Err(LogStoreError::TermDecrease {
                    index: index + offset as Index,
                    term: entry.term,
                    previous_term,
                });
            }
            previous_term = entry.term;
        }
        Ok(())
    }

    pub(crate) fn check_append(
        &self,
        index: Index,
        entries: &[Entry<C>],
    ) -> Result<(), LogStoreError> {
        let next_index = self.last_index() + 1;
        if index > next_index {
            return Err(LogStoreError::Gap { index, next_index });
        }
        if index < next_index {
            return Err(LogStoreError::Overlap { index, next_index });
        }
        self.check_terms(index, entries)
    }

    pub(crate) fn check_truncate(&self, index: Index) -> Result<(), LogStoreError> {
        // Figure 2, AppendEntries step 3 deletes a conflicting entry "and all that follow it";
        // it never conflicts at or below commitIndex (§5.4, Leader Completeness).
        if index <= self.commit_index {
            return Err(LogStoreError::TruncateCommitted {
                index,
                commit_index: self.commit_index,
            });
        }
        if index > self.last_index() + 1 {
            return Err(LogStoreError::PastEnd {
                index,
                last_index: self.last_index(),
            });
        }
        Ok(())
    }

    pub(crate) fn check_replace(
        &self,
        index: Index,
        entries: &[Entry<C>],
    ) -> Result<(), LogStoreError> {
        self.check_truncate(index)?;
        self.check_terms(index, entries)
    }

    /// Removes `index..` and returns it (checked by `check_truncate`); the durable index
    /// follows the log down (see the module docs).
    pub(crate) fn split_off_from(&mut self, index: Index) -> VecDeque<Entry<C>> {
        let keep = (index - self.snapshot_index - 1) as usize;
        self.durable_index = self.durable_index.min(index - 1);
        self.entries.split_off(keep)
    }

    pub(crate) fn check_advance(
        &self,
        watermark: Watermark,
        index: Index,
    ) -> Result<(), LogStoreError> {
        let current = self.watermark(watermark);
        if index < current {
            return Err(LogStoreError::Regress {
                watermark,
                index,
                current,
            });
        }
        if index > self.last_index() {
            return Err(LogStoreError::PastEnd {
                index,
                last_index: self.last_index(),
            });
        }
        Ok(())
    }

    pub(crate) fn check_compact(&self, index: Index) -> Result<(), LogStoreError> {
        if index < self.snapshot_index {
            return Err(LogStoreError::Compacted {
                index,
                snapshot_index: self.snapshot_index,
            });
        }
        // §7: a snapshot holds only committed state, so only committed entries are discarded.
        if index > self.commit_index {
            return Err(LogStoreError::CompactUncommitted {
                index,
                commit_index: self.commit_index,
            });
        }
        Ok(())
    }

    /// Discards `..=index` (checked by `check_compact`) and returns it, keeping the term of
    /// `index` as the snapshot's term (§7: a snapshot records its "last included index" and
    /// "last included term" for the consistency check of the next AppendEntries).
    pub(crate) fn split_off_through(&mut self, index: Index) -> VecDeque<Entry<C>> {
        if index == self.snapshot_index {
            return VecDeque::new();
        }
        let discard = (index - self.snapshot_index) as usize;
        self.snapshot_term = self.entries[discard - 1].term;
        self.snapshot_index = index;
        let kept = self.entries.split_off(discard);
        std::mem::replace(&mut self.entries, kept)
    }
}
