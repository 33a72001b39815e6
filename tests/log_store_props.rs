//! Property tests of the log store against a sequential model: a plain `Vec` of every entry
//! ever kept, a snapshot index and two watermarks. Random sequences of writes (valid and
//! invalid) run on both; after every write the answer and then every read at every index
//! must agree. A second property runs the writes while reader threads check what readers may
//! never see (a torn or misplaced entry, a committed entry that changes, a watermark that goes
//! back), and compares the final store with the model.
#![cfg(not(loom))]

use proptest::prelude::*;
use proptest::sample::Index as Pick;
use refraft::log_store::{LogReader, LogStoreError, LogWriter, Watermark};
use refraft::{ClientId, Entry, Index, Payload, Term};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};

/// Every entry carries its index (as serial) and a number unique to the write that made it
/// (as command), so a replaced entry never equals the one it replaced.
type E = Entry<u64>;

fn make(index: Index, term: Term, id: u64) -> E {
    Entry {
        term,
        payload: Payload::Command {
            client: ClientId(0),
            serial: index,
            command: id.into(),
        },
    }
}

fn index_of(entry: &E) -> Index {
    match entry.payload {
        Payload::Command { serial, .. } => serial,
        Payload::Noop => 0,
    }
}

#[derive(Clone, Debug)]
enum Op {
    /// Append at `last_index + 1 + offset` with terms stepping by `steps` from the last term.
    Append {
        offset: i64,
        steps: Vec<i64>,
    },
    AppendOne {
        offset: i64,
        step: i64,
    },
    /// Replace from a picked index in `0..=last_index + 2` (index 0 counts as 1).
    Replace {
        at: Pick,
        steps: Vec<i64>,
    },
    Truncate {
        at: Pick,
    },
    Commit {
        at: Pick,
    },
    Durable {
        at: Pick,
    },
    Compact {
        at: Pick,
    },
}

fn op() -> impl Strategy<Value = Op> {
    let offset = prop_oneof![6 => Just(0i64), 1 => -2i64..=2];
    let step = prop_oneof![8 => 0i64..=1, 1 => Just(-1i64)];
    let steps = prop::collection::vec(step.clone(), 0..4);
    prop_oneof![
        4 => (offset.clone(), steps.clone()).prop_map(|(offset, steps)| Op::Append { offset, steps }),
        3 => (offset, step).prop_map(|(offset, step)| Op::AppendOne { offset, step }),
        1 => (any::<Pick>(), steps).prop_map(|(at, steps)| Op::Replace { at, steps }),
        1 => any::<Pick>().prop_map(|at| Op::Truncate { at }),
        2 => any::<Pick>().prop_map(|at| Op::Commit { at }),
        2 => any::<Pick>().prop_map(|at| Op::Durable { at }),
        1 => any::<Pick>().prop_map(|at| Op::Compact { at }),
    ]
}

/// The sequential model: `log[i - 1]` is the entry at index `i`, compacted or not.
#[derive(Debug, Default)]
struct Model {
    log: Vec<E>,
    snapshot_index: Index,
    commit_index: Index,
    durable_index: Index,
    next_id: u64,
}

type Answer = Result<Index, LogStoreError>;

impl Model {
    fn last_index(&self) -> Index {
        self.log.len() as Index
    }

    fn raw_term(&self, index: Index) -> Term {
        if index == 0 {
            0
        } else {
            self.log[index as usize - 1].term
        }
    }

    fn pick(&self, at: &Pick) -> Index {
        at.index(self.last_index() as usize + 3) as Index
    }

    /// Entries for `index..` whose terms step from `base` by `steps` (never below 0).
    fn entries(&mut self, index: Index, base: Term, steps: &[i64]) -> Vec<E> {
        let mut term = base;
        let mut out = Vec::new();
        for (k, step) in steps.iter().enumerate() {
            term = term.saturating_add_signed(*step);
            self.next_id += 1;
            out.push(make(index + k as Index, term, self.next_id));
        }
        out
    }

    fn check_terms(&self, index: Index, entries: &[E]) -> Result<(), LogStoreError> {
        let mut previous_term = self.raw_term(index - 1);
        for (k, e) in entries.iter().enumerate() {
            if e.term < previous_term {
                return Err(LogStoreError::TermDecrease {
                    index: index + k as Index,
                    term: e.term,
                    previous_term,
                });
            }
            previous_term = e.term;
        }
        Ok(())
    }

