//! A run of log entries shared between the log, persist effects and AppendEntries (§5.3), so
//! that a send, a persist effect or a follower's copy costs a reference count, not a copy.
//!
//! Most runs a leader builds hold one entry: a client request proposed alone is persisted and
//! sent as a run of one. Such a run holds its entry inline (the entry's command is behind an
//! `Arc` already, so a copy of the run is a reference count still) and costs no allocation; a
//! longer run shares one `Arc<[Entry]>`. Either way it reads as a slice, and it compares,
//! hashes, prints and (de)serializes exactly as the slice of its entries.

use crate::log::Entry;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::Deref;
use std::sync::Arc;

/// A run of entries, read as a slice (`Deref<Target = [Entry<C>]>`); cloning it, or one of its
/// entries, costs a reference count, never a copy of a command.
///
/// ```
/// use refraft::{Entries, Entry};
/// let none: Entries<String> = Entries::default();
/// let one: Entries<String> = Entry::noop(1).into();
/// let two: Entries<String> = vec![Entry::noop(1), Entry::noop(2)].into();
/// assert_eq!((none.len(), one.len(), two.len()), (0, 1, 2));
/// assert_eq!(two[1].term, 2);
/// // Equal as slices, whichever way they are held.
/// assert_eq!(one, Entries::from(&two[..1]));
/// // A clone shares the run.
/// assert!(Entries::ptr_eq(&two, &two.clone()));
/// ```
pub struct Entries<C>(Run<C>);

/// How a run is held.
enum Run<C> {
    /// No entries (a heartbeat).
    Empty,
    /// One entry, inline: no allocation.
    One(Entry<C>),
    /// Two or more, shared.
    Shared(Arc<[Entry<C>]>),
}

impl<C> Entries<C> {
    /// Whether `a` and `b` hold the very same entries in memory (not merely equal ones): the
    /// same shared run, or copies of one entry that share its command. Two empty runs do.
    pub fn ptr_eq(a: &Self, b: &Self) -> bool {
        match (&a.0, &b.0) {
            (Run::Empty, Run::Empty) => true,
            (Run::Shared(x), Run::Shared(y)) => Arc::ptr_eq(x, y),
            (Run::One(x), Run::One(y)) => x.shares_command(y),
            _ => false,
        }
    }
}

impl<C> Deref for Entries<C> {
    type Target = [Entry<C>];
    #[inline]
    fn deref(&self) -> &[Entry<C>] {
        match &self.0 {
            Run::Empty => &[],
            Run::One(e) => std::slice::from_ref(e),
            Run::Shared(run) => run,
        }
    }
}

impl<C> Default for Entries<C> {
    fn default() -> Self {
        Entries(Run::Empty)
    }
}

impl<C> Clone for Entries<C> {
    #[inline]
    fn clone(&self) -> Self {
        Entries(match &self.0 {
            Run::Empty => Run::Empty,
            Run::One(e) => Run::One(e.clone()),
            Run::Shared(run) => Run::Shared(Arc::clone(run)),
        })
    }
}

impl<C> From<Entry<C>> for Entries<C> {
    /// A run of one entry, held inline.
    #[inline]
    fn from(entry: Entry<C>) -> Self {
        Entries(Run::One(entry))
    }
}

impl<C> From<Vec<Entry<C>>> for Entries<C> {
    fn from(mut entries: Vec<Entry<C>>) -> Self {
        match entries.len() {
            0 => Entries(Run::Empty),
            1 => Entries(Run::One(entries.pop().expect("one entry"))),
            _ => Entries(Run::Shared(entries.into())),
        }
    }
}

impl<C> From<&[Entry<C>]> for Entries<C> {
    fn from(entries: &[Entry<C>]) -> Self {
        match entries {
            [] => Entries(Run::Empty),
            [one] => Entries(Run::One(one.clone())),
            _ => Entries(Run::Shared(entries.into())),
        }
    }
}

