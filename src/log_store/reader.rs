//! The read side: any number of [`LogReader`]s, on any threads.

use super::shared::Shared;
use super::sync::{Arc, Ordering};
use super::{LogStoreError, Watermark};
use crate::ids::{Index, Term};
use crate::log::Entry;
use std::time::{Duration, Instant};

/// A handle for reading the log store; clone it for every thread that reads.
///
/// Reads that copy entries out hold the store's read lock only while they clone; watermark
/// polls take no lock at all.
///
/// ```
/// use refraft::log_store::{LogStoreError, LogWriter, Watermark};
/// use refraft::Entry;
/// let mut writer = LogWriter::<String>::new();
/// let reader = writer.reader().clone();
/// let applier = std::thread::spawn(move || {
///     // The applier waits for the commit index to pass 0, then reads what is committed.
///     let commit_index = reader.wait_for(Watermark::Commit, 0).unwrap();
///     reader.committed_from(1, 100).unwrap().len() as u64 == commit_index
/// });
/// writer.append(1, vec![Entry::noop(1), Entry::noop(1)]).unwrap();
/// writer.advance_commit(2).unwrap();
/// assert!(applier.join().unwrap());
/// assert_eq!(
///     writer.reader().entries(3..4),
///     Err(LogStoreError::PastEnd { index: 3, last_index: 2 })
/// );
/// ```
pub struct LogReader<C> {
    pub(crate) shared: Arc<Shared<C>>,
}

impl<C> Clone for LogReader<C> {
    fn clone(&self) -> Self {
        LogReader {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<C> std::fmt::Debug for LogReader<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogReader")
            .field("snapshot_index", &self.snapshot_index())
            .field("last_index", &self.last_index())
            .field("commit_index", &self.commit_index())
            .field("durable_index", &self.durable_index())
            .finish()
    }
}

impl<C> LogReader<C> {
    /// The current value of a watermark, without taking a lock.
    pub fn watermark(&self, watermark: Watermark) -> Index {
        self.shared.atomic(watermark).load(Ordering::Acquire)
    }

    /// The index of the last entry (0 when empty and never compacted). It drops when the
    /// writer truncates a conflicting suffix.
    pub fn last_index(&self) -> Index {
        self.watermark(Watermark::Last)
    }

    /// The highest index known to be committed (§5.3); it never decreases.
    pub fn commit_index(&self) -> Index {
        self.watermark(Watermark::Commit)
    }

    /// The highest index whose entries are persisted; see the module docs for when it drops.
    pub fn durable_index(&self) -> Index {
        self.watermark(Watermark::Durable)
    }

    /// The last index folded into the snapshot (§7); entries at or below it are gone.
    pub fn snapshot_index(&self) -> Index {
        self.shared.snapshot_index.load(Ordering::Acquire)
    }

    /// `Some(value)` when `watermark` has passed `past`, without blocking.
    pub fn poll(&self, watermark: Watermark, past: Index) -> Option<Index> {
        let now = self.watermark(watermark);
        (now > past).then_some(now)
    }

    /// Blocks until `watermark` passes `past` and returns its value then, or
    /// [`LogStoreError::Closed`] once the writer is gone and it never will.
    pub fn wait_for(&self, watermark: Watermark, past: Index) -> Result<Index, LogStoreError> {
        self.shared
            .wait(watermark, past, None)
            .map(|now| now.unwrap_or(past))
    }

    /// Like [`wait_for`](Self::wait_for), giving up after `timeout` with `Ok(None)`.
    ///
    /// ```
    /// use refraft::log_store::{LogWriter, Watermark};
    /// use std::time::Duration;
    /// let writer = LogWriter::<String>::new();
    /// let reader = writer.reader();
    /// let waited = reader.wait_for_timeout(Watermark::Durable, 0, Duration::from_millis(1));
    /// assert_eq!(waited, Ok(None));
    /// assert_eq!(reader.poll(Watermark::Durable, 0), None);
    /// ```
    pub fn wait_for_timeout(
        &self,
        watermark: Watermark,
        past: Index,
        timeout: Duration,
    ) -> Result<Option<Index>, LogStoreError> {
        let deadline = Instant::now().checked_add(timeout);
        match deadline {
            Some(deadline) => self.shared.wait(watermark, past, Some(deadline)),
            None => self.shared.wait(watermark, past, None),
        }
    }

    /// The term of the entry at `index`; at the snapshot index, the snapshot's last included
    /// term (index 0 has term 0).
    pub fn term_at(&self, index: Index) -> Result<Term, LogStoreError> {
        self.shared.read().term_at(index)
    }
}

impl<C: Clone> LogReader<C> {
    /// A copy of the entry at `index`.
    pub fn entry(&self, index: Index) -> Result<Entry<C>, LogStoreError> {
        self.shared.read().entry(index).cloned()
    }

    /// Copies of the entries in `range` (end exclusive), all read under one lock: a
    /// consistent piece of one version of the log.
    pub fn entries(&self, range: std::ops::Range<Index>) -> Result<Vec<Entry<C>>, LogStoreError> {
        self.shared.read().cloned_range(range.start, range.end)
    }

    /// Up to `max` entries from `start` on; empty when `start` is `last_index() + 1`. This is
    /// what replication to a follower reads (§5.3, entries from `nextIndex`).
    pub fn entries_from(&self, start: Index, max: usize) -> Result<Vec<Entry<C>>, LogStoreError> {
        let segment = self.shared.read();
        let last_index = segment.last_index();
        if start > last_index + 1 {
            return Err(LogStoreError::PastEnd {
                index: start,
                last_index,
            });
        }
        let end = (last_index + 1).min(start.saturating_add(max as Index));
        segment.cloned_range(start, end)
    }

    /// Up to `max` committed entries from `start` on; empty when `start` is
    /// `commit_index() + 1`. What the applier reads (§5.3: apply `log[lastApplied]` once
    /// `commitIndex > lastApplied`). No truncation can ever remove what this returns.
    pub fn committed_from(&self, start: Index, max: usize) -> Result<Vec<Entry<C>>, LogStoreError> {
        let segment = self.shared.read();
        if start > segment.commit_index + 1 {
            return Err(LogStoreError::PastCommit {
                index: start,
                commit_index: segment.commit_index,
            });
        }
        let end = (segment.commit_index + 1).min(start.saturating_add(max as Index));
        segment.cloned_range(start, end)
    }
}
