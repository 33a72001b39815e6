//! Validating a trace with several threads. The trace is read in chunks; each chunk (a
//! [`Batch`]) is cut into pieces of whole lines, which any thread may claim and parse. This
//! thread checks the steps in line order with the one `Validator`, and whenever the next
//! piece is not parsed yet it claims and parses one itself rather than wait; it reads the next
//! chunk while the other threads parse this one. Buffers, pieces and their parsed steps are
//! reused from chunk to chunk (a step is parsed into the allocations of the step that held
//! its place before), so that threads do not free each other's memory line by line.

use crate::trace_file::{blank, finish, header_of, read_step_into, serial, Chunks, ReadError};
use refraft::trace::{Report, Step, StepReader, TraceError, Validator};
use std::io::Read;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{sync_channel, SyncSender};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

/// How much of the trace one batch holds. Small enough that a batch's text and parsed steps
/// stay in the cores' caches between parsing and checking: with 4 MiB batches (the size the
/// one-thread path reads at once) two threads spent twice the CPU time of one, and gained
/// nothing; with 256 KiB, 0.2 s of CPU time in all and 0.12 s of wall-clock time against
/// 0.17 s and 0.18 s on one thread (252,421 lines).
const BATCH: usize = 256 << 10;

/// About how many bytes of lines a piece holds: small enough that the threads share a batch's
/// last pieces evenly, large enough that claiming one costs nothing next to parsing it.
const PIECE: usize = 16 << 10;

/// How long the checking thread waits for a piece another thread is parsing before it parses
/// the piece itself: several times what a piece takes (about 20 µs).
const STALL: Duration = Duration::from_micros(200);

/// Batches kept for reuse, at most.
const KEPT: usize = 4;

/// [`validate`](crate::trace_file::validate) with `threads` threads in all (1 or less: this
/// one alone). This thread checks every step in line order and parses too whenever the next
/// lines are not parsed yet; the others only parse. The report and every error are those of
/// `validate`: steps are checked in line order, and the first bad line ends the validation.
///
/// ```
/// let mut text = String::from("{\"format\":\"raft-trace\",\"version\":1,\"nodes\":[1]}\n");
/// for seq in 1..=1000 {
///     let kind = if seq == 1 { "init" } else { "timeout" };
///     text.push_str(&format!("{{\"seq\":{seq},\"node\":1,\"kind\":\"{kind}\",\"state\":{{\"term\":0,\"vote\":null,\"role\":\"follower\",\"log\":[],\"commit\":0,\"applied\":0}}}}\n"));
/// }
/// let report = refraft_model::trace::validate_parallel(text.as_bytes(), 3).unwrap();
/// assert!(report.passed() && report.steps == 1000);
/// ```
pub fn validate_parallel(reader: impl Read, threads: usize) -> Result<Report, ReadError> {
    parallel(reader, threads, BATCH, STALL)
}

/// [`validate_parallel`] in chunks of `chunk` bytes, waiting at most `stall` for a piece.
fn parallel(
    reader: impl Read,
    threads: usize,
    chunk: usize,
    stall: Duration,
) -> Result<Report, ReadError> {
    if threads <= 1 {
        return serial(reader, chunk);
    }
    std::thread::scope(|scope| {
        let mut helpers = Vec::with_capacity(threads - 1);
        for _ in 1..threads {
            let (to_helper, batches) = sync_channel::<Arc<Batch>>(2 * KEPT);
            scope.spawn(move || {
                let mut parser = StepReader::new();
                for batch in batches {
                    while let Some(piece) = batch.claim() {
                        batch.parse(piece, &mut parser);
                    }
                }
            });
            helpers.push(to_helper);
        }
        // The helpers stop when their channels close, as `helpers` is dropped.
        Pipeline {
            helpers: &helpers,
            validator: None,
            number: 0,
            parser: StepReader::new(),
            own: Parsed::default(),
            stall,
            kept: Vec::new(),
        }
        .run(reader, chunk)
    })
}

