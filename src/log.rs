//! The replicated log (§5.3): a sequence of entries, each stamped with the term in which a
//! leader created it. Indexes start at 1; index 0 is the empty prefix, whose term is 0.
//!
//! Every accessor is total: an index outside the log gives `None`, never a panic, because the
//! indexes come from messages that the node does not trust.

use crate::ids::{ClientId, Index, Term};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// What an entry carries.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Payload<C> {
    /// The entry a new leader appends at the start of its term (§8, dissertation §6.4): it lets
    /// the leader commit earlier-term entries indirectly, as §5.4.2 requires.
    Noop,
    /// A client command, tagged with the client's session and serial number so that a retried
    /// request is applied at most once (dissertation §6.3).
    Command {
        /// The client session that proposed the command.
        client: ClientId,
        /// The client's serial number for this request; serials grow per client.
        serial: u64,
        /// The command for the state machine, shared by every copy of the entry (the log, the
        /// persist effect, each AppendEntries carrying it), so a copy costs a reference count.
        command: Arc<C>,
    },
}

/// One log entry: a payload and the term of the leader that created it (§5.3).
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Entry<C> {
    /// The term in which a leader appended this entry.
    pub term: Term,
    /// What the entry carries.
    pub payload: Payload<C>,
}

// Cloning shares the command (a reference count), so it needs nothing of `C`.
impl<C> Clone for Payload<C> {
    fn clone(&self) -> Self {
        match self {
            Payload::Noop => Payload::Noop,
            Payload::Command {
                client,
                serial,
                command,
            } => Payload::Command {
                client: *client,
                serial: *serial,
                command: Arc::clone(command),
            },
        }
    }
}

impl<C> Clone for Entry<C> {
    fn clone(&self) -> Self {
        Entry {
            term: self.term,
            payload: self.payload.clone(),
        }
    }
}

impl<C> Entry<C> {
    /// A no-op entry of `term`.
    pub fn noop(term: Term) -> Self {
        Entry {
            term,
            payload: Payload::Noop,
        }
    }

    /// Whether `other` is a copy of this entry that shares its command (a no-op has none).
    pub(crate) fn shares_command(&self, other: &Self) -> bool {
        self.term == other.term
            && match (&self.payload, &other.payload) {
                (Payload::Noop, Payload::Noop) => true,
                (
                    Payload::Command {
                        client,
                        serial,
                        command,
                    },
                    Payload::Command {
                        client: c,
                        serial: s,
                        command: k,
                    },
                ) => client == c && serial == s && Arc::ptr_eq(command, k),
                _ => false,
            }
    }
}

/// The log of one server: entries `1..=last_index()`.
///
/// ```
/// use refraft::{Entry, Log};
/// let mut log: Log<String> = Log::default();
/// assert_eq!((log.last_index(), log.last_term()), (0, 0));
/// log.append(Entry::noop(1));
/// log.append(Entry::noop(2));
/// assert_eq!(log.term_at(2), Some(2));
/// assert_eq!(log.term_at(0), Some(0));
/// assert_eq!(log.term_at(3), None);
/// log.truncate_from(2);
/// assert_eq!(log.last_index(), 1);
/// ```
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Log<C> {
    entries: Vec<Entry<C>>,
}

impl<C> Default for Log<C> {
    fn default() -> Self {
        Log {
            entries: Vec::new(),
        }
    }
}

impl<C> Log<C> {
    /// A log holding `entries` at indexes `1..=entries.len()`.
    pub fn from_entries(entries: Vec<Entry<C>>) -> Self {
        Log { entries }
    }

    /// The index of the last entry, 0 when the log is empty.
    pub fn last_index(&self) -> Index {
        self.entries.len() as Index
    }

    /// The term of the last entry, 0 when the log is empty (§5.4.1 compares this first).
    pub fn last_term(&self) -> Term {
        self.entries.last().map_or(0, |e| e.term)
    }

    /// The term of the entry at `index`; `Some(0)` for index 0; `None` past the end.
    pub fn term_at(&self, index: Index) -> Option<Term> {
        if index == 0 {
            Some(0)
        } else {
            self.get(index).map(|e| e.term)
        }
    }

    /// The entry at `index`, if the log holds one.
    pub fn get(&self, index: Index) -> Option<&Entry<C>> {
        let pos = usize::try_from(index.checked_sub(1)?).ok()?;
        self.entries.get(pos)
    }

    /// The entries from `index` on (at most `max`); empty when `index` is past the end.
    /// Index 0 is treated as 1.
    pub fn entries_from(&self, index: Index, max: usize) -> &[Entry<C>] {
        let start = usize::try_from(index.max(1) - 1).unwrap_or(usize::MAX);
        if start >= self.entries.len() {
            return &[];
        }
        let end = self.entries.len().min(start.saturating_add(max));
        &self.entries[start..end]
    }

    /// All entries, in index order.
    pub fn entries(&self) -> &[Entry<C>] {
        &self.entries
    }

    /// Appends one entry at `last_index() + 1`.
    pub fn append(&mut self, entry: Entry<C>) {
        self.entries.push(entry);
    }

    /// Appends `entries` at `last_index() + 1 ..`; each copy costs a reference count.
    pub fn extend_from_slice(&mut self, entries: &[Entry<C>])
    where
        C: Clone,
    {
        self.entries.extend_from_slice(entries);
    }

    /// Removes the entries at `index` and after. Index 0 or 1 empties the log; an index past
    /// the end changes nothing.
    pub fn truncate_from(&mut self, index: Index) {
        let keep = usize::try_from(index.max(1) - 1).unwrap_or(usize::MAX);
        self.entries.truncate(keep);
    }

    /// The first index that holds an entry of `term`, if any (used for the conflict hint that
    /// speeds up backtracking, end of §5.3).
    pub fn first_index_of_term(&self, term: Term) -> Option<Index> {
        // Terms are non-decreasing along a log (entries are appended by leaders of growing
        // terms), so the entries of one term form a contiguous run and a binary search finds it.
        let pos = self.entries.partition_point(|e| e.term < term);
        (self.entries.get(pos)?.term == term).then_some(pos as Index + 1)
    }

    /// The last index that holds an entry of `term`, if any.
    pub fn last_index_of_term(&self, term: Term) -> Option<Index> {
        let pos = self.entries.partition_point(|e| e.term <= term);
        (pos > 0 && self.entries[pos - 1].term == term).then_some(pos as Index)
    }

    /// Whether a log ending at (`last_log_index`, `last_log_term`) is at least as up-to-date as
    /// this one: §5.4.1, compare the last terms first, then the lengths.
    pub fn is_up_to_date(&self, last_log_index: Index, last_log_term: Term) -> bool {
        (last_log_term, last_log_index) >= (self.last_term(), self.last_index())
    }
}
