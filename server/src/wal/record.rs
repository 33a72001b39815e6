//! One WAL record on disk: `[length: u32 LE][crc: u32 LE][payload]`, where `crc` is the
//! CRC-32C of the length bytes followed by the payload, and the payload is the postcard
//! encoding of a [`WalRecord`]. A record is whole or it is not: a short read is a torn write,
//! a checksum mismatch a torn or corrupt one.
//!
//! A length field of 0 is never written: the payload always holds at least the first index
//! and the entries' count (one byte each at the least), so [`encode`] never frames fewer than
//! 2 payload bytes. A zero length field therefore means "no record starts here" — the unused,
//! zero-filled space of a preallocated segment (see [`super::segment`]) — and [`frame`] reports
//! it as [`Framed::Unused`], never as a record with an empty payload and a bad checksum.

use crate::storage_error::StorageError;
use refraft::{Entry, Index};
use serde::de::DeserializeSeed;
use serde::{Deserialize, Serialize};

/// Bytes before the payload: length and checksum.
pub const HEADER_LEN: usize = 8;
/// The largest payload accepted; a larger length field is damage, not a record.
pub const MAX_PAYLOAD: usize = 64 << 20;

/// The one kind of record: "the log from `first_index` on is now `entries`". A record whose
/// `first_index` is at or below the log's end replaces the suffix (a follower dropping an old
/// leader's uncommitted entries, Figure 2 AppendEntries step 3), so truncation is as durable as
/// an append; an empty `entries` is a pure truncation.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct WalRecord<C> {
    /// Where the entries go.
    pub first_index: Index,
    /// The new suffix.
    pub entries: Vec<Entry<C>>,
}

/// The same record borrowed, for encoding without a copy; it encodes exactly as `WalRecord`.
#[derive(Serialize)]
struct WalRecordRef<'a, C> {
    first_index: Index,
    entries: &'a [Entry<C>],
}

/// Appends the framed record for (`first_index`, `entries`) to `buf`.
pub fn encode<C: Serialize>(
    first_index: Index,
    entries: &[Entry<C>],
    buf: &mut Vec<u8>,
) -> Result<(), StorageError> {
    let start = buf.len();
    buf.extend_from_slice(&[0; HEADER_LEN]);
    let record = WalRecordRef {
        first_index,
        entries,
    };
    let encoded = postcard::to_extend(&record, std::mem::take(buf));
    *buf = encoded.map_err(|e| StorageError::Encode(e.to_string()))?;
    let payload_len = buf.len() - start - HEADER_LEN;
    debug_assert!(payload_len >= 2, "postcard writes the index and the count");
    if payload_len > MAX_PAYLOAD {
        buf.truncate(start);
        return Err(StorageError::Encode(format!(
            "record of {payload_len} bytes exceeds {MAX_PAYLOAD}"
        )));
    }
    let len_bytes = (payload_len as u32).to_le_bytes();
    let crc = crc32c::crc32c_append(crc32c::crc32c(&len_bytes), &buf[start + HEADER_LEN..]);
    buf[start..start + 4].copy_from_slice(&len_bytes);
    buf[start + 4..start + 8].copy_from_slice(&crc.to_le_bytes());
    Ok(())
}

/// What the bytes at some offset hold.
#[derive(Debug, PartialEq, Eq)]
pub enum Decoded<C> {
    /// A whole, intact record of `len` bytes (header included).
    Record(WalRecord<C>, usize),
    /// Fewer bytes than the header or the length field announce: the write was cut short.
    Incomplete,
    /// A zero length field: no record starts here.
    Unused,
    /// The bytes are all there but wrong.
    Invalid(String),
}

/// How the bytes at some offset are framed, before the checksum is looked at.
#[derive(Debug, PartialEq, Eq)]
pub enum Framed {
    /// A header and as many payload bytes as it announces: `len` bytes, header included.
    Whole(usize),
    /// Fewer bytes than the header or the length field announce: the write was cut short.
    Incomplete,
    /// A zero length field (the header is all there): no record starts here. It is the unused
    /// space of a preallocated segment when only zeros follow, damage otherwise.
    Unused,
    /// The length field is impossible.
    Invalid(String),
}

/// Reads the header at the start of `bytes`: how long the record there is, if it is all there.
pub fn frame(bytes: &[u8]) -> Framed {
    if bytes.len() < HEADER_LEN {
        return Framed::Incomplete;
    }
    let len = u32::from_le_bytes(bytes[0..4].try_into().expect("4 bytes")) as usize;
    if len == 0 {
        return Framed::Unused;
    }
    if len > MAX_PAYLOAD {
        return Framed::Invalid(format!("length {len} exceeds {MAX_PAYLOAD}"));
    }
    if bytes.len() - HEADER_LEN < len {
        return Framed::Incomplete;
    }
    Framed::Whole(HEADER_LEN + len)
}