/// The steps parsed from one piece, in the slots of the steps parsed there before.
#[derive(Default)]
struct Parsed {
    /// The first `count` are this piece's steps.
    steps: Vec<Step>,
    count: usize,
    /// Each step's line within the piece (from 1).
    at: Vec<usize>,
    /// The piece's lines, blank ones included.
    lines: usize,
    /// The first line that is not a step (within the piece), and why; parsing stopped there.
    bad: Option<(usize, String)>,
}

impl Parsed {
    fn parse(&mut self, text: &[u8], parser: &mut StepReader) {
        self.count = 0;
        self.at.clear();
        self.bad = None;
        let (mut n, mut start) = (0, 0);
        for end in memchr::memchr_iter(b'\n', text) {
            n += 1;
            let line = &text[start..end];
            start = end + 1;
            if blank(line) {
                continue;
            }
            if self.count == self.steps.len() {
                self.steps.push(Step::default());
            }
            match read_step_into(parser, line, &mut self.steps[self.count]) {
                Ok(()) => {
                    self.at.push(n);
                    self.count += 1;
                }
                Err(message) => {
                    self.bad = Some((n, message));
                    break;
                }
            }
        }
        self.lines = n;
    }
}

/// One chunk of whole lines, cut into pieces for the threads to claim and parse.
#[derive(Default)]
struct Batch {
    text: Vec<u8>,
    /// Where the pieces lie in `text`.
    pieces: Vec<(usize, usize)>,
    /// The next piece to claim (claims past the last piece find nothing).
    claimed: AtomicUsize,
    /// The parsed pieces (at least as many as pieces).
    slots: Vec<Mutex<Parsed>>,
    /// Which pieces are parsed; `ready` is signalled as each one is.
    done: Mutex<Vec<bool>>,
    ready: Condvar,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A thread that panicked while parsing has marked its piece bad (see `parse`).
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Batch {
    /// Cuts `text[from..]` into pieces and readies the slots (the batch is not shared yet).
    fn cut(&mut self, from: usize) {
        self.pieces.clear();
        let len = self.text.len();
        let mut start = from;
        while start < len {
            let target = start + PIECE;
            let end = if target >= len {
                len
            } else {
                memchr::memchr(b'\n', &self.text[target..]).map_or(len, |n| target + n + 1)
            };
            self.pieces.push((start, end));
            start = end;
        }
        while self.slots.len() < self.pieces.len() {
            self.slots.push(Mutex::default());
        }
        let done = self.done.get_mut().unwrap_or_else(PoisonError::into_inner);
        done.clear();
        done.resize(self.pieces.len(), false);
        *self.claimed.get_mut() = 0;
    }

    fn claim(&self) -> Option<usize> {
        let piece = self.claimed.fetch_add(1, Ordering::Relaxed);
        (piece < self.pieces.len()).then_some(piece)
    }

    /// Parses a claimed piece and marks it parsed.
    fn parse(&self, piece: usize, parser: &mut StepReader) {
        let (start, end) = self.pieces[piece];
        let mut slot = lock(&self.slots[piece]);
        let text = &self.text[start..end];
        if catch_unwind(AssertUnwindSafe(|| slot.parse(text, parser))).is_err() {
            *parser = StepReader::new();
            slot.count = 0;
            slot.bad = Some((1, "the parsing thread failed on this piece".to_string()));
        }
        drop(slot);
        lock(&self.done)[piece] = true;
        self.ready.notify_all();
    }

    /// Returns once `piece` is parsed, parsing unclaimed pieces (it or later ones) meanwhile:
    /// `false` if it is in its slot; `true` if it was parsed into `own` instead, because the
    /// thread that claimed it had not finished after `stall` ([`STALL`]: on a busy machine, a
    /// thread descheduled in the middle of a piece would otherwise hold this one up for a
    /// whole time slice).
    fn wait_for(
        &self,
        piece: usize,
        stall: Duration,
        parser: &mut StepReader,
        own: &mut Parsed,
    ) -> bool {
        while !lock(&self.done)[piece] {
            match self.claim() {
                Some(p) => self.parse(p, parser),
                None => {
                    let done = lock(&self.done);
                    let (done, _) = self
                        .ready
                        .wait_timeout_while(done, stall, |done| !done[piece])
                        .unwrap_or_else(PoisonError::into_inner);
                    if done[piece] {
                        return false;
                    }
                    drop(done);
                    let (start, end) = self.pieces[piece];
                    own.parse(&self.text[start..end], parser);
                    return true;
                }
            }
        }
        false
    }
}

/// The checking thread's side: reads batches, hands them out, checks their steps in order.
struct Pipeline<'a> {
    helpers: &'a [SyncSender<Arc<Batch>>],
    validator: Option<Validator>,
    /// Lines before the batch being checked (or being scanned for the header).
    number: usize,
    parser: StepReader,
    /// A piece this thread parsed again rather than wait for it.
    own: Parsed,
    /// How long to wait for a piece another thread is parsing.
    stall: Duration,
    /// Batches checked, for reuse once no helper holds them.
    kept: Vec<Arc<Batch>>,
}

