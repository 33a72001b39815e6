//! Torn writes, bit flips and corruption of the write-ahead log, and disk errors: recovery
//! keeps exactly the whole records, refuses a corrupt middle record naming file and offset,
//! and storage failures come back as typed errors. Both kinds of segment are damaged:
//! preallocated ones (records, then zeros to the preallocated size) and old-style ones (the
//! records alone, as written before preallocation: a preallocated file cut at its records' end).

#[path = "support/tempdir.rs"]
mod tempdir;

use refraft::{ClientId, Entry, KvCommand, Payload};
use refraft_server::hard_state::{self, HardState};
use refraft_server::wal::segment::{self, SegmentWriter};
use refraft_server::wal::Wal;
use refraft_server::StorageError;
use std::path::{Path, PathBuf};
use tempdir::TempDir;

fn entry(term: u64, serial: u64) -> Entry<KvCommand> {
    Entry {
        term,
        payload: Payload::Command {
            client: ClientId(9),
            serial,
            command: std::sync::Arc::new(KvCommand::Set {
                key: format!("k{serial}"),
                value: format!("value-{serial}"),
            }),
        },
    }
}

/// The preallocated size of the segments these tests write (small, as they copy whole files).
const SEGMENT: u64 = 4096;

/// Writes `n` records of one entry each, each synced ("acknowledged"), into one segment
/// preallocated to [`SEGMENT`] bytes, and returns the segment path and each record's end offset.
fn write_records(dir: &Path, n: u64) -> (PathBuf, Vec<u64>) {
    let (mut wal, _) = Wal::<KvCommand>::open_with_segment_size(dir, SEGMENT).unwrap();
    let mut ends = Vec::new();
    for i in 1..=n {
        wal.append(i, &[entry(1, i)]).unwrap();
        wal.sync().unwrap();
        ends.push(wal.tail_offset());
        assert_eq!(std::fs::metadata(wal.tail_path()).unwrap().len(), SEGMENT);
    }
    (wal.tail_path().to_path_buf(), ends)
}

/// Writes `bytes` as the one segment (named `name`) of a fresh WAL directory `dir`.
fn write_segment(dir: &Path, name: &std::ffi::OsStr, bytes: &[u8]) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join(name), bytes).unwrap();
}

/// Whether the length field at `at` announces a record longer than the rest of `bytes` (a
/// write cut short by the end of the file: recovery cuts the file there, zeros included).
fn cut_short(bytes: &[u8], at: usize) -> bool {
    let mut field = [0; 4];
    let n = (bytes.len() - at).min(4);
    field[..n].copy_from_slice(&bytes[at..at + n]);
    let len = u32::from_le_bytes(field) as usize;
    len > 0 && len <= refraft_server::wal::record::MAX_PAYLOAD && at + 8 + len > bytes.len()
}

/// The length of `bytes` without its trailing zeros.
fn nonzero_len(bytes: &[u8]) -> usize {
    bytes.iter().rposition(|&b| b != 0).map_or(0, |p| p + 1)
}

fn recover(dir: &Path) -> Result<Vec<Entry<KvCommand>>, StorageError> {
    Wal::<KvCommand>::open(dir).map(|(_, r)| r.entries)
}

fn expected(n: u64) -> Vec<Entry<KvCommand>> {
    (1..=n).map(|i| entry(1, i)).collect()
}

