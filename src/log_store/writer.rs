//! The write side: the one [`LogWriter`] of a store.

use super::reader::LogReader;
use super::segment::Segment;
use super::shared::Shared;
use super::sync::{Arc, Ordering};
use super::{LogStoreError, Watermark};
use crate::ids::Index;
use crate::log::{Entry, Log};
use std::collections::VecDeque;

/// The single writer of a log store. It is not `Clone`, and every write takes `&mut self`, so
/// the type system guarantees one writer; readers come from [`reader`](Self::reader).
///
/// Each write checks its input first and either applies in full, under one write lock, or
/// returns a [`LogStoreError`] and changes nothing.
///
/// ```
/// use refraft::log_store::{LogStoreError, LogWriter};
/// use refraft::Entry;
/// let mut writer = LogWriter::<String>::new();
/// writer.append(1, vec![Entry::noop(1), Entry::noop(1), Entry::noop(1)]).unwrap();
/// writer.advance_commit(1).unwrap();
/// // A new leader's entries conflict from index 2 on: replace the uncommitted suffix.
/// writer.replace_from(2, vec![Entry::noop(2)]).unwrap();
/// assert_eq!(writer.reader().last_index(), 2);
/// // Removing a committed entry is refused.
/// assert_eq!(
///     writer.truncate_from(1),
///     Err(LogStoreError::TruncateCommitted { index: 1, commit_index: 1 })
/// );
/// // A gap is refused as well.
/// assert_eq!(
///     writer.append(9, vec![Entry::noop(2)]),
///     Err(LogStoreError::Gap { index: 9, next_index: 3 })
/// );
/// ```
pub struct LogWriter<C> {
    reader: LogReader<C>,
}

impl<C> Default for LogWriter<C> {
    fn default() -> Self {
        Self::new()
    }
}

impl<C> std::fmt::Debug for LogWriter<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("LogWriter").field(&self.reader).finish()
    }
}

impl<C> LogWriter<C> {
    /// An empty store: no entries, every watermark 0.
    pub fn new() -> Self {
        Self::from_segment(Segment::new())
    }

    /// A store holding a log loaded from disk at restart: all of it is durable, and nothing is
    /// known to be committed yet (§5.3: `commitIndex` is volatile and starts at 0).
    ///
    /// ```
    /// use refraft::log_store::LogWriter;
    /// use refraft::{Entry, Log};
    /// let writer = LogWriter::from_log(Log::<String>::from_entries(vec![Entry::noop(1)])).unwrap();
    /// let reader = writer.reader();
    /// assert_eq!((reader.last_index(), reader.durable_index(), reader.commit_index()), (1, 1, 0));
    /// // A log whose terms decrease breaks invariant 3 and is refused.
    /// let bad = Log::<String>::from_entries(vec![Entry::noop(2), Entry::noop(1)]);
    /// assert!(LogWriter::from_log(bad).is_err());
    /// ```
    pub fn from_log(log: Log<C>) -> Result<Self, LogStoreError>
    where
        C: Clone,
    {
        let terms = log.entries().iter().map(|e| e.term);
        if let Some((i, (previous_term, term))) = terms
            .clone()
            .zip(terms.skip(1))
            .enumerate()
            .find(|(_, (a, b))| b < a)
        {
            return Err(LogStoreError::TermDecrease {
                index: i as Index + 2,
                term,
                previous_term,
            });
        }
        let entries: VecDeque<Entry<C>> = log.entries().iter().cloned().collect();
        let mut segment = Segment::new();
        segment.durable_index = entries.len() as Index;
        segment.entries = entries;
        Ok(Self::from_segment(segment))
    }

    fn from_segment(segment: Segment<C>) -> Self {
        LogWriter {
            reader: LogReader {
                shared: Arc::new(Shared::new(segment)),
            },
        }
    }

    /// A reader of this store; clone it to hand it to another thread. The writer reads
    /// through it too.
    pub fn reader(&self) -> &LogReader<C> {
        &self.reader
    }