/// Checks and decodes one framed record: `record` is exactly the bytes [`frame`] measured.
pub fn check_and_decode<C: serde::de::DeserializeOwned>(
    record: &[u8],
) -> Result<WalRecord<C>, String> {
    let mut entries = Vec::new();
    let first_index = check_and_decode_into(record, &mut entries)?;
    Ok(WalRecord {
        first_index,
        entries,
    })
}

/// [`check_and_decode`] that appends the record's entries to `into` (no vector per record, so
/// that recovery allocates only what the entries themselves hold) and returns its first index.
/// On an error `into` is left as it was.
pub fn check_and_decode_into<C: serde::de::DeserializeOwned>(
    record: &[u8],
    into: &mut Vec<Entry<C>>,
) -> Result<Index, String> {
    let len_bytes: [u8; 4] = record[0..4].try_into().expect("4 bytes");
    let crc = u32::from_le_bytes(record[4..8].try_into().expect("4 bytes"));
    let payload = &record[HEADER_LEN..];
    let actual = crc32c::crc32c_append(crc32c::crc32c(&len_bytes), payload);
    if actual != crc {
        return Err(format!(
            "CRC-32C mismatch (stored {crc:#010x}, computed {actual:#010x})"
        ));
    }
    // Postcard encodes a struct as its fields in order: the index, then the entries' sequence.
    let before = into.len();
    let mut de = postcard::Deserializer::from_bytes(payload);
    let decoded = Index::deserialize(&mut de).and_then(|first_index| {
        AppendEntries(into)
            .deserialize(&mut de)
            .map(|()| first_index)
    });
    decoded.map_err(|e| {
        into.truncate(before);
        format!("checksum matches but payload does not decode: {e}")
    })
}

/// Deserializes a sequence of entries by pushing each onto the vector.
struct AppendEntries<'a, C>(&'a mut Vec<Entry<C>>);

impl<'de, C: serde::de::DeserializeOwned> serde::de::DeserializeSeed<'de> for AppendEntries<'_, C> {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de, C: serde::de::DeserializeOwned> serde::de::Visitor<'de> for AppendEntries<'_, C> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a sequence of log entries")
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        if let Some(n) = seq.size_hint() {
            // A hint from untrusted bytes: reserve no more than the payload could hold.
            self.0.reserve(n.min(1 << 16));
        }
        while let Some(entry) = seq.next_element::<Entry<C>>()? {
            self.0.push(entry);
        }
        Ok(())
    }
}

/// Reads the record at the start of `bytes`.
pub fn decode<C: serde::de::DeserializeOwned>(bytes: &[u8]) -> Decoded<C> {
    match frame(bytes) {
        Framed::Whole(len) => match check_and_decode(&bytes[..len]) {
            Ok(record) => Decoded::Record(record, len),
            Err(reason) => Decoded::Invalid(reason),
        },
        Framed::Incomplete => Decoded::Incomplete,
        Framed::Unused => Decoded::Unused,
        Framed::Invalid(reason) => Decoded::Invalid(reason),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_round_trips_and_every_cut_is_incomplete() {
        let entries = vec![Entry::noop(1), Entry::noop(2)];
        let mut buf = Vec::new();
        encode::<String>(4, &entries, &mut buf).unwrap();
        let want = WalRecord {
            first_index: 4,
            entries,
        };
        assert_eq!(decode::<String>(&buf), Decoded::Record(want, buf.len()));
        for cut in 0..buf.len() {
            assert_eq!(
                decode::<String>(&buf[..cut]),
                Decoded::Incomplete,
                "cut {cut}"
            );
        }
    }

    #[test]
    fn a_zero_length_field_is_unused_space_not_a_record() {
        // Zeros (the preallocated tail), and a zero length with a checksum that would match
        // an empty payload: neither is a record.
        assert_eq!(decode::<String>(&[0; 64]), Decoded::Unused);
        let mut empty = [0u8; 8];
        empty[4..].copy_from_slice(&crc32c::crc32c(&[0; 4]).to_le_bytes());
        assert_eq!(decode::<String>(&empty), Decoded::Unused);
        // The smallest record (a pure truncation) has a non-zero length.
        let mut buf = Vec::new();
        encode::<String>(1, &[], &mut buf).unwrap();
        assert!(u32::from_le_bytes(buf[0..4].try_into().unwrap()) >= 2);
        assert!(matches!(decode::<String>(&buf), Decoded::Record(..)));
    }

    #[test]
    fn every_flipped_bit_is_caught() {
        let mut buf = Vec::new();
        encode::<String>(1, &[Entry::noop(3)], &mut buf).unwrap();
        for bit in 0..buf.len() * 8 {
            let mut damaged = buf.clone();
            damaged[bit / 8] ^= 1 << (bit % 8);
            assert!(
                !matches!(decode::<String>(&damaged), Decoded::Record(..)),
                "bit {bit}"
            );
        }
    }
}
