//! A log store shared between threads: one writer appends, truncates, commits, records
//! durability and compacts; any number of readers read ranges, terms and committed entries, and
//! poll or wait for the log to grow.
//!
//! In a running node, the node's thread is the writer; replication to each follower reads
//! ranges (§5.3, entries from `nextIndex`), the applier reads committed entries (§5.3, apply
//! once `commitIndex > lastApplied`), and a persistence stage reports what is durable.
//!
//! ```
//! use refraft::log_store::{LogWriter, Watermark};
//! use refraft::Entry;
//! let mut writer = LogWriter::<Vec<u8>>::new();
//! let reader = writer.reader().clone();
//! let replicator = std::thread::spawn(move || {
//!     let last_index = reader.wait_for(Watermark::Last, 0).unwrap();
//!     reader.entries(1..last_index + 1).unwrap()
//! });
//! writer.append(1, vec![Entry::noop(1)]).unwrap();
//! assert_eq!(replicator.join().unwrap(), vec![Entry::noop(1)]);
//! ```
//!
//! # Design
//!
//! The entries after the snapshot and the authoritative watermarks sit in one segment behind a
//! reader–writer lock. The writer changes the segment under the write lock, then copies the
//! watermarks into atomics (Release) before releasing it; polls read those atomics (Acquire)
//! without locking. Readers that want entries clone them out under the read lock, which they
//! hold only while cloning. Readers that wait sleep on a condition variable; the writer takes
//! its mutex only when some reader waits (a waiter count and a SeqCst fence on each side,
//! Dekker-style), so the common write costs one uncontended write lock, a push and a few
//! stores. What a write removes (a truncated suffix, a compacted prefix) is dropped after the
//! lock is released.
//!
//! A lock-free scheme (immutable chunks published by pointer) would spare readers the lock,
//! but truncation rewrites the tail and compaction frees the head while readers may hold
//! them, so it needs its own memory reclamation; readers clone entries out anyway (replication
//! ships owned entries). The bench figures in the README show what the lock costs.
//!
//! # Invariants
//!
//! 1. **One writer.** [`LogWriter`] is not `Clone`, and every write takes `&mut self`.
//! 2. **All or nothing.** Every write checks its whole input first and returns a typed
//!    [`LogStoreError`] without changing anything, or applies in full under one write lock.
//!    A reader copies under one read lock, so it sees one version of the log: never a torn
//!    entry, a half-appended batch, or the gap between a truncation and the entries that
//!    [`LogWriter::replace_from`] puts in its place.
//! 3. **Shape.** `snapshot_index <= commit_index <= last_index` and
//!    `durable_index <= last_index`; terms never decrease along the log, starting from the
//!    snapshot's last included term (§5.3, leaders append entries of their own term, and
//!    terms grow). Appends start exactly at `last_index + 1`: no gaps, no silent overwrites.
//! 4. **Committed entries are final.** The commit index never decreases, and a truncation at or
//!    below it is refused ([`LogStoreError::TruncateCommitted`]; §5.4 Leader Completeness:
//!    a correct node never needs it). So an entry a reader once read at an index at or below
//!    a commit index it observed is the entry every later read of that index returns, until
//!    compaction, after which the read answers [`LogStoreError::Compacted`] instead.
//! 5. **Watermarks are monotone for readers.** The commit index, the snapshot index and the
//!    durable index never decrease, with one exception for the durable index: a truncation at
//!    `i <= durable_index` lowers it to `i - 1`. Raft needs such truncations (a follower
//!    replaces persisted but uncommitted entries of an old leader, Figure 2 AppendEntries
//!    step 3), and keeping the durable index up would report entries durable that the disk
//!    does not hold, which a follower would then acknowledge (Figure 2: respond only after
//!    persisting). A leader never truncates its own log (§5.3, Leader Append-Only), so on a
//!    leader the durable index never decreases at all.
//! 6. **Published copies trail the segment.** The atomics are stored while the write lock is
//!    held, in the order the segment changes; a reader that polls a watermark `w` and then
//!    reads finds a segment at least as new as the one that produced `w`.
//! 7. **No lost wake-up.** A waiter registers (count + SeqCst fence) under the wake-up mutex
//!    and then checks the watermark; the writer publishes, fences (SeqCst) and then reads the
//!    count. One of the two sees the other, so either the waiter sees the new value or the
//!    writer notifies it. Dropping the writer wakes every waiter with
//!    [`LogStoreError::Closed`].
//!
//! The loom tests (`tests/loom_log_store.rs`, run with `--cfg loom`, which swaps in loom's
//! primitives through the `sync` submodule) check these for each pair of concurrent
//! operations; the proptest suite (`tests/log_store_props.rs`) checks every read against a
//! sequential model.

mod error;
mod reader;
mod segment;
mod shared;
mod sync;
mod writer;

pub use error::LogStoreError;
pub use reader::LogReader;
pub use writer::LogWriter;

/// The indexes a reader can poll or wait for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Watermark {
    /// The index of the last entry (replication waits for it to grow).
    Last,
    /// The commit index (the applier waits for it).
    Commit,
    /// The highest persisted index (acknowledgements wait for it).
    Durable,
}
