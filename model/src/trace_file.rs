//! Reading a trace file (NDJSON, `spec/TRACE.md`) and validating it: in large chunks into a
//! reused buffer, line by line without a per-line `String`, each step line through
//! `refraft::trace::StepReader` into one reused `Step`, and the lines it declines (another key
//! order, string escapes, unknown fields, bad JSON) through serde, which reads them or names
//! the error. [`validate`] does it on one thread; [`validate_parallel`](crate::trace_pool::validate_parallel)
//! shares the parsing among threads.

use refraft::trace::{Header, Report, Step, StepReader, TraceError, Validator};
use std::io::Read;

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
    serial(reader, CHUNK)
}

/// [`validate`] in chunks of `chunk` bytes.
pub(crate) fn serial(reader: impl Read, chunk: usize) -> Result<Report, ReadError> {
    let mut validator: Option<Validator> = None;
    let mut parser = StepReader::new();
    let mut step = Step::default();
    lines(reader, chunk, |number, line| match validator.as_mut() {
        None => {
            validator = Some(header_of(line)?);
            Ok(())
        }
        Some(v) => {
            read_step_into(&mut parser, line, &mut step).map_err(|message| {
                ReadError::Trace(TraceError::Malformed {
                    line: number,
                    message,
                })
            })?;
            v.check(number, &step).map_err(ReadError::Trace)
        }
    })?;
    finish(validator)
}

/// Calls `f(n, line)` for each line of `text` (which ends with a newline) that is not blank,
/// `n` counting from 1; returns the number of lines.
pub(crate) fn each_line(
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

/// Reads a trace in chunks of whole lines, each into a buffer the caller hands in (and may
/// reuse): the partial last line of one read is carried to the next chunk.
pub(crate) struct Chunks<R> {
    reader: R,
    size: usize,
    carry: Vec<u8>,
    ended: bool,
}

impl<R: Read> Chunks<R> {
    /// Chunks of about `size` bytes (a longer line makes its chunk longer).
    pub(crate) fn new(reader: R, size: usize) -> Self {
        Chunks {
            reader,
            size: size.max(1),
            carry: Vec::new(),
            ended: false,
        }
    }

    /// Fills `buf` (emptied first) with the next chunk of whole lines, each ending with a
    /// newline (one is added after the input's last line); `false` once the input has ended
    /// (then `buf` is empty). The buffer is filled without zeroing it first.
    pub(crate) fn next_into(&mut self, buf: &mut Vec<u8>) -> Result<bool, ReadError> {
        buf.clear();
        if self.ended {
            return Ok(false);
        }
        buf.extend_from_slice(&self.carry);
        self.carry.clear();
        loop {
            // One line longer than a chunk: read on until it ends.
            let want = self
                .size
                .saturating_sub(buf.len())
                .max(self.size / 2)
                .max(1);
            buf.reserve(want);
            let read = self
                .reader
                .by_ref()
                .take(want as u64)
                .read_to_end(buf)
                .map_err(ReadError::Io)?;
            if read < want {
                self.ended = true;
                if buf.last().is_some_and(|&b| b != b'\n') {
                    buf.push(b'\n');
                }
                return Ok(!buf.is_empty());
            }
            if let Some(last) = memchr::memrchr(b'\n', buf) {
                self.carry.extend_from_slice(&buf[last + 1..]);
                buf.truncate(last + 1);
                return Ok(true);
            }
        }
    }
}

pub(crate) fn finish(validator: Option<Validator>) -> Result<Report, ReadError> {
    match validator {
        Some(v) => Ok(v.finish()),
        None => Err(ReadError::Trace(TraceError::BadHeader(
            "the trace is empty".to_string(),
        ))),
    }
}

pub(crate) fn blank(line: &[u8]) -> bool {
    // A step line starts with `{`: only other lines need the whole look.
    line.first() != Some(&b'{') && line.iter().all(u8::is_ascii_whitespace)
}

/// The validator for the header line.
pub(crate) fn header_of(line: &[u8]) -> Result<Validator, ReadError> {
    let header: Header = serde_json::from_slice(line).map_err(|e| {
        ReadError::Trace(TraceError::BadHeader(format!(
            "{e} (the first line must be {{\"format\":\"raft-trace\",\"version\":1,\"nodes\":[...]}})"
        )))
    })?;
    Validator::new(&header).map_err(ReadError::Trace)
}

/// A step line into `step`: the fast reader, else serde (which reads the line or names the
/// error).
pub(crate) fn read_step_into(
    parser: &mut StepReader,
    line: &[u8],
    step: &mut Step,
) -> Result<(), String> {
    if parser.read_into(line, step).is_ok() {
        return Ok(());
    }
    *step = serde_json::from_slice(line).map_err(|e| e.to_string())?;
    Ok(())
}

/// A step line (as [`validate`] reads it), its error naming line `number`.
pub fn step_of(number: usize, line: &[u8]) -> Result<Step, ReadError> {
    let mut step = Step::default();
    read_step_into(&mut StepReader::new(), line, &mut step).map_err(|message| {
        ReadError::Trace(TraceError::Malformed {
            line: number,
            message,
        })
    })?;
    Ok(step)
}

/// Calls `each(number, line)` for every line that is not blank, numbered from 1, reading
/// `reader` in chunks of `size` bytes (a longer line grows the buffer).
pub fn lines(
    reader: impl Read,
    size: usize,
    mut each: impl FnMut(usize, &[u8]) -> Result<(), ReadError>,
) -> Result<(), ReadError> {
    let mut chunks = Chunks::new(reader, size);
    let mut buf = Vec::new();
    let mut number = 0usize;
    while chunks.next_into(&mut buf)? {
        number += each_line(&buf, |n, line| each(number + n, line))?;
    }
    Ok(())
}
