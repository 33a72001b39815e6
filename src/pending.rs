//! A leader's uncommitted client entries by (client, serial), so that a retry of a request
//! already in the log waits for that entry instead of being appended again (dissertation
//! §6.3), found without scanning the log.
//!
//! Per client, the pending (serial, index) pairs in index order. Entries join at the log's end
//! and leave as they are applied, in index order, so both ends are O(1). A client's serials
//! normally grow with the index, and then a new serial is told apart from a pending one by
//! comparing it with the last one (O(1)), and a retry is found by binary search; only a client
//! whose requests were appended out of serial order is searched linearly. (A `BTreeMap` keyed
//! by (client, serial) cost two ordered searches per proposal and a rebalancing removal per
//! applied entry, and a SipHash index two hashes each: about a third of a proposal's
//! instructions in the three-node round bench, under `valgrind --tool=callgrind`.)

use crate::ids::{ClientId, Index};
use std::collections::{BTreeMap, VecDeque};

/// One client's pending entries.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
struct Queue {
    /// (serial, index), in increasing index order, each serial once.
    entries: VecDeque<(u64, Index)>,
    /// How many neighbours in `entries` have decreasing serials (a function of `entries`):
    /// none means the serials increase with the index.
    descents: usize,
}

impl Queue {
    /// The position of `serial`, if pending.
    #[inline]
    fn find(&self, serial: u64) -> Option<usize> {
        if self.descents == 0 {
            // Serials increase along the queue: past the last one means new.
            if self.entries.back().map_or(true, |&(last, _)| last < serial) {
                return None;
            }
            self.entries.binary_search_by_key(&serial, |&(s, _)| s).ok()
        } else {
            self.entries.iter().position(|&(s, _)| s == serial)
        }
    }

    fn descends(&self, a: Option<usize>, b: usize) -> usize {
        match (a.and_then(|a| self.entries.get(a)), self.entries.get(b)) {
            (Some(x), Some(y)) => usize::from(x.0 > y.0),
            _ => 0,
        }
    }

    #[inline]
    fn push_back(&mut self, serial: u64, index: Index) {
        if self.entries.back().is_some_and(|&(last, _)| last > serial) {
            self.descents += 1;
        }
        self.entries.push_back((serial, index));
    }

    #[inline]
    fn remove_at(&mut self, pos: usize) {
        if pos == 0 && self.descents == 0 {
            // The common case, an entry applied in index order from increasing serials.
            self.entries.pop_front();
        } else {
            self.remove_anywhere(pos);
        }
    }

    fn remove_anywhere(&mut self, pos: usize) {
        if pos == 0 {
            self.descents -= self.descends(Some(0), 1);
            self.entries.pop_front();
            return;
        }
        let before = pos.checked_sub(1);
        let gone = self.descends(before, pos) + self.descends(Some(pos), pos + 1);
        let joined = self.descends(before, pos + 1);
        self.descents = self.descents + joined - gone;
        self.entries.remove(pos);
    }
}

/// The pending client entries of a leader's log: each (client, serial) with the last index
/// that holds it among the entries not yet applied.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct Pending {
    /// Clients with at least one pending entry.
    clients: BTreeMap<ClientId, Queue>,
}

impl Pending {
    /// Whether (client, serial) is pending.
    #[cfg(test)]
    fn contains(&self, client: ClientId, serial: u64) -> bool {
        self.clients
            .get(&client)
            .is_some_and(|q| q.find(serial).is_some())
    }

    /// Records that (client, serial) is at `index`, the log's new last entry (so past every
    /// index held), unless it is pending already; returns whether it was recorded.
    // Called from one place each, on every proposal and applied entry.
    #[inline(always)]
    pub(crate) fn insert_new(&mut self, client: ClientId, serial: u64, index: Index) -> bool {
        let Some(queue) = self.clients.get_mut(&client) else {
            // No request of this client is pending: nothing to search.
            let mut queue = Queue::default();
            queue.entries.push_back((serial, index));
            self.clients.insert(client, queue);
            return true;
        };
        if queue.find(serial).is_some() {
            return false;
        }
        debug_assert!(queue.entries.back().map_or(true, |&(_, last)| last < index));
        queue.push_back(serial, index);
        true
    }

