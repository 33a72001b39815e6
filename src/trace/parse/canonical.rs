//! The exact form serde writes a step in: keys in declaration order, optional fields left out
//! when empty, no whitespace. Each key is then one comparison of known bytes rather than a
//! string read and matched, which halves the reader's cost on the lines writers produce.
//! Anything else (another order, spaces, an optional field written out as its default) is
//! declined here and read by the general fast reader of the parent module, or by serde.

use super::{Cursor, R};
use crate::trace::format::{MessageId, Msg, StateView, Step, StepEffect, StepInput};
use std::collections::BTreeMap;

/// Reads one step line in the exact canonical form (trailing whitespace allowed).
pub(super) fn step(line: &[u8]) -> R<Step> {
    let mut c = Cursor { b: line, i: 0 };
    c.lit(b"{\"seq\":")?;
    let seq = c.u64()?;
    c.lit(b",\"node\":")?;
    let node = c.u64()?;
    c.lit(b",\"kind\":")?;
    let kind = c.kind()?;
    c.lit(b",\"input\":{")?;
    let input = c.exact_input()?;
    c.lit(b",\"effects\":[")?;
    let effects = c.exact_effects()?;
    c.lit(b",\"state\":{\"term\":")?;
    let state = c.exact_state()?;
    c.lit(b"}")?;
    c.ws();
    if c.i == line.len() {
        Ok(Step {
            seq,
            node,
            kind,
            input,
            effects,
            state,
        })
    } else {
        c.fail()
    }
}

impl<'a> Cursor<'a> {
    /// Exactly these bytes next.
    #[inline]
    fn lit<const N: usize>(&mut self, s: &[u8; N]) -> R<()> {
        if self.opt_lit(s) {
            Ok(())
        } else {
            self.fail()
        }
    }

