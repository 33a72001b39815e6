//! The write-ahead log: every change of the Raft log as a checksummed record in segment files
//! (see [`record`] and [`segment`]), replayed at start.
//!
//! Appends are buffered by [`Wal::append`] and made durable together by one [`Wal::sync`]
//! (group commit): the runtime appends everything a batch of inputs produced, syncs once, and
//! only then sends or answers anything that reveals those entries (Figure 2: "respond to RPCs
//! only after updating stable storage").
//!
//! Segments are preallocated, zero-filled files ([`DEFAULT_SEGMENT_BYTES`], or the size given to
//! [`Wal::open_with_segment_size`]) written over in place, so that a sync does not change the
//! file's size; recovery tells the unused zero tail from a torn write and from corruption by
//! the rules (and the argument) in [`segment`]'s module doc. The next segment is preallocated
//! in the background while the current one fills (the spare, `spare.rs`), so the sync that
//! fills a segment moves on with a rename and a directory fsync.
//!
//! ```
//! use refraft::Entry;
//! use refraft_server::wal::Wal;
//! let dir = std::env::temp_dir().join(format!("refraft-wal-doc-{}", std::process::id()));
//! # let _ = std::fs::remove_dir_all(&dir);
//! let (mut wal, recovered) = Wal::<String>::open(&dir).unwrap();
//! assert!(recovered.entries.is_empty());
//! wal.append(1, &[Entry::noop(1), Entry::noop(1)]).unwrap();
//! wal.append(2, &[Entry::noop(2)]).unwrap(); // replaces entry 2: a durable truncation
//! wal.sync().unwrap();
//! drop(wal);
//! let (_, recovered) = Wal::<String>::open(&dir).unwrap();
//! assert_eq!(recovered.entries, vec![Entry::noop(1), Entry::noop(2)]);
//! assert_eq!(recovered.summary.records, 2);
//! # std::fs::remove_dir_all(&dir).unwrap();
//! ```

pub mod record;
pub mod segment;
mod spare;

use crate::storage_error::StorageError;
use refraft::{Entry, Index};
use segment::{PreparedSegment, SegmentWriter};
use serde::de::DeserializeOwned;
use serde::Serialize;
use spare::Spare;
use std::marker::PhantomData;
use std::path::{Path, PathBuf};

/// The size new segments are preallocated to (zero-filled), and the size at which the WAL
/// moves on to the next segment.
pub const DEFAULT_SEGMENT_BYTES: u64 = 64 << 20;

/// What recovery found, for the log line at start.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RecoverySummary {
    /// Segment files read.
    pub segments: usize,
    /// Whole records replayed.
    pub records: usize,
    /// Records that replaced a suffix (durable truncations).
    pub truncations: usize,
    /// Bytes of a torn last record cut off the last segment (0 if none).
    pub torn_bytes: u64,
    /// The file the torn bytes were cut from.
    pub torn_file: Option<PathBuf>,
}

/// The log read back at start.
#[derive(Clone, Debug)]
pub struct Recovered<C> {
    /// Entries `1..=len`.
    pub entries: Vec<Entry<C>>,
    /// What recovery did.
    pub summary: RecoverySummary,
}

/// The write-ahead log of one server.
#[derive(Debug)]
pub struct Wal<C> {
    dir: PathBuf,
    tail: SegmentWriter,
    tail_seq: u64,
    segment_bytes: u64,
    /// The next segment (`tail_seq + 1`), preallocated in the background; `None` after a
    /// failed roll took it (the next roll then prepares one on its own thread).
    spare: Option<Spare>,
    pending: Vec<u8>,
    /// Records written to the file since the last fsync.
    unsynced: bool,
    /// The fsyncs that made records durable since the WAL was opened.
    syncs: u64,
    _entries: PhantomData<fn(C)>,
}

impl<C: Serialize + DeserializeOwned + Send + Sync> Wal<C> {
    /// Opens (creating if needed) the WAL in `dir` and replays it; new segments are
    /// preallocated to [`DEFAULT_SEGMENT_BYTES`].
    pub fn open(dir: &Path) -> Result<(Self, Recovered<C>), StorageError> {
        Self::open_with_segment_size(dir, DEFAULT_SEGMENT_BYTES)
    }

