//! The exact form serde writes a step in: keys in declaration order, optional fields left out
//! when empty, no whitespace. Each key is then one comparison of known bytes rather than a
//! string read and matched, which halves the reader's cost on the lines writers produce.
//! Anything else (another order, spaces, an optional field written out as its default) is
//! declined here and read by the general fast reader of the parent module, or by serde.
//!
//! The step is read into the caller's [`Step`], refilling the vectors and maps it holds from
//! the line before (and those kept in a [`Spare`]) rather than allocating new ones.

use super::fields::MsgKind;
use super::reuse::Spare;
use super::{Cursor, R};
use crate::trace::format::{
    Kind, MessageId, Msg, StateView, Step, StepEffect, StepInput, TraceRole,
};
use std::collections::BTreeMap;

/// Reads one step line in the exact canonical form (trailing whitespace allowed) into `step`.
/// On an error, `step` holds part of the line.
pub(super) fn step_into(line: &[u8], step: &mut Step, spare: &mut Spare) -> R<()> {
    spare.harvest(step);
    let mut c = Cursor { b: line, i: 0 };
    c.lit(b"{\"seq\":")?;
    step.seq = c.u64()?;
    c.lit(b",\"node\":")?;
    step.node = c.u64()?;
    c.lit(b",\"kind\":")?;
    step.kind = c.exact_kind()?;
    c.lit(b",\"input\":{")?;
    c.exact_input(&mut step.input, spare)?;
    c.lit(b",\"effects\":[")?;
    c.exact_effects(&mut step.effects, spare)?;
    c.lit(b",\"state\":{\"term\":")?;
    c.exact_state(&mut step.state, spare)?;
    c.lit(b"}")?;
    c.ws();
    if c.i == line.len() {
        Ok(())
    } else {
        c.fail()
    }
}

impl<'a> Cursor<'a> {
    /// Exactly these bytes next.
    #[inline(always)]
    fn lit<const N: usize>(&mut self, s: &[u8; N]) -> R<()> {
        if self.opt_lit(s) {
            Ok(())
        } else {
            self.fail()
        }
    }

    /// These bytes next, if they are.
    #[inline(always)]
    fn opt_lit<const N: usize>(&mut self, s: &[u8; N]) -> bool {
        // A comparison of two arrays of N bytes, which the compiler makes a few wide loads
        // and compares (no memcmp call).
        let here = self.b.get(self.i..self.i + N);
        if here.and_then(|h| <&[u8; N]>::try_from(h).ok()) == Some(s) {
            self.i += N;
            true
        } else {
            false
        }
    }

    /// The key `k` (`"name":`), with a comma before it unless it is the object's first.
    #[inline]
    fn opt_key<const N: usize>(&mut self, first: &mut bool, k: &[u8; N]) -> bool {
        let at = self.i + usize::from(!*first);
        if (*first || self.b.get(self.i) == Some(&b',')) && self.b.get(at..at + N) == Some(&k[..]) {
            self.i = at + N;
            *first = false;
            true
        } else {
            false
        }
    }

    /// A number right here (no whitespace before it): up to seven digits at once from the
    /// eight bytes at the cursor (when the line has them), else by [`Cursor::digits_slow`].
    #[inline(always)]
    fn digits(&mut self) -> R<u64> {
        let start = self.i;
        let word = self
            .b
            .get(start..start + 8)
            .and_then(|w| <&[u8; 8]>::try_from(w).ok());
        if let Some(&word) = word {
            let word = u64::from_le_bytes(word);
            let n = leading_digits(word);
            // The byte after the digits is in the word too.
            let (first, after) = (word as u8, (word >> (8 * (n & 7))) as u8);
            if (1..8).contains(&n)
                && !(n > 1 && first == b'0')
                && !matches!(after, b'.' | b'e' | b'E')
            {
                self.i = start + n;
                return Ok(eight_digits(word, n));
            }
        }
        self.digits_slow()
    }