impl Pipeline<'_> {
    fn run(mut self, reader: impl Read, chunk: usize) -> Result<Report, ReadError> {
        let mut chunks = Chunks::new(reader, chunk);
        let mut current = self.fill(&mut chunks)?;
        while let Some(batch) = current {
            // The next chunk is read while the helpers parse this one.
            current = self.fill(&mut chunks)?;
            self.check(&batch)?;
            if self.kept.len() < KEPT {
                self.kept.push(batch);
            }
        }
        finish(self.validator)
    }

    /// The next chunk as a batch, handed to the helpers; `None` at the end of the input.
    fn fill(&mut self, chunks: &mut Chunks<impl Read>) -> Result<Option<Arc<Batch>>, ReadError> {
        let reusable = self.kept.iter().position(|b| Arc::strong_count(b) == 1);
        let mut batch = match reusable {
            Some(i) => self.kept.swap_remove(i),
            None => Arc::new(Batch::default()),
        };
        let Some(b) = Arc::get_mut(&mut batch) else {
            return Err(gone());
        };
        if !chunks.next_into(&mut b.text)? {
            return Ok(None);
        }
        // The header is the first line that is not blank: read here, before any step.
        let mut start = 0;
        while self.validator.is_none() && start < b.text.len() {
            let end = memchr::memchr(b'\n', &b.text[start..]).map_or(b.text.len(), |n| start + n);
            self.number += 1;
            if !blank(&b.text[start..end]) {
                self.validator = Some(header_of(&b.text[start..end])?);
            }
            start = (end + 1).min(b.text.len());
        }
        b.cut(start);
        if !b.pieces.is_empty() {
            for helper in self.helpers {
                helper.send(batch.clone()).map_err(|_| gone())?;
            }
        }
        Ok(Some(batch))
    }

    /// Checks the batch's steps in line order.
    fn check(&mut self, batch: &Batch) -> Result<(), ReadError> {
        for piece in 0..batch.pieces.len() {
            let slot;
            let parsed = if batch.wait_for(piece, self.stall, &mut self.parser, &mut self.own) {
                &self.own
            } else {
                slot = lock(&batch.slots[piece]);
                &*slot
            };
            let Some(v) = self.validator.as_mut() else {
                return Err(gone());
            };
            for (step, at) in parsed.steps[..parsed.count].iter().zip(&parsed.at) {
                v.check(self.number + at, step).map_err(ReadError::Trace)?;
            }
            if let Some((at, message)) = &parsed.bad {
                return Err(ReadError::Trace(TraceError::Malformed {
                    line: self.number + at,
                    message: message.clone(),
                }));
            }
            self.number += parsed.lines;
        }
        Ok(())
    }
}

