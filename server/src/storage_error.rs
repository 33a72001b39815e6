//! What can go wrong with the disk, as a type: every I/O failure of the write-ahead log and the
//! hard-state file surfaces as a [`StorageError`], never as a panic.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

/// Linux `ENOSPC`: no space left on the device.
const ENOSPC: i32 = 28;
/// Linux `EDQUOT`: disk quota exceeded.
const EDQUOT: i32 = 122;
/// Linux `EROFS`: read-only file system.
const EROFS: i32 = 30;

/// Why durable storage could not be read or written.
///
/// ```
/// use refraft_server::StorageError;
/// let e = StorageError::io("write", "wal/00000001.wal", std::io::Error::from_raw_os_error(28));
/// assert!(matches!(e, StorageError::DiskFull { .. }));
/// assert_eq!(e.to_string(), "disk full: write wal/00000001.wal");
/// ```
#[derive(Debug)]
pub enum StorageError {
    /// The device has no space left (or the quota is exhausted).
    DiskFull {
        /// What was being done.
        op: &'static str,
        /// The file or directory.
        path: PathBuf,
    },
    /// The process may not read or write the file or directory (or the file system is
    /// read-only).
    PermissionDenied {
        /// What was being done.
        op: &'static str,
        /// The file or directory.
        path: PathBuf,
    },
    /// Any other I/O failure.
    Io {
        /// What was being done.
        op: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The operating system's error.
        source: io::Error,
    },
    /// A record that was written whole no longer reads back: its checksum or its contents are
    /// wrong, and records follow it, so it is not a torn tail. The server refuses to start.
    Corrupt {
        /// The file holding the record.
        file: PathBuf,
        /// The byte offset of the record in that file.
        offset: u64,
        /// What is wrong with it.
        reason: String,
    },
    /// A value could not be encoded (only for values no decoder could read back either).
    Encode(String),
}

impl StorageError {
    /// Classifies an I/O error of operation `op` on `path`.
    pub fn io(op: &'static str, path: impl AsRef<Path>, source: io::Error) -> Self {
        let path = path.as_ref().to_path_buf();
        match (source.kind(), source.raw_os_error()) {
            (io::ErrorKind::StorageFull, _) | (_, Some(ENOSPC | EDQUOT)) => {
                StorageError::DiskFull { op, path }
            }
            (io::ErrorKind::PermissionDenied | io::ErrorKind::ReadOnlyFilesystem, _)
            | (_, Some(EROFS)) => StorageError::PermissionDenied { op, path },
            _ => StorageError::Io { op, path, source },
        }
    }

    /// A closure for `map_err` that classifies an error of `op` on `path`.
    pub fn at<'a>(op: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> Self + 'a {
        move |e| StorageError::io(op, path, e)
    }
}

impl fmt::Display for StorageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StorageError::DiskFull { op, path } => write!(f, "disk full: {op} {}", path.display()),
            StorageError::PermissionDenied { op, path } => {
                write!(f, "permission denied: {op} {}", path.display())
            }
            StorageError::Io { op, path, source } => {
                write!(f, "I/O error: {op} {}: {source}", path.display())
            }
            StorageError::Corrupt {
                file,
                offset,
                reason,
            } => write!(
                f,
                "corrupt record in {} at byte offset {offset}: {reason}; refusing to start",
                file.display()
            ),
            StorageError::Encode(e) => write!(f, "cannot encode: {e}"),
        }
    }
}

impl std::error::Error for StorageError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            StorageError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}