#[test]
fn old_style_a_torn_last_record_is_cut_at_every_byte_offset_and_the_complete_records_kept() {
    let scratch = TempDir::new("torn");
    let pristine = scratch.path().join("pristine");
    let (segment, ends) = write_records(&pristine, 5);
    let bytes = std::fs::read(&segment).unwrap();
    let (start, end) = (ends[3] as usize, ends[4] as usize);
    assert!(end - start > 20, "the last record has some length");
    for cut in start..end {
        let dir = scratch.path().join(format!("cut{cut}"));
        std::fs::create_dir_all(&dir).unwrap();
        let name = segment.file_name().unwrap();
        std::fs::write(dir.join(name), &bytes[..cut]).unwrap();
        let (mut wal, recovered) = Wal::<KvCommand>::open(&dir).unwrap();
        assert_eq!(recovered.entries, expected(4), "cut at {cut}");
        assert_eq!(
            recovered.summary.torn_bytes,
            (cut - start) as u64,
            "cut at {cut}"
        );
        // The torn bytes are gone from disk, and the log goes on from the complete records.
        assert_eq!(
            std::fs::metadata(dir.join(name)).unwrap().len(),
            start as u64
        );
        wal.append(5, &[entry(2, 50)]).unwrap();
        wal.sync().unwrap();
        drop(wal);
        let mut want = expected(4);
        want.push(entry(2, 50));
        assert_eq!(recover(&dir).unwrap(), want, "cut at {cut}, then appended");
        std::fs::remove_dir_all(&dir).unwrap();
    }
    // Cut exactly at the end of the last record (an old-style segment): nothing torn, all kept.
    let whole = scratch.path().join("whole");
    write_segment(&whole, segment.file_name().unwrap(), &bytes[..end]);
    let recovered = Wal::<KvCommand>::open(&whole).unwrap().1;
    assert_eq!(recovered.entries, expected(5));
    assert_eq!(recovered.summary.torn_bytes, 0);
    // And the preallocated original, with its zero tail: the same, nothing torn either.
    let recovered = Wal::<KvCommand>::open(&pristine).unwrap().1;
    assert_eq!(recovered.entries, expected(5));
    assert_eq!(recovered.summary.torn_bytes, 0);
}

#[test]
fn a_torn_last_record_inside_the_zero_tail_is_zeroed_at_every_byte_offset() {
    let scratch = TempDir::new("torn-zero-tail");
    let pristine = scratch.path().join("pristine");
    let (segment, ends) = write_records(&pristine, 5);
    let bytes = std::fs::read(&segment).unwrap();
    assert_eq!(bytes.len() as u64, SEGMENT);
    let (start, end) = (ends[3] as usize, ends[4] as usize);
    assert!(end - start > 20, "the last record has some length");
    assert!(
        bytes[end..].iter().all(|&b| b == 0),
        "zeros after the records"
    );
    let name = segment.file_name().unwrap();
    let mut torn_seen = 0;
    for cut in start..end {
        // The write reached the disk up to `cut`: partial bytes, then the preallocated zeros.
        let mut damaged = bytes.clone();
        damaged[cut..end].fill(0);
        let dir = scratch.path().join(format!("cut{cut}"));
        write_segment(&dir, name, &damaged);
        let (mut wal, recovered) = Wal::<KvCommand>::open_with_segment_size(&dir, SEGMENT).unwrap();
        assert_eq!(recovered.entries, expected(4), "cut at {cut}");
        // Torn: from the record's start to its last non-zero byte written (none at cut = start).
        let torn = nonzero_len(&damaged[start..]) as u64;
        assert_eq!(recovered.summary.torn_bytes, torn, "cut at {cut}");
        torn_seen += u64::from(torn > 0);
        // The torn bytes are zeroed on disk, and the file keeps its preallocated size.
        let after = std::fs::read(dir.join(name)).unwrap();
        assert_eq!(after.len() as u64, SEGMENT, "cut at {cut}");
        assert_eq!(after[..start], bytes[..start], "cut at {cut}");
        assert!(after[start..].iter().all(|&b| b == 0), "cut at {cut}");
        // The log goes on from the complete records, and recovers again.
        wal.append(5, &[entry(2, 50)]).unwrap();
        wal.append(6, &[entry(2, 60)]).unwrap();
        wal.sync().unwrap();
        drop(wal);
        assert_eq!(
            std::fs::metadata(dir.join(name)).unwrap().len(),
            SEGMENT,
            "no growth"
        );
        let (_, again) = Wal::<KvCommand>::open_with_segment_size(&dir, SEGMENT).unwrap();
        let mut want = expected(4);
        want.extend([entry(2, 50), entry(2, 60)]);
        assert_eq!(again.entries, want, "cut at {cut}, then appended");
        assert_eq!(again.summary.torn_bytes, 0, "cut at {cut}, then appended");
        std::fs::remove_dir_all(&dir).unwrap();
    }
    assert_eq!(
        torn_seen as usize,
        end - start - 1,
        "every cut past the start is torn"
    );
}

