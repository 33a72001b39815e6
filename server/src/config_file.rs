//! `refraft serve --config FILE`: the same settings as the command line, in a small TOML file.
//!
//! ```toml
//! id = 1
//! data = "data/n1"
//! client = "127.0.0.1:7101"
//! # optional, with the command line's defaults:
//! election_ms = "150-300"
//! heartbeat_ms = 50
//! request_timeout_ms = 2000
//! reconnect_ms = "10-500"
//! trace = "n1.trace.ndjson"   # `--trace`: this server's steps (spec/TRACE.md); off if absent
//!
//! [peers]
//! 1 = "127.0.0.1:7001"
//! 2 = "127.0.0.1:7002"
//! 3 = "127.0.0.1:7003"
//! ```
//!
//! Every problem is a [`ConfigFileError`] naming the file and the key: a missing or unknown
//! key, a value of the wrong type, a TOML syntax error (with its line and column).

use crate::server::ServerConfig;
use refraft::NodeId;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;
use toml_edit::{DocumentMut, Item};

/// Why a configuration file cannot be used.
#[derive(Debug)]
pub struct ConfigFileError {
    /// The file.
    pub path: PathBuf,
    /// What is wrong with it.
    pub kind: ConfigErrorKind,
}

/// What is wrong with a configuration file.
#[derive(Debug)]
pub enum ConfigErrorKind {
    /// It could not be read.
    Read(std::io::Error),
    /// It is not TOML.
    Syntax(String),
    /// A required key is missing.
    Missing(&'static str),
    /// A key this program does not know (a typo would otherwise be silently ignored).
    Unknown(String),
    /// A key's value is unusable.
    BadValue {
        /// The key.
        key: String,
        /// Why.
        reason: String,
    },
}

impl std::fmt::Display for ConfigFileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let path = self.path.display();
        match &self.kind {
            ConfigErrorKind::Read(e) => write!(f, "cannot read config file {path}: {e}"),
            ConfigErrorKind::Syntax(e) => {
                write!(f, "config file {path} is not valid TOML: {}", e.trim_end())
            }
            ConfigErrorKind::Missing(key) => {
                write!(f, "config file {path}: missing key `{key}`")
            }
            ConfigErrorKind::Unknown(key) => write!(
                f,
                "config file {path}: unknown key `{key}` (known: {})",
                KEYS.join(", ")
            ),
            ConfigErrorKind::BadValue { key, reason } => {
                write!(f, "config file {path}: bad value for `{key}`: {reason}")
            }
        }
    }
}

impl std::error::Error for ConfigFileError {}

const KEYS: [&str; 9] = [
    "id",
    "peers",
    "data",
    "client",
    "election_ms",
    "heartbeat_ms",
    "request_timeout_ms",
    "reconnect_ms",
    "trace",
];

/// Reads the server configuration in the TOML file at `path`.
pub fn load(path: &Path) -> Result<ServerConfig, ConfigFileError> {
    let error = |kind| ConfigFileError {
        path: path.to_path_buf(),
        kind,
    };
    let text = std::fs::read_to_string(path).map_err(|e| error(ConfigErrorKind::Read(e)))?;
    parse(&text).map_err(error)
}

fn bad(key: &str, reason: impl Into<String>) -> ConfigErrorKind {
    ConfigErrorKind::BadValue {
        key: key.to_string(),
        reason: reason.into(),
    }
}

