//! Segment files: the WAL is a sequence of files `00000001.wal`, `00000002.wal`, … in one
//! directory, each a run of whole records. Only the last one is ever written to; a segment is
//! synced before the next one is created, so only the last can end in a torn write.
//!
//! # Preallocation
//!
//! A new segment is preallocated ([`PreparedSegment::prepare`]): written as `size` zero bytes
//! under a temporary name (`00000002.wal.tmp`) and fdatasync'd; then installed
//! ([`PreparedSegment::install`]): renamed to its final name, and the directory fsynced.
//! Records are then written at the writer's offset (`pwrite`, not `O_APPEND`) over the zeros,
//! so the `fdatasync` after a write changes data blocks only: the file's size (its inode) stays
//! as it was, and on ext4 an appending `fdatasync` writes the inode too, a second I/O. A
//! leftover temporary file (a crash during creation) is removed at open; it was never part of
//! the log.
//!
//! The WAL prepares the next segment ahead, on a background thread (`wal-spare`): as soon as a
//! segment becomes the tail (at open, and at each move to the next segment), the one after it
//! is prepared under its temporary name, and the sync that fills the tail only installs it
//! (waiting for the thread if it is not done, and reporting its error if it failed). Where the
//! spare lives: `{tail + 1:08}.wal.tmp` in the WAL directory, one at a time. Why it is safe:
//! [`list`] does not see a temporary file, so the spare is no segment (recovery never reads it,
//! and open removes it with every other temporary) until it is renamed, which happens only
//! after the tail's last sync; so a segment is still synced before the next one is named, and
//! only the last segment can end in a torn write. What it costs: a second preallocated file of
//! the segment size (64 MiB in production) on disk per server, and its zeros written and
//! synced in the background, beside the log's own writes, once per segment; dropping the WAL
//! stops the thread and removes the file.
//!
//! A write that does not fit the space left extends the file past its preallocated end (that
//! one `fdatasync` also writes the size, as every append did before), and the segment is closed
//! after that sync (the WAL starts the next one when the offset reaches the segment size).
//! Why extend rather than move the write to the next segment: a segment must be synced before
//! the next is created, so moving would put an fsync in the middle of a group commit's one
//! write (or split its records across a sync); a record may be as large as a whole segment
//! ([`record::MAX_PAYLOAD`]); and the cost is one appending fsync per segment (per 64 MiB in
//! production). Segments written before preallocation (their length exactly their records)
//! are the same case: records to the end of the file, no zero tail; they are read, repaired and
//! appended to as before.
//!
//! # Recovery of the zero tail
//!
//! [`scan`] reads whole records from the start. Where the next one does not read back whole
//! and valid (offset `at`), the rest of the file `bytes[at..]` is one of three things:
//!
//! 1. **Only zeros (or nothing): the unused space.** No log line; the writer goes on at `at`.
//!    A length field of 0 is never written ([`record`]), so a zero header is never a record.
//! 2. **Non-zero bytes, and no whole valid record starts anywhere after `at`: a torn tail**
//!    (in the last segment only). The bytes from `at` to the last non-zero byte — or to the
//!    end of the file, when the record at `at` announces more bytes than the file holds (a
//!    write cut short by the end of the file, whose last bytes may well be zeros) — are
//!    counted (`torn_bytes`), then zeroed, or cut when they reach the end of the file, and
//!    synced before anything is written; the server logs the count. (A length field damaged to
//!    point past the end of the file is that case too: the rest of the file is cut, zeros
//!    included, and the segment goes on growing like an old-style one.) This covers a partial last
//!    record followed by zeros (the write was cut short inside the preallocated space), one
//!    followed by the end of the file (an old-style segment, or a write past the preallocated
//!    end), a checksum-failing last record, and a damaged byte in the zero tail itself (all
//!    records kept; the stray bytes are zeroed).
//! 3. **A whole valid record starts after `at`: corruption in the middle.** Recovery refuses to
//!    start, naming the file and `at` (likewise for any damage in an earlier segment).
//!
//! Why this never silently drops acknowledged data: an entry is acknowledged only after the
//! `fdatasync` that covers its whole record, and writes go strictly forward from the end of the
//! last record. So every acknowledged record lies before the first unreadable offset unless it
//! was damaged after it was written; if damage hits one and a later record is intact, rule 3
//! refuses to start rather than drop anything; rule 2 discards only bytes in which no whole
//! record starts. The one loss the rules cannot tell from a torn write is damage to the very
//! last synced record itself (a torn write and a bit flip there look alike), and that is
//! logged with its byte count, never silent. Zeros are what a preallocated segment holds where
//! nothing was written, so a zero run is never data: every record starts with a non-zero
//! length. A torn write that persisted a later page but not an earlier one leaves zeros and
//! then a whole record: rule 3 refuses, as the old length-defined segments did (the file size
//! grew there too).