    fn append(&mut self, index: Index, entries: Vec<E>) -> Answer {
        let next_index = self.last_index() + 1;
        if index > next_index {
            return Err(LogStoreError::Gap { index, next_index });
        }
        if index < next_index {
            return Err(LogStoreError::Overlap { index, next_index });
        }
        self.check_terms(index, &entries)?;
        self.log.extend(entries);
        Ok(self.last_index())
    }

    fn replace(&mut self, index: Index, entries: Vec<E>) -> Answer {
        if index <= self.commit_index {
            return Err(LogStoreError::TruncateCommitted {
                index,
                commit_index: self.commit_index,
            });
        }
        if index > self.last_index() + 1 {
            return Err(LogStoreError::PastEnd {
                index,
                last_index: self.last_index(),
            });
        }
        self.check_terms(index, &entries)?;
        self.log.truncate(index as usize - 1);
        self.durable_index = self.durable_index.min(index - 1);
        self.log.extend(entries);
        Ok(self.last_index())
    }

    fn advance(&mut self, watermark: Watermark, index: Index) -> Answer {
        let current = match watermark {
            Watermark::Commit => self.commit_index,
            _ => self.durable_index,
        };
        if index < current {
            return Err(LogStoreError::Regress {
                watermark,
                index,
                current,
            });
        }
        if index > self.last_index() {
            return Err(LogStoreError::PastEnd {
                index,
                last_index: self.last_index(),
            });
        }
        match watermark {
            Watermark::Commit => self.commit_index = index,
            _ => self.durable_index = index,
        }
        Ok(index)
    }

    fn compact(&mut self, index: Index) -> Answer {
        if index < self.snapshot_index {
            return Err(LogStoreError::Compacted {
                index,
                snapshot_index: self.snapshot_index,
            });
        }
        if index > self.commit_index {
            return Err(LogStoreError::CompactUncommitted {
                index,
                commit_index: self.commit_index,
            });
        }
        self.snapshot_index = index;
        Ok(index)
    }

    /// Applies `op` to the model and returns (what the store must answer, the store call).
    fn step(&mut self, op: &Op) -> (Answer, Write) {
        let next = self.last_index() + 1;
        let last_term = self.raw_term(self.last_index());
        match op {
            Op::Append { offset, steps } => {
                let index = next.saturating_add_signed(*offset);
                let entries = self.entries(index, last_term, steps);
                (
                    self.append(index, entries.clone()),
                    Write::Append(index, entries),
                )
            }
            Op::AppendOne { offset, step } => {
                let index = next.saturating_add_signed(*offset);
                let entry = self.entries(index, last_term, &[*step]).remove(0);
                (
                    self.append(index, vec![entry.clone()]),
                    Write::AppendOne(index, entry),
                )
            }
            Op::Replace { at, steps } => {
                let index = self.pick(at).max(1);
                let base = self.raw_term((index - 1).min(self.last_index()));
                let entries = self.entries(index, base, steps);
                (
                    self.replace(index, entries.clone()),
                    Write::Replace(index, entries),
                )
            }
            Op::Truncate { at } => {
                let index = self.pick(at);
                let answer = if index == 0 {
                    // Index 0 is at or below any commit index.
                    Err(LogStoreError::TruncateCommitted {
                        index,
                        commit_index: self.commit_index,
                    })
                } else {
                    self.replace(index, Vec::new())
                };
                (answer, Write::Truncate(index))
            }
            Op::Commit { at } => {
                let index = self.pick(at);
                (self.advance(Watermark::Commit, index), Write::Commit(index))
            }
            Op::Durable { at } => {
                let index = self.pick(at);
                (
                    self.advance(Watermark::Durable, index),
                    Write::Durable(index),
                )
            }
            Op::Compact { at } => {
                let index = self.pick(at);
                (self.compact(index), Write::Compact(index))
            }
        }
    }

    // The reads, as the store must answer them.

    fn term_at(&self, index: Index) -> Result<Term, LogStoreError> {
        if index < self.snapshot_index {
            Err(LogStoreError::Compacted {
                index,
                snapshot_index: self.snapshot_index,
            })
        } else if index > self.last_index() {
            Err(LogStoreError::PastEnd {
                index,
                last_index: self.last_index(),
            })
        } else {
            Ok(self.raw_term(index))
        }
    }

    fn range(&self, start: Index, end: Index) -> Result<Vec<E>, LogStoreError> {
        if start > end {
            Err(LogStoreError::InvalidRange { start, end })
        } else if start <= self.snapshot_index {
            Err(LogStoreError::Compacted {
                index: start,
                snapshot_index: self.snapshot_index,
            })
        } else if end > self.last_index() + 1 {
            Err(LogStoreError::PastEnd {
                index: end - 1,
                last_index: self.last_index(),
            })
        } else {
            Ok(self.log[start as usize - 1..end as usize - 1].to_vec())
        }
    }