    /// [`Cursor::digits`] near the end of the line, for eight digits or more, and to decline:
    /// up to 19 digits in one loop, longer ones by the general reader (which checks for
    /// overflow).
    #[cold]
    #[inline(never)]
    fn digits_slow(&mut self) -> R<u64> {
        let start = self.i;
        let mut v: u64 = 0;
        let mut i = start;
        while let Some(&c) = self.b.get(i) {
            let d = c.wrapping_sub(b'0');
            if d > 9 {
                break;
            }
            v = v.wrapping_mul(10).wrapping_add(u64::from(d));
            i += 1;
        }
        let n = i - start;
        if n >= 19 {
            return self.u64();
        }
        self.number_end(start, n, v)
    }

    /// The `n` digits at `start` were read as `v`: a number unless there are none, a leading
    /// zero, or a fraction or exponent after them (which serde reads as a float).
    #[inline]
    fn number_end(&mut self, start: usize, n: usize, v: u64) -> R<u64> {
        let i = start + n;
        if n == 0
            || n > 1 && self.b[start] == b'0'
            || matches!(self.b.get(i), Some(b'.' | b'e' | b'E'))
        {
            return self.fail();
        }
        self.i = i;
        Ok(v)
    }

    fn null_or_u64(&mut self) -> R<Option<u64>> {
        if self.opt_lit(b"null") {
            Ok(None)
        } else {
            self.digits().map(Some)
        }
    }

    /// A step's kind, the common ones compared as known bytes (others by the general reader).
    #[inline]
    fn exact_kind(&mut self) -> R<Kind> {
        Ok(if self.opt_lit(b"\"receive\"") {
            Kind::Receive
        } else if self.opt_lit(b"\"timeout\"") {
            Kind::Timeout
        } else if self.opt_lit(b"\"client\"") {
            Kind::Client
        } else {
            return self.kind();
        })
    }

    /// A role, compared as known bytes (others by the general reader).
    #[inline]
    fn exact_role(&mut self) -> R<TraceRole> {
        Ok(if self.opt_lit(b"\"follower\"") {
            TraceRole::Follower
        } else if self.opt_lit(b"\"leader\"") {
            TraceRole::Leader
        } else {
            return self.role();
        })
    }

    /// A message's type and its closing quote (the opening one already read), the common
    /// ones first.
    #[inline]
    fn msg_kind(&mut self) -> R<MsgKind> {
        Ok(if self.opt_lit(b"AppendEntriesResponse\"") {
            MsgKind::AppendEntriesResponse
        } else if self.opt_lit(b"AppendEntries\"") {
            MsgKind::AppendEntries
        } else if self.opt_lit(b"HeartbeatResponse\"") {
            MsgKind::HeartbeatResponse
        } else if self.opt_lit(b"Heartbeat\"") {
            MsgKind::Heartbeat
        } else if self.opt_lit(b"RequestVoteResponse\"") {
            MsgKind::RequestVoteResponse
        } else if self.opt_lit(b"RequestVote\"") {
            MsgKind::RequestVote
        } else if self.opt_lit(b"ReadIndexResponse\"") {
            MsgKind::ReadIndexResponse
        } else if self.opt_lit(b"ReadIndex\"") {
            MsgKind::ReadIndex
        } else if self.opt_lit(b"TimeoutNow\"") {
            MsgKind::TimeoutNow
        } else {
            return self.fail();
        })
    }

    /// An effect's name and its closing quote (the opening one already read).
    #[inline]
    fn effect_kind(&mut self) -> R<EffectKind> {
        Ok(if self.opt_lit(b"send\"") {
            EffectKind::Send
        } else if self.opt_lit(b"persist_hard_state\"") {
            EffectKind::PersistHardState
        } else if self.opt_lit(b"persist_log\"") {
            EffectKind::PersistLog
        } else if self.opt_lit(b"apply\"") {
            EffectKind::Apply
        } else if self.opt_lit(b"reply\"") {
            EffectKind::Reply
        } else {
            return self.fail();
        })
    }