    /// Like [`open`](Self::open), with new segments preallocated to `segment_bytes` zero bytes
    /// and the next segment started once the records of the current one reach that size (a
    /// small size for tests that copy or damage whole segments). Existing segments are read
    /// whatever size they were made with, including old-style ones without a zero tail.
    pub fn open_with_segment_size(
        dir: &Path,
        segment_bytes: u64,
    ) -> Result<(Self, Recovered<C>), StorageError> {
        std::fs::create_dir_all(dir).map_err(StorageError::at("create directory", dir))?;
        segment::remove_temporaries(dir)?;
        let segments = segment::list(dir)?;
        let mut summary = RecoverySummary {
            segments: segments.len(),
            ..RecoverySummary::default()
        };
        let mut entries: Vec<Entry<C>> = Vec::new();
        let (mut tail_len, mut tail_torn) = (0, 0);
        for (i, (_, path)) in segments.iter().enumerate() {
            let scan = segment::scan::<C>(path, i + 1 == segments.len())?;
            entries.reserve(scan.entries.len());
            let mut from = scan.entries.into_iter();
            for rec in scan.records {
                let next = entries.len() as Index + 1;
                if rec.first_index == 0 || rec.first_index > next {
                    return Err(StorageError::Corrupt {
                        file: path.clone(),
                        offset: rec.offset,
                        reason: format!(
                            "record starts at index {} but the log ends at {}",
                            rec.first_index,
                            next - 1
                        ),
                    });
                }
                if rec.first_index < next {
                    summary.truncations += 1;
                    entries.truncate(rec.first_index as usize - 1);
                }
                entries.extend(from.by_ref().take(rec.count));
                summary.records += 1;
            }
            if scan.torn_bytes > 0 {
                summary.torn_bytes = scan.torn_bytes;
                summary.torn_file = Some(path.clone());
            }
            (tail_len, tail_torn) = (scan.valid_len, scan.torn_bytes);
        }
        let (tail, tail_seq) = match segments.last() {
            Some((seq, path)) => (
                SegmentWriter::reopen(path.clone(), tail_len, tail_torn)?,
                *seq,
            ),
            None => (
                SegmentWriter::create(dir.join(segment::segment_name(1)), segment_bytes)?,
                1,
            ),
        };
        let wal = Wal {
            dir: dir.to_path_buf(),
            tail,
            tail_seq,
            segment_bytes,
            spare: Some(Spare::start(dir, tail_seq + 1, segment_bytes)),
            pending: Vec::new(),
            unsynced: false,
            syncs: 0,
            _entries: PhantomData,
        };
        Ok((wal, Recovered { entries, summary }))
    }

    /// Records that the log from `first_index` on is now `entries` (an append when
    /// `first_index` is just past the end, otherwise a replacement of the suffix). Buffered:
    /// durable only after the next [`sync`](Self::sync).
    pub fn append(&mut self, first_index: Index, entries: &[Entry<C>]) -> Result<(), StorageError> {
        record::encode(first_index, entries, &mut self.pending)
    }

    /// Writes the buffered records to the file without an fsync: they then survive the process
    /// being killed (not a power loss); [`sync`](Self::sync) makes them durable. The runtime
    /// uses it to keep a trace file (written just before) in step with the log on disk.
    pub fn write_pending(&mut self) -> Result<(), StorageError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let result = self.tail.write(&self.pending);
        self.pending.clear();
        self.unsynced = true;
        result
    }

    /// Whether appends wait for a sync.
    pub fn has_pending(&self) -> bool {
        !self.pending.is_empty()
    }

    /// Writes every buffered record and makes it durable with one fsync (group commit); moves
    /// on to the next segment afterwards if the current one is full (the spare preallocated in
    /// the background: a rename and a directory fsync). A batch that does not fit the current
    /// segment's space left extends that file (see [`segment`]).
    pub fn sync(&mut self) -> Result<(), StorageError> {
        self.write_pending()?;
        if !self.unsynced {
            return Ok(());
        }
        self.unsynced = false;
        self.tail.sync()?;
        self.syncs += 1;
        if self.tail.len() >= self.segment_bytes {
            self.roll()?;
        }
        Ok(())
    }

    /// How many fsyncs made records durable since the WAL was opened (a [`sync`](Self::sync)
    /// with nothing written does none): with group commit, far fewer than the appends.
    ///
    /// ```
    /// use refraft::Entry;
    /// use refraft_server::wal::Wal;
    /// let dir = std::env::temp_dir().join(format!("refraft-wal-syncs-{}", std::process::id()));
    /// # let _ = std::fs::remove_dir_all(&dir);
    /// let (mut wal, _) = Wal::<String>::open(&dir).unwrap();
    /// wal.append(1, &[Entry::noop(1)]).unwrap();
    /// wal.append(2, &[Entry::noop(1)]).unwrap();
    /// wal.sync().unwrap(); // one fsync for both appends
    /// wal.sync().unwrap(); // nothing to make durable: no fsync
    /// assert_eq!(wal.syncs(), 1);
    /// # std::fs::remove_dir_all(&dir).unwrap();
    /// ```
    pub fn syncs(&self) -> u64 {
        self.syncs
    }

    /// Moves on to the next segment (the tail is synced): installs the spare, waiting for its
    /// thread if it is still writing, and starts the spare after it. A failed preparation is
    /// this call's error; the tail stays as it is, and the next roll prepares the segment on
    /// this thread.
    fn roll(&mut self) -> Result<(), StorageError> {
        let seq = self.tail_seq + 1;
        // A spare for another number (none is made) is dropped here, before its file is made
        // again below: dropping an untaken spare removes its file.
        let spare = self.spare.take().filter(|spare| spare.seq() == seq);
        let prepared = match spare {
            Some(spare) => spare.take()?,
            None => PreparedSegment::prepare(
                self.dir.join(segment::segment_name(seq)),
                self.segment_bytes,
            )?,
        };
        self.tail = prepared.install()?;
        self.tail_seq = seq;
        self.spare = Some(Spare::start(&self.dir, seq + 1, self.segment_bytes));
        Ok(())
    }

    /// Whether the next segment is preallocated (or its preparation failed, to be reported by
    /// the sync that needs it): the sync that fills the tail will not wait for it.
    pub fn spare_ready(&self) -> bool {
        self.spare.as_ref().is_some_and(Spare::is_ready)
    }

    /// The segment being appended to.
    pub fn tail_path(&self) -> &Path {
        self.tail.path()
    }

    /// Where the next record goes in [`tail_path`](Self::tail_path): the end of its records
    /// written so far (the file itself is longer while preallocated space is left).
    pub fn tail_offset(&self) -> u64 {
        self.tail.len()
    }
}
