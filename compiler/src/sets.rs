//! libvirt-style id sets (`0-3,8,^2`): parsing and canonical formatting.

use std::fmt;

/// A set of CPU or node ids, kept sorted and free of duplicates.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub struct IdSet(Vec<u32>);

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
        IdSet(Vec::new())
    }

    pub fn from_ids(ids: impl IntoIterator<Item = u32>) -> Self {
        let mut v: Vec<u32> = ids.into_iter().collect();
        v.sort_unstable();
        v.dedup();
        IdSet(v)
    }

    pub fn range(start: u32, end_inclusive: u32) -> Self {
        IdSet((start..=end_inclusive).collect())
    }

    pub fn single(id: u32) -> Self {
        IdSet(vec![id])
    }

    /// Parse libvirt bitmap syntax: comma-separated ids and `a-b` ranges, `^id`/`^a-b` exclusions.
    pub fn parse(text: &str) -> Result<IdSet, SetError> {
        let mut include = Vec::new();
        let mut exclude = Vec::new();
        let mut offset = 0usize;
        if text.is_empty() {
            return Err(SetError {
                message: "empty set".into(),
                at: 0,
                len: 0,
            });
        }
        for part in text.split(',') {
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
            let (lo, hi) = match body.split_once('-') {
                Some((a, b)) => (parse_id(a, body_at)?, parse_id(b, body_at + a.len() + 1)?),
                None => {
                    let v = parse_id(body, body_at)?;
                    (v, v)
                }
            };
            if lo > hi {
                return Err(bad(format!("range `{body}` runs backwards")));
            }
            let target = if neg { &mut exclude } else { &mut include };
            if target.len() + (hi - lo) as usize > 2 * MAX_ID as usize {
                return Err(bad("set is too large".into()));
            }
            target.extend(lo..=hi);
            offset += part.len() + 1;
        }
        let exclude = IdSet::from_ids(exclude);
        Ok(IdSet::from_ids(include.into_iter().filter(|i| !exclude.contains(*i))))
    }

    pub fn contains(&self, id: u32) -> bool {
        self.0.binary_search(&id).is_ok()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn iter(&self) -> impl Iterator<Item = u32> + '_ {
        self.0.iter().copied()
    }

    pub fn as_slice(&self) -> &[u32] {
        &self.0
    }

    pub fn first(&self) -> Option<u32> {
        self.0.first().copied()
    }

    pub fn last(&self) -> Option<u32> {
        self.0.last().copied()
    }

    pub fn insert(&mut self, id: u32) {
        if let Err(pos) = self.0.binary_search(&id) {
            self.0.insert(pos, id);
        }
    }

    pub fn union(&self, other: &IdSet) -> IdSet {
        IdSet::from_ids(self.iter().chain(other.iter()))
    }

    pub fn intersection(&self, other: &IdSet) -> IdSet {
        IdSet(self.iter().filter(|i| other.contains(*i)).collect())
    }

    pub fn difference(&self, other: &IdSet) -> IdSet {
        IdSet(self.iter().filter(|i| !other.contains(*i)).collect())
    }

    pub fn is_subset(&self, other: &IdSet) -> bool {
        self.iter().all(|i| other.contains(i))
    }

    /// Contiguous runs `(first, last)`, as libvirt groups them.
    pub fn runs(&self) -> Vec<(u32, u32)> {
        let mut runs: Vec<(u32, u32)> = Vec::new();
        for id in self.iter() {
            match runs.last_mut() {
                Some((_, hi)) if *hi + 1 == id => *hi = id,
                _ => runs.push((id, id)),
            }
        }
        runs
    }

    /// Each run as libvirt writes it: `3` or `0-14`.
    pub fn run_strings(&self) -> Vec<String> {
        self.runs()
            .into_iter()
            .map(|(a, b)| if a == b { a.to_string() } else { format!("{a}-{b}") })
            .collect()
    }
}

fn parse_id(text: &str, at: usize) -> Result<u32, SetError> {
    let err = |message: String| SetError {
        message,
        at,
        len: text.len().max(1),
    };
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(err(format!("`{text}` is not an id")));
    }
    match text.parse::<u32>() {
        Ok(v) if v <= MAX_ID => Ok(v),
        _ => Err(err(format!("id `{text}` is too large (at most {MAX_ID})"))),
    }
}

/// Canonical libvirt form: `0-14,60-74`.
impl fmt::Display for IdSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.run_strings().join(","))
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

    #[test]
    fn parses_ranges_lists_and_exclusions() {
        let s = IdSet::parse("0-3,^2,8").unwrap();
        assert_eq!(s.as_slice(), &[0, 1, 3, 8]);
        assert_eq!(s.to_string(), "0-1,3,8");
        assert_eq!(IdSet::parse("0-14,60-74").unwrap().len(), 30);
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
}
