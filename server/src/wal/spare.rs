//! The spare segment: the next segment of the log, preallocated on a background thread
//! (`wal-spare`) while the current one is written, so that moving on to it costs a rename and
//! a directory fsync instead of writing `segment_bytes` of zeros inside a group commit.
//!
//! The spare lies under its temporary name (`00000003.wal.tmp` while `00000002.wal` is the
//! tail) and is not part of the log until [`Spare::take`] hands it over and the WAL installs
//! it, after the tail's last sync (the [`segment`](super::segment) module doc, "# Preallocation",
//! says why that is safe). One spare at a time per WAL: the next is started only after the last
//! one was taken, so there is at most one such thread.

use super::segment::{self, PreparedSegment};
use crate::storage_error::StorageError;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

/// What the preparing thread ends with: the segment, or `None` when it was told to stop.
type Preparation = Result<Option<PreparedSegment>, StorageError>;

/// A segment being (or done being) preallocated in the background.
#[derive(Debug)]
pub struct Spare {
    /// The segment number it will have.
    seq: u64,
    /// Its final path (the file lies at [`segment::temporary_path`] of it).
    path: PathBuf,
    size: u64,
    /// Set when the spare is dropped unused: the thread stops writing zeros.
    stop: Arc<AtomicBool>,
    /// The preparing thread; `None` once taken, or when no thread could be started (the spare
    /// is then prepared by [`take`](Self::take) on the caller's thread).
    thread: Option<JoinHandle<Preparation>>,
}

impl Spare {
    /// Starts preallocating segment number `seq` of the WAL in `dir`, `size` zero bytes, on a
    /// thread of its own.
    pub fn start(dir: &Path, seq: u64, size: u64) -> Self {
        let path = dir.join(segment::segment_name(seq));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (path, stop) = (path.clone(), Arc::clone(&stop));
            std::thread::Builder::new()
                .name("wal-spare".into())
                .spawn(move || PreparedSegment::prepare_unless(path, size, &stop))
                .ok()
        };
        Spare {
            seq,
            path,
            size,
            stop,
            thread,
        }
    }

    /// The segment number it is prepared for.
    pub fn seq(&self) -> u64 {
        self.seq
    }

    /// Whether the preparation is over (done or failed): [`take`](Self::take) will not wait.
    pub fn is_ready(&self) -> bool {
        self.thread.as_ref().is_none_or(JoinHandle::is_finished)
    }

    /// The prepared segment, waiting for the thread if it is still writing; the thread's
    /// error (disk full, permission denied, …) if it failed. A spare whose thread could not be
    /// started is prepared here, on the caller's thread.
    pub fn take(mut self) -> Result<PreparedSegment, StorageError> {
        let Some(thread) = self.thread.take() else {
            return PreparedSegment::prepare(self.path.clone(), self.size);
        };
        let temporary = segment::temporary_path(&self.path);
        let stopped = || StorageError::Io {
            op: "preallocate",
            path: temporary.clone(),
            source: std::io::Error::other("the spare segment's preparation stopped early"),
        };
        match thread.join() {
            Ok(Ok(Some(prepared))) => Ok(prepared),
            Ok(Ok(None)) => Err(stopped()),
            Ok(Err(e)) => Err(e),
            Err(_panic) => Err(StorageError::Io {
                op: "preallocate",
                path: temporary.clone(),
                source: std::io::Error::other("the spare segment's thread panicked"),
            }),
        }
    }
}

impl Drop for Spare {
    /// An untaken spare is stopped, waited for (it looks at its stop flag every megabyte of
    /// zeros) and its temporary file removed; a crash leaves the file to the next open, which
    /// removes every temporary ([`segment::remove_temporaries`]).
    fn drop(&mut self) {
        let Some(thread) = self.thread.take() else {
            return;
        };
        self.stop.store(true, Ordering::Relaxed);
        // The outcome does not matter any more: the file is not part of the log either way.
        let _ = thread.join();
        let _ = std::fs::remove_file(segment::temporary_path(&self.path));
    }
}