    /// `{"1":27,"2":27}`: ids as decimal strings, in increasing order (as a `BTreeMap` writes
    /// them), into `map`. While the line's ids are those of `map` in order (a leader's lines
    /// name the same peers line after line), only the values are overwritten and the map
    /// keeps its node; otherwise it is rebuilt from `scratch`.
    fn exact_id_map_into(
        &mut self,
        map: &mut BTreeMap<u64, u64>,
        scratch: &mut Vec<(u64, u64)>,
    ) -> R<()> {
        self.lit(b"{")?;
        if self.opt_lit(b"}") {
            map.clear();
            return Ok(());
        }
        scratch.clear();
        let mut same = map.iter_mut();
        let mut in_place = true;
        let mut last = None;
        loop {
            let id = match self.b.get(self.i..self.i + 4) {
                // `"7":`, the common case, in one look.
                Some(&[b'"', d, b'"', b':']) if d.is_ascii_digit() => {
                    self.i += 4;
                    u64::from(d - b'0')
                }
                _ => {
                    self.lit(b"\"")?;
                    if !self.b.get(self.i).is_some_and(u8::is_ascii_digit) {
                        return self.fail();
                    }
                    let id = self.digits()?;
                    self.lit(b"\":")?;
                    id
                }
            };
            if last.is_some_and(|last| last >= id) {
                return self.fail();
            }
            last = Some(id);
            let value = self.digits()?;
            scratch.push((id, value));
            if in_place {
                match same.next() {
                    Some((&k, v)) if k == id => *v = value,
                    _ => in_place = false,
                }
            }
            if !self.opt_lit(b",") {
                self.lit(b"}")?;
                break;
            }
        }
        if in_place && same.next().is_none() {
            return Ok(());
        }
        map.clear();
        map.extend(scratch.iter().copied());
        Ok(())
    }

    fn exact_id(&mut self) -> R<MessageId> {
        self.lit(b"{\"sender\":")?;
        let sender = self.digits()?;
        self.lit(b",\"seq\":")?;
        let seq = self.digits()?;
        self.lit(b"}")?;
        Ok(MessageId { sender, seq })
    }

    /// The input's fields into `input` (whose `msg` and `timer` the caller emptied).
    fn exact_input(&mut self, input: &mut StepInput, spare: &mut Spare) -> R<()> {
        input.from = None;
        input.id = None;
        input.msg = None;
        input.timer = None;
        input.requests.clear();
        input.target = None;
        let mut first = true;
        if self.opt_key(&mut first, b"\"from\":") {
            input.from = Some(self.digits()?);
        }
        if self.opt_key(&mut first, b"\"id\":") {
            input.id = Some(self.exact_id()?);
        }
        if self.opt_key(&mut first, b"\"msg\":") {
            input.msg = Some(self.exact_msg(spare)?);
        }
        if self.opt_key(&mut first, b"\"timer\":") {
            let mut timer = spare.string_buf();
            self.string_into(&mut timer)?;
            input.timer = Some(timer);
        }
        if self.opt_key(&mut first, b"\"requests\":") {
            self.pairs_into(&mut input.requests)?;
        }
        if self.opt_key(&mut first, b"\"target\":") {
            input.target = Some(self.digits()?);
        }
        self.lit(b"}")
    }

    /// `,"name":` and a number.
    #[inline]
    fn num<const N: usize>(&mut self, k: &[u8; N]) -> R<u64> {
        self.lit(k)?;
        self.digits()
    }