    /// Records that (client, serial) is at `index`, the log's new last entry (so past every
    /// index held), replacing an earlier index of the same request.
    pub(crate) fn push(&mut self, client: ClientId, serial: u64, index: Index) {
        let queue = self.clients.entry(client).or_default();
        debug_assert!(queue.entries.back().map_or(true, |&(_, last)| last < index));
        if let Some(pos) = queue.find(serial) {
            queue.remove_at(pos);
        }
        queue.push_back(serial, index);
    }

    /// The entry at `index`, of (client, serial), was applied: it is no longer pending, unless
    /// the request is pending at another index.
    // Called from one place each, on every proposal and applied entry.
    #[inline(always)]
    pub(crate) fn applied(&mut self, client: ClientId, serial: u64, index: Index) {
        let Some(queue) = self.clients.get_mut(&client) else {
            return;
        };
        // Entries are applied in index order, so it is normally the first.
        let pos = if queue.entries.front() == Some(&(serial, index)) {
            Some(0)
        } else {
            queue
                .entries
                .binary_search_by_key(&index, |&(_, i)| i)
                .ok()
                .filter(|&pos| queue.entries[pos].0 == serial)
        };
        if let Some(pos) = pos {
            queue.remove_at(pos);
            if queue.entries.is_empty() {
                self.clients.remove(&client);
            }
        }
    }

    /// Forgets everything (the node is no longer leader).
    pub(crate) fn clear(&mut self) {
        self.clients.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pushes_applies_and_replaces() {
        let (a, b) = (ClientId(1), ClientId(2));
        let mut p = Pending::default();
        p.push(a, 1, 3);
        p.push(b, 1, 4);
        p.push(a, 2, 5);
        assert!(p.contains(a, 1) && p.contains(b, 1) && !p.contains(b, 2));
        assert!(!p.insert_new(b, 1, 5) && p.insert_new(b, 2, 5));
        p.applied(b, 2, 5);
        // A later copy of (a, 1) replaces the earlier one; applying the earlier changes nothing.
        p.push(a, 1, 6);
        assert_eq!(p.clients[&a].descents, 1);
        p.applied(a, 1, 3);
        assert!(p.contains(a, 1) && p.contains(a, 2) && !p.contains(a, 3));
        p.applied(b, 1, 4);
        p.applied(a, 1, 6);
        assert!(!p.contains(b, 1) && !p.contains(a, 1) && p.contains(a, 2));
        let mut q = Pending::default();
        q.push(a, 2, 5);
        assert_eq!(p, q, "equal pending entries, equal sets");
        p.clear();
        assert_eq!(p, Pending::default());
    }

    /// Against the definition: a map from (client, serial) to the last index pushed, entries
    /// leaving when applied at that index. Serials in a scrambled order exercise both searches.
    #[test]
    fn agrees_with_a_map() {
        let mut p = Pending::default();
        let mut map = BTreeMap::new();
        let mut x: u64 = 7;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let (mut index, mut applied) = (0, 0);
        let mut log = Vec::new();
        for _ in 0..2000 {
            if next() % 3 != 0 {
                let (client, serial) = (ClientId(next() % 3), next() % 8);
                index += 1;
                p.push(client, serial, index);
                map.insert((client, serial), index);
                log.push((client, serial));
            } else if applied < index {
                applied += 1;
                let (client, serial) = log[applied as usize - 1];
                p.applied(client, serial, applied);
                if map.get(&(client, serial)) == Some(&applied) {
                    map.remove(&(client, serial));
                }
            }
            for c in 0..3 {
                for s in 0..8 {
                    let key = (ClientId(c), s);
                    assert_eq!(p.contains(key.0, key.1), map.contains_key(&key));
                }
            }
            for (c, q) in &p.clients {
                let pairs: Vec<_> = q.entries.iter().collect();
                let descents = pairs.windows(2).filter(|w| w[0].0 > w[1].0).count();
                assert_eq!(q.descents, descents);
                assert!(pairs.windows(2).all(|w| w[0].1 < w[1].1));
                assert!(pairs.iter().all(|&&(s, i)| map.get(&(*c, s)) == Some(&i)));
            }
        }
    }
}