    fn entry(&self, index: Index) -> Result<E, LogStoreError> {
        if index > self.last_index() && index > self.snapshot_index {
            return Err(LogStoreError::PastEnd {
                index,
                last_index: self.last_index(),
            });
        }
        self.range(index, index + 1).map(|mut v| v.remove(0))
    }

    fn entries_from(&self, start: Index, max: usize) -> Result<Vec<E>, LogStoreError> {
        if start > self.last_index() + 1 {
            return Err(LogStoreError::PastEnd {
                index: start,
                last_index: self.last_index(),
            });
        }
        self.range(
            start,
            (self.last_index() + 1).min(start.saturating_add(max as Index)),
        )
    }

    fn committed_from(&self, start: Index, max: usize) -> Result<Vec<E>, LogStoreError> {
        if start > self.commit_index + 1 {
            return Err(LogStoreError::PastCommit {
                index: start,
                commit_index: self.commit_index,
            });
        }
        self.range(
            start,
            (self.commit_index + 1).min(start.saturating_add(max as Index)),
        )
    }
}

/// A write as the store is asked to perform it.
#[derive(Debug)]
enum Write {
    Append(Index, Vec<E>),
    AppendOne(Index, E),
    Replace(Index, Vec<E>),
    Truncate(Index),
    Commit(Index),
    Durable(Index),
    Compact(Index),
}

fn perform(writer: &mut LogWriter<u64>, write: Write) -> Answer {
    match write {
        Write::Append(index, entries) => writer.append(index, entries),
        Write::AppendOne(index, entry) => writer.append_one(index, entry),
        Write::Replace(index, entries) => writer.replace_from(index, entries),
        Write::Truncate(index) => writer
            .truncate_from(index)
            .map(|()| writer.reader().last_index()),
        Write::Commit(index) => writer.advance_commit(index).map(|()| index),
        Write::Durable(index) => writer.advance_durable(index).map(|()| index),
        Write::Compact(index) => writer.compact_to(index).map(|()| index),
    }
}