    fn exact_msg(&mut self, spare: &mut Spare) -> R<Msg> {
        self.lit(b"{\"type\":\"")?;
        let tag = self.msg_kind()?;
        let term = self.num(b",\"term\":")?;
        let msg = match tag {
            MsgKind::RequestVote => Msg::RequestVote {
                term,
                last_log_index: self.num(b",\"last_log_index\":")?,
                last_log_term: self.num(b",\"last_log_term\":")?,
                pre_vote: self.opt_lit(b",\"pre_vote\":true"),
            },
            MsgKind::RequestVoteResponse => {
                self.lit(b",\"granted\":")?;
                Msg::RequestVoteResponse {
                    term,
                    granted: self.bool()?,
                    pre_vote: self.opt_lit(b",\"pre_vote\":true"),
                }
            }
            MsgKind::AppendEntries => {
                let prev_log_index = self.num(b",\"prev_log_index\":")?;
                let prev_log_term = self.num(b",\"prev_log_term\":")?;
                self.lit(b",\"entries\":")?;
                let mut entries = spare.numbers();
                self.u64s_into(&mut entries)?;
                let mut digests = Vec::new();
                if self.opt_lit(b",\"digests\":") {
                    digests = spare.string_list();
                    self.array(|c| {
                        let mut d = spare.string_buf();
                        c.string_into(&mut d)?;
                        digests.push(d);
                        Ok(())
                    })?;
                }
                Msg::AppendEntries {
                    term,
                    prev_log_index,
                    prev_log_term,
                    entries,
                    digests,
                    leader_commit: self.num(b",\"leader_commit\":")?,
                }
            }
            MsgKind::AppendEntriesResponse => {
                self.lit(b",\"success\":")?;
                let success = self.bool()?;
                let match_index = match self.opt_lit(b",\"match_index\":") {
                    true => Some(self.digits()?),
                    false => None,
                };
                let reject_index = match self.opt_lit(b",\"reject_index\":") {
                    true => Some(self.digits()?),
                    false => None,
                };
                Msg::AppendEntriesResponse {
                    term,
                    success,
                    match_index,
                    reject_index,
                }
            }
            MsgKind::TimeoutNow => Msg::TimeoutNow { term },
            MsgKind::Heartbeat => Msg::Heartbeat {
                term,
                round: self.num(b",\"round\":")?,
            },
            MsgKind::HeartbeatResponse => Msg::HeartbeatResponse {
                term,
                round: self.num(b",\"round\":")?,
            },
            MsgKind::ReadIndex => Msg::ReadIndex {
                term,
                client: self.num(b",\"client\":")?,
                serial: self.num(b",\"serial\":")?,
            },
            MsgKind::ReadIndexResponse => {
                let client = self.num(b",\"client\":")?;
                let serial = self.num(b",\"serial\":")?;
                self.lit(b",\"read_index\":")?;
                Msg::ReadIndexResponse {
                    term,
                    client,
                    serial,
                    read_index: self.null_or_u64()?,
                }
            }
        };
        self.lit(b"}")?;
        Ok(msg)
    }

    /// The effects into `effects` (which the caller emptied).
    fn exact_effects(&mut self, effects: &mut Vec<StepEffect>, spare: &mut Spare) -> R<()> {
        effects.clear();
        if self.opt_lit(b"]") {
            return Ok(());
        }
        loop {
            effects.push(self.exact_effect(spare)?);
            if !self.opt_lit(b",") {
                return self.lit(b"]");
            }
        }
    }

    fn exact_effect(&mut self, spare: &mut Spare) -> R<StepEffect> {
        self.lit(b"{\"effect\":\"")?;
        let effect = match self.effect_kind()? {
            EffectKind::Send => {
                let to = self.num(b",\"to\":")?;
                let id = match self.opt_lit(b",\"id\":") {
                    true => Some(self.exact_id()?),
                    false => None,
                };
                self.lit(b",\"msg\":")?;
                StepEffect::Send {
                    to,
                    id,
                    msg: self.exact_msg(spare)?,
                }
            }
            EffectKind::PersistHardState => {
                let term = self.num(b",\"term\":")?;
                self.lit(b",\"vote\":")?;
                StepEffect::PersistHardState {
                    term,
                    vote: self.null_or_u64()?,
                }
            }
            EffectKind::PersistLog => {
                let from = self.num(b",\"from\":")?;
                self.lit(b",\"entries\":")?;
                let mut entries = spare.numbers();
                self.u64s_into(&mut entries)?;
                StepEffect::PersistLog { from, entries }
            }
            EffectKind::Apply => StepEffect::Apply {
                index: self.num(b",\"index\":")?,
                term: self.num(b",\"term\":")?,
                digest: match self.opt_lit(b",\"digest\":") {
                    true => {
                        let mut d = spare.string_buf();
                        self.string_into(&mut d)?;
                        Some(d)
                    }
                    false => None,
                },
            },
            EffectKind::Reply => {
                let client = self.num(b",\"client\":")?;
                let serial = self.num(b",\"serial\":")?;
                self.lit(b",\"ok\":")?;
                StepEffect::Reply {
                    client,
                    serial,
                    ok: self.bool()?,
                    read_index: match self.opt_lit(b",\"read_index\":") {
                        true => Some(self.digits()?),
                        false => None,
                    },
                    lease: self.opt_lit(b",\"lease\":true"),
                }
            }
        };
        self.lit(b"}")?;
        Ok(effect)
    }

