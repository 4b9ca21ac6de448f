//! libvirt-style id sets (`0-3,8,^2`): parsing and canonical formatting.
//!
//! A set is kept as its sorted, disjoint, non-adjacent runs `(first, last)`, never as a list
//! of every id: `0-1048575` costs one run, and every operation is linear in the runs of its
//! operands. Code that walks the members of a set (`iter`) does so only after the set is
//! known to lie within something bounded (a host's CPUs, a guest's vCPUs).

use smallvec::SmallVec;
use std::fmt;

/// A set of CPU or node ids: sorted, disjoint runs with a gap between neighbours.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub struct IdSet(Runs);

/// The runs of a set. Most sets have one or two (a core's threads `0,60`, a node's CPUs
/// `0-14,60-74`, a pin): those are kept in place, in the bytes a vector would take, and
/// cost no allocation to make, copy or drop.
type Runs = SmallVec<[(u32, u32); INLINE_RUNS]>;

/// How many runs a set keeps in place.
const INLINE_RUNS: usize = 2;

/// Why a set could not be parsed; `at` is a byte offset into the text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetError {
    pub message: String,
    pub at: usize,
    pub len: usize,
}

/// The largest id a set may name; guards against `0-4000000000` eating memory.
pub const MAX_ID: u32 = 1 << 20;

impl IdSet {
    pub fn new() -> Self {
        IdSet(Runs::new())
    }

    pub fn from_ids(ids: impl IntoIterator<Item = u32>) -> Self {
        // Ids given in order (as they usually are) become runs as they come; the first one
        // out of order sends what is left, with the runs so far, through a sort.
        let mut ids = ids.into_iter();
        let mut runs = Runs::new();
        while let Some(id) = ids.next() {
            match runs.last_mut() {
                Some((_, hi)) if hi.checked_add(1) == Some(id) => *hi = id,
                Some(&mut (lo, _)) if id < lo => {
                    let mut v: Vec<u32> = runs.iter().flat_map(|&(a, b)| a..=b).collect();
                    v.push(id);
                    v.extend(ids);
                    return IdSet::from_unsorted(v);
                }
                // Already in the last run.
                Some(&mut (_, hi)) if id <= hi => {}
                _ => runs.push((id, id)),
            }
        }
        IdSet(runs)
    }

    /// Ids in any order: sorted, they are in order for [`IdSet::from_ids`].
    fn from_unsorted(mut v: Vec<u32>) -> Self {
        v.sort_unstable();
        IdSet::from_ids(v)
    }

    /// Builds a set from runs in any order, overlapping or not.
    pub fn from_runs(runs: impl IntoIterator<Item = (u32, u32)>) -> Self {
        IdSet::from_run_vec(runs.into_iter().filter(|(a, b)| a <= b).collect())
    }

    /// [`IdSet::from_runs`] of runs that each have `first <= last`, merged in place: runs
    /// given in order (as a CPU list usually is) are neither sorted nor copied.
    fn from_run_vec(mut v: Vec<(u32, u32)>) -> Self {
        if !v.is_sorted() {
            v.sort_unstable();
        }
        // A run that touches or overlaps the last one kept is merged into it.
        v.dedup_by(|next, kept| {
            let merge = next.0 <= kept.1.saturating_add(1);
            if merge {
                kept.1 = kept.1.max(next.1);
            }
            merge
        });
        // Runs that merged into few do not keep the room of many.
        if v.len() <= INLINE_RUNS {
            return IdSet(Runs::from_slice(&v));
        }
        if v.len() < v.capacity() / 2 {
            v.shrink_to_fit();
        }
        IdSet(Runs::from_vec(v))
    }

    pub fn range(start: u32, end_inclusive: u32) -> Self {
        if start > end_inclusive {
            return IdSet::new();
        }
        IdSet(smallvec::smallvec![(start, end_inclusive)])
    }

    pub fn single(id: u32) -> Self {
        IdSet(smallvec::smallvec![(id, id)])
    }

    /// Parse libvirt bitmap syntax: comma-separated ids and `a-b` ranges, `^id`/`^a-b` exclusions.
    /// Costs time linear in the text, whatever the ranges span.
    pub fn parse(text: &str) -> Result<IdSet, SetError> {
        match IdSet::parse_plain(text) {
            Some(set) => Ok(set),
            None => IdSet::parse_any(text),
        }
    }