/// Every read of the store at every interesting index agrees with the model.
fn check_reads(reader: &LogReader<u64>, model: &Model) -> Result<(), TestCaseError> {
    prop_assert_eq!(reader.last_index(), model.last_index());
    prop_assert_eq!(reader.commit_index(), model.commit_index);
    prop_assert_eq!(reader.durable_index(), model.durable_index);
    prop_assert_eq!(reader.snapshot_index(), model.snapshot_index);
    let top = model.last_index() + 2;
    for index in 0..=top {
        prop_assert_eq!(
            reader.term_at(index),
            model.term_at(index),
            "term_at({})",
            index
        );
        prop_assert_eq!(reader.entry(index), model.entry(index), "entry({})", index);
        for max in [0, 1, 3, usize::MAX] {
            prop_assert_eq!(
                reader.entries_from(index, max),
                model.entries_from(index, max),
                "entries_from({}, {})",
                index,
                max
            );
            prop_assert_eq!(
                reader.committed_from(index, max),
                model.committed_from(index, max),
                "committed_from({}, {})",
                index,
                max
            );
        }
        for end in index.saturating_sub(1)..=top {
            prop_assert_eq!(
                reader.entries(index..end),
                model.range(index, end),
                "entries({}..{})",
                index,
                end
            );
        }
        let past = model.last_index() <= index;
        prop_assert_eq!(reader.poll(Watermark::Last, index).is_none(), past);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn store_matches_sequential_model(ops in prop::collection::vec(op(), 1..60)) {
        let mut model = Model::default();
        let mut writer = LogWriter::new();
        for op in &ops {
            let (expected, write) = model.step(op);
            let described = format!("{write:?}");
            let answer = perform(&mut writer, write);
            prop_assert_eq!(&answer, &expected, "write {}", described);
            check_reads(writer.reader(), &model)?;
        }
    }
}

/// What one reader thread checks while the writer runs.
fn watch(reader: &LogReader<u64>, done: &AtomicBool) -> Result<usize, String> {
    let mut committed: HashMap<Index, E> = HashMap::new();
    let (mut commit_seen, mut snapshot_seen) = (0, 0);
    let mut reads = 0;
    let mut start = 1;
    loop {
        let finished = done.load(Ordering::Acquire);
        let commit_index = reader.commit_index();
        let snapshot_index = reader.snapshot_index();
        if commit_index < commit_seen || snapshot_index < snapshot_seen {
            return Err(format!("watermark went back: commit {commit_seen} -> {commit_index}, snapshot {snapshot_seen} -> {snapshot_index}"));
        }
        (commit_seen, snapshot_seen) = (commit_index, snapshot_index);
        // Read from an index the snapshot has not swallowed (once the writer is done, these
        // reads cannot fail, so every reader reads at least once).
        let last_index = reader.last_index();
        if start <= snapshot_index || start > last_index + 1 {
            start = snapshot_index + 1;
        }
        for (from, read) in [
            (start, reader.committed_from(start, 8)),
            (start, reader.entries_from(start, 8)),
        ] {
            let Ok(read) = read else { continue };
            reads += 1;
            let mut previous_term = 0;
            for (k, e) in read.iter().enumerate() {
                let index = from + k as Index;
                if index_of(e) != index || e.term < previous_term {
                    return Err(format!("entry at {index} torn or misplaced: {e:?}"));
                }
                previous_term = e.term;
                if let Some(seen) = committed.get(&index) {
                    if seen != e {
                        return Err(format!(
                            "committed entry {index} changed: {seen:?} -> {e:?}"
                        ));
                    }
                }
            }
        }
        // Remember what was committed when read (the commit index read before covers it).
        if let Ok(read) = reader.committed_from(start, 8) {
            for (k, e) in read.into_iter().enumerate() {
                committed.insert(start + k as Index, e);
            }
        }
        start += 3;
        if finished {
            return Ok(reads);
        }
        std::thread::yield_now();
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn concurrent_readers_never_see_forbidden_states(
        ops in prop::collection::vec(op(), 20..120)
    ) {
        let mut model = Model::default();
        let mut writer = LogWriter::new();
        let done = AtomicBool::new(false);
        let results = std::thread::scope(|scope| {
            let readers: Vec<_> = (0..2)
                .map(|_| {
                    let reader = writer.reader().clone();
                    let done = &done;
                    scope.spawn(move || watch(&reader, done))
                })
                .collect();
            let mut mismatch = None;
            for op in &ops {
                let (expected, write) = model.step(op);
                let answer = perform(&mut writer, write);
                if answer != expected && mismatch.is_none() {
                    mismatch = Some(format!("{answer:?} != {expected:?}"));
                }
                // Give the readers a chance to run between writes.
                std::thread::yield_now();
            }
            done.store(true, Ordering::Release);
            let results: Vec<_> = readers.into_iter().map(|r| r.join().unwrap()).collect();
            (mismatch, results)
        });
        let (mismatch, results) = results;
        prop_assert_eq!(mismatch, None);
        for result in results {
            // Each reader read at least once before it saw the writer finish.
            prop_assert!(matches!(result, Ok(reads) if reads > 0), "{:?}", result);
        }
        check_reads(writer.reader(), &model)?;
    }
}

/// Reachability: the generated sequences reach every kind of success and every kind of error,
/// so the properties above are not checking an empty corner.
#[test]
fn generated_sequences_reach_every_outcome() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..200 {
        let ops = prop::collection::vec(op(), 1..60)
            .new_tree(&mut runner)
            .unwrap()
            .current();
        let mut model = Model::default();
        for op in &ops {
            let (answer, write) = model.step(op);
            let kind = format!("{write:?}");
            let kind = kind.split('(').next().unwrap().to_string();
            let outcome = match answer {
                Ok(_) => "ok".to_string(),
                Err(e) => format!("{e:?}")
                    .split([' ', '{'])
                    .next()
                    .unwrap()
                    .to_string(),
            };
            seen.insert(format!("{kind}:{outcome}"));
        }
        if model.snapshot_index > 0 && model.durable_index < model.last_index() {
            seen.insert("compacted-with-tail".to_string());
        }
    }
    for needed in [
        "Append:ok",
        "Append:Gap",
        "Append:Overlap",
        "Append:TermDecrease",
        "AppendOne:ok",
        "Replace:ok",
        "Replace:TruncateCommitted",
        "Truncate:ok",
        "Truncate:PastEnd",
        "Commit:ok",
        "Commit:Regress",
        "Commit:PastEnd",
        "Durable:ok",
        "Compact:ok",
        "Compact:Compacted",
        "Compact:CompactUncommitted",
        "compacted-with-tail",
    ] {
        assert!(
            seen.contains(needed),
            "never reached {needed}; saw {seen:?}"
        );
    }
}
