//! Torn writes, bit flips and corruption of the write-ahead log, and disk errors: recovery
//! keeps exactly the whole records, refuses a corrupt middle record naming file and offset,
//! and storage failures come back as typed errors.

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

/// Writes `n` records of one entry each, each synced ("acknowledged"), and returns the
/// segment path and each record's end offset.
fn write_records(dir: &Path, n: u64) -> (PathBuf, Vec<u64>) {
    let (mut wal, _) = Wal::<KvCommand>::open(dir).unwrap();
    let mut ends = Vec::new();
    for i in 1..=n {
        wal.append(i, &[entry(1, i)]).unwrap();
        wal.sync().unwrap();
        ends.push(std::fs::metadata(wal.tail_path()).unwrap().len());
    }
    (wal.tail_path().to_path_buf(), ends)
}

fn recover(dir: &Path) -> Result<Vec<Entry<KvCommand>>, StorageError> {
    Wal::<KvCommand>::open(dir).map(|(_, r)| r.entries)
}

fn expected(n: u64) -> Vec<Entry<KvCommand>> {
    (1..=n).map(|i| entry(1, i)).collect()
}

#[test]
fn a_torn_last_record_is_cut_at_every_byte_offset_and_the_complete_records_kept() {
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
    // Cut exactly at the end of the last record: nothing torn, all kept.
    assert_eq!(recover(&pristine).unwrap(), expected(5));
}

#[test]
fn a_flipped_bit_in_the_last_record_drops_only_that_record() {
    let scratch = TempDir::new("flip-last");
    let pristine = scratch.path().join("pristine");
    let (segment, ends) = write_records(&pristine, 4);
    let bytes = std::fs::read(&segment).unwrap();
    let (start, end) = (ends[2] as usize, ends[3] as usize);
    let name = segment.file_name().unwrap();
    let mut tried = 0;
    // Sampled offsets: every byte of the header, then every third byte of the payload; one
    // bit per byte, rotating through the bit positions.
    for offset in (start..start + 8).chain((start + 8..end).step_by(3)) {
        let mut damaged = bytes.clone();
        damaged[offset] ^= 1 << (offset % 8);
        let dir = scratch.path().join(format!("flip{offset}"));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(name), &damaged).unwrap();
        let recovered = Wal::<KvCommand>::open(&dir).unwrap().1;
        assert_eq!(recovered.entries, expected(3), "bit flipped at {offset}");
        assert_eq!(recovered.summary.torn_bytes, (end - start) as u64);
        std::fs::remove_dir_all(&dir).unwrap();
        tried += 1;
    }
    assert!(tried >= 10, "sampled {tried} offsets");
}

#[test]
fn a_corrupt_middle_record_refuses_to_start_naming_file_and_offset() {
    let scratch = TempDir::new("flip-middle");
    let (segment, ends) = write_records(scratch.path(), 5);
    let mut bytes = std::fs::read(&segment).unwrap();
    // Damage the third record's payload.
    let offset = ends[1];
    bytes[offset as usize + 12] ^= 0x10;
    std::fs::write(&segment, &bytes).unwrap();
    match recover(scratch.path()) {
        Err(StorageError::Corrupt {
            file,
            offset: at,
            reason,
        }) => {
            assert_eq!(file, segment);
            assert_eq!(at, offset);
            assert!(reason.contains("CRC-32C"), "{reason}");
        }
        other => panic!("expected a corruption error, got {other:?}"),
    }
    let message = recover(scratch.path()).unwrap_err().to_string();
    assert!(
        message.contains(&segment.display().to_string()),
        "{message}"
    );
    assert!(message.contains(&format!("offset {offset}")), "{message}");
    // Refusing leaves the file as it was: nothing is silently dropped.
    assert_eq!(std::fs::read(&segment).unwrap(), bytes);
}

#[test]
fn a_replaced_uncommitted_suffix_stays_replaced_after_restart() {
    let scratch = TempDir::new("truncate");
    let (mut wal, _) = Wal::<KvCommand>::open(scratch.path()).unwrap();
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
    let mut segment = SegmentWriter::reopen("/dev/full".into(), 0).unwrap();
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

/// `n` one-entry records written with one sync, and the start offset of each (read back from
/// the length fields).
fn write_many(dir: &Path, n: u64) -> (PathBuf, Vec<usize>) {
    let (mut wal, _) = Wal::<KvCommand>::open(dir).unwrap();
    for i in 1..=n {
        wal.append(i, &[entry(1, i)]).unwrap();
    }
    wal.sync().unwrap();
    let path = wal.tail_path().to_path_buf();
    let bytes = std::fs::read(&path).unwrap();
    let mut starts = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
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
