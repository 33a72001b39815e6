//! A server's durable state on disk: the hard-state file and the write-ahead log, in one data
//! directory, read back at start into the core's [`DurableState`].

use crate::hard_state::{self, HardState};
use crate::storage_error::StorageError;
use crate::wal::{RecoverySummary, Wal};
use refraft::{DurableState, Entry, Index, Log, NodeId, Term};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::path::{Path, PathBuf};

/// The data directory of one server.
///
/// ```
/// use refraft::{Entry, NodeId};
/// use refraft_server::storage::Storage;
/// let dir = std::env::temp_dir().join(format!("refraft-storage-doc-{}", std::process::id()));
/// # let _ = std::fs::remove_dir_all(&dir);
/// let (mut storage, durable, _) = Storage::<String>::open(&dir).unwrap();
/// assert_eq!(durable.current_term, 0);
/// storage.save_hard_state(2, Some(NodeId(1))).unwrap();
/// storage.append(1, &[Entry::noop(2)]).unwrap();
/// storage.sync().unwrap();
/// drop(storage);
/// let (_, durable, _) = Storage::<String>::open(&dir).unwrap();
/// assert_eq!((durable.current_term, durable.log.last_index()), (2, 1));
/// # std::fs::remove_dir_all(&dir).unwrap();
/// ```
#[derive(Debug)]
pub struct Storage<C> {
    dir: PathBuf,
    wal: Wal<C>,
    hard: HardState,
}

impl<C: Clone + Serialize + DeserializeOwned + Send + Sync> Storage<C> {
    /// Opens `dir` (creating it if needed) and reads back the durable state.
    pub fn open(dir: &Path) -> Result<(Self, DurableState<C>, RecoverySummary), StorageError> {
        let wal_dir = dir.join("wal");
        let (wal, recovered) = Wal::open(&wal_dir)?;
        let hard = hard_state::load(dir)?;
        let durable = DurableState {
            current_term: hard.current_term,
            voted_for: hard.voted_for,
            log: Log::from_entries(recovered.entries),
        };
        let storage = Storage {
            dir: dir.to_path_buf(),
            wal,
            hard,
        };
        Ok((storage, durable, recovered.summary))
    }

    /// Writes the hard state now, durably (it changes only at elections, so it is not batched).
    /// Writing it before the batch's log records keeps every stored entry's term at or below
    /// the stored `current_term`.
    pub fn save_hard_state(
        &mut self,
        current_term: Term,
        voted_for: Option<NodeId>,
    ) -> Result<(), StorageError> {
        let next = HardState {
            current_term,
            voted_for,
        };
        if next != self.hard {
            hard_state::store(&self.dir, &next)?;
            self.hard = next;
        }
        Ok(())
    }

    /// Buffers a log change; durable after [`sync`](Self::sync).
    pub fn append(&mut self, first_index: Index, entries: &[Entry<C>]) -> Result<(), StorageError> {
        self.wal.append(first_index, entries)
    }

    /// Writes the buffered log changes to the file, without the fsync of [`sync`](Self::sync).
    pub fn write_pending(&mut self) -> Result<(), StorageError> {
        self.wal.write_pending()
    }

    /// Makes the buffered log changes durable with one fsync.
    pub fn sync(&mut self) -> Result<(), StorageError> {
        self.wal.sync()
    }

    /// The log's fsyncs since the server started ([`Wal::syncs`]).
    pub fn wal_syncs(&self) -> u64 {
        self.wal.syncs()
    }
}
