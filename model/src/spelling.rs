//! The command line's spellings in counterexample JSON: `"network": "duplicating"`,
//! `"broken_rule": "vote-once"`. Files written before used the Rust variant names
//! (`"Duplicating"`, `"VoteOncePerTerm"`); they are still read.
//!
//! ```
//! use refraft_model::Settings;
//! let mut s = Settings::default();
//! s.broken_rule = Some(refraft::Rule::VoteOncePerTerm);
//! let json = serde_json::to_string(&s).unwrap();
//! assert!(json.contains("\"broken_rule\":\"vote-once\"") && json.contains("\"duplicating\""));
//! let old = json.replace("\"vote-once\"", "\"VoteOncePerTerm\"").replace("\"duplicating\"", "\"Duplicating\"");
//! assert_eq!(serde_json::from_str::<Settings>(&old).unwrap(), s);
//! ```

use crate::settings::NetworkKind;
use refraft::Rule;
use serde::de::Error;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

impl Serialize for NetworkKind {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for NetworkKind {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        NetworkKind::ALL
            .into_iter()
            .find(|k| k.name() == text || format!("{k:?}") == text)
            .ok_or_else(|| D::Error::custom(format!("unknown network {text:?}")))
    }
}

/// `#[serde(with = "crate::spelling::rule")]` for an `Option<Rule>`: written as the rule's
/// command-line name, read from it or from the variant name.
pub mod rule {
    use super::*;

    /// Writes the rule's command-line name, or `null`.
    pub fn serialize<S: Serializer>(rule: &Option<Rule>, s: S) -> Result<S::Ok, S::Error> {
        rule.map(Rule::name).serialize(s)
    }

    /// Reads a rule's command-line name or its variant name, or `null`.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Rule>, D::Error> {
        let Some(text) = Option::<String>::deserialize(d)? else {
            return Ok(None);
        };
        Rule::ALL
            .iter()
            .copied()
            .find(|r| r.name() == text || format!("{r:?}") == text)
            .map(Some)
            .ok_or_else(|| D::Error::custom(format!("unknown rule {text:?}")))
    }
}
