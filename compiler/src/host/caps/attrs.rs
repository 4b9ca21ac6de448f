//! The attributes of one element of a capabilities document, read once each.

use std::borrow::Cow;
use std::collections::HashSet;

use quick_xml::XmlVersion;
use quick_xml::events::BytesStart;

use crate::host::xml::CapsError;
use crate::numbers;

/// How many attributes of an element are kept without allocating (a CPU has five).
const INLINE_ATTRS: usize = 8;

/// The attributes of one element, read in one pass: each value as written (white space
/// kept: numbers are read as libvirt reads them). An attribute given twice is malformed
/// XML; the check costs a look-up per attribute, however many the element has. The first
/// eight are kept in place, so reading an element allocates nothing unless it has more or
/// a value holds a reference or white space to normalise.
pub(super) struct Attrs<'e> {
    e: &'e BytesStart<'e>,
    pub(super) at: usize,
    first: [(&'e str, Cow<'e, str>); INLINE_ATTRS],
    len: usize,
    more: Vec<(&'e str, Cow<'e, str>)>,
}

impl<'e> Attrs<'e> {
    pub(super) fn read(e: &'e BytesStart<'e>, at: usize) -> Result<Attrs<'e>, CapsError> {
        let mut attrs = Attrs {
            e,
            at,
            first: Default::default(),
            len: 0,
            more: Vec::new(),
        };
        let mut seen = std::collections::HashSet::new();
        if attrs.read_plain(e.attributes_raw(), &mut seen)? {
            return Ok(attrs);
        }
        // Anything else (white space around `=`, a value to normalise, a malformed
        // attribute) is read by quick-xml, from the first attribute again.
        attrs.len = 0;
        attrs.more.clear();
        seen.clear();
        for a in e.attributes().with_checks(false) {
            let a = a.map_err(|err| CapsError::at(at, format!("malformed attribute: {err}")))?;
            let key: &str = a.key.into_inner();
            attrs.fresh(key, &mut seen)?;
            let v = a
                .normalized_value(XmlVersion::Implicit1_0)
                .map_err(|err| CapsError::at(at, format!("malformed attribute `{key}`: {err}")))?;
            attrs.keep(key, v);
        }
        Ok(attrs)
    }

    /// Attributes written plainly, `key='value'` or `key="value"` apart by white space,
    /// a value holding no reference, line end or tab (so normalising leaves it as it is):
    /// read as quick-xml reads them, a byte at a time. False at anything else.
    fn read_plain(&mut self, raw: &'e str, seen: &mut HashSet<&'e str>) -> Result<bool, CapsError> {
        let space = |b: &u8| matches!(b, b' ' | b'\t' | b'\r' | b'\n');
        let bytes = raw.as_bytes();
        let mut i = 0;
        loop {
            i += bytes
                .get(i..)
                .unwrap_or_default()
                .iter()
                .take_while(|b| space(b))
                .count();
            if i >= bytes.len() {
                return Ok(true);
            }
            let key_len = bytes
                .get(i..)
                .unwrap_or_default()
                .iter()
                .take_while(|&&b| b != b'=' && !space(&b))
                .count();
            let (key_at, eq) = (i, i + key_len);
            let quote = match (bytes.get(eq), bytes.get(eq + 1)) {
                (Some(b'='), Some(&q)) if key_len > 0 && (q == b'\'' || q == b'"') => q,
                _ => return Ok(false),
            };
            let value_at = eq + 2;
            let Some(value_len) = bytes
                .get(value_at..)
                .and_then(|rest| rest.iter().position(|&b| b == quote))
            else {
                return Ok(false);
            };
            let (Some(key), Some(value)) = (raw.get(key_at..eq), raw.get(value_at..value_at + value_len)) else {
                return Ok(false);
            };
            if value.bytes().any(|b| matches!(b, b'&' | b'<' | b'\t' | b'\r' | b'\n')) {
                return Ok(false);
            }
            self.fresh(key, seen)?;
            self.keep(key, Cow::Borrowed(value));
            i = value_at + value_len + 1;
        }
    }

    /// An error when `key` was given already: a look-up in those kept in place, or in `seen`
    /// (every key, once there are more).
    fn fresh(&self, key: &'e str, seen: &mut HashSet<&'e str>) -> Result<(), CapsError> {
        let fresh = if self.len < INLINE_ATTRS {
            self.kept().iter().all(|(k, _)| *k != key)
        } else {
            if seen.is_empty() {
                seen.extend(self.first.iter().map(|(k, _)| *k));
            }
            seen.insert(key)
        };
        if fresh {
            return Ok(());
        }
        Err(CapsError::at(
            self.at,
            format!("malformed attribute: attribute `{key}` given twice"),
        ))
    }

    fn keep(&mut self, key: &'e str, value: Cow<'e, str>) {
        match self.first.get_mut(self.len) {
            Some(slot) => {
                *slot = (key, value);
                self.len += 1;
            }
            None => self.more.push((key, value)),
        }
    }

    /// The attributes kept in place.
    fn kept(&self) -> &[(&'e str, Cow<'e, str>)] {
        self.first.get(..self.len).unwrap_or_default()
    }

    fn element(&self) -> String {
        let name = self.e.name();
        let name: &str = name.as_ref();
        name.to_string()
    }

    /// The value of `key`, as written.
    pub(super) fn raw(&self, key: &str) -> Option<&str> {
        let mut all = self.kept().iter().chain(&self.more);
        all.find(|(k, _)| *k == key).map(|(_, v)| v.as_ref())
    }

    /// The value of `key`, trimmed: CPU sets.
    pub(super) fn trimmed(&self, key: &str) -> Option<&str> {
        self.raw(key).map(str::trim)
    }

    /// An id or distance: decimal, as libvirt writes them ([`numbers::CAPS_ID`]).
    pub(super) fn optional(&self, key: &str) -> Result<Option<u32>, CapsError> {
        let Some(v) = self.raw(key) else {
            return Ok(None);
        };
        let n = numbers::read(&numbers::CAPS_ID, v).ok().flatten();
        let bad = || {
            CapsError::at(
                self.at,
                format!(
                    "<{} {key}='{v}'> is not a decimal number of at most 4294967295",
                    self.element()
                ),
            )
        };
        n.and_then(|n| u32::try_from(n).ok()).map(Some).ok_or_else(bad)
    }

    pub(super) fn required(&self, key: &str) -> Result<u32, CapsError> {
        self.optional(key)?
            .ok_or_else(|| CapsError::at(self.at, format!("<{}> has no `{key}` attribute", self.element())))
    }
}
