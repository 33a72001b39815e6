//! A fast reader for step lines in the form writers produce: one JSON object per line, with
//! the tag (`type`, `effect`) the first key of each message and effect, no string escapes and
//! no fields the format does not name. It reads a line without buffering tagged enums (as
//! serde's internally tagged enums must) and without a per-line `String`.
//!
//! Whatever it cannot read, it declines ([`NotCanonical`]) rather than guesses: a caller then
//! reads the line with a full JSON reader (serde), which accepts it (another key order, an
//! escape, an extra field) or reports the error. So the fast reader never changes what a trace
//! means: when it returns a step, serde's `Step` deserializer returns the same one (tested
//! against serde's output in `tests/trace_parse.rs`).
//!
//! ```
//! use refraft::trace::{parse_step, Kind};
//! let line = br#"{"seq":1,"node":2,"kind":"init","state":{"term":0,"vote":null,"role":"follower","log":[],"commit":0,"applied":0}}"#;
//! let step = parse_step(line).unwrap();
//! assert_eq!((step.seq, step.node, step.kind), (1, 2, Kind::Init));
//! // Keys in another order are left to a full JSON reader.
//! assert!(parse_step(br#"{"node":2,"seq":1}"#).is_err());
//! ```

mod canonical;
mod fields;
mod reuse;

pub use reuse::StepReader;

use fields::{field_bit, MsgFields, MsgKind};

use super::format::{Kind, MessageId, Msg, StateView, Step, StepEffect, StepInput, TraceRole};
use std::collections::BTreeMap;

/// The fast reader declined a line at byte `offset`: the line is not in the canonical form
/// (or not valid at all). Read it with a full JSON reader for the value or the error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NotCanonical {
    /// Where reading stopped.
    pub offset: usize,
}

impl std::fmt::Display for NotCanonical {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "not a canonical step line (byte {})", self.offset)
    }
}

impl std::error::Error for NotCanonical {}

type R<T> = Result<T, NotCanonical>;

/// Reads one step line (trailing whitespace allowed), or declines it.
/// To read many lines, [`StepReader`] reuses one step's allocations.
pub fn parse_step(line: &[u8]) -> Result<Step, NotCanonical> {
    let mut step = Step::default();
    StepReader::new().read_into(line, &mut step)?;
    Ok(step)
}

struct Cursor<'a> {
    b: &'a [u8],
    i: usize,
}

/// Records that field `bit` was seen; a field seen twice is declined (serde refuses it).
fn once(seen: &mut u32, bit: u32, at: usize) -> R<()> {
    if *seen & (1 << bit) != 0 {
        return Err(NotCanonical { offset: at });
    }
    *seen |= 1 << bit;
    Ok(())
}

fn need<T>(v: Option<T>, at: usize) -> R<T> {
    v.ok_or(NotCanonical { offset: at })
}

impl<'a> Cursor<'a> {
    fn fail<T>(&self) -> R<T> {
        Err(NotCanonical { offset: self.i })
    }

    #[inline]
    fn ws(&mut self) {
        while let Some(&c) = self.b.get(self.i) {
            if matches!(c, b' ' | b'\n' | b'\t' | b'\r') {
                self.i += 1;
            } else {
                break;
            }
        }
    }

    #[inline]
    fn try_eat(&mut self, c: u8) -> bool {
        self.ws();
        if self.b.get(self.i) == Some(&c) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    #[inline]
    fn eat(&mut self, c: u8) -> R<()> {
        if self.try_eat(c) {
            Ok(())
        } else {
            self.fail()
        }
    }

    fn literal(&mut self, word: &[u8]) -> bool {
        self.ws();
        if self.b[self.i..].starts_with(word) {
            self.i += word.len();
            true
        } else {
            false
        }
    }

    /// A string without escapes or control characters, as raw bytes.
    #[inline]
    fn raw_str(&mut self) -> R<&'a [u8]> {
        self.eat(b'"')?;
        let start = self.i;
        while let Some(&c) = self.b.get(self.i) {
            match c {
                b'"' => {
                    self.i += 1;
                    return Ok(&self.b[start..self.i - 1]);
                }
                b'\\' | 0..=0x1f => return self.fail(),
                _ => self.i += 1,
            }
        }
        self.fail()
    }

