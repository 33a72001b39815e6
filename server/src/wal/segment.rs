//! Segment files: the WAL is a sequence of files `00000001.wal`, `00000002.wal`, … in one
//! directory, each a run of whole records. Only the last one is ever appended to; a segment is
//! synced before the next one is created, so only the last can end in a torn write.

use super::record::{self, Decoded, Framed, HEADER_LEN};
use crate::storage_error::StorageError;
use refraft::{Entry, Index};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

/// The file name of segment number `seq`.
pub fn segment_name(seq: u64) -> String {
    format!("{seq:08}.wal")
}

/// The segments in `dir`, in order of their numbers.
pub fn list(dir: &Path) -> Result<Vec<(u64, PathBuf)>, StorageError> {
    let mut segments = Vec::new();
    for item in std::fs::read_dir(dir).map_err(StorageError::at("list", dir))? {
        let item = item.map_err(StorageError::at("list", dir))?;
        let name = item.file_name();
        let Some(seq) = name
            .to_str()
            .and_then(|n| n.strip_suffix(".wal"))
            .and_then(|n| n.parse::<u64>().ok())
        else {
            continue;
        };
        segments.push((seq, item.path()));
    }
    segments.sort();
    Ok(segments)
}

/// Fsyncs a directory, so that a file created, renamed or removed in it stays so.
pub fn sync_dir(dir: &Path) -> Result<(), StorageError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(StorageError::at("fsync directory", dir))
}

/// The open tail segment, appended to.
#[derive(Debug)]
pub struct SegmentWriter {
    file: File,
    path: PathBuf,
    len: u64,
}

impl SegmentWriter {
    /// Creates a new, empty segment at `path` and makes its name durable.
    pub fn create(path: PathBuf) -> Result<Self, StorageError> {
        let file = OpenOptions::new()
            .create_new(true)
            .append(true)
            .open(&path)
            .map_err(StorageError::at("create", &path))?;
        if let Some(dir) = path.parent() {
            sync_dir(dir)?;
        }
        Ok(SegmentWriter { file, path, len: 0 })
    }

    /// Opens an existing segment for appending, cutting it to `valid_len` bytes first (a torn
    /// tail found by recovery); the cut is synced before anything is appended.
    pub fn reopen(path: PathBuf, valid_len: u64) -> Result<Self, StorageError> {
        let file = OpenOptions::new()
            .append(true)
            .open(&path)
            .map_err(StorageError::at("open", &path))?;
        let on_disk = file
            .metadata()
            .map_err(StorageError::at("stat", &path))?
            .len();
        if on_disk != valid_len {
            file.set_len(valid_len)
                .map_err(StorageError::at("truncate", &path))?;
            file.sync_all().map_err(StorageError::at("fsync", &path))?;
        }
        Ok(SegmentWriter {
            file,
            path,
            len: valid_len,
        })
    }

    /// Writes `bytes` (whole records) to the file, without syncing.
    pub fn write(&mut self, bytes: &[u8]) -> Result<(), StorageError> {
        self.file
            .write_all(bytes)
            .map_err(StorageError::at("write", &self.path))?;
        self.len += bytes.len() as u64;
        Ok(())
    }

    /// Makes everything written so far durable (`fdatasync`).
    pub fn sync(&mut self) -> Result<(), StorageError> {
        self.file
            .sync_data()
            .map_err(StorageError::at("fsync", &self.path))
    }

    /// The file's length in bytes.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether nothing was written to the file.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Where one whole record of a segment lies and what it says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecordSpan {
    /// Its byte offset in the file.
    pub offset: u64,
    /// The log index its first entry goes to.
    pub first_index: Index,
    /// How many entries it holds (the next `count` of [`Scan::entries`]).
    pub count: usize,
}

/// The records of one segment read back, and how its end looked.
#[derive(Debug)]
pub struct Scan<C> {
    /// The whole records, in order.
    pub records: Vec<RecordSpan>,
    /// Their entries, record after record.
    pub entries: Vec<Entry<C>>,
    /// The length of the prefix made of whole records.
    pub valid_len: u64,
    /// Bytes after `valid_len`: a torn write (only possible in the last segment).
    pub torn_bytes: u64,
}

/// Reads all records of the segment at `path`. A bad record followed by no whole record is a
/// torn tail, allowed only when `is_last`; a bad record with a whole record anywhere after it
/// is corruption of data once written whole, and an error naming the file and offset.
///
/// Recovery is CPU-bound (checksums and decoding), so it runs in two passes: one walks the
/// length fields to find where each record starts (a few instructions per record), then
/// [`decode_all`] checks and decodes the records on every available core. The result is what a
/// record-by-record scan gives: the records before the first bad one, and that one's reason.
pub fn scan<C: serde::de::DeserializeOwned + Send + Sync>(
    path: &Path,
    is_last: bool,
) -> Result<Scan<C>, StorageError> {
    scan_in_runs(path, is_last, DECODE_RUNS)
}