/// `n` records written by [`write_records`] under `dir`: the segment's name, each record's end,
/// and the preallocated segment's bytes.
struct Written {
    name: std::ffi::OsString,
    ends: Vec<u64>,
    preallocated: Vec<u8>,
}

impl Written {
    /// Writes them in a new scratch directory named after `tag`.
    fn new(tag: &str, n: u64) -> (TempDir, Self) {
        let scratch = TempDir::new(tag);
        let (segment, ends) = write_records(&scratch.path().join("pristine"), n);
        let written = Written {
            name: segment.file_name().unwrap().to_owned(),
            preallocated: std::fs::read(&segment).unwrap(),
            ends,
        };
        (scratch, written)
    }

    /// Where record `i` (from 0) starts and ends.
    fn span(&self, i: usize) -> (usize, usize) {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        (start as usize, self.ends[i] as usize)
    }

    /// The segment both ways: old-style (the records alone) and preallocated (zeros after).
    fn kinds(&self) -> [(&'static str, &[u8]); 2] {
        let end = *self.ends.last().unwrap() as usize;
        [
            ("old-style", &self.preallocated[..end]),
            ("preallocated", &self.preallocated[..]),
        ]
    }
}

/// Appends one entry just past `kept` through `wal`, syncs, checks that a restart recovers
/// `kept` and that entry, and removes `dir`.
fn append_then_recover(
    mut wal: Wal<KvCommand>,
    dir: &Path,
    mut kept: Vec<Entry<KvCommand>>,
    what: &str,
) {
    let index = kept.len() as u64 + 1;
    wal.append(index, &[entry(2, 10 * index)]).unwrap();
    wal.sync().unwrap();
    drop(wal);
    kept.push(entry(2, 10 * index));
    assert_eq!(recover(dir).unwrap(), kept, "{what}, then appended");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_flipped_bit_in_the_zero_tail_keeps_every_record_and_is_zeroed() {
    let scratch = TempDir::new("flip-zero-tail");
    let pristine = scratch.path().join("pristine");
    let (segment, ends) = write_records(&pristine, 4);
    let bytes = std::fs::read(&segment).unwrap();
    let end = ends[3] as usize;
    let name = segment.file_name().unwrap();
    let (mut tried, mut cuts) = (0, 0);
    // Every byte of the first 16 after the records (where the next header goes), then sampled
    // offsets to the end of the file.
    let sampled = (end..end + 16).chain((end + 16..bytes.len()).step_by(97));
    for offset in sampled.chain([bytes.len() - 1]) {
        let mut damaged = bytes.clone();
        damaged[offset] ^= 1 << (offset % 8);
        let dir = scratch.path().join(format!("flip{offset}"));
        write_segment(&dir, name, &damaged);
        let (wal, recovered) = Wal::<KvCommand>::open_with_segment_size(&dir, SEGMENT).unwrap();
        assert_eq!(recovered.entries, expected(4), "bit flipped at {offset}");
        // Zeroed up to the flipped byte; cut instead where that reaches the end of the file,
        // or where the flip made the next length field reach past it.
        let cut = cut_short(&damaged, end);
        let torn = if cut { bytes.len() } else { offset + 1 } - end;
        assert_eq!(
            recovered.summary.torn_bytes, torn as u64,
            "bit flipped at {offset}"
        );
        cuts += usize::from(cut);
        let after = std::fs::read(dir.join(name)).unwrap();
        let reaches_end = end + torn == bytes.len();
        assert_eq!(after.len(), if reaches_end { end } else { bytes.len() });
        assert_eq!(after[..end], bytes[..end]);
        assert!(after[end..].iter().all(|&b| b == 0), "flip at {offset}");
        append_then_recover(wal, &dir, expected(4), &format!("flip at {offset}"));
        tried += 1;
    }
    assert!(tried >= 40, "sampled {tried} offsets");
    assert!(
        cuts < 4,
        "{cuts} of {tried} cut: only flips in a length field"
    );
}

#[test]
fn a_flipped_bit_in_the_last_record_drops_only_that_record() {
    let (scratch, written) = Written::new("flip-last", 4);
    let ((start, end), name) = (written.span(3), &written.name);
    for (kind, bytes) in written.kinds() {
        let mut tried = 0;
        // Sampled offsets: every byte of the header, then every third byte of the payload; one
        // bit per byte, rotating through the bit positions.
        for offset in (start..start + 8).chain((start + 8..end).step_by(3)) {
            let mut damaged = bytes.to_vec();
            damaged[offset] ^= 1 << (offset % 8);
            let dir = scratch.path().join(format!("flip{offset}"));
            write_segment(&dir, name, &damaged);
            let (wal, recovered) = Wal::<KvCommand>::open_with_segment_size(&dir, SEGMENT).unwrap();
            assert_eq!(
                recovered.entries,
                expected(3),
                "{kind}: flipped at {offset}"
            );
            // Cut where the torn bytes reach the end of the file (old-style, or a length field
            // now reaching past it), zeroed otherwise (preallocated: the size is kept).
            let cut = cut_short(&damaged, start);
            let torn = if cut { bytes.len() } else { end } - start;
            assert_eq!(
                recovered.summary.torn_bytes, torn as u64,
                "{kind}: {offset}"
            );
            let after = std::fs::read(dir.join(name)).unwrap();
            let reaches_end = start + torn == bytes.len();
            assert_eq!(
                after.len(),
                if reaches_end { start } else { bytes.len() },
                "{kind}"
            );
            assert!(after[start..].iter().all(|&b| b == 0), "{kind}");
            append_then_recover(wal, &dir, expected(3), &format!("{kind}: {offset}"));
            tried += 1;
        }
        assert!(tried >= 10, "sampled {tried} offsets");
    }
}

#[test]
fn a_corrupt_middle_record_refuses_to_start_naming_file_and_offset() {
    let (scratch, written) = Written::new("flip-middle", 5);
    let (name, ends) = (&written.name, &written.ends);
    for (kind, pristine) in written.kinds() {
        let dir = scratch.path().join(kind);
        let segment = dir.join(name);
        // Damage the third record's payload.
        let offset = ends[1];
        let mut bytes = pristine.to_vec();
        bytes[offset as usize + 12] ^= 0x10;
        write_segment(&dir, name, &bytes);
        match recover(&dir) {
            Err(StorageError::Corrupt {
                file,
                offset: at,
                reason,
            }) => {
                assert_eq!(file, segment);
                assert_eq!(at, offset);
                assert!(reason.contains("CRC-32C"), "{kind}: {reason}");
            }
            other => panic!("{kind}: expected a corruption error, got {other:?}"),
        }
        let message = recover(&dir).unwrap_err().to_string();
        assert!(
            message.contains(&segment.display().to_string()),
            "{message}"
        );
        assert!(message.contains(&format!("offset {offset}")), "{message}");
        // Refusing leaves the file as it was: nothing is silently dropped.
        assert_eq!(std::fs::read(&segment).unwrap(), bytes);
    }
}

#[test]
fn a_zeroed_middle_record_is_not_taken_for_the_unused_tail() {
    // Zeros where the third record was (a zero length field), whole records after: the zeros
    // are not the end of the log but damage, in either kind of segment.
    let (scratch, written) = Written::new("zero-middle", 5);
    let ((start, end), name) = (written.span(2), &written.name);
    for (kind, pristine) in written.kinds() {
        for zeroed in [start..start + 4, start..end] {
            let dir = scratch.path().join(kind);
            let mut bytes = pristine.to_vec();
            bytes[zeroed.clone()].fill(0);
            write_segment(&dir, name, &bytes);
            match recover(&dir) {
                Err(StorageError::Corrupt { offset, reason, .. }) => {
                    assert_eq!(offset, start as u64, "{kind} {zeroed:?}");
                    assert!(reason.contains("zero length"), "{kind}: {reason}");
                }
                other => panic!("{kind} {zeroed:?}: not refused: {other:?}"),
            }
            assert_eq!(std::fs::read(dir.join(name)).unwrap(), bytes);
            std::fs::remove_dir_all(&dir).unwrap();
        }
    }
}

#[test]
fn new_segments_are_preallocated_and_written_in_place() {
    let scratch = TempDir::new("prealloc");
    let dir = scratch.path();
    // A temporary file left by a crash during preallocation is removed at open.
    std::fs::write(dir.join("00000001.wal.tmp"), [1, 2, 3]).unwrap();
    let (mut wal, recovered) = Wal::<KvCommand>::open_with_segment_size(dir, SEGMENT).unwrap();
    assert!(recovered.entries.is_empty());
    assert!(!dir.join("00000001.wal.tmp").exists());
    let first = wal.tail_path().to_path_buf();
    assert_eq!(std::fs::metadata(&first).unwrap().len(), SEGMENT);
    assert!(std::fs::read(&first).unwrap().iter().all(|&b| b == 0));
    // Syncs within the preallocated space leave the size alone.
    let mut next = 1;
    while wal.tail_offset() + 200 < SEGMENT {
        wal.append(next, &[entry(1, next)]).unwrap();
        wal.sync().unwrap();
        next += 1;
        assert_eq!(std::fs::metadata(&first).unwrap().len(), SEGMENT);
    }
    // A batch that does not fit extends the file; the next segment is then preallocated.
    let batch: Vec<_> = (next..next + 20).map(|i| entry(1, i)).collect();
    wal.append(next, &batch).unwrap();
    wal.sync().unwrap();
    let extended = std::fs::metadata(&first).unwrap().len();
    assert!(extended > SEGMENT, "{extended}");
    assert_ne!(wal.tail_path(), first.as_path());
    assert_eq!(std::fs::metadata(wal.tail_path()).unwrap().len(), SEGMENT);
    next += 20;
    wal.append(next, &[entry(1, next)]).unwrap();
    wal.sync().unwrap();
    drop(wal);
    let names: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert!(names.iter().all(|n| n.ends_with(".wal")), "{names:?}");
    let (_, recovered) = Wal::<KvCommand>::open_with_segment_size(dir, SEGMENT).unwrap();
    assert_eq!(recovered.entries, expected(next));
    assert_eq!(recovered.summary.segments, 2);
    assert_eq!(recovered.summary.torn_bytes, 0);
    // The first segment (records to its end now) is not the last: damage there is refused
    // even in what was its zero tail.
    let scan = segment::scan::<KvCommand>(&first, false).unwrap();
    assert_eq!((scan.valid_len, scan.unused_bytes), (extended, 0));
}

#[test]
fn a_replaced_uncommitted_suffix_stays_replaced_after_restart() {
    let scratch = TempDir::new("truncate");
    let (mut wal, _) = Wal::<KvCommand>::open_with_segment_size(scratch.path(), SEGMENT).unwrap();
    wal.append(1, &[entry(1, 1), entry(1, 2), entry(1, 3)])
        .unwrap();
    wal.sync().unwrap();
    // A new leader's entries replace 2..=3 (Figure 2, AppendEntries step 3).
    wal.append(2, &[entry(2, 20)]).unwrap();
    wal.sync().unwrap();
    drop(wal);
    let (mut wal, recovered) = Wal::<KvCommand>::open(scratch.path()).unwrap();
    assert_eq!(recovered.entries, vec![entry(1, 1), entry(2, 20)]);
    assert_eq!(recovered.summary.truncations, 1);
    // A pure truncation (empty suffix) is durable too.
    wal.append(2, &[]).unwrap();
    wal.sync().unwrap();
    drop(wal);
    assert_eq!(recover(scratch.path()).unwrap(), vec![entry(1, 1)]);
}

#[test]
fn segments_roll_over_and_replay_in_order() {
    let scratch = TempDir::new("segments");
    let (mut wal, _) = Wal::<KvCommand>::open_with_segment_size(scratch.path(), 200).unwrap();
    for i in 1..=40 {
        wal.append(i, &[entry(1, i)]).unwrap();
        if i % 3 == 0 {
            wal.sync().unwrap();
        }
    }
    wal.append(38, &[entry(3, 380)]).unwrap();
    wal.sync().unwrap();
    drop(wal);
    let segments = refraft_server::wal::segment::list(scratch.path()).unwrap();
    assert!(segments.len() >= 5, "{} segments", segments.len());
    let (_, recovered) = Wal::<KvCommand>::open_with_segment_size(scratch.path(), 200).unwrap();
    let mut want = expected(37);
    want.push(entry(3, 380));
    assert_eq!(recovered.entries, want);
    assert_eq!(recovered.summary.segments, segments.len());
}

#[test]
fn a_torn_tail_in_an_earlier_segment_is_corruption() {
    let scratch = TempDir::new("torn-early");
    let (mut wal, _) = Wal::<KvCommand>::open_with_segment_size(scratch.path(), 100).unwrap();
    for i in 1..=10 {
        wal.append(i, &[entry(1, i)]).unwrap();
        wal.sync().unwrap();
    }
    drop(wal);
    let segments = refraft_server::wal::segment::list(scratch.path()).unwrap();
    let first = &segments[0].1;
    let len = std::fs::metadata(first).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(first)
        .unwrap()
        .set_len(len - 3)
        .unwrap();
    assert!(matches!(
        recover(scratch.path()),
        Err(StorageError::Corrupt { file, .. }) if file == *first
    ));
}

#[test]
fn disk_full_is_an_error_not_a_panic() {
    // /dev/full answers every write with ENOSPC.
    let mut segment = SegmentWriter::reopen("/dev/full".into(), 0, 0).unwrap();
    let written = segment.write(&[0; 4096]).and_then(|()| segment.sync());
    assert!(
        matches!(written, Err(StorageError::DiskFull { ref path, .. }) if path == Path::new("/dev/full")),
        "{written:?}"
    );
    // The hard state goes through a temporary file: make that file /dev/full.
    let scratch = TempDir::new("full");
    std::os::unix::fs::symlink("/dev/full", scratch.path().join("hard_state.tmp")).unwrap();
    let stored = hard_state::store(scratch.path(), &HardState::default());
    assert!(
        matches!(stored, Err(StorageError::DiskFull { .. })),
        "{stored:?}"
    );
    assert_eq!(
        stored.unwrap_err().to_string(),
        format!(
            "disk full: write {}",
            scratch.path().join("hard_state.tmp").display()
        )
    );
}

#[test]
fn permission_denied_is_an_error_not_a_panic() {
    // sysfs refuses to create files and directories even for root.
    let wal = Wal::<KvCommand>::open(Path::new("/sys/kernel/refraft-wal"));
    assert!(
        matches!(wal, Err(StorageError::PermissionDenied { .. })),
        "{:?}",
        wal.map(|_| ())
    );
    let stored = hard_state::store(Path::new("/sys/kernel"), &HardState::default());
    assert!(
        matches!(stored, Err(StorageError::PermissionDenied { .. })),
        "{stored:?}"
    );
}

#[test]
fn a_damaged_hard_state_file_is_refused() {
    let scratch = TempDir::new("hard-state");
    let hs = HardState {
        current_term: 7,
        voted_for: Some(refraft::NodeId(3)),
    };
    hard_state::store(scratch.path(), &hs).unwrap();
    assert_eq!(hard_state::load(scratch.path()).unwrap(), hs);
    let path = scratch.path().join(hard_state::FILE);
    let mut bytes = std::fs::read(&path).unwrap();
    *bytes.last_mut().unwrap() ^= 1;
    std::fs::write(&path, &bytes).unwrap();
    assert!(matches!(
        hard_state::load(scratch.path()),
        Err(StorageError::Corrupt { file, .. }) if file == path
    ));
}

/// `n` one-entry records written with one sync (into a segment preallocated to 2 MiB), and the
/// start offset of each (read back from the length fields, up to the zero tail).
fn write_many(dir: &Path, n: u64) -> (PathBuf, Vec<usize>) {
    let (mut wal, _) = Wal::<KvCommand>::open_with_segment_size(dir, 2 << 20).unwrap();
    for i in 1..=n {
        wal.append(i, &[entry(1, i)]).unwrap();
    }
    wal.sync().unwrap();
    let path = wal.tail_path().to_path_buf();
    let bytes = std::fs::read(&path).unwrap();
    let mut starts = Vec::new();
    let mut at = 0;
    while at < bytes.len() && bytes[at..at + 4] != [0; 4] {
        starts.push(at);
        at += 8 + u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
    }
    assert_eq!(starts.len() as u64, n);
    (path, starts)
}

#[test]
fn a_large_wal_decoded_on_several_threads_finds_the_first_bad_record_and_the_torn_tail() {
    // 20 000 records, scanned also in 2 and 4 parallel runs (above 4096 records).
    let n = 20_000;
    let scratch = TempDir::new("parallel");
    let (segment, starts) = write_many(&scratch.path().join("w"), n);
    assert_eq!(recover(&scratch.path().join("w")).unwrap(), expected(n));
    let pristine = std::fs::read(&segment).unwrap();
    for runs in [1, 2, 4] {
        let scan = segment::scan_in_runs::<KvCommand>(&segment, true, runs).unwrap();
        assert_eq!(scan.entries, expected(n), "{runs} runs");
        assert_eq!(scan.records.len() as u64, n);
        assert_eq!(scan.records[7].offset, starts[7] as u64);
    }

    // Corruption in the first, a middle and the last run of records is found at the offset of
    // the damaged record (the one a record-by-record scan meets first), with the earliest of
    // two damaged records reported.
    for bad in [[50usize, 19_000], [7_000, 15_000], [19_990, 19_995]] {
        let mut damaged = pristine.clone();
        for &b in &bad {
            damaged[starts[b] + 10] ^= 0x40;
        }
        std::fs::write(&segment, &damaged).unwrap();
        match recover(&scratch.path().join("w")) {
            Err(StorageError::Corrupt { offset, reason, .. }) => {
                assert_eq!(offset, starts[bad[0]] as u64, "{bad:?}: {reason}");
                assert!(reason.contains("CRC-32C mismatch"), "{reason}");
            }
            other => panic!("{bad:?}: not refused: {other:?}"),
        }
        // The same in parallel runs of records.
        for runs in [2, 4] {
            match segment::scan_in_runs::<KvCommand>(&segment, true, runs) {
                Err(StorageError::Corrupt { offset, .. }) => {
                    assert_eq!(offset, starts[bad[0]] as u64, "{bad:?} in {runs} runs")
                }
                other => panic!("{bad:?} in {runs} runs: not refused: {other:?}"),
            }
        }
    }

    // A torn last record: the 19 999 whole ones are kept and the file is cut back.
    let mut torn = pristine.clone();
    torn.truncate(starts[(n - 1) as usize] + 5);
    std::fs::write(&segment, &torn).unwrap();
    assert_eq!(recover(&scratch.path().join("w")).unwrap(), expected(n - 1));
    assert_eq!(
        std::fs::metadata(&segment).unwrap().len(),
        starts[(n - 1) as usize] as u64
    );
}

/// Waits (up to 30 s) until the WAL's spare segment is prepared in the background.
fn wait_for_spare(wal: &Wal<KvCommand>) {
    let start = std::time::Instant::now();
    while !wal.spare_ready() {
        assert!(start.elapsed().as_secs() < 30, "the spare is not ready");
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
}

/// The names of the files in `dir`, sorted.
fn file_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

#[test]
fn segments_roll_onto_a_spare_prepared_in_the_background_and_a_crash_beside_it_loses_nothing() {
    let scratch = TempDir::new("spare");
    let dir = scratch.path().join("w");
    let (mut wal, _) = Wal::<KvCommand>::open_with_segment_size(&dir, SEGMENT).unwrap();
    let spare = |seq: u64| {
        format!(
            "{}{}",
            segment::segment_name(seq),
            segment::TEMPORARY_SUFFIX
        )
    };
    let names = |last: u64| (1..=last).map(segment::segment_name).collect::<Vec<_>>();
    let mut next = 1;
    for seq in 1..=4 {
        // The next segment lies preallocated under its temporary name, and is no segment.
        wait_for_spare(&wal);
        let zeros = std::fs::read(dir.join(spare(seq + 1))).unwrap();
        assert!(zeros.len() as u64 == SEGMENT && zeros.iter().all(|&b| b == 0));
        assert_eq!(segment::list(&dir).unwrap().len() as u64, seq);
        while wal.tail_path() == dir.join(segment::segment_name(seq)) {
            wal.append(next, &[entry(1, next)]).unwrap();
            wal.sync().unwrap();
            next += 1;
        }
    }
    wait_for_spare(&wal);
    let mut open_names = names(5);
    open_names.push(spare(6));
    assert_eq!(file_names(&dir), open_names);
    // A crash now: the directory as it is, spare included. This copy's spare holds records (a
    // copy of segment 1), which would change the log if they were read as a segment.
    let crashed = scratch.path().join("crashed");
    std::fs::create_dir_all(&crashed).unwrap();
    for name in &open_names {
        std::fs::copy(dir.join(name), crashed.join(name)).unwrap();
    }
    std::fs::copy(dir.join(&open_names[0]), crashed.join(spare(6))).unwrap();
    drop(wal);
    // Dropping the WAL stops its spare and removes the file.
    assert_eq!(file_names(&dir), names(5));
    let (wal, recovered) = Wal::<KvCommand>::open_with_segment_size(&crashed, SEGMENT).unwrap();
    assert_eq!(recovered.entries, expected(next - 1));
    assert_eq!(
        (recovered.summary.segments, recovered.summary.torn_bytes),
        (5, 0)
    );
    drop(wal);
    assert_eq!(file_names(&crashed), names(5));
    assert_eq!(recover(&crashed).unwrap(), expected(next - 1));
}

#[test]
fn a_spare_that_could_not_be_prepared_fails_the_roll_that_needs_it_not_a_panic() {
    let scratch = TempDir::new("spare-fault");
    let dir = scratch.path();
    let spare = |seq: u64| segment::temporary_path(&dir.join(segment::segment_name(seq)));
    // A leftover temporary of segment 2 through which every write fails (ENOSPC): open
    // removes it before the spare of segment 2 is made there.
    std::os::unix::fs::symlink("/dev/full", spare(2)).unwrap();
    let (mut wal, _) = Wal::<KvCommand>::open_with_segment_size(dir, SEGMENT).unwrap();
    // The spare of segment 3 will be made through this one: its zeros hit a full disk.
    std::os::unix::fs::symlink("/dev/full", spare(3)).unwrap();
    let mut next = 1;
    let mut sync = |wal: &mut Wal<KvCommand>| {
        wal.append(next, &[entry(1, next)]).unwrap();
        next += 1;
        wal.sync()
    };
    let second = dir.join(segment::segment_name(2));
    while wal.tail_path() != second {
        sync(&mut wal).unwrap();
    }
    wait_for_spare(&wal);
    // The sync that fills segment 2 reports the spare's error; the log stays in segment 2.
    let failed = loop {
        if let Err(e) = sync(&mut wal) {
            break e;
        }
        assert_eq!(wal.tail_path(), second, "rolled onto a spare that failed");
        assert!(
            wal.tail_offset() < SEGMENT,
            "filled segment 2 and did not roll"
        );
    };
    assert!(wal.tail_offset() >= SEGMENT);
    assert!(
        matches!(failed, StorageError::DiskFull { ref path, .. } if *path == spare(3)),
        "{failed:?}"
    );
    assert_eq!(wal.tail_path(), second);
    // With room on the disk again, the next sync makes segment 3 (on its own thread).
    std::fs::remove_file(spare(3)).unwrap();
    sync(&mut wal).unwrap();
    assert_eq!(wal.tail_path(), dir.join(segment::segment_name(3)));
    drop(wal);
    // Every record is there, the one of the failed sync too (it was synced before the roll).
    let (_, recovered) = Wal::<KvCommand>::open_with_segment_size(dir, SEGMENT).unwrap();
    assert_eq!(recovered.entries, expected(next - 1));
    assert_eq!(recovered.summary.segments, 3);
}

#[test]
fn dropping_the_wal_stops_its_spare_while_it_is_written_and_removes_it() {
    let scratch = TempDir::new("spare-drop");
    // A large segment: its spare is still being written when the WAL is dropped.
    let (wal, _) = Wal::<KvCommand>::open_with_segment_size(scratch.path(), 64 << 20).unwrap();
    drop(wal);
    assert_eq!(file_names(scratch.path()), [segment::segment_name(1)]);
    // No thread goes on writing it after the drop.
    std::thread::sleep(std::time::Duration::from_millis(100));
    assert_eq!(file_names(scratch.path()), [segment::segment_name(1)]);
}
