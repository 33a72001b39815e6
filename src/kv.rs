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
/// ```
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

impl std::error::Error for ParseKvError {}

impl FromStr for KvCommand {
    type Err = ParseKvError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        let (verb, rest) = s.split_once(char::is_whitespace).unwrap_or((s, ""));
        let rest = rest.trim();
        let valid_key = |k: &str| !k.is_empty() && !k.contains(char::is_whitespace);
        match verb.to_ascii_uppercase().as_str() {
            "" => Err(ParseKvError::Empty),
            "SET" => match rest.split_once('=') {
                Some((k, v)) if valid_key(k) => Ok(KvCommand::Set {
                    key: k.to_string(),
                    value: v.to_string(),
                }),
                _ => Err(ParseKvError::BadArgument(rest.to_string())),
            },
            "DEL" if valid_key(rest) => Ok(KvCommand::Delete {
                key: rest.to_string(),
            }),
            "GET" if valid_key(rest) => Ok(KvCommand::Get {
                key: rest.to_string(),
            }),
            "DEL" | "GET" => Err(ParseKvError::BadArgument(rest.to_string())),
            _ => Err(ParseKvError::UnknownVerb(verb.to_string())),
        }
    }
}

impl fmt::Display for KvCommand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KvCommand::Set { key, value } => write!(f, "SET {key}={value}"),
            KvCommand::Delete { key } => write!(f, "DEL {key}"),
            KvCommand::Get { key } => write!(f, "GET {key}"),
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
                self.data.insert(key.clone(), value.clone());
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
