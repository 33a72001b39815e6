//! Loom checks of the log store: for each pair of concurrent operations, one writer thread and
//! one reader thread, every interleaving (up to `LOOM_MAX_PREEMPTIONS` preemptions) is explored.
//!
//! ```sh
//! LOOM_MAX_PREEMPTIONS=3 RUSTFLAGS="--cfg loom" CARGO_TARGET_DIR=target-loom \
//!     cargo test --release --test loom_log_store
//! ```
//!
//! Every entry carries its own index and term in its payload, so a reader can tell a torn or
//! misplaced entry from a good one.
#![cfg(loom)]

use loom::thread;
use refraft::log_store::{LogReader, LogStoreError, LogWriter, Watermark};
use refraft::{ClientId, Entry, Index, Payload, Term};

/// The entry at `index` of `term`: its payload repeats both.
fn entry(index: Index, term: Term) -> Entry<(Index, Term)> {
    Entry {
        term,
        payload: Payload::Command {
            client: ClientId(0),
            serial: index,
            command: std::sync::Arc::new((index, term)),
        },
    }
}

/// Checks that `entries`, read from `start` on, are whole and in place.
fn assert_in_place(start: Index, entries: &[Entry<(Index, Term)>]) {
    for (offset, e) in entries.iter().enumerate() {
        let index = start + offset as Index;
        assert_eq!(
            *e,
            entry(index, e.term),
            "entry at {index} is torn or misplaced"
        );
    }
}

fn terms(entries: &[Entry<(Index, Term)>]) -> Vec<Term> {
    entries.iter().map(|e| e.term).collect()
}

/// A writer holding `terms` at indexes 1.., committed up to `commit_index`.
fn writer_with(terms: &[Term], commit_index: Index) -> LogWriter<(Index, Term)> {
    let mut writer = LogWriter::new();
    let entries = (1..).zip(terms).map(|(i, &t)| entry(i, t)).collect();
    writer.append(1, entries).unwrap();
    writer.advance_commit(commit_index).unwrap();
    writer
}

#[test]
fn append_vs_range_read() {
    loom::model(|| {
        let mut writer = LogWriter::new();
        let reader = writer.reader().clone();
        let t = thread::spawn(move || {
            // Whatever last index the reader observes, that whole prefix is there.
            let last_index = reader.last_index();
            let read = reader.entries(1..last_index + 1).unwrap();
            assert_eq!(read.len() as Index, last_index);
            assert_in_place(1, &read);
            // A batch appears all at once: 0, 1 or 3 entries, never 2.
            let read = reader.entries_from(1, 10).unwrap();
            assert!(
                matches!(read.len(), 0 | 1 | 3),
                "saw {} entries",
                read.len()
            );
            assert_in_place(1, &read);
            assert!(reader.last_index() >= last_index);
        });
        writer.append_one(1, entry(1, 1)).unwrap();
        writer.append(2, vec![entry(2, 1), entry(3, 1)]).unwrap();
        t.join().unwrap();
    });
}

#[test]
fn truncate_vs_read() {
    loom::model(|| {
        let mut writer = writer_with(&[1, 1, 1], 1);
        let reader = writer.reader().clone();
        let t = thread::spawn(move || {
            // The replacement is atomic: the old log or the new one, never the cut in between.
            let read = reader.entries_from(1, 10).unwrap();
            assert_in_place(1, &read);
            assert!(
                matches!(terms(&read)[..], [1, 1, 1] | [1, 2] | [1, 2, 2]),
                "saw terms {:?}",
                terms(&read)
            );
            // A range read past a truncation answers with a typed error, never stale entries.
            match reader.entries(2..4) {
                Ok(read) => {
                    assert_in_place(2, &read);
                    assert!(matches!(terms(&read)[..], [1, 1] | [2, 2]));
                }
                Err(e) => assert_eq!(
                    e,
                    LogStoreError::PastEnd {
                        index: 3,
                        last_index: 2
                    }
                ),
            }
            // The committed entry is never touched.
            assert_eq!(reader.committed_from(1, 10).unwrap(), vec![entry(1, 1)]);
        });
        writer.replace_from(2, vec![entry(2, 2)]).unwrap();
        writer.append_one(3, entry(3, 2)).unwrap();
        t.join().unwrap();
    });
}

