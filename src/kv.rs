//! The default application: a key-value store with `SET`, `DEL` and `GET`.
//!
//! A `GET` sent as a client request goes through the log like a write; sent as a read
//! (`Input::Read`) it is answered without a log entry, by ReadIndex or a lease (dissertation
//! §6.4). Both are linearizable.

use crate::state_machine::StateMachine;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

/// A key-value command.
///
/// ```
/// use refraft::KvCommand;
/// let set: KvCommand = "SET x=1".parse().unwrap();
/// assert_eq!(set, KvCommand::Set { key: "x".into(), value: "1".into() });
/// assert_eq!(set.to_string(), "SET x=1");
/// assert_eq!("DEL x".parse::<KvCommand>().unwrap(), KvCommand::Delete { key: "x".into() });
/// assert!("PUT x".parse::<KvCommand>().is_err());
/// // The text form round-trips: `%`, `=` (in keys), whitespace and control characters are
/// // percent-encoded.
/// let odd = KvCommand::Set { key: "a=b c".into(), value: " 50% \n".into() };
/// assert_eq!(odd.to_string(), "SET a%3Db%20c=%2050%25%20%0A");
/// assert_eq!(odd.to_string().parse::<KvCommand>().unwrap(), odd);
/// ```
///
/// Keys are not empty: an empty key has no text form (it displays as nothing and does not
/// parse back).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum KvCommand {
    /// Store `value` under `key`.
    Set {
        /// The key.
        key: String,
        /// The value.
        value: String,
    },
    /// Remove `key`.
    Delete {
        /// The key.
        key: String,
    },
    /// Read `key`.
    Get {
        /// The key.
        key: String,
    },
}

/// What a key-value command answers.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum KvOutput {
    /// A `SET` or `DEL` took effect.
    Done,
    /// The value a `GET` read (`None`: the key is absent).
    Value(Option<String>),
}

/// Why a text is not a key-value command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ParseKvError {
    /// The text is empty.
    Empty,
    /// The first word is not SET, DEL or GET.
    UnknownVerb(String),
    /// The verb is right but its argument is not (`SET` needs `key=value`, the others `key`).
    BadArgument(String),
}

impl fmt::Display for ParseKvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseKvError::Empty => write!(f, "empty command"),
            ParseKvError::UnknownVerb(v) => write!(f, "unknown verb {v:?} (want SET, DEL or GET)"),
            ParseKvError::BadArgument(a) => write!(f, "bad argument {a:?}"),
        }
    }
}

/// The most characters of the input an error repeats.
const QUOTED: usize = 40;

/// At most [`QUOTED`] characters of `text`, with `…` when cut.
fn quote(text: &str) -> String {
    match text.char_indices().nth(QUOTED) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_string(),
    }
}

/// Whether `c` is percent-encoded in a key (`in_key`) or a value.
fn encoded(c: char, in_key: bool) -> bool {
    c == '%' || (in_key && c == '=') || c.is_whitespace() || c.is_control()
}

/// Writes `text` with `%`, whitespace, control characters and (in keys) `=` percent-encoded
/// as the UTF-8 bytes of the character.
fn encode(f: &mut fmt::Formatter<'_>, text: &str, in_key: bool) -> fmt::Result {
    for c in text.chars() {
        if encoded(c, in_key) {
            let mut buf = [0; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                write!(f, "%{b:02X}")?;
            }
        } else {
            write!(f, "{c}")?;
        }
    }
    Ok(())
}

/// Reverses [`encode`]; `None` if a `%` is not followed by two hex digits or the bytes are
/// not UTF-8.
fn decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

impl std::error::Error for ParseKvError {}

impl FromStr for KvCommand {
    type Err = ParseKvError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        let (verb, rest) = s.split_once(char::is_whitespace).unwrap_or((s, ""));
        let rest = rest.trim();
        let key = |k: &str| {
            (!k.is_empty() && !k.contains(char::is_whitespace))
                .then(|| decode(k))
                .flatten()
                .filter(|k| !k.is_empty())
        };
        let bad = || ParseKvError::BadArgument(quote(rest));
        match verb.to_ascii_uppercase().as_str() {
            "" => Err(ParseKvError::Empty),
            "SET" => {
                let (k, v) = rest.split_once('=').ok_or_else(bad)?;
                // Whitespace inside a value is taken as written (`SET x=a b`).
                let value = decode(v);
                match (key(k), value) {
                    (Some(key), Some(value)) => Ok(KvCommand::Set { key, value }),
                    _ => Err(bad()),
                }
            }
            "DEL" => key(rest)
                .map(|key| KvCommand::Delete { key })
                .ok_or_else(bad),
            "GET" => key(rest).map(|key| KvCommand::Get { key }).ok_or_else(bad),
            _ => Err(ParseKvError::UnknownVerb(quote(verb))),
        }
    }
}

impl fmt::Display for KvCommand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KvCommand::Set { key, value } => {
                f.write_str("SET ")?;
                encode(f, key, true)?;
                f.write_str("=")?;
                encode(f, value, false)
            }
            KvCommand::Delete { key } => {
                f.write_str("DEL ")?;
                encode(f, key, true)
            }
            KvCommand::Get { key } => {
                f.write_str("GET ")?;
                encode(f, key, true)
            }
        }
    }
}

/// The key-value state machine.
///
/// ```
/// use refraft::{KvStore, KvCommand, KvOutput, StateMachine};
/// let mut kv = KvStore::default();
/// kv.apply(&"SET x=1".parse().unwrap());
/// assert_eq!(kv.apply(&"GET x".parse().unwrap()), KvOutput::Value(Some("1".into())));
/// kv.apply(&"DEL x".parse().unwrap());
/// assert_eq!(kv.get("x"), None);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct KvStore {
    data: BTreeMap<String, String>,
}

impl KvStore {
    /// The value stored under `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.data.get(key).map(String::as_str)
    }

    /// All pairs, in key order.
    pub fn pairs(&self) -> &BTreeMap<String, String> {
        &self.data
    }
}

impl StateMachine for KvStore {
    type Command = KvCommand;
    type Output = KvOutput;

    fn apply(&mut self, command: &KvCommand) -> KvOutput {
        match command {
            KvCommand::Set { key, value } => {
                // An existing key keeps its string and reuses the value's buffer.
                match self.data.get_mut(key) {
                    Some(old) => old.clone_from(value),
                    None => {
                        self.data.insert(key.clone(), value.clone());
                    }
                }
                KvOutput::Done
            }
            KvCommand::Delete { key } => {
                self.data.remove(key);
                KvOutput::Done
            }
            KvCommand::Get { key } => KvOutput::Value(self.data.get(key).cloned()),
        }
    }

    /// `GET` is a query: with `Input::Read` it is answered without a log entry
    /// (dissertation §6.4); `SET` and `DEL` must go through the log.
    ///
    /// ```
    /// use refraft::{KvStore, StateMachine, KvOutput};
    /// let mut kv = KvStore::default();
    /// kv.apply(&"SET x=1".parse().unwrap());
    /// assert_eq!(kv.query(&"GET x".parse().unwrap()), Some(KvOutput::Value(Some("1".into()))));
    /// assert_eq!(kv.query(&"DEL x".parse().unwrap()), None);
    /// ```
    fn query(&self, command: &KvCommand) -> Option<KvOutput> {
        match command {
            KvCommand::Get { key } => Some(KvOutput::Value(self.data.get(key).cloned())),
            KvCommand::Set { .. } | KvCommand::Delete { .. } => None,
        }
    }
}