    fn string(&mut self) -> R<String> {
        let mut s = String::new();
        self.string_into(&mut s)?;
        Ok(s)
    }

    /// A string into `out` (which is emptied first).
    fn string_into(&mut self, out: &mut String) -> R<()> {
        let raw = self.raw_str()?;
        match std::str::from_utf8(raw) {
            Ok(s) => {
                out.clear();
                out.push_str(s);
                Ok(())
            }
            Err(_) => self.fail(),
        }
    }

    #[inline]
    fn u64(&mut self) -> R<u64> {
        self.ws();
        let start = self.i;
        let mut v: u64 = 0;
        while let Some(&c) = self.b.get(self.i) {
            if !c.is_ascii_digit() {
                break;
            }
            let d = u64::from(c - b'0');
            v = if self.i - start < 19 {
                // Nineteen digits cannot overflow.
                v.wrapping_mul(10).wrapping_add(d)
            } else {
                match v.checked_mul(10).and_then(|v| v.checked_add(d)) {
                    Some(v) => v,
                    None => return self.fail(),
                }
            };
            self.i += 1;
        }
        let digits = self.i - start;
        if digits == 0
            || digits > 1 && self.b[start] == b'0'
            || matches!(self.b.get(self.i), Some(b'.' | b'e' | b'E'))
        {
            return self.fail();
        }
        Ok(v)
    }

    fn opt_u64(&mut self) -> R<Option<u64>> {
        if self.literal(b"null") {
            Ok(None)
        } else {
            self.u64().map(Some)
        }
    }

    fn bool(&mut self) -> R<bool> {
        if self.literal(b"true") {
            Ok(true)
        } else if self.literal(b"false") {
            Ok(false)
        } else {
            self.fail()
        }
    }