/// The configuration that TOML text describes.
pub fn parse(text: &str) -> Result<ServerConfig, ConfigErrorKind> {
    let doc: DocumentMut = text
        .parse()
        .map_err(|e: toml_edit::TomlError| ConfigErrorKind::Syntax(e.to_string()))?;
    if let Some((key, _)) = doc.iter().find(|(k, _)| !KEYS.contains(k)) {
        return Err(ConfigErrorKind::Unknown(key.to_string()));
    }
    let get = |key: &'static str| doc.get(key).ok_or(ConfigErrorKind::Missing(key));
    let int = |key: &'static str, item: &Item| -> Result<u64, ConfigErrorKind> {
        let n = item
            .as_integer()
            .ok_or_else(|| bad(key, "want an integer"))?;
        u64::try_from(n).map_err(|_| bad(key, format!("{n} is negative")))
    };
    let string = |key: &'static str, item: &'_ Item| -> Result<String, ConfigErrorKind> {
        item.as_str()
            .map(str::to_string)
            .ok_or_else(|| bad(key, "want a string"))
    };
    let range = |key: &'static str, default: (u64, u64)| -> Result<(u64, u64), ConfigErrorKind> {
        match doc.get(key) {
            None => Ok(default),
            Some(item) => crate::cli::parse_range(&string(key, item)?).map_err(|e| bad(key, e)),
        }
    };
    let millis = |key: &'static str, default: u64| -> Result<u64, ConfigErrorKind> {
        doc.get(key).map_or(Ok(default), |item| int(key, item))
    };

    let id = int("id", get("id")?)?;
    let data = PathBuf::from(string("data", get("data")?)?);
    let client: SocketAddr = string("client", get("client")?)?
        .parse()
        .map_err(|e| bad("client", format!("{e}")))?;
    let table = get("peers")?
        .as_table_like()
        .ok_or_else(|| bad("peers", "want a table of ID = \"HOST:PORT\""))?;
    let mut peers = BTreeMap::new();
    for (name, item) in table.iter() {
        let key = format!("peers.{name}");
        let peer: u64 = name
            .parse()
            .map_err(|_| bad(&key, "a server id is a number"))?;
        let addr: SocketAddr = item
            .as_str()
            .ok_or_else(|| bad(&key, "want a string \"HOST:PORT\""))?
            .parse()
            .map_err(|e| bad(&key, format!("{e}")))?;
        peers.insert(NodeId(peer), addr);
    }
    if peers.is_empty() {
        return Err(bad("peers", "no peers listed"));
    }
    let election = range("election_ms", (150, 300))?;
    let reconnect = range("reconnect_ms", (10, 500))?;
    let ms = Duration::from_millis;
    Ok(ServerConfig {
        id: NodeId(id),
        peers,
        data,
        client_addr: client,
        election_timeout: ms(election.0)..ms(election.1),
        heartbeat: ms(millis("heartbeat_ms", 50)?),
        request_timeout: ms(millis("request_timeout_ms", 2000)?),
        reconnect_backoff: (ms(reconnect.0), ms(reconnect.1)),
        trace: match doc.get("trace") {
            None => None,
            Some(item) => Some(PathBuf::from(string("trace", item)?)),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
id = 2
data = "d/n2"
client = "127.0.0.1:7102"
heartbeat_ms = 20
reconnect_ms = "5-50"
[peers]
1 = "127.0.0.1:7001"
2 = "127.0.0.1:7002"
"#;

    #[test]
    fn a_good_file_gives_the_configuration_with_defaults_for_what_it_leaves_out() {
        let c = parse(GOOD).unwrap();
        assert_eq!(c.id, NodeId(2));
        assert_eq!(c.peers.len(), 2);
        assert_eq!(c.peers[&NodeId(1)], "127.0.0.1:7001".parse().unwrap());
        assert_eq!(c.data, PathBuf::from("d/n2"));
        assert_eq!(c.heartbeat, Duration::from_millis(20));
        assert_eq!(
            c.election_timeout,
            Duration::from_millis(150)..Duration::from_millis(300)
        );
        assert_eq!(c.request_timeout, Duration::from_millis(2000));
        assert_eq!(c.trace, None);
        let traced = parse(&format!("trace = \"t.ndjson\"\n{GOOD}")).unwrap();
        assert_eq!(traced.trace, Some(PathBuf::from("t.ndjson")));
        assert_eq!(
            c.reconnect_backoff,
            (Duration::from_millis(5), Duration::from_millis(50))
        );
    }

    #[test]
    fn every_kind_of_bad_file_is_a_typed_error() {
        type Check = fn(&ConfigErrorKind) -> bool;
        let cases: [(&str, Check); 8] = [
            ("id = ", |k| matches!(k, ConfigErrorKind::Syntax(_))),
            (
                &format!("trace = 3\n{GOOD}"),
                |k| matches!(k, ConfigErrorKind::BadValue { key, .. } if key == "trace"),
            ),
            (&GOOD.replace("id = 2\n", ""), |k| {
                matches!(k, ConfigErrorKind::Missing("id"))
            }),
            (
                &GOOD.replace("heartbeat_ms", "heartbeat"),
                |k| matches!(k, ConfigErrorKind::Unknown(key) if key == "heartbeat"),
            ),
            (
                &GOOD.replace("id = 2", "id = \"two\""),
                |k| matches!(k, ConfigErrorKind::BadValue { key, .. } if key == "id"),
            ),
            (
                &GOOD.replace("id = 2", "id = -2"),
                |k| matches!(k, ConfigErrorKind::BadValue { key, .. } if key == "id"),
            ),
            (
                &GOOD.replace("\"5-50\"", "\"50-5\""),
                |k| matches!(k, ConfigErrorKind::BadValue { key, .. } if key == "reconnect_ms"),
            ),
            (
                &GOOD.replace("1 = \"127.0.0.1:7001\"", "x = \"127.0.0.1:7001\""),
                |k| matches!(k, ConfigErrorKind::BadValue { key, .. } if key == "peers.x"),
            ),
        ];
        for (text, want) in cases {
            let err = parse(text).map(|_| ()).unwrap_err();
            assert!(want(&err), "{text}: {err:?}");
        }
    }
}
