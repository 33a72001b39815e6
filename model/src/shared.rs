//! A shared, immutable value with its hash computed once: what the model puts in stateright's
//! network. stateright clones the whole network into every successor state, rewrites it for
//! symmetry reduction, and hashes every message of it (twice) for every generated state. With
//! messages behind `Shared`, a clone is a reference-count increment, a rewrite that names no
//! server is the same increment, and a hash is one `u64`. A value also keeps the hashes of its
//! rewritten forms (one per server permutation, see [`Shared::memo_hash`]), so that the symmetry
//! class of a state costs no rewrite of the parts a step left unchanged.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::cmp::Ordering;
use std::fmt;
use std::hash::{BuildHasher, Hash, Hasher};
use std::ops::Deref;
use std::sync::{Arc, Mutex, Weak};

/// An immutable `T` behind an `Arc`, with its hash computed once at construction.
///
/// Equality, order, `Debug` and the serde form are those of `T`; `Hash` writes the cached hash,
/// so values that are equal hash the same (the cache is a function of the value).
///
/// ```
/// use refraft_model::Shared;
/// let a = Shared::new(vec![1, 2, 3]);
/// let b = a.clone();
/// assert_eq!(a, b);
/// assert_eq!(*a, vec![1, 2, 3]);
/// assert_eq!(format!("{a:?}"), "[1, 2, 3]");
/// assert!(Shared::new(1) < Shared::new(2));
/// ```
pub struct Shared<T> {
    hash: u64,
    value: Arc<Inner<T>>,
}

/// The shared allocation: the value and the memo of [`Shared::memo_hash`].
struct Inner<T> {
    value: T,
    /// `(key, hash)` pairs already computed for this value.
    memo: Mutex<Vec<(u64, u64)>>,
}

/// The hasher of the cached hashes: the one stateright fingerprints with, with fixed seeds, so
/// that hashes (and so fingerprints) are the same in every run and on every thread.
pub(crate) fn hasher() -> impl Hasher {
    ahash::RandomState::with_seeds(
        0x5eed_0f5a_4ed0_0001,
        0x5eed_0f5a_4ed0_0002,
        0x5eed_0f5a_4ed0_0003,
        0x5eed_0f5a_4ed0_0004,
    )
    .build_hasher()
}

/// The hash of `value` with the hasher of the cached hashes (fixed seeds: the same in every run).
pub fn hash_of<T: Hash + ?Sized>(value: &T) -> u64 {
    let mut h = hasher();
    value.hash(&mut h);
    h.finish()
}

impl<T: Hash> Shared<T> {
    /// Shares `value`, hashing it once.
    pub fn new(value: T) -> Self {
        Shared {
            hash: hash_of(&value),
            value: Arc::new(Inner {
                value,
                memo: Mutex::new(Vec::new()),
            }),
        }
    }
}

impl<T> Shared<T> {
    /// Whether `a` and `b` are the same allocation (then they are equal).
    pub fn ptr_eq(a: &Self, b: &Self) -> bool {
        Arc::ptr_eq(&a.value, &b.value)
    }

    /// The value's hash, computed once at construction (a function of the value).
    pub fn cached_hash(&self) -> u64 {
        self.hash
    }

    /// `compute(value)`, remembered under `key` for as long as the value is shared: the
    /// symmetry class of a state asks for the hash of each server state rewritten by a server
    /// permutation (`key` names the permutation), and a step changes one server, so the others
    /// are asked again for the same permutations. `compute` must be a function of the value and
    /// the key alone.
    ///
    /// ```
    /// use refraft_model::Shared;
    /// let a = Shared::new(40u64);
    /// assert_eq!(a.memo_hash(7, |v| v + 2), 42);
    /// assert_eq!(a.memo_hash(7, |_| unreachable!()), 42);
    /// assert_eq!(a.clone().memo_hash(8, |v| v + 3), 43);
    /// ```
    pub fn memo_hash(&self, key: u64, compute: impl FnOnce(&T) -> u64) -> u64 {
        let memo = |m: &Mutex<Vec<(u64, u64)>>| {
            m.lock()
                .unwrap_or_else(|e| e.into_inner())
                .iter()
                .find(|(k, _)| *k == key)
                .map(|&(_, h)| h)
        };
        if let Some(h) = memo(&self.value.memo) {
            return h;
        }
        let h = compute(&self.value.value);
        self.value
            .memo
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((key, h));
        h
    }
}

