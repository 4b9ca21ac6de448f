//! The attributes of one element of a capabilities document, read once each.

use std::borrow::Cow;
use std::collections::HashSet;

use quick_xml::XmlVersion;
use quick_xml::events::BytesStart;

use crate::host::xml::CapsError;
use crate::numbers;

/// How many attributes of an element are kept without allocating (a CPU has five).
pub(super) const INLINE_ATTRS: usize = 8;

/// A start tag, and its attributes when the one-pass reader has cut them already (written
/// plainly, as [`Attrs::read`] would read them).
pub(super) struct Tag<'e> {
    pub(super) e: &'e BytesStart<'e>,
    pub(super) cut: Option<&'e [(&'e str, &'e str)]>,
}

/// The attributes of one element, read in one pass: each value as written (white space
/// kept: numbers are read as libvirt reads them). An attribute given twice is malformed
/// XML. Up to eight attributes written plainly are kept in place, borrowed, and checked
/// against each other; any others (more of them, a value to normalise, white space around
/// `=`, a malformed attribute) are read by quick-xml, from the first attribute again, and
/// checked by a look-up each.
pub(super) struct Attrs<'e> {
    e: &'e BytesStart<'e>,
    pub(super) at: usize,
    first: [(&'e str, &'e str); INLINE_ATTRS],
    len: usize,
    more: Vec<(&'e str, Cow<'e, str>)>,
}

impl<'e> Attrs<'e> {
    pub(super) fn read(tag: &Tag<'e>, at: usize) -> Result<Attrs<'e>, CapsError> {
        let e = tag.e;
        let mut attrs = Attrs {
            e,
            at,
            first: [("", ""); INLINE_ATTRS],
            len: 0,
            more: Vec::new(),
        };
        let plain = match tag.cut {
            Some(cut) => attrs.keep_all(cut.iter().copied())?,
            None => attrs.read_plain(e.attributes_raw())?,
        };
        if plain {
            return Ok(attrs);
        }
        attrs.len = 0;
        let mut seen = HashSet::new();
        for a in e.attributes().with_checks(false) {
            let a = a.map_err(|err| CapsError::at(at, format!("malformed attribute: {err}")))?;
            let key: &str = a.key.into_inner();
            if !seen.insert(key) {
                return Err(attrs.twice(key));
            }
            let v = a
                .normalized_value(XmlVersion::Implicit1_0)
                .map_err(|err| CapsError::at(at, format!("malformed attribute `{key}`: {err}")))?;
            attrs.more.push((key, v));
        }
        Ok(attrs)
    }

    /// Attributes written plainly ([`plain_attribute`]), apart by white space or none:
    /// read as quick-xml reads them, a byte at a time. False at anything else.
    fn read_plain(&mut self, raw: &'e str) -> Result<bool, CapsError> {
        let mut pairs = [("", ""); INLINE_ATTRS];
        let mut n = 0;
        let mut rest = raw;
        loop {
            rest = skip_space(rest);
            if rest.is_empty() {
                break;
            }
            let Some((key, value, after)) = plain_attribute(rest) else {
                return Ok(false);
            };
            let Some(slot) = pairs.get_mut(n) else {
                return Ok(false);
            };
            *slot = (key, value);
            n += 1;
            rest = after;
        }
        self.keep_all(pairs.iter().copied().take(n))
    }

    /// Keeps `pairs` in place, each key checked against those before it: false (nothing
    /// kept) when there are more than fit.
    fn keep_all(&mut self, pairs: impl Iterator<Item = (&'e str, &'e str)>) -> Result<bool, CapsError> {
        for (key, value) in pairs {
            if self.kept().iter().any(|&(k, _)| k == key) {
                return Err(self.twice(key));
            }
            let Some(slot) = self.first.get_mut(self.len) else {
                self.len = 0;
                return Ok(false);
            };
            *slot = (key, value);
            self.len += 1;
        }
        Ok(true)
    }

    fn twice(&self, key: &str) -> CapsError {
        CapsError::at(self.at, format!("malformed attribute: attribute `{key}` given twice"))
    }

    /// The attributes kept in place.
    fn kept(&self) -> &[(&'e str, &'e str)] {
        self.first.get(..self.len).unwrap_or_default()
    }

    fn element(&self) -> String {
        let name = self.e.name();
        let name: &str = name.as_ref();
        name.to_string()
    }

    /// The value of `key`, as written.
    pub(super) fn raw(&self, key: &str) -> Option<&str> {
        if let Some(&(_, v)) = self.kept().iter().find(|(k, _)| *k == key) {
            return Some(v);
        }
        self.more.iter().find(|(k, _)| *k == key).map(|(_, v)| v.as_ref())
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

/// The bytes a plainly written name may hold: anything but white space, `=`, quotes,
/// `<`, `>`, `/` and `&`.
const NAME_BYTE: [bool; 256] = {
    let mut table = [true; 256];
    let mut i = 0;
    let not = b" \t\r\n='\"<>/&";
    while i < not.len() {
        table[not[i] as usize] = false;
        i += 1;
    }
    table
};

/// The length of the name at the start of `bytes`.
pub(super) fn name_len(bytes: &[u8]) -> usize {
    bytes
        .iter()
        .position(|&b| !NAME_BYTE[b as usize])
        .unwrap_or(bytes.len())
}

/// One attribute written plainly at the start of `text` (`key='value'` or `key="value"`,
/// the key a plain name, the value holding no reference, `<`, line end or tab, so that
/// normalising leaves it as it is): its key, its value and what follows it. None for
/// anything else.
pub(super) fn plain_attribute(text: &str) -> Option<(&str, &str, &str)> {
    let bytes = text.as_bytes();
    let key_len = name_len(bytes);
    let quote = match bytes.get(key_len..)? {
        [b'=', q @ (b'\'' | b'"'), ..] if key_len > 0 => *q,
        _ => return None,
    };
    let start = key_len + 2;
    let value = bytes.get(start..)?;
    let len = value
        .iter()
        .position(|&b| b == quote || matches!(b, b'&' | b'<' | b'\t' | b'\r' | b'\n'))?;
    if value.get(len) != Some(&quote) {
        return None;
    }
    Some((
        text.get(..key_len)?,
        text.get(start..start + len)?,
        text.get(start + len + 1..)?,
    ))
}

/// `text` from its first byte that is not white space.
pub(super) fn skip_space(text: &str) -> &str {
    let n = text.bytes().take_while(|&b| space(b)).count();
    text.get(n..).unwrap_or_default()
}

/// XML white space, as quick-xml has it.
pub(super) fn space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}