    /// A list of ids and ranges in increasing order with gaps between them, as libvirt and
    /// /sys write sets (`0-14,60-74`), read in one pass; None for anything else, which
    /// [`IdSet::parse_any`] reads (and reports), so both give the same set.
    fn parse_plain(text: &str) -> Option<IdSet> {
        let b = text.as_bytes();
        let mut runs = Runs::new();
        let mut i = 0;
        loop {
            let (lo, next) = plain_id(b, i)?;
            let (hi, next) = match b.get(next) {
                Some(b'-') => plain_id(b, next + 1)?,
                _ => (lo, next),
            };
            match runs.last() {
                _ if lo > hi => return None,
                Some(&(_, last)) if lo <= last.saturating_add(1) => return None,
                _ => runs.push((lo, hi)),
            }
            match b.get(next) {
                None => return Some(IdSet(runs)),
                Some(b',') => i = next + 1,
                Some(_) => return None,
            }
        }
    }

    /// Any set [`IdSet::parse`] takes: parts in any order, overlapping, excluded (`^3`).
    fn parse_any(text: &str) -> Result<IdSet, SetError> {
        if text.is_empty() {
            return Err(SetError {
                message: "empty set".into(),
                at: 0,
                len: 0,
            });
        }
        // One run a part at most: the runs are never grown. The separators are found by a
        // test a character, cheaper than a search on parts this short.
        let parts = text.bytes().filter(|&b| b == b',').count() + 1;
        let mut include = Vec::with_capacity(parts);
        let mut exclude = Vec::new();
        let mut offset = 0usize;
        for part in text.split([',']) {
            let (neg, body, body_at) = match part.strip_prefix('^') {
                Some(rest) => (true, rest, offset + 1),
                None => (false, part, offset),
            };
            let bad = |message: String| SetError {
                message,
                at: offset,
                len: part.len().max(1),
            };
            if body.is_empty() {
                return Err(bad("empty element in set".into()));
            }
            let (lo, hi) = match body.split_once(['-']) {
                Some((a, b)) => (parse_id(a, body_at)?, parse_id(b, body_at + a.len() + 1)?),
                None => {
                    let v = parse_id(body, body_at)?;
                    (v, v)
                }
            };
            if lo > hi {
                return Err(bad(format!("range `{body}` runs backwards")));
            }
            if neg { &mut exclude } else { &mut include }.push((lo, hi));
            offset += part.len() + 1;
        }
        // Every run has lo <= hi (checked above).
        let set = IdSet::from_run_vec(include);
        if exclude.is_empty() {
            return Ok(set);
        }
        Ok(set.difference(&IdSet::from_run_vec(exclude)))
    }

    pub fn contains(&self, id: u32) -> bool {
        let i = self.0.partition_point(|&(_, hi)| hi < id);
        self.0.get(i).is_some_and(|&(lo, _)| lo <= id)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The number of ids (linear in the runs).
    pub fn len(&self) -> usize {
        self.0.iter().map(|&(a, b)| (b - a) as usize + 1).sum()
    }

    /// Every id in order. Walk only sets known to be bounded (see the module docs).
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = u32> + '_ {
        self.0.iter().flat_map(|&(a, b)| a..=b)
    }

    /// The one id of a single-id set.
    pub fn only(&self) -> Option<u32> {
        match self.0.as_slice() {
            [(a, b)] if a == b => Some(*a),
            _ => None,
        }
    }

    pub fn first(&self) -> Option<u32> {
        self.0.first().map(|&(a, _)| a)
    }

    pub fn last(&self) -> Option<u32> {
        self.0.last().map(|&(_, b)| b)
    }

    pub fn insert(&mut self, id: u32) {
        let i = self.0.partition_point(|&(_, hi)| hi.saturating_add(1) < id);
        match self.0.get(i).copied() {
            Some((lo, hi)) if lo <= id && id <= hi => {}
            // `id` extends run i at its end, perhaps closing the gap to run i + 1.
            Some((lo, hi)) if hi.checked_add(1) == Some(id) => match self.0.get(i + 1).copied() {
                Some((next_lo, next_hi)) if next_lo == id + 1 => {
                    self.0[i] = (lo, next_hi);
                    self.0.remove(i + 1);
                }
                _ => self.0[i] = (lo, id),
            },
            Some((lo, hi)) if lo.checked_sub(1) == Some(id) => self.0[i] = (id, hi),
            _ => self.0.insert(i, (id, id)),
        }
    }