use super::record::{self, Decoded, Framed, HEADER_LEN};
use crate::storage_error::StorageError;
use refraft::{Entry, Index};
use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

/// The suffix of a segment being preallocated: `00000002.wal.tmp`.
pub const TEMPORARY_SUFFIX: &str = ".tmp";

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

/// Removes the temporary files of segments whose preallocation a crash interrupted (they were
/// never renamed to a segment name, so they hold no record).
pub fn remove_temporaries(dir: &Path) -> Result<(), StorageError> {
    for item in std::fs::read_dir(dir).map_err(StorageError::at("list", dir))? {
        let item = item.map_err(StorageError::at("list", dir))?;
        let name = item.file_name();
        let Some(name) = name.to_str() else { continue };
        if name.ends_with(&format!(".wal{TEMPORARY_SUFFIX}")) {
            let path = item.path();
            std::fs::remove_file(&path).map_err(StorageError::at("remove", &path))?;
        }
    }
    Ok(())
}

/// The zeros are written a page at a time (each write ends on a page boundary).
const ZERO_WRITE: u64 = 4096;

/// Writes `len` zero bytes at `offset` of `file`, in writes of at most [`ZERO_WRITE`] bytes.
///
/// One page per write keeps the file's page cache in single pages: ext4 (kernel 6.18 here)
/// caches a large write in a large folio, and every later record written into such a folio
/// costs the `pwrite` and the `fdatasync` a walk over all its blocks. Alternated here: 64-byte
/// `pwrite` + `fdatasync` into a segment zeroed in 1 MiB writes took 49–75 µs of CPU per
/// call, into one zeroed a page at a time 41–60 µs; the preallocation takes about 2.7× as
/// long (README "Measured", "Per-SET cost at 64 clients, profiled again").
fn write_zeros(file: &File, path: &Path, offset: u64, len: u64) -> Result<(), StorageError> {
    let zeros = [0u8; ZERO_WRITE as usize];
    let end = offset + len;
    let mut at = offset;
    while at < end {
        let n = (ZERO_WRITE - at % ZERO_WRITE).min(end - at);
        file.write_all_at(&zeros[..n as usize], at)
            .map_err(StorageError::at("write", path))?;
        at += n;
    }
    Ok(())
}

/// Fsyncs a directory, so that a file created, renamed or removed in it stays so.
pub fn sync_dir(dir: &Path) -> Result<(), StorageError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(StorageError::at("fsync directory", dir))
}

/// The open tail segment, written to at the end of its records.
#[derive(Debug)]
pub struct SegmentWriter {
    file: File,
    path: PathBuf,
    /// The end of the records: where the next write goes.
    len: u64,
}

/// How many zero bytes [`PreparedSegment::prepare_unless`] writes between two looks at its stop
/// flag (a whole number of [`ZERO_WRITE`] pages, so the writes are the same as in one run).
const STOP_CHECK: u64 = 256 * ZERO_WRITE;

/// The temporary name a segment is preallocated under: `path` + [`TEMPORARY_SUFFIX`].
pub fn temporary_path(path: &Path) -> PathBuf {
    let mut temporary = path.to_path_buf().into_os_string();
    temporary.push(TEMPORARY_SUFFIX);
    PathBuf::from(temporary)
}

/// A segment preallocated under its temporary name and fdatasync'd, not yet part of the log:
/// [`list`] does not see it until [`install`](Self::install) renames it.
#[derive(Debug)]
pub struct PreparedSegment {
    file: File,
    /// The segment's final name.
    path: PathBuf,
    /// Where it lies until installed.
    temporary: PathBuf,
}