    /// Runs one checked change under the write lock, publishes the new watermarks, then
    /// (after the lock is released) drops what the change removed and wakes waiting readers.
    fn change<R>(
        &mut self,
        change: impl FnOnce(&mut Segment<C>) -> Result<(R, VecDeque<Entry<C>>), LogStoreError>,
    ) -> Result<R, LogStoreError> {
        let shared = &self.reader.shared;
        let (result, removed) = {
            let mut segment = shared.write();
            let outcome = change(&mut segment)?;
            shared.publish(&segment);
            outcome
        };
        drop(removed);
        shared.wake_waiters();
        Ok(result)
    }

    /// Appends `entries` at `index`, which must be `last_index + 1`; returns the new last
    /// index. Terms must not decrease (§5.3).
    pub fn append(&mut self, index: Index, entries: Vec<Entry<C>>) -> Result<Index, LogStoreError> {
        self.change(|segment| {
            segment.check_append(index, &entries)?;
            segment.entries.extend(entries);
            Ok((segment.last_index(), VecDeque::new()))
        })
    }

    /// Appends one entry at `index`, which must be `last_index + 1`; returns `index`.
    pub fn append_one(&mut self, index: Index, entry: Entry<C>) -> Result<Index, LogStoreError> {
        self.change(|segment| {
            segment.check_append(index, std::slice::from_ref(&entry))?;
            segment.entries.push_back(entry);
            Ok((index, VecDeque::new()))
        })
    }

    /// Removes the entries at `index` and after (Figure 2, AppendEntries step 3: a
    /// conflicting entry and all that follow it). `index` must be above the commit index and
    /// at most `last_index + 1`. The durable index drops to `index - 1` if it was higher.
    pub fn truncate_from(&mut self, index: Index) -> Result<(), LogStoreError> {
        self.replace_from(index, Vec::new()).map(drop)
    }

    /// Replaces the entries from `index` on with `entries`, in one step: readers see either
    /// the old log or the new one, never the truncated middle. Returns the new last index.
    pub fn replace_from(
        &mut self,
        index: Index,
        entries: Vec<Entry<C>>,
    ) -> Result<Index, LogStoreError> {
        self.change(|segment| {
            segment.check_replace(index, &entries)?;
            let removed = segment.split_off_from(index);
            segment.entries.extend(entries);
            Ok((segment.last_index(), removed))
        })
    }

    /// Moves the commit index up to `index` (≤ last index; it never moves down, §5.3).
    pub fn advance_commit(&mut self, index: Index) -> Result<(), LogStoreError> {
        self.advance(Watermark::Commit, index)
    }

    /// Records that the entries up to `index` (≤ last index) are persisted.
    pub fn advance_durable(&mut self, index: Index) -> Result<(), LogStoreError> {
        self.advance(Watermark::Durable, index)
    }

    fn advance(&mut self, watermark: Watermark, index: Index) -> Result<(), LogStoreError> {
        self.change(|segment| {
            segment.check_advance(watermark, index)?;
            match watermark {
                Watermark::Commit => segment.commit_index = index,
                Watermark::Durable => segment.durable_index = index,
                Watermark::Last => {}
            }
            Ok(((), VecDeque::new()))
        })
    }

    /// Discards the entries up to and including `index`, which a snapshot now covers (§7).
    /// `index` must be committed; reads below it then answer [`LogStoreError::Compacted`].
    pub fn compact_to(&mut self, index: Index) -> Result<(), LogStoreError> {
        self.change(|segment| {
            segment.check_compact(index)?;
            Ok(((), segment.split_off_through(index)))
        })
    }
}

impl<C> Drop for LogWriter<C> {
    /// Tells waiting readers that no watermark will move any more.
    fn drop(&mut self) {
        let shared = &self.reader.shared;
        shared.closed.store(true, Ordering::Release);
        shared.wake_waiters();
    }
}