#[test]
fn commit_advance_vs_apply_reader() {
    loom::model(|| {
        let mut writer = writer_with(&[1, 1, 1], 0);
        let reader = writer.reader().clone();
        let t = thread::spawn(move || {
            // The applier: wait for the commit index to pass what is applied, apply what is
            // committed. A lost wake-up would deadlock, which loom reports.
            let mut applied = 0;
            let mut seen_commit = 0;
            while applied < 2 {
                let commit_index = reader.wait_for(Watermark::Commit, applied).unwrap();
                assert!(commit_index >= seen_commit, "commit index went back");
                seen_commit = commit_index;
                let read = reader.committed_from(applied + 1, 10).unwrap();
                assert!(applied + read.len() as Index >= commit_index);
                assert_in_place(applied + 1, &read);
                applied += read.len() as Index;
            }
            assert_eq!(applied, 2);
        });
        writer.advance_commit(1).unwrap();
        writer.advance_commit(2).unwrap();
        // The suffix past the commit index may be replaced; the applied prefix may not.
        assert_eq!(
            writer.truncate_from(2),
            Err(LogStoreError::TruncateCommitted {
                index: 2,
                commit_index: 2
            })
        );
        writer.truncate_from(3).unwrap();
        t.join().unwrap();
    });
}

#[test]
fn committed_entries_survive_truncation() {
    loom::model(|| {
        let mut writer = writer_with(&[1, 1, 1], 0);
        let reader = writer.reader().clone();
        let t = thread::spawn(move || {
            // Whatever the reader saw as committed stays in the log, unchanged.
            let commit_index = reader.commit_index();
            let committed = reader.committed_from(1, 10).unwrap();
            assert!(committed.len() as Index >= commit_index);
            assert_in_place(1, &committed);
            let again = reader.entries(1..committed.len() as Index + 1).unwrap();
            assert_eq!(again, committed);
        });
        writer.advance_commit(1).unwrap();
        writer.replace_from(2, vec![entry(2, 2)]).unwrap();
        t.join().unwrap();
    });
}

#[test]
fn compaction_vs_read() {
    loom::model(|| {
        let mut writer = writer_with(&[1, 1, 2], 2);
        let reader = writer.reader().clone();
        let t = thread::spawn(move || {
            let snapshot_before = reader.snapshot_index();
            match reader.entry(1) {
                Ok(e) => assert_eq!(e, entry(1, 1)),
                Err(e) => assert_eq!(
                    e,
                    LogStoreError::Compacted {
                        index: 1,
                        snapshot_index: 2
                    }
                ),
            }
            // The snapshot keeps the term of its last included entry (§7).
            assert_eq!(reader.term_at(2), Ok(1));
            assert_eq!(reader.entries(3..4), Ok(vec![entry(3, 2)]));
            match reader.committed_from(1, 10) {
                Ok(read) => assert_eq!(read, vec![entry(1, 1), entry(2, 1)]),
                Err(e) => assert_eq!(
                    e,
                    LogStoreError::Compacted {
                        index: 1,
                        snapshot_index: 2
                    }
                ),
            }
            assert!(reader.snapshot_index() >= snapshot_before);
        });
        writer.compact_to(2).unwrap();
        t.join().unwrap();
    });
}

#[test]
fn durable_advance_vs_reader() {
    loom::model(|| {
        let mut writer = writer_with(&[1, 1], 0);
        let reader = writer.reader().clone();
        let t = thread::spawn(move || {
            let first = reader.wait_for(Watermark::Durable, 0).unwrap();
            let second = reader.durable_index();
            assert!(second >= first, "durable index went back");
            assert!(second <= reader.last_index());
        });
        writer.advance_durable(1).unwrap();
        writer.advance_durable(2).unwrap();
        t.join().unwrap();
    });
}

#[test]
fn waiter_sees_writer_drop() {
    loom::model(|| {
        let mut writer = LogWriter::<(Index, Term)>::new();
        let reader: LogReader<_> = writer.reader().clone();
        let t = thread::spawn(move || {
            // Index 2 never comes: the waiter must learn that the writer is gone.
            assert_eq!(
                reader.wait_for(Watermark::Last, 1),
                Err(LogStoreError::Closed)
            );
        });
        writer.append_one(1, entry(1, 1)).unwrap();
        drop(writer);
        t.join().unwrap();
    });
}