/// A [`Shared`] that does not keep its value alive ([`Shared::downgrade`]).
pub struct WeakShared<T> {
    hash: u64,
    value: Weak<Inner<T>>,
}

impl<T> Shared<T> {
    /// A reference to the same value that does not keep it alive.
    ///
    /// ```
    /// use refraft_model::Shared;
    /// let a = Shared::new(7);
    /// let weak = a.downgrade();
    /// assert!(Shared::ptr_eq(&weak.upgrade().unwrap(), &a));
    /// drop(a);
    /// assert!(weak.upgrade().is_none());
    /// ```
    pub fn downgrade(&self) -> WeakShared<T> {
        WeakShared {
            hash: self.hash,
            value: Arc::downgrade(&self.value),
        }
    }
}

impl<T> WeakShared<T> {
    /// The value, if some [`Shared`] still holds it.
    pub fn upgrade(&self) -> Option<Shared<T>> {
        self.value.upgrade().map(|value| Shared {
            hash: self.hash,
            value,
        })
    }
}

impl<T> fmt::Debug for WeakShared<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "WeakShared({:#x})", self.hash)
    }
}

impl<T> Clone for Shared<T> {
    fn clone(&self) -> Self {
        Shared {
            hash: self.hash,
            value: Arc::clone(&self.value),
        }
    }
}

impl<T> Deref for Shared<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.value.value
    }
}

impl<T> AsRef<T> for Shared<T> {
    fn as_ref(&self) -> &T {
        &self.value.value
    }
}

impl<T: PartialEq> PartialEq for Shared<T> {
    fn eq(&self, other: &Self) -> bool {
        Shared::ptr_eq(self, other) || (self.hash == other.hash && **self == **other)
    }
}

impl<T: Eq> Eq for Shared<T> {}

impl<T: PartialOrd> PartialOrd for Shared<T> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        if Shared::ptr_eq(self, other) {
            return Some(Ordering::Equal);
        }
        (**self).partial_cmp(&**other)
    }
}

impl<T: Ord> Ord for Shared<T> {
    fn cmp(&self, other: &Self) -> Ordering {
        if Shared::ptr_eq(self, other) {
            return Ordering::Equal;
        }
        (**self).cmp(&**other)
    }
}

impl<T> Hash for Shared<T> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.hash);
    }
}

impl<T: fmt::Debug> fmt::Debug for Shared<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        (**self).fmt(f)
    }
}

impl<T: Serialize> Serialize for Shared<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        (**self).serialize(serializer)
    }
}

impl<'de, T: Deserialize<'de> + Hash> Deserialize<'de> for Shared<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        T::deserialize(deserializer).map(Shared::new)
    }
}

impl<T: Hash> From<T> for Shared<T> {
    fn from(value: T) -> Self {
        Shared::new(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_values_hash_the_same_and_different_ones_differ() {
        let a = Shared::new(String::from("SET x=1"));
        let b = Shared::new(String::from("SET x=1"));
        let c = Shared::new(String::from("SET x=2"));
        assert!(!Shared::ptr_eq(&a, &b));
        assert_eq!(a, b);
        assert_eq!(hash_of(&a), hash_of(&b));
        assert_ne!(a, c);
        assert_ne!(hash_of(&a), hash_of(&c));
    }

    #[test]
    fn serde_form_is_the_value() {
        let a = Shared::new(vec![1u8, 2]);
        let json = serde_json::to_string(&a).unwrap();
        assert_eq!(json, "[1,2]");
        let back: Shared<Vec<u8>> = serde_json::from_str(&json).unwrap();
        assert_eq!(back, a);
        assert_eq!(hash_of(&back), hash_of(&a));
    }
}
