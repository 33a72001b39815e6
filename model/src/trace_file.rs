//! Reading a trace file (NDJSON, `spec/TRACE.md`) and validating it: in large chunks, line by
//! line without a per-line `String`, each step line through `refraft::trace::parse_step` and
//! the lines it declines (another key order, string escapes, unknown fields, bad JSON) through
//! serde, which reads them or names the error. [`validate`] does it on one thread;
//! [`validate_parallel`] parses pieces of each chunk on worker threads while the one
//! `Validator` checks the steps of the chunk before, in line order.

use refraft::trace::{parse_step, Header, Report, Step, TraceError, Validator};
use std::io::Read;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::Arc;

/// How much of a trace is read at once.
pub const CHUNK: usize = 4 << 20;

/// A trace file that cannot be validated: unreadable, malformed, or structurally wrong.
#[derive(Debug)]
pub enum ReadError {
    /// Reading failed.
    Io(std::io::Error),
    /// The trace's structure is wrong (with its line).
    Trace(TraceError),
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReadError::Io(e) => write!(f, "{e}"),
            ReadError::Trace(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for ReadError {}

/// Reads an NDJSON trace and validates it, on this thread. Blank lines are skipped.
///
/// ```
/// let text = "{\"format\":\"raft-trace\",\"version\":1,\"nodes\":[1]}\n\
///     {\"seq\":1,\"node\":1,\"kind\":\"init\",\"state\":{\"term\":0,\"vote\":null,\"role\":\"follower\",\"log\":[],\"commit\":0,\"applied\":0}}\n";
/// let report = refraft_model::trace::validate(text.as_bytes()).unwrap();
/// assert!(report.passed() && report.steps == 1);
/// let bad = "{\"format\":\"raft-trace\",\"version\":1,\"nodes\":[1]}\n{\"seq\":1,\n";
/// let err = refraft_model::trace::validate(bad.as_bytes()).unwrap_err().to_string();
/// assert!(err.starts_with("line 2: "), "{err}");
/// ```
pub fn validate(reader: impl Read) -> Result<Report, ReadError> {
    parallel(reader, 1, CHUNK)
}

/// [`validate`] with `workers` threads parsing (1 or less: on this thread). The report and
/// every error are those of [`validate`]: steps are checked in line order, and the first bad
/// line ends the validation.
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
pub fn validate_parallel(reader: impl Read, workers: usize) -> Result<Report, ReadError> {
    parallel(reader, workers, CHUNK)
}

/// [`validate_parallel`] in chunks of `chunk` bytes.
fn parallel(reader: impl Read, workers: usize, chunk: usize) -> Result<Report, ReadError> {
    if workers <= 1 {
        let mut validator: Option<Validator> = None;
        lines(reader, chunk, |number, line| match validator.as_mut() {
            None => {
                validator = Some(header_of(line)?);
                Ok(())
            }
            Some(v) => v
                .check(number, &step_of(number, line)?)
                .map_err(ReadError::Trace),
        })?;
        return finish(validator);
    }
    std::thread::scope(|scope| {
        let mut pool = Vec::with_capacity(workers);
        for _ in 0..workers {
            let (to_worker, pieces) = sync_channel::<Piece>(2);
            let (results, from_worker) = sync_channel::<Parsed>(2);
            scope.spawn(move || {
                for piece in pieces {
                    if results.send(parse_piece(&piece)).is_err() {
                        break;
                    }
                }
            });
            pool.push((to_worker, from_worker));
        }
        run_pool(reader, &pool, chunk)
    })
}

/// A run of whole lines of one chunk, for a worker to parse.
struct Piece {
    chunk: Arc<Vec<u8>>,
    start: usize,
    end: usize,
}

/// A parsed piece: each step line's number within the piece (from 1) and its step or the
/// reason it cannot be read; and how many lines the piece held.
struct Parsed {
    steps: Vec<(usize, Result<Step, String>)>,
    lines: usize,
}

fn parse_piece(piece: &Piece) -> Parsed {
    let text = &piece.chunk[piece.start..piece.end];
    let mut steps = Vec::new();
    let lines = each_line(text, |n, line| {
        steps.push((n, read_step(line)));
        Ok(())
    })
    .unwrap_or(0);
    Parsed { steps, lines }
}

/// Calls `f(n, line)` for each line of `text` (which ends with a newline) that is not blank,
/// `n` counting from 1; returns the number of lines.
fn each_line(
    text: &[u8],
    mut f: impl FnMut(usize, &[u8]) -> Result<(), ReadError>,
) -> Result<usize, ReadError> {
    let (mut n, mut start) = (0, 0);
    for end in memchr::memchr_iter(b'\n', text) {
        n += 1;
        let line = &text[start..end];
        if !blank(line) {
            f(n, line)?;
        }
        start = end + 1;
    }
    Ok(n)
}

type Worker = (SyncSender<Piece>, Receiver<Parsed>);

/// Reads chunks, hands each to the workers in pieces, and checks the chunk before meanwhile.
fn run_pool(mut reader: impl Read, pool: &[Worker], size: usize) -> Result<Report, ReadError> {
    let mut validator: Option<Validator> = None;
    let mut number = 0usize;
    let mut carry: Vec<u8> = Vec::new();
    let mut in_flight = false;
    loop {
        let (chunk, eof) = next_chunk(&mut reader, &mut carry, size)?;
        let mut start = 0;
        // The header is the first line that is not blank: read here, before any step.
        while validator.is_none() && start < chunk.len() {
            let end = memchr::memchr(b'\n', &chunk[start..]).map_or(chunk.len(), |n| start + n);
            number += 1;
            if !blank(&chunk[start..end]) {
                validator = Some(header_of(&chunk[start..end])?);
            }
            start = (end + 1).min(chunk.len());
        }
        let chunk = Arc::new(chunk);
        let sent = start < chunk.len();
        let pieces = if sent {
            split(&chunk, start, pool.len())
        } else {
            Vec::new()
        };
        for (worker, (start, end)) in pool.iter().zip(pieces) {
            let piece = Piece {
                chunk: chunk.clone(),
                start,
                end,
            };
            worker.0.send(piece).map_err(|_| gone())?;
        }
        if in_flight {
            check_chunk(pool, validator.as_mut(), &mut number)?;
        }
        in_flight = sent;
        if eof {
            if in_flight {
                check_chunk(pool, validator.as_mut(), &mut number)?;
            }
            return finish(validator);
        }
    }
}

/// Checks one chunk's parsed pieces, from every worker in turn.
fn check_chunk(
    pool: &[Worker],
    mut validator: Option<&mut Validator>,
    number: &mut usize,
) -> Result<(), ReadError> {
    for worker in pool {
        let Ok(parsed) = worker.1.recv() else {
            return Err(gone());
        };
        let Some(v) = validator.as_deref_mut() else {
            return Err(gone());
        };
        for (local, step) in parsed.steps {
            let line = *number + local;
            let step =
                step.map_err(|message| ReadError::Trace(TraceError::Malformed { line, message }))?;
            v.check(line, &step).map_err(ReadError::Trace)?;
        }
        *number += parsed.lines;
    }
    Ok(())
}

fn gone() -> ReadError {
    ReadError::Io(std::io::Error::other("a parsing thread stopped"))
}

/// `parts` ranges of whole lines (some perhaps empty) covering `chunk[start..]`: each ends
/// after a newline, the last one at the end of the chunk.
fn split(chunk: &[u8], start: usize, parts: usize) -> Vec<(usize, usize)> {
    let mut out = Vec::with_capacity(parts);
    let mut from = start;
    let len = chunk.len();
    for k in 1..=parts {
        let target = start + (len - start) * k / parts;
        let end = if k == parts {
            len
        } else if target <= from {
            from
        } else {
            memchr::memchr(b'\n', &chunk[target..]).map_or(len, |n| target + n + 1)
        };
        out.push((from, end));
        from = end;
    }
    out
}

/// The next chunk of whole lines (all of the input's end at end of input), and whether the
/// input ended. `carry` holds the partial last line between calls. The buffer is filled
/// without zeroing it first (`read_to_end` of a bounded reader).
fn next_chunk(
    reader: &mut impl Read,
    carry: &mut Vec<u8>,
    size: usize,
) -> Result<(Vec<u8>, bool), ReadError> {
    let mut buf = std::mem::take(carry);
    loop {
        // One line longer than a chunk: read on until it ends.
        let want = size.saturating_sub(buf.len()).max(size / 2).max(1);
        buf.reserve(want);
        let read = reader
            .by_ref()
            .take(want as u64)
            .read_to_end(&mut buf)
            .map_err(ReadError::Io)?;
        if read < want {
            if buf.last().is_some_and(|&b| b != b'\n') {
                buf.push(b'\n');
            }
            return Ok((buf, true));
        }
        if let Some(last) = memchr::memrchr(b'\n', &buf) {
            carry.extend_from_slice(&buf[last + 1..]);
            buf.truncate(last + 1);
            return Ok((buf, false));
        }
    }
}

fn finish(validator: Option<Validator>) -> Result<Report, ReadError> {
    match validator {
        Some(v) => Ok(v.finish()),
        None => Err(ReadError::Trace(TraceError::BadHeader(
            "the trace is empty".to_string(),
        ))),
    }
}

fn blank(line: &[u8]) -> bool {
    // A step line starts with `{`: only other lines need the whole look.
    line.first() != Some(&b'{') && line.iter().all(u8::is_ascii_whitespace)
}

/// The validator for the header line.
fn header_of(line: &[u8]) -> Result<Validator, ReadError> {
    let header: Header = serde_json::from_slice(line).map_err(|e| {
        ReadError::Trace(TraceError::BadHeader(format!(
            "{e} (the first line must be {{\"format\":\"raft-trace\",\"version\":1,\"nodes\":[...]}})"
        )))
    })?;
    Validator::new(&header).map_err(ReadError::Trace)
}

/// A step line: the fast reader, else serde (which reads the line or names the error).
fn read_step(line: &[u8]) -> Result<Step, String> {
    parse_step(line).or_else(|_| serde_json::from_slice(line).map_err(|e| e.to_string()))
}

/// [`read_step`], its error naming line `number`.
pub fn step_of(number: usize, line: &[u8]) -> Result<Step, ReadError> {
    read_step(line).map_err(|message| {
        ReadError::Trace(TraceError::Malformed {
            line: number,
            message,
        })
    })
}

/// Calls `each(number, line)` for every line that is not blank, numbered from 1, reading
/// `reader` in chunks of `size` bytes (a longer line grows the buffer).
pub fn lines(
    mut reader: impl Read,
    size: usize,
    mut each: impl FnMut(usize, &[u8]) -> Result<(), ReadError>,
) -> Result<(), ReadError> {
    let mut carry = Vec::new();
    let mut number = 0usize;
    loop {
        let (chunk, eof) = next_chunk(&mut reader, &mut carry, size)?;
        number += each_line(&chunk, |n, line| each(number + n, line))?;
        if eof {
            return Ok(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{parallel, ReadError};
    use refraft::sim::{churn, NetworkConfig, SimConfig, Simulation};

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
            let want = outcome(parallel(input.as_bytes(), 1, 1 << 20));
            for (workers, chunk) in [(1, 100), (2, 1), (2, 700), (3, 4096), (4, 1 << 20)] {
                let got = outcome(parallel(input.as_bytes(), workers, chunk));
                assert_eq!(got, want, "{workers} workers, chunks of {chunk}");
            }
            let got = outcome(parallel(Trickle(input.as_bytes()), 2, 512));
            assert_eq!(got, want, "one byte per read");
        }
        assert!(outcome(parallel(good.as_bytes(), 2, 512))
            .starts_with(&format!("{} steps, []", steps.len())));
        assert!(outcome(parallel(bad.as_bytes(), 2, 512)).starts_with("error line "));
        assert!(outcome(parallel(broken_rule.as_bytes(), 2, 512)).contains("rule:"));
    }
}
