//! What the writer and the readers share: the locked segment, the published watermarks and the
//! wake-up machinery for readers that wait.

use super::segment::Segment;
use super::sync::{
    fence, AtomicBool, AtomicU64, AtomicUsize, Condvar, Mutex, MutexGuard, Ordering, RwLock,
    RwLockReadGuard, RwLockWriteGuard,
};
use super::Watermark;
use crate::ids::Index;
use std::sync::PoisonError;

pub(crate) struct Shared<C> {
    /// The entries and the authoritative watermarks. Readers copy out under the read lock; the
    /// writer changes it under the write lock.
    pub(crate) segment: RwLock<Segment<C>>,
    /// Copies of the segment's watermarks, stored (Release) by the writer while it holds the
    /// write lock, so that polls need no lock. Each copy trails or equals the segment's value.
    pub(crate) last_index: AtomicU64,
    pub(crate) commit_index: AtomicU64,
    pub(crate) durable_index: AtomicU64,
    pub(crate) snapshot_index: AtomicU64,
    /// Set once, when the writer is dropped.
    pub(crate) closed: AtomicBool,
    /// How many readers are inside `wait`; the writer takes the wake-up lock only when some are.
    pub(crate) waiters: AtomicUsize,
    pub(crate) wake_lock: Mutex<()>,
    pub(crate) wake: Condvar,
}

impl<C> Shared<C> {
    pub(crate) fn new(segment: Segment<C>) -> Self {
        let shared = Shared {
            last_index: AtomicU64::new(0),
            commit_index: AtomicU64::new(0),
            durable_index: AtomicU64::new(0),
            snapshot_index: AtomicU64::new(0),
            segment: RwLock::new(segment),
            closed: AtomicBool::new(false),
            waiters: AtomicUsize::new(0),
            wake_lock: Mutex::new(()),
            wake: Condvar::new(),
        };
        shared.publish(&shared.read());
        shared
    }

    // No code runs under these locks that can leave the segment half-changed (every write
    // checks before it mutates), so a poisoned lock still guards a consistent segment.
    pub(crate) fn read(&self) -> RwLockReadGuard<'_, Segment<C>> {
        self.segment.read().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn write(&self) -> RwLockWriteGuard<'_, Segment<C>> {
        self.segment.write().unwrap_or_else(PoisonError::into_inner)
    }

    fn lock_wake(&self) -> MutexGuard<'_, ()> {
        self.wake_lock
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn atomic(&self, watermark: Watermark) -> &AtomicU64 {
        match watermark {
            Watermark::Last => &self.last_index,
            Watermark::Commit => &self.commit_index,
            Watermark::Durable => &self.durable_index,
        }
    }

    /// Copies the segment's watermarks into the atomics. Called by the writer with the write
    /// lock held (or at construction), so the copies change in the segment's order.
    pub(crate) fn publish(&self, segment: &Segment<C>) {
        self.snapshot_index
            .store(segment.snapshot_index, Ordering::Release);
        self.last_index
            .store(segment.last_index(), Ordering::Release);
        self.commit_index
            .store(segment.commit_index, Ordering::Release);
        self.durable_index
            .store(segment.durable_index, Ordering::Release);
    }

    /// Wakes the waiting readers after a publication (call without the write lock).
    ///
    /// The writer's `publish; fence(SeqCst); load waiters` and a waiter's
    /// `waiters += 1; fence(SeqCst); load watermark` are ordered by their SeqCst fences: either
    /// the waiter sees the new watermark, or the writer sees the waiter and takes the wake-up
    /// lock to notify it, which it can only do once the waiter sleeps on the condition
    /// variable or before it checks. No wake-up is lost; the loom tests check this.
    pub(crate) fn wake_waiters(&self) {
        fence(Ordering::SeqCst);
        if self.waiters.load(Ordering::Relaxed) > 0 {
            drop(self.lock_wake());
            self.wake.notify_all();
        }
    }

    /// Blocks until `watermark` exceeds `past` or the writer is gone; `deadline` bounds the
    /// wait when given.
    pub(crate) fn wait(
        &self,
        watermark: Watermark,
        past: Index,
        deadline: Option<std::time::Instant>,
    ) -> Result<Option<Index>, super::LogStoreError> {
        let mark = self.atomic(watermark);
        let now = mark.load(Ordering::Acquire);
        if now > past {
            return Ok(Some(now));
        }
        let mut guard = self.lock_wake();
        self.waiters.fetch_add(1, Ordering::Relaxed);
        fence(Ordering::SeqCst);
        let outcome = loop {
            let now = mark.load(Ordering::Acquire);
            if now > past {
                break Ok(Some(now));
            }
            if self.closed.load(Ordering::Acquire) {
                break Err(super::LogStoreError::Closed);
            }
            match deadline {
                None => {
                    guard = self
                        .wake
                        .wait(guard)
                        .unwrap_or_else(PoisonError::into_inner)
                }
                Some(deadline) => {
                    let left = deadline.saturating_duration_since(std::time::Instant::now());
                    if left.is_zero() {
                        break Ok(None);
                    }
                    guard = self
                        .wake
                        .wait_timeout(guard, left)
                        .unwrap_or_else(PoisonError::into_inner)
                        .0;
                }
            }
        };
        self.waiters.fetch_sub(1, Ordering::Relaxed);
        drop(guard);
        outcome
    }
}