fn gone() -> ReadError {
    ReadError::Io(std::io::Error::other("a parsing thread stopped"))
}
#[cfg(test)]
mod tests {
    use super::{parallel, STALL};
    use crate::trace_file::ReadError;
    use refraft::sim::{churn, NetworkConfig, SimConfig, Simulation};
    use std::time::Duration;

    /// One byte per `read`, as a slow pipe would give them.
    struct Trickle<'a>(&'a [u8]);

    impl std::io::Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            match (self.0.split_first(), buf.first_mut()) {
                (Some((&b, rest)), Some(slot)) => {
                    *slot = b;
                    self.0 = rest;
                    Ok(1)
                }
                _ => Ok(0),
            }
        }
    }

    fn outcome(r: Result<refraft::trace::Report, ReadError>) -> String {
        match r {
            Ok(report) => format!("{} steps, {:?}", report.steps, report.violations),
            Err(e) => format!("error {e}"),
        }
    }

    /// The validation of `text` line by line, each step read afresh (no buffer reused).
    fn fresh(text: &str) -> Result<refraft::trace::Report, ReadError> {
        let mut lines = text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty());
        let Some((_, header)) = lines.next() else {
            return Err(ReadError::Io(std::io::Error::other("empty")));
        };
        let header: refraft::trace::Header = serde_json::from_str(header).unwrap();
        let mut v = refraft::trace::Validator::new(&header).unwrap();
        for (i, line) in lines {
            let step = crate::trace_file::step_of(i + 1, line.as_bytes())?;
            v.check(i + 1, &step).map_err(ReadError::Trace)?;
        }
        Ok(v.finish())
    }

    #[test]
    fn every_chunk_size_and_thread_count_gives_the_same_report_and_errors() {
        let mut sim = Simulation::new(
            SimConfig::new(5, 3)
                .network(NetworkConfig::unreliable())
                .traced(),
        );
        let _ = churn(&mut sim, 3, 40, true);
        let (header, steps) = sim.take_trace();
        let mut text = format!("\n{}\n", serde_json::to_string(&header).unwrap());
        for (i, step) in steps.iter().enumerate() {
            text.push_str(&serde_json::to_string(step).unwrap());
            text.push_str(if i % 7 == 0 { "\n\n" } else { "\n" });
        }
        let good = text.trim_end().to_string(); // no newline after the last line
        let mut bad = text.clone();
        let at = bad.len() * 2 / 3;
        let at = at + bad[at..].find('\n').unwrap() + 1;
        bad.insert_str(at, "{\"seq\":\n");
        let mut broken_rule = text.clone();
        let at = broken_rule.find("\"commit\":0").unwrap();
        broken_rule.replace_range(at..at + 10, "\"commit\":9");
        assert!(steps.len() > 300, "{} steps", steps.len());
        for input in [&good, &bad, &broken_rule] {
            let want = outcome(parallel(input.as_bytes(), 1, 1 << 20, STALL));
            assert_eq!(
                want,
                outcome(fresh(input)),
                "reused steps against fresh ones"
            );
            for (threads, chunk) in [(1, 100), (2, 1), (2, 700), (3, 4096), (4, 1 << 20)] {
                // With no patience, this thread parses again each piece it finds claimed.
                for stall in [STALL, Duration::ZERO] {
                    let got = outcome(parallel(input.as_bytes(), threads, chunk, stall));
                    assert_eq!(got, want, "{threads} threads, chunks of {chunk}, {stall:?}");
                }
            }
            let got = outcome(parallel(Trickle(input.as_bytes()), 2, 512, STALL));
            assert_eq!(got, want, "one byte per read");
        }
        assert!(outcome(parallel(good.as_bytes(), 2, 512, STALL))
            .starts_with(&format!("{} steps, []", steps.len())));
        assert!(outcome(parallel(bad.as_bytes(), 2, 512, STALL)).starts_with("error line "));
        assert!(outcome(parallel(broken_rule.as_bytes(), 2, 512, STALL)).contains("rule:"));
    }
}
