//! Reading step after step into one reused [`Step`]: the vectors, strings and maps of the line
//! before are kept and refilled rather than freed and allocated again, which on a long trace
//! is most of what the reader would otherwise spend in the allocator.
//!
//! ```
//! use refraft::trace::{Step, StepReader};
//! let mut reader = StepReader::new();
//! let mut step = Step::default();
//! for seq in 1..=3 {
//!     let line = format!(r#"{{"seq":{seq},"node":2,"kind":"init","state":{{"term":0,"vote":null,"role":"follower","log":[[1,{seq}]],"commit":0,"applied":0}}}}"#);
//!     reader.read_into(line.as_bytes(), &mut step).unwrap();
//!     assert_eq!((step.seq, step.state.log.clone()), (seq, vec![(1, seq)]));
//! }
//! ```

use super::{canonical, Cursor, NotCanonical};
use crate::trace::format::{Msg, Step, StepEffect};
use std::collections::BTreeMap;

/// How many buffers of one kind are kept between lines, at most.
const KEPT: usize = 64;

/// Reads step lines into a reused [`Step`], keeping the allocations of the lines before. What
/// it returns is exactly what [`parse_step`](super::parse_step) returns for the same line; a
/// line it declines ([`NotCanonical`]) leaves `step` in an unspecified (but valid) state.
#[derive(Debug, Default)]
pub struct StepReader {
    spare: Spare,
}

impl StepReader {
    /// A reader with no buffers kept yet.
    pub fn new() -> Self {
        StepReader::default()
    }

    /// Reads `line` (trailing whitespace allowed) into `step`, or declines it.
    pub fn read_into(&mut self, line: &[u8], step: &mut Step) -> Result<(), NotCanonical> {
        if canonical::step_into(line, step, &mut self.spare).is_ok() {
            return Ok(());
        }
        let mut c = Cursor { b: line, i: 0 };
        let read = c.step()?;
        c.ws();
        if c.i != line.len() {
            return c.fail();
        }
        self.spare.harvest(step);
        *step = read;
        Ok(())
    }
}

/// The buffers taken from earlier steps, for the next ones.
#[derive(Debug, Default)]
pub(super) struct Spare {
    numbers: Vec<Vec<u64>>,
    strings: Vec<String>,
    string_lists: Vec<Vec<String>>,
    /// A leader's `next` and `match` maps, kept while the lines read are not a leader's.
    pub(super) next: BTreeMap<u64, u64>,
    pub(super) matched: BTreeMap<u64, u64>,
    /// The pairs of the map being read.
    pub(super) ids: Vec<(u64, u64)>,
}

impl Spare {
    /// Takes the buffers of `step`'s input and effects (which are left empty).
    pub(super) fn harvest(&mut self, step: &mut Step) {
        if let Some(msg) = step.input.msg.take() {
            self.msg(msg);
        }
        if let Some(timer) = step.input.timer.take() {
            self.string(timer);
        }
        for effect in step.effects.drain(..) {
            match effect {
                StepEffect::PersistLog { entries, .. } => keep(&mut self.numbers, entries),
                StepEffect::Send { msg, .. } => self.msg(msg),
                StepEffect::Apply {
                    digest: Some(d), ..
                } => self.string(d),
                _ => {}
            }
        }
    }

    fn msg(&mut self, msg: Msg) {
        if let Msg::AppendEntries {
            entries,
            mut digests,
            ..
        } = msg
        {
            keep(&mut self.numbers, entries);
            for d in digests.drain(..) {
                self.string(d);
            }
            keep(&mut self.string_lists, digests);
        }
    }

    fn string(&mut self, mut s: String) {
        if s.capacity() > 0 && self.strings.len() < KEPT {
            s.clear();
            self.strings.push(s);
        }
    }

    /// An empty vector of numbers.
    pub(super) fn numbers(&mut self) -> Vec<u64> {
        self.numbers.pop().unwrap_or_default()
    }

    /// An empty string.
    pub(super) fn string_buf(&mut self) -> String {
        self.strings.pop().unwrap_or_default()
    }

    /// An empty list of strings.
    pub(super) fn string_list(&mut self) -> Vec<String> {
        self.string_lists.pop().unwrap_or_default()
    }
}

/// Keeps `v` (emptied) for reuse, if it holds an allocation and there is room.
fn keep<T>(pool: &mut Vec<Vec<T>>, mut v: Vec<T>) {
    if v.capacity() > 0 && pool.len() < KEPT {
        v.clear();
        pool.push(v);
    }
}