    /// Both sets' runs merged in one pass (each is sorted already): no sort, so adding a
    /// few ids to a set of thousands of runs costs a copy of it, not a sort of it.
    pub fn union(&self, other: &IdSet) -> IdSet {
        let (a, b) = (&self.0, &other.0);
        let mut out = Runs::with_capacity(a.len() + b.len());
        let (mut i, mut j) = (0, 0);
        while i < a.len() || j < b.len() {
            let next = match (a.get(i), b.get(j)) {
                (Some(&x), Some(&y)) if x <= y => {
                    i += 1;
                    x
                }
                (_, Some(&y)) => {
                    j += 1;
                    y
                }
                (Some(&x), None) => {
                    i += 1;
                    x
                }
                (None, None) => break,
            };
            match out.last_mut() {
                Some((_, hi)) if next.0 <= hi.saturating_add(1) => *hi = (*hi).max(next.1),
                _ => out.push(next),
            }
        }
        IdSet(out)
    }

    /// Add `other`'s ids in place: a search and a splice per run of `other`.
    pub fn add(&mut self, other: &IdSet) {
        for &(lo, hi) in &other.0 {
            // The runs that touch or overlap lo..=hi are start..end.
            let start = self.0.partition_point(|&(_, h)| h.saturating_add(1) < lo);
            let end = self.0.partition_point(|&(l, _)| l <= hi.saturating_add(1));
            let touched = self.0.get(start..end).unwrap_or_default();
            let new_lo = touched.first().map_or(lo, |&(l, _)| l.min(lo));
            let new_hi = touched.last().map_or(hi, |&(_, h)| h.max(hi));
            // The touched runs become one: the first rewritten, the others removed.
            if start < end {
                self.0[start] = (new_lo, new_hi);
                self.0.drain(start + 1..end);
            } else {
                self.0.insert(start, (new_lo, new_hi));
            }
        }
    }

    pub fn intersection(&self, other: &IdSet) -> IdSet {
        let (mut i, mut j, mut out) = (0, 0, Runs::new());
        while let (Some(&(a, b)), Some(&(c, d))) = (self.0.get(i), other.0.get(j)) {
            let (lo, hi) = (a.max(c), b.min(d));
            if lo <= hi {
                out.push((lo, hi));
            }
            if b < d { i += 1 } else { j += 1 }
        }
        IdSet(out)
    }

    pub fn difference(&self, other: &IdSet) -> IdSet {
        let mut out = Runs::new();
        let mut j = 0;
        for &(a, b) in &self.0 {
            let mut lo = a;
            while j < other.0.len() && other.0[j].1 < lo {
                j += 1;
            }
            let mut k = j;
            let mut open = true;
            while let Some(&(c, d)) = other.0.get(k) {
                if c > b {
                    break;
                }
                if c > lo {
                    out.push((lo, c - 1));
                }
                if d >= b {
                    open = false;
                    break;
                }
                lo = d + 1;
                k += 1;
            }
            if open {
                out.push((lo, b));
            }
        }
        IdSet(out)
    }

    /// Every id of `self` is in `other`: each run lies within one run of `other` (runs are
    /// apart, so no run is covered by two), found in one pass over both.
    pub fn is_subset(&self, other: &IdSet) -> bool {
        let mut theirs = other.0.iter();
        let mut current = theirs.next();
        for &(lo, hi) in &self.0 {
            while current.is_some_and(|&(_, d)| d < lo) {
                current = theirs.next();
            }
            match current {
                Some(&(c, d)) if c <= lo && hi <= d => {}
                _ => return false,
            }
        }
        true
    }

    /// Contiguous runs `(first, last)`, as libvirt groups them.
    pub fn runs(&self) -> Vec<(u32, u32)> {
        self.0.to_vec()
    }

    /// The set as [`Display`](fmt::Display) writes it, appended to `out` (XML attributes:
    /// nothing in it to escape).
    pub fn push_to(&self, out: &mut String) {
        // Writing to a String cannot fail.
        let _ = self.write_runs(out);
    }