    /// An object: `field` reads the value of each key.
    #[inline]
    fn object(&mut self, mut field: impl FnMut(&mut Self, &'a [u8]) -> R<()>) -> R<()> {
        self.eat(b'{')?;
        if self.try_eat(b'}') {
            return Ok(());
        }
        loop {
            self.ws();
            let key = self.raw_str()?;
            self.eat(b':')?;
            field(self, key)?;
            if !self.try_eat(b',') {
                return self.eat(b'}');
            }
        }
    }

    /// An array: `item` reads each element.
    #[inline]
    fn array(&mut self, mut item: impl FnMut(&mut Self) -> R<()>) -> R<()> {
        self.eat(b'[')?;
        if self.try_eat(b']') {
            return Ok(());
        }
        loop {
            item(self)?;
            if !self.try_eat(b',') {
                return self.eat(b']');
            }
        }
    }

    fn u64s(&mut self) -> R<Vec<u64>> {
        let mut out = Vec::new();
        self.u64s_into(&mut out)?;
        Ok(out)
    }

    /// An array of numbers, appended to `out`.
    fn u64s_into(&mut self, out: &mut Vec<u64>) -> R<()> {
        self.array(|c| {
            out.push(c.u64()?);
            Ok(())
        })
    }

    fn pairs(&mut self) -> R<Vec<(u64, u64)>> {
        let mut out = Vec::new();
        self.pairs_into(&mut out)?;
        Ok(out)
    }

    /// An array of `[a, b]` pairs, appended to `out`.
    fn pairs_into(&mut self, out: &mut Vec<(u64, u64)>) -> R<()> {
        self.array(|c| {
            c.eat(b'[')?;
            let a = c.u64()?;
            c.eat(b',')?;
            let b = c.u64()?;
            c.eat(b']')?;
            out.push((a, b));
            Ok(())
        })
    }

    /// An object keyed by ids written as decimal strings.
    fn id_map(&mut self) -> R<BTreeMap<u64, u64>> {
        let mut out = BTreeMap::new();
        self.object(|c, key| {
            let at = c.i;
            // Canonical decimal only: no sign, space or leading zero (serde decides the rest).
            let mut k = Cursor { b: key, i: 0 };
            let digit_first = key.first().is_some_and(u8::is_ascii_digit);
            let id = k.u64().ok().filter(|_| digit_first && k.i == key.len());
            let id = need(id, at)?;
            out.insert(id, c.u64()?);
            Ok(())
        })?;
        Ok(out)
    }

    fn step(&mut self) -> R<Step> {
        let (mut seq, mut node, mut kind, mut state) = (None, None, None, None);
        let mut input = StepInput::default();
        let mut effects = Vec::new();
        let mut seen = 0u32;
        self.object(|c, key| {
            let at = c.i;
            match key {
                b"seq" => {
                    once(&mut seen, 0, at)?;
                    seq = Some(c.u64()?);
                }
                b"node" => {
                    once(&mut seen, 1, at)?;
                    node = Some(c.u64()?);
                }
                b"kind" => {
                    once(&mut seen, 2, at)?;
                    kind = Some(c.kind()?);
                }
                b"input" => {
                    once(&mut seen, 3, at)?;
                    input = c.input()?;
                }
                b"effects" => {
                    once(&mut seen, 4, at)?;
                    c.array(|c| {
                        effects.push(c.effect()?);
                        Ok(())
                    })?;
                }
                b"state" => {
                    once(&mut seen, 5, at)?;
                    state = Some(c.state()?);
                }
                _ => return c.fail(),
            }
            Ok(())
        })?;
        let at = self.i;
        Ok(Step {
            seq: need(seq, at)?,
            node: need(node, at)?,
            kind: need(kind, at)?,
            input,
            effects,
            state: need(state, at)?,
        })
    }

    fn kind(&mut self) -> R<Kind> {
        Ok(match self.raw_str()? {
            b"init" => Kind::Init,
            b"restart" => Kind::Restart,
            b"timeout" => Kind::Timeout,
            b"receive" => Kind::Receive,
            b"client" => Kind::Client,
            b"read" => Kind::Read,
            b"transfer" => Kind::Transfer,
            _ => return self.fail(),
        })
    }

    fn role(&mut self) -> R<TraceRole> {
        Ok(match self.raw_str()? {
            b"follower" => TraceRole::Follower,
            b"pre_candidate" => TraceRole::PreCandidate,
            b"candidate" => TraceRole::Candidate,
            b"leader" => TraceRole::Leader,
            _ => return self.fail(),
        })
    }

    fn message_id(&mut self) -> R<MessageId> {
        let (mut sender, mut seq) = (None, None);
        let mut seen = 0u32;
        self.object(|c, key| {
            let at = c.i;
            match key {
                b"sender" => {
                    once(&mut seen, 0, at)?;
                    sender = Some(c.u64()?);
                }
                b"seq" => {
                    once(&mut seen, 1, at)?;
                    seq = Some(c.u64()?);
                }
                _ => return c.fail(),
            }
            Ok(())
        })?;
        let at = self.i;
        Ok(MessageId {
            sender: need(sender, at)?,
            seq: need(seq, at)?,
        })
    }

    fn opt_message_id(&mut self) -> R<Option<MessageId>> {
        if self.literal(b"null") {
            Ok(None)
        } else {
            self.message_id().map(Some)
        }
    }

    fn input(&mut self) -> R<StepInput> {
        let mut input = StepInput::default();
        let mut seen = 0u32;
        self.object(|c, key| {
            let at = c.i;
            match key {
                b"from" => {
                    once(&mut seen, 0, at)?;
                    input.from = c.opt_u64()?;
                }
                b"id" => {
                    once(&mut seen, 1, at)?;
                    input.id = c.opt_message_id()?;
                }
                b"msg" => {
                    once(&mut seen, 2, at)?;
                    input.msg = if c.literal(b"null") {
                        None
                    } else {
                        Some(c.msg()?)
                    };
                }
                b"timer" => {
                    once(&mut seen, 3, at)?;
                    input.timer = if c.literal(b"null") {
                        None
                    } else {
                        Some(c.string()?)
                    };
                }
                b"requests" => {
                    once(&mut seen, 4, at)?;
                    input.requests = c.pairs()?;
                }
                b"target" => {
                    once(&mut seen, 5, at)?;
                    input.target = c.opt_u64()?;
                }
                _ => return c.fail(),
            }
            Ok(())
        })?;
        Ok(input)
    }

    /// The first key of a tagged object must be its tag: returns the tag's value.
    fn tag(&mut self, name: &[u8]) -> R<&'a [u8]> {
        self.eat(b'{')?;
        self.ws();
        if self.raw_str()? != name {
            return self.fail();
        }
        self.eat(b':')?;
        self.raw_str()
    }

