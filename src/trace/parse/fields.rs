//! The general fast reader's messages: every field by bit number, which fields each message
//! type has, and the fields read so far of one message.

use super::{Cursor, NotCanonical, R};
use crate::trace::format::Msg;

#[derive(Clone, Copy)]
pub(super) enum MsgKind {
    RequestVote,
    RequestVoteResponse,
    AppendEntries,
    AppendEntriesResponse,
    TimeoutNow,
    Heartbeat,
    HeartbeatResponse,
    ReadIndex,
    ReadIndexResponse,
}

/// Every message field, by bit number.
pub(super) fn field_bit(key: &[u8]) -> Option<u32> {
    Some(match key {
        b"term" => 0,
        b"last_log_index" => 1,
        b"last_log_term" => 2,
        b"pre_vote" => 3,
        b"granted" => 4,
        b"prev_log_index" => 5,
        b"prev_log_term" => 6,
        b"entries" => 7,
        b"digests" => 8,
        b"leader_commit" => 9,
        b"success" => 10,
        b"match_index" => 11,
        b"reject_index" => 12,
        b"round" => 13,
        b"client" => 14,
        b"serial" => 15,
        b"read_index" => 16,
        _ => return None,
    })
}

impl MsgKind {
    /// The fields of this message, as bits of [`field_bit`].
    pub(super) fn fields(self) -> u32 {
        let bits = |names: &[usize]| names.iter().fold(0u32, |m, &b| m | 1 << b);
        match self {
            MsgKind::RequestVote => bits(&[0, 1, 2, 3]),
            MsgKind::RequestVoteResponse => bits(&[0, 4, 3]),
            MsgKind::AppendEntries => bits(&[0, 5, 6, 7, 8, 9]),
            MsgKind::AppendEntriesResponse => bits(&[0, 10, 11, 12]),
            MsgKind::TimeoutNow => bits(&[0]),
            MsgKind::Heartbeat | MsgKind::HeartbeatResponse => bits(&[0, 13]),
            MsgKind::ReadIndex => bits(&[0, 14, 15]),
            MsgKind::ReadIndexResponse => bits(&[0, 14, 15, 16]),
        }
    }
}

/// The fields read so far of one message.
#[derive(Default)]
pub(super) struct MsgFields {
    nums: [Option<u64>; 17],
    flags: [Option<bool>; 17],
    entries: Option<Vec<u64>>,
    digests: Vec<String>,
}

impl MsgFields {
    pub(super) fn read(&mut self, c: &mut Cursor, bit: u32) -> R<()> {
        let b = bit as usize;
        match b {
            3 | 4 | 10 => self.flags[b] = Some(c.bool()?),
            7 => self.entries = Some(c.u64s()?),
            8 => {
                let mut digests = Vec::new();
                c.array(|c| {
                    digests.push(c.string()?);
                    Ok(())
                })?;
                self.digests = digests;
            }
            // Optional numbers: null is none.
            11 | 12 | 16 => self.nums[b] = c.opt_u64()?,
            _ => self.nums[b] = Some(c.u64()?),
        }
        Ok(())
    }

    pub(super) fn into_msg(self, kind: MsgKind, missing: NotCanonical) -> R<Msg> {
        let n = |b: usize| self.nums[b].ok_or(missing);
        let flag = |b: usize| self.flags[b].ok_or(missing);
        let pre_vote = self.flags[3].unwrap_or(false);
        Ok(match kind {
            MsgKind::RequestVote => Msg::RequestVote {
                term: n(0)?,
                last_log_index: n(1)?,
                last_log_term: n(2)?,
                pre_vote,
            },
            MsgKind::RequestVoteResponse => Msg::RequestVoteResponse {
                term: n(0)?,
                granted: flag(4)?,
                pre_vote,
            },
            MsgKind::AppendEntries => Msg::AppendEntries {
                term: n(0)?,
                prev_log_index: n(5)?,
                prev_log_term: n(6)?,
                leader_commit: n(9)?,
                entries: self.entries.ok_or(missing)?,
                digests: self.digests,
            },
            MsgKind::AppendEntriesResponse => Msg::AppendEntriesResponse {
                term: n(0)?,
                success: flag(10)?,
                match_index: self.nums[11],
                reject_index: self.nums[12],
            },
            MsgKind::TimeoutNow => Msg::TimeoutNow { term: n(0)? },
            MsgKind::Heartbeat => Msg::Heartbeat {
                term: n(0)?,
                round: n(13)?,
            },
            MsgKind::HeartbeatResponse => Msg::HeartbeatResponse {
                term: n(0)?,
                round: n(13)?,
            },
            MsgKind::ReadIndex => Msg::ReadIndex {
                term: n(0)?,
                client: n(14)?,
                serial: n(15)?,
            },
            MsgKind::ReadIndexResponse => Msg::ReadIndexResponse {
                term: n(0)?,
                client: n(14)?,
                serial: n(15)?,
                read_index: self.nums[16],
            },
        })
    }
}