impl PreparedSegment {
    /// Preallocates the segment that will be `path` under [`temporary_path`]: `size` zero
    /// bytes (0: an empty file that grows with every write), written a page at a time and
    /// fdatasync'd. An existing temporary file is truncated first. Writing real zeros (not
    /// `set_len` or `fallocate`, whose holes and unwritten extents a later write would still
    /// have to allocate or convert) is what makes a later `fdatasync` a data-only write.
    pub fn prepare(path: PathBuf, size: u64) -> Result<Self, StorageError> {
        let never = AtomicBool::new(false);
        let prepared = Self::prepare_unless(path.clone(), size, &never)?;
        prepared.ok_or_else(|| StorageError::Io {
            op: "preallocate",
            path,
            source: std::io::Error::other("stopped"),
        })
    }

    /// [`prepare`](Self::prepare), giving up (`Ok(None)`, the temporary file left as it is)
    /// once `stop` is set; it is looked at every `STOP_CHECK` bytes.
    pub fn prepare_unless(
        path: PathBuf,
        size: u64,
        stop: &AtomicBool,
    ) -> Result<Option<Self>, StorageError> {
        let temporary = temporary_path(&path);
        let file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&temporary)
            .map_err(StorageError::at("create", &temporary))?;
        let mut at = 0;
        while at < size {
            if stop.load(Ordering::Relaxed) {
                return Ok(None);
            }
            let n = STOP_CHECK.min(size - at);
            write_zeros(&file, &temporary, at, n)?;
            at += n;
        }
        file.sync_data()
            .map_err(StorageError::at("fsync", &temporary))?;
        Ok(Some(PreparedSegment {
            file,
            path,
            temporary,
        }))
    }

    /// Makes the segment part of the log: renames the temporary file to the segment's name
    /// and fsyncs the directory, so that the name is durable; it is then the writer's.
    pub fn install(self) -> Result<SegmentWriter, StorageError> {
        let PreparedSegment {
            file,
            path,
            temporary,
        } = self;
        std::fs::rename(&temporary, &path).map_err(StorageError::at("rename", &temporary))?;
        if let Some(dir) = path.parent() {
            sync_dir(dir)?;
        }
        Ok(SegmentWriter { file, path, len: 0 })
    }

    /// The temporary file it lies in until installed.
    pub fn temporary(&self) -> &Path {
        &self.temporary
    }
}

impl SegmentWriter {
    /// Creates a new segment at `path`, preallocated to `size` zero bytes, and makes it and its
    /// name durable, on this thread: [`PreparedSegment::prepare`], then
    /// [`install`](PreparedSegment::install).
    pub fn create(path: PathBuf, size: u64) -> Result<Self, StorageError> {
        PreparedSegment::prepare(path, size)?.install()
    }

    /// Opens an existing segment to write after its records, which end at `valid_len`; the
    /// `torn_bytes` after them (a torn tail found by recovery) are cut off if they reach the
    /// end of the file, zeroed otherwise, and that is synced before anything is written.
    pub fn reopen(path: PathBuf, valid_len: u64, torn_bytes: u64) -> Result<Self, StorageError> {
        let file = OpenOptions::new()
            .write(true)
            .open(&path)
            .map_err(StorageError::at("open", &path))?;
        if torn_bytes > 0 {
            let on_disk = file
                .metadata()
                .map_err(StorageError::at("stat", &path))?
                .len();
            if valid_len + torn_bytes >= on_disk {
                file.set_len(valid_len)
                    .map_err(StorageError::at("truncate", &path))?;
            } else {
                write_zeros(&file, &path, valid_len, torn_bytes)?;
            }
            file.sync_all().map_err(StorageError::at("fsync", &path))?;
        }
        Ok(SegmentWriter {
            file,
            path,
            len: valid_len,
        })
    }