    /// The runs as libvirt writes them (`0-14,60-74`), onto `w`: what both
    /// [`Display`](fmt::Display) and [`IdSet::push_to`] write.
    fn write_runs<W: fmt::Write>(&self, w: &mut W) -> fmt::Result {
        for (i, &(a, b)) in self.0.iter().enumerate() {
            if i > 0 {
                w.write_char(',')?;
            }
            crate::text::write_decimal(w, u64::from(a))?;
            if a != b {
                w.write_char('-')?;
                crate::text::write_decimal(w, u64::from(b))?;
            }
        }
        Ok(())
    }

    /// Each run as libvirt writes it: `3` or `0-14`.
    pub fn run_strings(&self) -> Vec<String> {
        self.0
            .iter()
            .map(|&(a, b)| if a == b { a.to_string() } else { format!("{a}-{b}") })
            .collect()
    }
}

/// The decimal id at `at` (at most [`MAX_ID`]) and the offset after it.
fn plain_id(b: &[u8], at: usize) -> Option<(u32, usize)> {
    let digits = b.get(at..)?.iter().take_while(|c| c.is_ascii_digit()).count();
    if digits == 0 || digits > 7 {
        return None;
    }
    let value = b[at..at + digits]
        .iter()
        .fold(0u32, |v, &c| v * 10 + u32::from(c - b'0'));
    (value <= MAX_ID).then_some((value, at + digits))
}

fn parse_id(text: &str, at: usize) -> Result<u32, SetError> {
    let err = |message: String| SetError {
        message,
        at,
        len: text.len().max(1),
    };
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(err(format!("`{}` is not an id", shown(text))));
    }
    match text.parse::<u32>() {
        Ok(v) if v <= MAX_ID => Ok(v),
        _ => Err(err(format!("id `{}` is too large (at most {MAX_ID})", shown(text)))),
    }
}

/// At most the first 32 characters of a word, for a message that quotes it.
fn shown(text: &str) -> String {
    match text.char_indices().nth(32) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_string(),
    }
}

/// Canonical libvirt form: `0-14,60-74`.
impl fmt::Display for IdSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Each run as `run_strings` gives it, written in place.
        self.write_runs(f)
    }
}