    /// The fields after the tag, each read by `field` (which declines unknown keys).
    fn rest(&mut self, mut field: impl FnMut(&mut Self, &'a [u8]) -> R<()>) -> R<()> {
        while self.try_eat(b',') {
            self.ws();
            let key = self.raw_str()?;
            self.eat(b':')?;
            field(self, key)?;
        }
        self.eat(b'}')
    }

    fn msg(&mut self) -> R<Msg> {
        let tag = self.tag(b"type")?;
        let tag_at = self.i;
        let kind = match tag {
            b"RequestVote" => MsgKind::RequestVote,
            b"RequestVoteResponse" => MsgKind::RequestVoteResponse,
            b"AppendEntries" => MsgKind::AppendEntries,
            b"AppendEntriesResponse" => MsgKind::AppendEntriesResponse,
            b"TimeoutNow" => MsgKind::TimeoutNow,
            b"Heartbeat" => MsgKind::Heartbeat,
            b"HeartbeatResponse" => MsgKind::HeartbeatResponse,
            b"ReadIndex" => MsgKind::ReadIndex,
            b"ReadIndexResponse" => MsgKind::ReadIndexResponse,
            _ => return self.fail(),
        };
        let allowed = kind.fields();
        let mut f = MsgFields::default();
        let mut seen = 0u32;
        self.rest(|c, key| {
            let at = c.i;
            let bit = match field_bit(key) {
                Some(bit) if allowed & (1 << bit) != 0 => bit,
                _ => return c.fail(),
            };
            once(&mut seen, bit, at)?;
            f.read(c, bit)
        })?;
        f.into_msg(kind, NotCanonical { offset: tag_at })
    }

    fn effect(&mut self) -> R<StepEffect> {
        let tag = self.tag(b"effect")?;
        let at = self.i;
        let mut seen = 0u32;
        let effect = match tag {
            b"persist_hard_state" => {
                let (mut term, mut vote) = (None, None);
                self.rest(|c, key| {
                    let at = c.i;
                    match key {
                        b"term" => {
                            once(&mut seen, 0, at)?;
                            term = Some(c.u64()?);
                        }
                        b"vote" => {
                            once(&mut seen, 1, at)?;
                            vote = c.opt_u64()?;
                        }
                        _ => return c.fail(),
                    }
                    Ok(())
                })?;
                StepEffect::PersistHardState {
                    term: need(term, at)?,
                    vote,
                }
            }
            b"persist_log" => {
                let (mut from, mut entries) = (None, None);
                self.rest(|c, key| {
                    let at = c.i;
                    match key {
                        b"from" => {
                            once(&mut seen, 0, at)?;
                            from = Some(c.u64()?);
                        }
                        b"entries" => {
                            once(&mut seen, 1, at)?;
                            entries = Some(c.u64s()?);
                        }
                        _ => return c.fail(),
                    }
                    Ok(())
                })?;
                StepEffect::PersistLog {
                    from: need(from, at)?,
                    entries: need(entries, at)?,
                }
            }
            b"send" => {
                let (mut to, mut id, mut msg) = (None, None, None);
                self.rest(|c, key| {
                    let at = c.i;
                    match key {
                        b"to" => {
                            once(&mut seen, 0, at)?;
                            to = Some(c.u64()?);
                        }
                        b"id" => {
                            once(&mut seen, 1, at)?;
                            id = c.opt_message_id()?;
                        }
                        b"msg" => {
                            once(&mut seen, 2, at)?;
                            msg = Some(c.msg()?);
                        }
                        _ => return c.fail(),
                    }
                    Ok(())
                })?;
                StepEffect::Send {
                    to: need(to, at)?,
                    id,
                    msg: need(msg, at)?,
                }
            }
            b"apply" => {
                let (mut index, mut term, mut digest) = (None, None, None);
                self.rest(|c, key| {
                    let at = c.i;
                    match key {
                        b"index" => {
                            once(&mut seen, 0, at)?;
                            index = Some(c.u64()?);
                        }
                        b"term" => {
                            once(&mut seen, 1, at)?;
                            term = Some(c.u64()?);
                        }
                        b"digest" => {
                            once(&mut seen, 2, at)?;
                            digest = if c.literal(b"null") {
                                None
                            } else {
                                Some(c.string()?)
                            };
                        }
                        _ => return c.fail(),
                    }
                    Ok(())
                })?;
                StepEffect::Apply {
                    index: need(index, at)?,
                    term: need(term, at)?,
                    digest,
                }
            }
            b"reply" => {
                let (mut client, mut serial, mut ok) = (None, None, None);
                let (mut read_index, mut lease) = (None, false);
                self.rest(|c, key| {
                    let at = c.i;
                    match key {
                        b"client" => {
                            once(&mut seen, 0, at)?;
                            client = Some(c.u64()?);
                        }
                        b"serial" => {
                            once(&mut seen, 1, at)?;
                            serial = Some(c.u64()?);
                        }
                        b"ok" => {
                            once(&mut seen, 2, at)?;
                            ok = Some(c.bool()?);
                        }
                        b"read_index" => {
                            once(&mut seen, 3, at)?;
                            read_index = c.opt_u64()?;
                        }
                        b"lease" => {
                            once(&mut seen, 4, at)?;
                            lease = c.bool()?;
                        }
                        _ => return c.fail(),
                    }
                    Ok(())
                })?;
                StepEffect::Reply {
                    client: need(client, at)?,
                    serial: need(serial, at)?,
                    ok: need(ok, at)?,
                    read_index,
                    lease,
                }
            }
            _ => return self.fail(),
        };
        Ok(effect)
    }

    fn state(&mut self) -> R<StateView> {
        let (mut term, mut role, mut log, mut commit, mut applied) = (None, None, None, None, None);
        let (mut vote, mut log_from) = (None, 1);
        let (mut next, mut matched) = (BTreeMap::new(), BTreeMap::new());
        let mut seen = 0u32;
        self.object(|c, key| {
            let at = c.i;
            match key {
                b"term" => {
                    once(&mut seen, 0, at)?;
                    term = Some(c.u64()?);
                }
                b"vote" => {
                    once(&mut seen, 1, at)?;
                    vote = c.opt_u64()?;
                }
                b"role" => {
                    once(&mut seen, 2, at)?;
                    role = Some(c.role()?);
                }
                b"log" => {
                    once(&mut seen, 3, at)?;
                    log = Some(c.pairs()?);
                }
                b"log_from" => {
                    once(&mut seen, 4, at)?;
                    log_from = c.u64()?;
                }
                b"commit" => {
                    once(&mut seen, 5, at)?;
                    commit = Some(c.u64()?);
                }
                b"applied" => {
                    once(&mut seen, 6, at)?;
                    applied = Some(c.u64()?);
                }
                b"next" => {
                    once(&mut seen, 7, at)?;
                    next = c.id_map()?;
                }
                b"match" => {
                    once(&mut seen, 8, at)?;
                    matched = c.id_map()?;
                }
                _ => return c.fail(),
            }
            Ok(())
        })?;
        let at = self.i;
        Ok(StateView {
            term: need(term, at)?,
            vote,
            role: need(role, at)?,
            log: need(log, at)?,
            log_from,
            commit: need(commit, at)?,
            applied: need(applied, at)?,
            next,
            r#match: matched,
        })
    }
}