    /// These bytes next, if they are.
    #[inline]
    fn opt_lit<const N: usize>(&mut self, s: &[u8; N]) -> bool {
        // A comparison of N known bytes, which the compiler inlines (no memcmp call).
        if self.b.get(self.i..self.i + N) == Some(&s[..]) {
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

    /// A number right here (no whitespace before it): up to 19 digits in one tight loop, longer
    /// ones by the general reader (which checks for overflow).
    #[inline]
    fn digits(&mut self) -> R<u64> {
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

    /// A tag's value up to its closing quote (the opening one already read).
    #[inline]
    fn tag_value(&mut self) -> R<&'a [u8]> {
        let start = self.i;
        match self.b[start..].iter().position(|&c| c == b'"') {
            Some(n) => {
                self.i = start + n + 1;
                Ok(&self.b[start..start + n])
            }
            None => self.fail(),
        }
    }

    /// `{"1":27,"2":27}`: ids as decimal strings, in increasing order (as a `BTreeMap` writes
    /// them).
    fn exact_id_map(&mut self) -> R<BTreeMap<u64, u64>> {
        self.lit(b"{")?;
        let mut map = BTreeMap::new();
        if self.opt_lit(b"}") {
            return Ok(map);
        }
        let mut last = None;
        loop {
            self.lit(b"\"")?;
            if !self.b.get(self.i).is_some_and(u8::is_ascii_digit) {
                return self.fail();
            }
            let id = self.digits()?;
            if last.is_some_and(|last| last >= id) {
                return self.fail();
            }
            last = Some(id);
            self.lit(b"\":")?;
            map.insert(id, self.digits()?);
            if !self.opt_lit(b",") {
                self.lit(b"}")?;
                return Ok(map);
            }
        }
    }

    fn exact_id(&mut self) -> R<MessageId> {
        self.lit(b"{\"sender\":")?;
        let sender = self.digits()?;
        self.lit(b",\"seq\":")?;
        let seq = self.digits()?;
        self.lit(b"}")?;
        Ok(MessageId { sender, seq })
    }

    fn exact_input(&mut self) -> R<StepInput> {
        let mut input = StepInput::default();
        let mut first = true;
        if self.opt_key(&mut first, b"\"from\":") {
            input.from = Some(self.digits()?);
        }
        if self.opt_key(&mut first, b"\"id\":") {
            input.id = Some(self.exact_id()?);
        }
        if self.opt_key(&mut first, b"\"msg\":") {
            input.msg = Some(self.exact_msg()?);
        }
        if self.opt_key(&mut first, b"\"timer\":") {
            input.timer = Some(self.string()?);
        }
        if self.opt_key(&mut first, b"\"requests\":") {
            input.requests = self.pairs()?;
        }
        if self.opt_key(&mut first, b"\"target\":") {
            input.target = Some(self.digits()?);
        }
        self.lit(b"}")?;
        Ok(input)
    }

    /// `,"name":` and a number.
    #[inline]
    fn num<const N: usize>(&mut self, k: &[u8; N]) -> R<u64> {
        self.lit(k)?;
        self.digits()
    }

    fn exact_msg(&mut self) -> R<Msg> {
        self.lit(b"{\"type\":\"")?;
        let tag = self.tag_value()?;
        let term = self.num(b",\"term\":")?;
        let msg = match tag {
            b"RequestVote" => Msg::RequestVote {
                term,
                last_log_index: self.num(b",\"last_log_index\":")?,
                last_log_term: self.num(b",\"last_log_term\":")?,
                pre_vote: self.opt_lit(b",\"pre_vote\":true"),
            },
            b"RequestVoteResponse" => {
                self.lit(b",\"granted\":")?;
                Msg::RequestVoteResponse {
                    term,
                    granted: self.bool()?,
                    pre_vote: self.opt_lit(b",\"pre_vote\":true"),
                }
            }
            b"AppendEntries" => {
                let prev_log_index = self.num(b",\"prev_log_index\":")?;
                let prev_log_term = self.num(b",\"prev_log_term\":")?;
                self.lit(b",\"entries\":")?;
                let entries = self.u64s()?;
                let mut digests = Vec::new();
                if self.opt_lit(b",\"digests\":") {
                    self.array(|c| {
                        digests.push(c.string()?);
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
            b"AppendEntriesResponse" => {
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
            b"TimeoutNow" => Msg::TimeoutNow { term },
            b"Heartbeat" => Msg::Heartbeat {
                term,
                round: self.num(b",\"round\":")?,
            },
            b"HeartbeatResponse" => Msg::HeartbeatResponse {
                term,
                round: self.num(b",\"round\":")?,
            },
            b"ReadIndex" => Msg::ReadIndex {
                term,
                client: self.num(b",\"client\":")?,
                serial: self.num(b",\"serial\":")?,
            },
            b"ReadIndexResponse" => {
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
            _ => return self.fail(),
        };
        self.lit(b"}")?;
        Ok(msg)
    }

    fn exact_effects(&mut self) -> R<Vec<StepEffect>> {
        let mut effects = Vec::new();
        if self.opt_lit(b"]") {
            return Ok(effects);
        }
        loop {
            effects.push(self.exact_effect()?);
            if !self.opt_lit(b",") {
                self.lit(b"]")?;
                return Ok(effects);
            }
        }
    }

    fn exact_effect(&mut self) -> R<StepEffect> {
        self.lit(b"{\"effect\":\"")?;
        let effect = match self.tag_value()? {
            b"send" => {
                let to = self.num(b",\"to\":")?;
                let id = match self.opt_lit(b",\"id\":") {
                    true => Some(self.exact_id()?),
                    false => None,
                };
                self.lit(b",\"msg\":")?;
                StepEffect::Send {
                    to,
                    id,
                    msg: self.exact_msg()?,
                }
            }
            b"persist_hard_state" => {
                let term = self.num(b",\"term\":")?;
                self.lit(b",\"vote\":")?;
                StepEffect::PersistHardState {
                    term,
                    vote: self.null_or_u64()?,
                }
            }
            b"persist_log" => {
                let from = self.num(b",\"from\":")?;
                self.lit(b",\"entries\":")?;
                StepEffect::PersistLog {
                    from,
                    entries: self.u64s()?,
                }
            }
            b"apply" => StepEffect::Apply {
                index: self.num(b",\"index\":")?,
                term: self.num(b",\"term\":")?,
                digest: match self.opt_lit(b",\"digest\":") {
                    true => Some(self.string()?),
                    false => None,
                },
            },
            b"reply" => {
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
            _ => return self.fail(),
        };
        self.lit(b"}")?;
        Ok(effect)
    }

    /// The state after `{"term":`.
    fn exact_state(&mut self) -> R<StateView> {
        let term = self.digits()?;
        self.lit(b",\"vote\":")?;
        let vote = self.null_or_u64()?;
        self.lit(b",\"role\":")?;
        let role = self.role()?;
        self.lit(b",\"log\":")?;
        let log = self.pairs()?;
        let log_from = match self.opt_lit(b",\"log_from\":") {
            true => self.digits()?,
            false => 1,
        };
        let commit = self.num(b",\"commit\":")?;
        let applied = self.num(b",\"applied\":")?;
        let next = match self.opt_lit(b",\"next\":") {
            true => self.exact_id_map()?,
            false => BTreeMap::new(),
        };
        let r#match = match self.opt_lit(b",\"match\":") {
            true => self.exact_id_map()?,
            false => BTreeMap::new(),
        };
        self.lit(b"}")?;
        Ok(StateView {
            term,
            vote,
            role,
            log,
            log_from,
            commit,
            applied,
            next,
            r#match,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::step;

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