impl FromIterator<u32> for IdSet {
    fn from_iter<T: IntoIterator<Item = u32>>(iter: T) -> Self {
        IdSet::from_ids(iter)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A set costs the bytes of a vector of its runs, and one or two runs no allocation.
    #[test]
    fn small_sets_are_kept_in_place() {
        assert_eq!(size_of::<IdSet>(), size_of::<Vec<(u32, u32)>>());
        assert!(!IdSet::parse("0-14,60-74").unwrap().0.spilled());
        assert!(!IdSet::parse("3,1").unwrap().0.spilled());
        assert!(!IdSet::parse("0,2,1").unwrap().0.spilled());
        assert!(IdSet::parse("0,2,4").unwrap().0.spilled());
        let mut s = IdSet::parse("0,2,4").unwrap();
        s.add(&IdSet::single(1));
        s.add(&IdSet::single(3));
        assert_eq!(s.runs(), [(0, 4)]);
    }

    #[test]
    fn parses_ranges_lists_and_exclusions() {
        let s = IdSet::parse("0-3,^2,8").unwrap();
        assert_eq!(s.iter().collect::<Vec<_>>(), [0, 1, 3, 8]);
        assert_eq!(s.to_string(), "0-1,3,8");
        assert_eq!(IdSet::parse("0-14,60-74").unwrap().len(), 30);
        assert_eq!(IdSet::parse("5,3,4,4").unwrap().runs(), [(3, 5)]);
    }

    #[test]
    fn rejects_bad_sets() {
        assert!(IdSet::parse("3-1").is_err());
        assert!(IdSet::parse("1,,2").is_err());
        assert!(IdSet::parse("a").is_err());
        assert!(IdSet::parse("0-99999999999").is_err());
        let e = IdSet::parse("0-3,x").unwrap_err();
        assert_eq!(e.at, 4);
    }

    /// The widest set is one run, not a million ids.
    #[test]
    fn wide_ranges_stay_runs() {
        let text = vec!["0-1048575"; 1000].join(",");
        let s = IdSet::parse(&text).unwrap();
        assert_eq!(s.runs(), [(0, MAX_ID - 1)]);
        assert_eq!(s.len(), MAX_ID as usize);
        let holes = IdSet::parse("0-1048576,^1-1048575").unwrap();
        assert_eq!(holes.to_string(), "0,1048576");
    }

    fn model(text: &[(u32, u32)]) -> std::collections::BTreeSet<u32> {
        text.iter().flat_map(|&(a, b)| a..=b).collect()
    }

    fn runs() -> impl Strategy<Value = Vec<(u32, u32)>> {
        prop::collection::vec((0u32..200, 0u32..12).prop_map(|(a, n)| (a, a + n)), 0..8)
    }

    proptest! {
        /// Whatever text the one-pass reader takes, the general reader takes as the same set.
        #[test]
        fn the_one_pass_reader_agrees(text in "[0-9,^ -]{0,14}|[0-9]{1,9}(-[0-9]{1,9})?(,[0-9]{1,9}(-[0-9]{1,9})?){0,4}") {
            if let Some(plain) = IdSet::parse_plain(&text) {
                prop_assert_eq!(Ok(plain), IdSet::parse_any(&text));
            }
            prop_assert_eq!(IdSet::parse(&text), IdSet::parse_any(&text));
        }

        /// Every operation agrees with the same operation on plain id sets.
        #[test]
        fn operations_match_a_model(a in runs(), b in runs(), probe in 0u32..220) {
            let (sa, sb) = (IdSet::from_runs(a.clone()), IdSet::from_runs(b.clone()));
            let (ma, mb) = (model(&a), model(&b));
            let ids = |s: &IdSet| s.iter().collect::<Vec<_>>();
            prop_assert_eq!(ids(&sa), ma.iter().copied().collect::<Vec<_>>());
            prop_assert_eq!(sa.len(), ma.len());
            prop_assert_eq!(sa.contains(probe), ma.contains(&probe));
            prop_assert_eq!(ids(&sa.union(&sb)), ma.union(&mb).copied().collect::<Vec<_>>());
            // Union and adding in place give the canonical runs.
            let both = IdSet::from_ids(ma.union(&mb).copied());
            prop_assert_eq!(&sa.union(&sb), &both);
            let mut added = sa.clone();
            added.add(&sb);
            prop_assert_eq!(&added, &both);
            prop_assert_eq!(ids(&sa.intersection(&sb)), ma.intersection(&mb).copied().collect::<Vec<_>>());
            prop_assert_eq!(ids(&sa.difference(&sb)), ma.difference(&mb).copied().collect::<Vec<_>>());
            prop_assert_eq!(sa.is_subset(&sb), ma.is_subset(&mb));
            prop_assert_eq!(&IdSet::from_ids(ma.iter().copied()), &sa);
            let mut grown = sa.clone();
            grown.insert(probe);
            let mut mg = ma.clone();
            mg.insert(probe);
            prop_assert_eq!(&grown, &IdSet::from_ids(mg));
            // Ids in any order, repeated or not, give the same set as the sorted ids.
            let given: Vec<u32> = a.iter().flat_map(|&(x, y)| x..=y).collect();
            let sorted: std::collections::BTreeSet<u32> = given.iter().copied().collect();
            prop_assert_eq!(IdSet::from_ids(given.iter().copied()), IdSet::from_ids(sorted.iter().copied()));
            prop_assert_eq!(ids(&IdSet::from_ids(given)), sorted.into_iter().collect::<Vec<_>>());
            // Runs are canonical: sorted, disjoint, never adjacent.
            for w in sa.runs().windows(2) {
                prop_assert!(w[0].1 + 1 < w[1].0);
            }
            prop_assert_eq!(IdSet::parse(&sa.to_string()).ok(), if sa.is_empty() { None } else { Some(sa.clone()) });
            prop_assert_eq!(sa.is_subset(&sb), ma.is_subset(&mb));
            prop_assert!(sa.intersection(&sb).is_subset(&sa));
            // The one-pass reader gives what the general one gives, or leaves the text to it.
            let text = sa.to_string();
            if let Some(plain) = IdSet::parse_plain(&text) {
                prop_assert_eq!(Ok(plain), IdSet::parse_any(&text));
            }
            prop_assert!(sa.is_empty() || IdSet::parse_plain(&text).is_some());
            // A list of the runs as given, in any order, parses to the same set.
            let listed: Vec<String> = a.iter().map(|&(x, y)| format!("{x}-{y}")).collect();
            prop_assert_eq!(IdSet::parse(&listed.join(",")).ok(), if a.is_empty() { None } else { Some(sa.clone()) });
        }
    }
}
