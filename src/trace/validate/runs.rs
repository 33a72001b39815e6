//! A log as runs of equal terms, indexed by where each run ends, so that the term at an index is
//! a binary search and a change at the end costs only what changed.

use crate::trace::format::push_run;

/// Runs `(term, last index of the run)`, ends strictly increasing.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Runs {
    runs: Vec<(u64, u64)>,
}

impl Runs {
    /// From `[term, count]` runs (empty runs skipped, equal neighbours merged).
    pub(crate) fn from_counts(counts: &[(u64, u64)]) -> Self {
        let mut r = Runs::default();
        r.extend(counts);
        r
    }

    /// The number of entries.
    pub(crate) fn len(&self) -> u64 {
        self.runs.last().map_or(0, |&(_, end)| end)
    }

    /// The term at `index`: 0 at index 0, `None` past the end.
    pub(crate) fn term_at(&self, index: u64) -> Option<u64> {
        if index == 0 {
            return Some(0);
        }
        // The last index, asked about most (a leader's last entry, a commit at the end).
        match self.runs.last() {
            Some(&(t, end)) if end == index => return Some(t),
            Some(&(_, end)) if end < index => return None,
            _ => {}
        }
        let i = self.runs.partition_point(|&(_, end)| end < index);
        self.runs.get(i).map(|&(t, _)| t)
    }

    /// Keeps entries `1..=keep`.
    pub(crate) fn truncate(&mut self, keep: u64) {
        if keep >= self.len() {
            return;
        }
        let i = self.runs.partition_point(|&(_, end)| end < keep);
        if i < self.runs.len() {
            let start = if i == 0 {
                1
            } else {
                self.runs[i - 1].1.saturating_add(1)
            };
            if keep >= start {
                self.runs[i].1 = keep;
                self.runs.truncate(i + 1);
            } else {
                self.runs.truncate(i);
            }
        }
    }

    /// Appends `count` entries of `term`.
    pub(crate) fn push(&mut self, term: u64, count: u64) {
        if count == 0 {
            return;
        }
        let end = self.len().saturating_add(count);
        match self.runs.last_mut() {
            Some((t, e)) if *t == term => *e = end,
            _ => self.runs.push((term, end)),
        }
    }

    /// Appends `[term, count]` runs.
    pub(crate) fn extend(&mut self, counts: &[(u64, u64)]) {
        for &(t, n) in counts {
            self.push(t, n);
        }
    }

    /// The runs that start at or after `from`, as `(term, first index, term before)`.
    pub(crate) fn starts_from(&self, from: u64) -> impl Iterator<Item = (u64, u64, u64)> + '_ {
        let i = self.runs.partition_point(|&(_, end)| end < from);
        let i = i.saturating_sub(1);
        (i..self.runs.len()).filter_map(move |k| {
            let start = if k == 0 {
                1
            } else {
                self.runs[k - 1].1.saturating_add(1)
            };
            let before = if k == 0 { 0 } else { self.runs[k - 1].0 };
            (start >= from || k == 0 && from <= 1).then_some((self.runs[k].0, start, before))
        })
    }

    /// Appends to `to` (as counts) this log's entries `from + 1..=end`.
    pub(crate) fn copy_range(&self, from: u64, end: u64, to: &mut Runs) {
        let mut index = from;
        while index < end {
            let i = self
                .runs
                .partition_point(|&(_, e)| e < index.saturating_add(1));
            let Some(&(t, e)) = self.runs.get(i) else {
                return;
            };
            let upto = e.min(end);
            to.push(t, upto - index);
            index = upto;
        }
    }

    /// As `[term, count]` runs.
    pub(crate) fn counts(&self) -> Vec<(u64, u64)> {
        let mut out = Vec::with_capacity(self.runs.len());
        let mut before = 0u64;
        for &(t, end) in &self.runs {
            push_run(&mut out, t, end - before);
            before = end;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::Runs;

    #[test]
    fn runs_behave_like_a_list_of_terms() {
        let mut r = Runs::from_counts(&[(1, 2), (2, 0), (2, 3), (4, 1)]);
        assert_eq!(r.counts(), vec![(1, 2), (2, 3), (4, 1)]);
        assert_eq!(
            (
                r.len(),
                r.term_at(0),
                r.term_at(2),
                r.term_at(3),
                r.term_at(6),
                r.term_at(7)
            ),
            (6, Some(0), Some(1), Some(2), Some(4), None)
        );
        r.truncate(4);
        assert_eq!(r.counts(), vec![(1, 2), (2, 2)]);
        r.truncate(2);
        assert_eq!(r.counts(), vec![(1, 2)]);
        r.push(1, 1);
        r.push(3, 2);
        assert_eq!(r.counts(), vec![(1, 3), (3, 2)]);
        let starts: Vec<_> = r.starts_from(1).collect();
        assert_eq!(starts, vec![(1, 1, 0), (3, 4, 1)]);
        let starts: Vec<_> = r.starts_from(4).collect();
        assert_eq!(starts, vec![(3, 4, 1)]);
        assert_eq!(r.starts_from(5).count(), 0);
        let mut c = Runs::default();
        r.copy_range(2, 5, &mut c);
        assert_eq!(c.counts(), vec![(1, 1), (3, 2)]);
        r.truncate(0);
        assert_eq!(r.len(), 0);
    }
}