    /// Writes `bytes` (whole records) at the end of the records, without syncing: over the
    /// preallocated zeros, or past the end of the file where they do not fit.
    pub fn write(&mut self, bytes: &[u8]) -> Result<(), StorageError> {
        self.file
            .write_all_at(bytes, self.len)
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

    /// The length of its records in bytes (where the next write goes; the file may be longer).
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether the segment holds no record.
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
    /// Bytes after `valid_len` up to the last non-zero byte: a torn write (only possible in
    /// the last segment).
    pub torn_bytes: u64,
    /// Zero bytes after `valid_len` (and after the torn bytes): unused preallocated space.
    pub unused_bytes: u64,
}

/// Reads all records of the segment at `path`. After the last whole record, zeros to the end
/// are unused space; a bad record (or non-zero bytes) followed by no whole record is a torn
/// tail, allowed only when `is_last`; a bad record with a whole record anywhere after it is
/// corruption of data once written whole, and an error naming the file and offset (the rules
/// and their argument: the [module doc](self)).
///
/// Recovery is CPU-bound (checksums and decoding), so it runs in two passes: one walks the
/// length fields to find where each record starts (a few instructions per record), then
/// `decode_all` checks and decodes the records on every available core. The result is what a
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
    // Whether framing stopped at a record longer than the rest of the file.
    let mut cut_short = false;
    while offset < bytes.len() {
        match record::frame(&bytes[offset..]) {
            Framed::Whole(len) => {
                frames.push((offset, len));
                offset += len;
            }
            Framed::Incomplete => {
                stop = Some((offset, "record cut short".to_string()));
                cut_short = true;
                break;
            }
            Framed::Unused => {
                stop = Some((offset, "no record at a zero length field".to_string()));
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
    cut_short &= bad.is_none();
    let Some((offset, reason)) = bad.or(stop) else {
        return Ok(Scan {
            records,
            entries,
            valid_len: bytes.len() as u64,
            torn_bytes: 0,
            unused_bytes: 0,
        });
    };
    let rest = &bytes[offset..];
    let nonzero = nonzero_len(rest);
    let torn = if cut_short && nonzero > 0 {
        rest.len()
    } else {
        nonzero
    };
    let unused_bytes = (rest.len() - torn) as u64;
    if torn == 0 {
        // Only zeros after the records: the preallocated space not yet written.
        return Ok(Scan {
            records,
            entries,
            valid_len: offset as u64,
            torn_bytes: 0,
            unused_bytes,
        });
    }
    if !is_last || whole_record_after::<C>(rest, nonzero) {
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
        unused_bytes,
    })
}

/// The length of `bytes` without its trailing zeros (0 if all are zero).
fn nonzero_len(bytes: &[u8]) -> usize {
    let mut end = bytes.len();
    // 64 bytes at a time (the OR of a block vectorizes), then byte by byte.
    while end >= 64 && bytes[end - 64..end].iter().fold(0, |acc, &b| acc | b) == 0 {
        end -= 64;
    }
    while end > 0 && bytes[end - 1] == 0 {
        end -= 1;
    }
    end
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
/// Only zeros follow `bytes[..nonzero]`, and a record's length field is not zero, so no record
/// starts at or after `nonzero`.
fn whole_record_after<C: serde::de::DeserializeOwned>(bytes: &[u8], nonzero: usize) -> bool {
    (1..nonzero.min(bytes.len().saturating_sub(HEADER_LEN - 1)))
        .any(|at| matches!(record::decode::<C>(&bytes[at..]), Decoded::Record(..)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The page-sized writes cover exactly `[offset, offset + len)`, from an offset and to an
    /// end that are not on page boundaries, and across several pages.
    #[test]
    fn write_zeros_zeroes_exactly_its_range() {
        let dir = std::env::temp_dir().join(format!("refraft-zeros-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("zeros");
        for (offset, len) in [(0, 3 * ZERO_WRITE), (100, 10_000), (4095, 2), (5000, 0)] {
            let size = (offset + len + 3 * ZERO_WRITE) as usize;
            std::fs::write(&path, vec![0xffu8; size]).unwrap();
            let file = File::options().write(true).open(&path).unwrap();
            write_zeros(&file, &path, offset, len).unwrap();
            drop(file);
            let bytes = std::fs::read(&path).unwrap();
            assert_eq!(bytes.len(), size, "offset {offset} len {len}");
            for (i, &b) in bytes.iter().enumerate() {
                let inside = (offset..offset + len).contains(&(i as u64));
                assert_eq!(
                    b,
                    if inside { 0 } else { 0xff },
                    "byte {i}, offset {offset} len {len}"
                );
            }
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
