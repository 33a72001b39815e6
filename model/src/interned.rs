//! Interned values: one copy of each distinct value for the life of the process, named by a
//! reference that is `Copy`.
//!
//! stateright clones the whole network into every successor state and drops it with the state.
//! With each message behind an `Arc` ([`crate::Shared`]) every clone and every drop of every
//! message in flight is an atomic reference-count update, on counters that both checker threads
//! touch. A message of the model is instead interned: [`Interned::new`] looks the value up in a
//! table and returns the one copy, so cloning a message is copying a pointer and its cached hash,
//! dropping it does nothing, and equality is pointer equality. The table only grows: it holds
//! each distinct message the process ever built (a bounded model sends finitely many; the README,
//! "Checker speed", gives the count for the default configuration).
//!
//! ```
//! use refraft_model::interned::Interned;
//! let a = Interned::new(String::from("SET x=1"));
//! let b = Interned::new(String::from("SET x=1"));
//! let c = Interned::new(String::from("SET x=2"));
//! assert!(Interned::ptr_eq(&a, &b), "one copy of each value");
//! assert_eq!(a, b);
//! assert_ne!(a, c);
//! assert_eq!(*a, "SET x=1");
//! assert!(a < c, "ordered by value");
//! ```

use crate::shared::hash_of;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::any::{Any, TypeId};
use std::cmp::Ordering;
use std::collections::HashMap;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::Deref;
use std::sync::{Mutex, OnceLock};

/// The one copy of a value, with its hash computed once.
pub struct Interned<T: 'static> {
    hash: u64,
    value: &'static T,
}

/// Shards of the tables, so that two threads interning rarely wait for each other.
const SHARDS: usize = 16;

/// One type's table: the copies by hash (a hash may name several values).
type Table<T> = [Mutex<HashMap<u64, Vec<&'static T>>>; SHARDS];

/// The table of each interned type.
fn tables() -> &'static Mutex<HashMap<TypeId, &'static (dyn Any + Send + Sync)>> {
    static TABLES: OnceLock<Mutex<HashMap<TypeId, &'static (dyn Any + Send + Sync)>>> =
        OnceLock::new();
    TABLES.get_or_init(Default::default)
}

fn table<T: Send + Sync + 'static>() -> &'static Table<T> {
    let mut tables = tables().lock().unwrap_or_else(|e| e.into_inner());
    let entry = tables.entry(TypeId::of::<T>()).or_insert_with(|| {
        let table: &'static Table<T> =
            Box::leak(Box::new(std::array::from_fn(
                |_| Mutex::new(HashMap::new()),
            )));
        table
    });
    entry
        .downcast_ref::<Table<T>>()
        .expect("the table of a type is of that type")
}

/// This type's table, found once per thread.
fn local_table<T: Send + Sync + 'static>() -> &'static Table<T> {
    thread_local! {
        static CACHE: std::cell::RefCell<HashMap<TypeId, &'static (dyn Any + Send + Sync)>> =
            Default::default();
    }
    CACHE.with(|cache| {
        let mut cache = cache.borrow_mut();
        let entry = cache
            .entry(TypeId::of::<T>())
            .or_insert_with(|| table::<T>() as &'static (dyn Any + Send + Sync));
        entry
            .downcast_ref::<Table<T>>()
            .expect("the table of a type is of that type")
    })
}

impl<T: Hash + Eq + Send + Sync + 'static> Interned<T> {
    /// The one copy of `value` (made now if it is the first).
    pub fn new(value: T) -> Self {
        let hash = hash_of(&value);
        let shard = &local_table::<T>()[(hash as usize) % SHARDS];
        let mut shard = shard.lock().unwrap_or_else(|e| e.into_inner());
        let copies = shard.entry(hash).or_default();
        if let Some(&copy) = copies.iter().find(|&&c| *c == value) {
            return Interned { hash, value: copy };
        }
        let copy: &'static T = Box::leak(Box::new(value));
        copies.push(copy);
        Interned { hash, value: copy }
    }

    /// How many distinct values of this type were interned so far.
    pub fn count() -> usize {
        local_table::<T>()
            .iter()
            .map(|s| {
                let s = s.lock().unwrap_or_else(|e| e.into_inner());
                s.values().map(Vec::len).sum::<usize>()
            })
            .sum()
    }
}

impl<T> Interned<T> {
    /// Whether `a` and `b` are the same copy: for interned values, whether they are equal.
    pub fn ptr_eq(a: &Self, b: &Self) -> bool {
        std::ptr::eq(a.value, b.value)
    }

    /// The value's hash, computed once.
    pub fn cached_hash(&self) -> u64 {
        self.hash
    }
}

impl<T> Clone for Interned<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for Interned<T> {}

impl<T> Deref for Interned<T> {
    type Target = T;
    fn deref(&self) -> &T {
        self.value
    }
}

impl<T> PartialEq for Interned<T> {
    fn eq(&self, other: &Self) -> bool {
        Interned::ptr_eq(self, other)
    }
}

impl<T> Eq for Interned<T> {}

impl<T: Ord> PartialOrd for Interned<T> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl<T: Ord> Ord for Interned<T> {
    fn cmp(&self, other: &Self) -> Ordering {
        if Interned::ptr_eq(self, other) {
            return Ordering::Equal;
        }
        self.value.cmp(other.value)
    }
}

impl<T> Hash for Interned<T> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.hash);
    }
}

impl<T: fmt::Debug> fmt::Debug for Interned<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.value.fmt(f)
    }
}

impl<T: Serialize> Serialize for Interned<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.value.serialize(serializer)
    }
}

impl<'de, T: Deserialize<'de> + Hash + Eq + Send + Sync + 'static> Deserialize<'de>
    for Interned<T>
{
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        T::deserialize(deserializer).map(Interned::new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_values_are_one_copy_with_the_hash_of_the_value() {
        let a = Interned::new(vec![1u8, 2]);
        let b = Interned::new(vec![1u8, 2]);
        assert!(Interned::ptr_eq(&a, &b));
        assert_eq!(hash_of(&a), hash_of(&crate::Shared::new(vec![1u8, 2])));
        let other_type = Interned::new(vec![1u16, 2]);
        assert_eq!(*other_type, [1, 2], "each type has its own table");
    }

    #[test]
    fn threads_intern_to_the_same_copy() {
        let copies: Vec<Interned<String>> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..4)
                .map(|_| s.spawn(|| Interned::new(String::from("AE t2"))))
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert!(copies.windows(2).all(|w| Interned::ptr_eq(&w[0], &w[1])));
    }

    #[test]
    fn a_value_read_back_from_json_is_the_copy_already_interned() {
        for value in [vec![3u32, 4], vec![], vec![7]] {
            let json = serde_json::to_string(&Interned::new(value.clone())).unwrap();
            assert_eq!(
                json,
                serde_json::to_string(&value).unwrap(),
                "the value's form"
            );
            let back: Interned<Vec<u32>> = serde_json::from_str(&json).unwrap();
            assert!(Interned::ptr_eq(&back, &Interned::new(value)));
        }
    }
}
