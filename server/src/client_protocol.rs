//! The client line protocol, one request and one answer per line, so that `nc` works:
//!
//! ```text
//! SET x=1          -> OK
//! GET x            -> 1            (or NOT_FOUND)
//! DEL x            -> OK
//! anything, at a follower -> NOT_LEADER 127.0.0.1:7101   (NOT_LEADER alone if none is known)
//! a bad line       -> ERR <reason>
//! ```
//!
//! A request may name its client session and serial, `@<client>:<serial> SET x=1`; a retry
//! with the same pair is applied at most once (dissertation §6.3). Without it, each connection
//! is a session of its own. `STATE` and `LOG <from> <count>` inspect the server.

use refraft::{ClientId, Entry, Index, KvCommand, Payload};
use std::fmt;

/// A parsed request line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Request {
    /// A key-value command, with its session and serial when the client named them.
    Command {
        /// `(client, serial)` from an `@client:serial` prefix.
        session: Option<(ClientId, u64)>,
        /// The command.
        command: KvCommand,
    },
    /// `STATE`: one line describing the server.
    State,
    /// `LOG <from> <count>`: entries of the log, one per line, then `END`.
    Log {
        /// The first index.
        from: Index,
        /// How many at most.
        count: usize,
    },
}

/// Parses one request line.
///
/// ```
/// use refraft::{ClientId, KvCommand};
/// use refraft_server::client_protocol::{parse_request, Request};
/// assert_eq!(
///     parse_request("@7:3 DEL x").unwrap(),
///     Request::Command { session: Some((ClientId(7), 3)), command: KvCommand::Delete { key: "x".into() } }
/// );
/// assert!(parse_request("PUT x").unwrap_err().starts_with("unknown verb"));
/// ```
pub fn parse_request(line: &str) -> Result<Request, String> {
    let line = line.trim();
    let (session, rest) = match line.strip_prefix('@') {
        Some(tagged) => {
            let (tag, rest) = tagged.split_once(' ').unwrap_or((tagged, ""));
            let (client, serial) = tag
                .split_once(':')
                .and_then(|(c, s)| Some((c.parse().ok()?, s.parse().ok()?)))
                .ok_or_else(|| format!("bad session tag {tag:?} (want @client:serial)"))?;
            (Some((ClientId(client), serial)), rest)
        }
        None => (None, line),
    };
    let mut words = rest.split_whitespace();
    match words.next().map(str::to_ascii_uppercase).as_deref() {
        Some("STATE") if session.is_none() => return Ok(Request::State),
        Some("LOG") if session.is_none() => {
            let mut num = || words.next().and_then(|w| w.parse::<u64>().ok());
            return match (num(), num()) {
                (Some(from), Some(count)) => Ok(Request::Log {
                    from: from.max(1),
                    count: count.min(10_000) as usize,
                }),
                _ => Err("LOG needs <from> <count>".into()),
            };
        }
        _ => {}
    }
    let command: KvCommand = rest.parse().map_err(|e| format!("{e}"))?;
    if let KvCommand::Set { value, .. } = &command {
        if value == "NOT_FOUND" || value.starts_with("NOT_LEADER") || value.starts_with("ERR") {
            return Err("a value may not read like an answer (NOT_FOUND, NOT_LEADER, ERR)".into());
        }
    }
    Ok(Request::Command { session, command })
}

/// An answer line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reply {
    /// A `SET` or `DEL` was applied.
    Ok,
    /// A `GET` found this value.
    Value(String),
    /// A `GET` found no value.
    NotFound,
    /// Not the leader; try this client address, if known.
    NotLeader(Option<String>),
    /// Refused or failed.
    Err(String),
}

impl fmt::Display for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reply::Ok => write!(f, "OK"),
            Reply::Value(v) => write!(f, "{v}"),
            Reply::NotFound => write!(f, "NOT_FOUND"),
            Reply::NotLeader(Some(addr)) => write!(f, "NOT_LEADER {addr}"),
            Reply::NotLeader(None) => write!(f, "NOT_LEADER"),
            Reply::Err(reason) => write!(f, "ERR {reason}"),
        }
    }
}

impl Reply {
    /// Reads an answer line to `command`.
    ///
    /// ```
    /// use refraft_server::client_protocol::Reply;
    /// let get = "GET x".parse().unwrap();
    /// assert_eq!(Reply::parse("NOT_LEADER 127.0.0.1:7102", &get), Reply::NotLeader(Some("127.0.0.1:7102".into())));
    /// assert_eq!(Reply::parse("42", &get), Reply::Value("42".into()));
    /// ```
    pub fn parse(line: &str, command: &KvCommand) -> Reply {
        let line = line.trim_end_matches(['\r', '\n']);
        if let Some(rest) = line.strip_prefix("NOT_LEADER") {
            let addr = rest.trim();
            return Reply::NotLeader((!addr.is_empty()).then(|| addr.to_string()));
        }
        if let Some(reason) = line.strip_prefix("ERR") {
            return Reply::Err(reason.trim().to_string());
        }
        match (command, line) {
            (KvCommand::Get { .. }, "NOT_FOUND") => Reply::NotFound,
            (KvCommand::Get { .. }, value) => Reply::Value(value.to_string()),
            (_, "OK") => Reply::Ok,
            (_, other) => Reply::Err(format!("unexpected answer {other:?}")),
        }
    }
}

/// One line of a `LOG` answer.
pub fn format_entry(index: Index, entry: &Entry<KvCommand>) -> String {
    match &entry.payload {
        Payload::Noop => format!("ENTRY {index} {} noop", entry.term),
        Payload::Command {
            client,
            serial,
            command,
        } => format!(
            "ENTRY {index} {} {}:{serial} {command}",
            entry.term, client.0
        ),
    }
}