    /// The state after `{"term":`, into `state`.
    fn exact_state(&mut self, state: &mut StateView, spare: &mut Spare) -> R<()> {
        state.term = self.digits()?;
        self.lit(b",\"vote\":")?;
        state.vote = self.null_or_u64()?;
        self.lit(b",\"role\":")?;
        state.role = self.exact_role()?;
        self.lit(b",\"log\":")?;
        state.log.clear();
        self.pairs_into(&mut state.log)?;
        state.log_from = match self.opt_lit(b",\"log_from\":") {
            true => self.digits()?,
            false => 1,
        };
        state.commit = self.num(b",\"commit\":")?;
        state.applied = self.num(b",\"applied\":")?;
        let next = self.opt_lit(b",\"next\":");
        id_map_slot(&mut state.next, &mut spare.next, next);
        if next {
            self.exact_id_map_into(&mut state.next, &mut spare.ids)?;
        }
        let matched = self.opt_lit(b",\"match\":");
        id_map_slot(&mut state.r#match, &mut spare.matched, matched);
        if matched {
            self.exact_id_map_into(&mut state.r#match, &mut spare.ids)?;
        }
        self.lit(b"}")
    }
}

/// Readies `map` for a line that has the map (`present`: the spare's node is moved in if
/// `map` has none) or lacks it (`map` is emptied, its node moved to the spare).
fn id_map_slot(map: &mut BTreeMap<u64, u64>, spare: &mut BTreeMap<u64, u64>, present: bool) {
    if present {
        if map.is_empty() && !spare.is_empty() {
            std::mem::swap(map, spare);
        }
    } else if !map.is_empty() {
        if spare.is_empty() {
            std::mem::swap(map, spare);
        } else {
            map.clear();
        }
    }
}

/// The effects of the format.
enum EffectKind {
    Send,
    PersistHardState,
    PersistLog,
    Apply,
    Reply,
}

const ONES: u64 = 0x0101_0101_0101_0101;

/// How many of the eight bytes of `word` (the first in its low byte) are ASCII digits before
/// the first that is not (8 if all are).
#[inline]
fn leading_digits(word: u64) -> usize {
    // Each byte becomes its high nibble next to the high nibble of itself plus 6: 0x33 exactly
    // for '0'..='9'. A carry out of a byte (from 0xfa up) comes only from a byte that is not a
    // digit, and changes only the bytes after it.
    let high = word & (0xF0 * ONES);
    let high6 = word.wrapping_add(0x06 * ONES) & (0xF0 * ONES);
    let y = (high | (high6 >> 4)) ^ (0x33 * ONES);
    // The top bit of each byte of y that is not zero.
    let nonzero = (((y & (0x7F * ONES)).wrapping_add(0x7F * ONES)) | y) & (0x80 * ONES);
    (nonzero.trailing_zeros() / 8) as usize
}

/// The value of the first `n` (1 to 7) bytes of `word`, all ASCII digits.
#[inline]
fn eight_digits(word: u64, n: usize) -> u64 {
    // The digits' values, moved up so that the bytes below them read as leading zeros; then
    // pairs, fours and eights of digits are combined by multiplications (the lanes do not
    // overlap).
    let d = word.wrapping_sub(0x30 * ONES) & ((1u64 << (8 * n)) - 1);
    let v = d << (8 * (8 - n));
    let v = ((v & (0x0F * ONES)).wrapping_mul(2561)) >> 8;
    let v = ((v & 0x00FF_00FF_00FF_00FF).wrapping_mul(6_553_601)) >> 16;
    ((v & 0x0000_FFFF_0000_FFFF).wrapping_mul(42_949_672_960_001)) >> 32
}

#[cfg(test)]
mod tests {
    use super::step_into;
    use crate::trace::format::Step;
    use crate::trace::parse::reuse::Spare;

    fn step(line: &[u8]) -> Result<Step, super::super::NotCanonical> {
        let mut s = Step::default();
        step_into(line, &mut s, &mut Spare::default()).map(|_| s)
    }

    #[test]
    fn numbers_read_eight_bytes_at_a_time_agree_with_one_at_a_time() {
        use super::{eight_digits, leading_digits};
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..200_000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let digits = (seed % 9) as usize;
            let mut bytes = seed.to_le_bytes();
            for (k, b) in bytes.iter_mut().enumerate() {
                if k < digits {
                    *b = b'0' + *b % 10;
                }
            }
            let n = bytes.iter().take_while(|b| b.is_ascii_digit()).count();
            let word = u64::from_le_bytes(bytes);
            assert_eq!(leading_digits(word), n, "{bytes:?}");
            if (1..8).contains(&n) {
                let want: u64 = std::str::from_utf8(&bytes[..n]).unwrap().parse().unwrap();
                assert_eq!(eight_digits(word, n), want, "{bytes:?}");
            }
        }
    }

    #[test]
    fn numbers_decline_what_serde_reads_otherwise_far_from_and_near_the_line_end() {
        use crate::trace::parse::Cursor;
        let read = |text: &[u8]| {
            let mut c = Cursor { b: text, i: 0 };
            c.digits().ok().map(|v| (v, c.i))
        };
        for pad in [&b""[..], b",,,,,,,,"] {
            let with = |n: &[u8]| [n, pad].concat();
            assert_eq!(read(&with(b"0")), Some((0, 1)));
            assert_eq!(read(&with(b"7}")), Some((7, 1)));
            assert_eq!(read(&with(b"1234567,")), Some((1_234_567, 7)));
            assert_eq!(read(&with(b"123456789}")), Some((123_456_789, 9)));
            assert_eq!(read(&with(b"18446744073709551615}")), Some((u64::MAX, 20)));
            for bad in [
                &b"01"[..],
                b"00",
                b"1.5",
                b"2e3",
                b"3E1",
                b"-1",
                b",",
                b"18446744073709551616",
            ] {
                assert_eq!(read(&with(bad)), None, "{}", String::from_utf8_lossy(bad));
            }
        }
    }

    #[test]
    fn reads_the_canonical_form_and_declines_another_order() {
        let line = br#"{"seq":7,"node":3,"kind":"receive","input":{"from":4,"id":{"sender":4,"seq":3},"msg":{"type":"RequestVote","term":1,"last_log_index":0,"last_log_term":0}},"effects":[{"effect":"persist_hard_state","term":1,"vote":4}],"state":{"term":1,"vote":4,"role":"follower","log":[],"commit":0,"applied":0}}"#;
        let s = step(line).unwrap();
        assert_eq!((s.seq, s.node, s.state.vote), (7, 3, Some(4)));
        let swapped = br#"{"node":3,"seq":7,"kind":"receive","input":{},"effects":[],"state":{"term":1,"vote":4,"role":"follower","log":[],"commit":0,"applied":0}}"#;
        assert!(step(swapped).is_err());
        let spaced = br#"{"seq":7, "node":3,"kind":"receive","input":{},"effects":[],"state":{"term":1,"vote":4,"role":"follower","log":[],"commit":0,"applied":0}}"#;
        assert!(step(spaced).is_err());
    }
}