impl<C, const N: usize> From<[Entry<C>; N]> for Entries<C> {
    fn from(entries: [Entry<C>; N]) -> Self {
        Vec::from(entries).into()
    }
}

impl<C> FromIterator<Entry<C>> for Entries<C> {
    fn from_iter<I: IntoIterator<Item = Entry<C>>>(iter: I) -> Self {
        iter.into_iter().collect::<Vec<_>>().into()
    }
}

impl<C: fmt::Debug> fmt::Debug for Entries<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        <[Entry<C>] as fmt::Debug>::fmt(self, f)
    }
}

impl<C: PartialEq> PartialEq for Entries<C> {
    fn eq(&self, other: &Self) -> bool {
        if let (Run::Shared(a), Run::Shared(b)) = (&self.0, &other.0) {
            if Arc::ptr_eq(a, b) {
                return true;
            }
        }
        **self == **other
    }
}

impl<C: Eq> Eq for Entries<C> {}

impl<C: PartialOrd> PartialOrd for Entries<C> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        (**self).partial_cmp(&**other)
    }
}

impl<C: Ord> Ord for Entries<C> {
    fn cmp(&self, other: &Self) -> Ordering {
        (**self).cmp(&**other)
    }
}

impl<C: Hash> Hash for Entries<C> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        (**self).hash(state)
    }
}

impl<C: Serialize> Serialize for Entries<C> {
    /// As the sequence of its entries (the form of a `Vec` or an `Arc<[Entry]>`).
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.iter())
    }
}

impl<'de, C: Deserialize<'de>> Deserialize<'de> for Entries<C> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Vec::<Entry<C>>::deserialize(deserializer).map(Entries::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::ClientId;
    use crate::log::Payload;

    fn command(serial: u64) -> Entry<u64> {
        Entry {
            term: 1,
            payload: Payload::Command {
                client: ClientId(1),
                serial,
                command: Arc::new(serial),
            },
        }
    }

    #[test]
    fn every_form_reads_compares_and_hashes_as_its_slice() {
        use std::collections::hash_map::DefaultHasher;
        let hash = |x: &dyn Fn(&mut DefaultHasher)| {
            let mut h = DefaultHasher::new();
            x(&mut h);
            h.finish()
        };
        let all: Vec<Entry<u64>> = (1..=3).map(command).collect();
        for n in 0..=3 {
            let slice = &all[..n];
            let forms: [Entries<u64>; 3] = [
                slice.into(),
                slice.to_vec().into(),
                slice.iter().cloned().collect(),
            ];
            for e in &forms {
                assert_eq!(&**e, slice);
                assert_eq!(format!("{e:?}"), format!("{slice:?}"));
                assert_eq!(hash(&|h| e.hash(h)), hash(&|h| slice.hash(h)));
                assert_eq!(e, &forms[0]);
                assert_eq!(e.cmp(&forms[0]), Ordering::Equal);
                assert!(Entries::ptr_eq(e, &e.clone()));
            }
            let longer: Entries<u64> = all[..3].into();
            assert_eq!(forms[0].cmp(&longer), slice.cmp(&all[..3]));
            assert_eq!(n == 3, forms[0] == longer);
        }
        // Equal entries in different memory are equal, but not the same.
        let (a, b): (Entries<u64>, Entries<u64>) = (command(1).into(), command(1).into());
        assert!(a == b && !Entries::ptr_eq(&a, &b));
    }

    #[test]
    fn serializes_as_the_sequence_of_its_entries() {
        let all: Vec<Entry<u64>> = (1..=3).map(command).collect();
        for n in 0..=3 {
            let run: Entries<u64> = all[..n].into();
            let text = serde_json::to_string(&run).unwrap();
            assert_eq!(text, serde_json::to_string(&all[..n]).unwrap());
            let back: Entries<u64> = serde_json::from_str(&text).unwrap();
            assert_eq!(back, run);
        }
    }
}