/// [`scan`], decoding a large segment in `runs` contiguous runs at once (1: on this thread
/// only; the recovery bench compares the two).
pub fn scan_in_runs<C: serde::de::DeserializeOwned + Send + Sync>(
    path: &Path,
    is_last: bool,
    runs: usize,
) -> Result<Scan<C>, StorageError> {
    let bytes = std::fs::read(path).map_err(StorageError::at("read", path))?;
    let mut frames = Vec::new();
    let mut offset = 0usize;
    let mut stop = None;
    while offset < bytes.len() {
        match record::frame(&bytes[offset..]) {
            Framed::Whole(len) => {
                frames.push((offset, len));
                offset += len;
            }
            Framed::Incomplete => {
                stop = Some((offset, "record cut short".to_string()));
                break;
            }
            Framed::Invalid(reason) => {
                stop = Some((offset, reason));
                break;
            }
        }
    }
    let (records, entries, bad) = decode_all::<C>(&bytes, &frames, runs);
    // A framed record that fails its checksum or decoding comes before where framing stopped.
    let Some((offset, reason)) = bad.or(stop) else {
        return Ok(Scan {
            records,
            entries,
            valid_len: bytes.len() as u64,
            torn_bytes: 0,
        });
    };
    let torn = bytes.len() - offset;
    if !is_last || whole_record_after::<C>(&bytes[offset..]) {
        return Err(StorageError::Corrupt {
            file: path.to_path_buf(),
            offset: offset as u64,
            reason: if is_last {
                format!("{reason}, and whole records follow it")
            } else {
                format!("{reason}, in a segment that was synced before the next began")
            },
        });
    }
    Ok(Scan {
        records,
        entries,
        valid_len: offset as u64,
        torn_bytes: torn as u64,
    })
}

/// Below this many records a segment is decoded on the calling thread alone.
const PARALLEL_MIN_RECORDS: usize = 4096;
/// How many runs [`scan`] decodes a large segment in: one. Side by side in the recovery bench
/// on a loaded 2-core machine, four runs took 1.10× the time of one in one bench run and 0.75×
/// in another (with the load falling during it): no clear gain, so parallel decoding is
/// available through [`scan_in_runs`] but not the default.
const DECODE_RUNS: usize = 1;

type Decoding<C> = (Vec<RecordSpan>, Vec<Entry<C>>, Option<(usize, String)>);

/// Checks and decodes the records at `frames` (offset, length) of `bytes`, split into one
/// contiguous run per thread (`threads` of them): the records before the first bad one, in order, their
/// entries, and the bad one's offset and reason.
fn decode_all<C: serde::de::DeserializeOwned + Send + Sync>(
    bytes: &[u8],
    frames: &[(usize, usize)],
    threads: usize,
) -> Decoding<C> {
    let run = |frames: &[(usize, usize)]| -> Decoding<C> {
        let mut records = Vec::with_capacity(frames.len());
        let mut entries = Vec::with_capacity(frames.len());
        for &(offset, len) in frames {
            let before = entries.len();
            match record::check_and_decode_into(&bytes[offset..offset + len], &mut entries) {
                Ok(first_index) => records.push(RecordSpan {
                    offset: offset as u64,
                    first_index,
                    count: entries.len() - before,
                }),
                Err(reason) => return (records, entries, Some((offset, reason))),
            }
        }
        (records, entries, None)
    };
    if threads < 2 || frames.len() < PARALLEL_MIN_RECORDS {
        return run(frames);
    }
    let chunk = frames.len().div_ceil(threads);
    let parts: Vec<Decoding<C>> = std::thread::scope(|s| {
        let handles: Vec<_> = frames
            .chunks(chunk)
            .skip(1)
            .map(|part| s.spawn(move || run(part)))
            .collect();
        let first = run(&frames[..chunk.min(frames.len())]);
        std::iter::once(first)
            .chain(handles.into_iter().map(|h| match h.join() {
                Ok(part) => part,
                Err(panic) => std::panic::resume_unwind(panic),
            }))
            .collect()
    });
    let mut parts = parts.into_iter();
    let (mut records, mut entries, mut bad) = parts.next().unwrap_or_default();
    for (mut more_records, mut more_entries, more_bad) in parts {
        if bad.is_some() {
            break;
        }
        records.append(&mut more_records);
        entries.append(&mut more_entries);
        bad = more_bad;
    }
    (records, entries, bad)
}

/// Whether a whole, valid record starts anywhere in `bytes[1..]`: if so, the bad record at the
/// start was not the last write, so it is not torn. (A torn write leaves garbage only at the
/// end; a random match of a 32-bit checksum and a valid payload is vanishingly unlikely.)
fn whole_record_after<C: serde::de::DeserializeOwned>(bytes: &[u8]) -> bool {
    (1..bytes.len().saturating_sub(HEADER_LEN - 1))
        .any(|at| matches!(record::decode::<C>(&bytes[at..]), Decoded::Record(..)))
}
