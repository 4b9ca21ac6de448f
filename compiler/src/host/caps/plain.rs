//! One pass over a capabilities document written plainly: start, end and self-closing
//! tags, text without references, comments, and the `<?xml …?>` declaration. The tags and
//! the text are cut where quick-xml cuts them and handed to the same [`Reading`], so a
//! document read here gives the facts the event reader would give. Anything else (a
//! byte-order mark, a reference in text, CDATA, a DOCTYPE, an end tag that does not match,
//! a tag left open, any error at all) gives None, and the event reader reads the document
//! again: every message comes from it.

use quick_xml::events::BytesStart;

use super::attrs::{INLINE_ATTRS, Tag, name_len, plain_attribute, skip_space, space};
use super::reading::{Caps, Reading};

/// The facts of `xml`, or None when it is not written plainly or holds an error.
pub(super) fn read(xml: &str) -> Option<Caps> {
    let bytes = xml.as_bytes();
    // quick-xml skips a byte-order mark and counts offsets after it.
    if bytes.starts_with(b"\xef\xbb\xbf") {
        return None;
    }
    let mut r = Reading::default();
    // The names of the open elements, as quick-xml checks end tags against them.
    let mut names: Vec<&str> = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let Some(lt) = markup(bytes.get(i..)?).map(|p| p + i) else {
            r.plain_text(xml.get(i..)?);
            break;
        };
        if lt > i {
            r.plain_text(xml.get(i..lt)?);
        }
        i = match bytes.get(lt..)? {
            [b'&', ..] => return None,
            [b'<', b'!', b'-', b'-', ..] => comment_end(xml, lt)?,
            [b'<', b'?', ..] => declaration_end(xml, lt)?,
            [b'<', b'/', ..] => {
                let gt = tag_end(bytes, lt)?;
                let name = xml
                    .get(lt + 2..gt)?
                    .trim_end_matches(|c: char| c.is_ascii() && space(c as u8));
                if names.pop()? != name {
                    return None;
                }
                r.end().ok()?;
                gt + 1
            }
            [b'<', b'!', ..] | [b'<'] => return None,
            _ => start_tag(xml, lt, &mut r, &mut names)?,
        };
    }
    if !names.is_empty() {
        return None;
    }
    r.finish(xml).ok()
}

/// The first `<` or `&` in `bytes`. SSE2 is always there on x86_64: taken directly, it spares
/// the search for CPU features (`cpuid`, a trap to the hypervisor in a virtual machine)
/// that `memchr2` makes on its first call.
#[cfg(target_arch = "x86_64")]
fn markup(bytes: &[u8]) -> Option<usize> {
    match memchr::arch::x86_64::sse2::memchr::Two::new(b'<', b'&') {
        Some(two) => two.find(bytes),
        None => memchr::memchr2(b'<', b'&', bytes),
    }
}

#[cfg(not(target_arch = "x86_64"))]
fn markup(bytes: &[u8]) -> Option<usize> {
    memchr::memchr2(b'<', b'&', bytes)
}

/// The start tag at `lt` handed to `r` (its name kept in `names` while it is open):
/// past its `>`.
fn start_tag<'x>(xml: &'x str, lt: usize, r: &mut Reading, names: &mut Vec<&'x str>) -> Option<usize> {
    let mut pairs = [("", ""); INLINE_ATTRS];
    let (gt, cut) = match cut_tag(xml, lt, &mut pairs) {
        Some((gt, n)) => (gt, pairs.get(..n)),
        None => (tag_end(xml.as_bytes(), lt)?, None),
    };
    let content = xml.get(lt + 1..gt)?;
    let (content, empty) = match content.strip_suffix('/') {
        Some(c) => (c, true),
        None => (content, false),
    };
    let name_len = content.bytes().position(space).unwrap_or(content.len());
    if name_len == 0 {
        return None;
    }
    let e = BytesStart::from_content(content, name_len);
    r.element(&Tag { e: &e, cut }, lt, empty).ok()?;
    if !empty {
        names.push(content.get(..name_len)?);
    }
    Some(gt + 1)
}

/// The start tag at `lt` cut in one walk when it is written plainly: a plain name, then
/// attributes as [`plain_attribute`] reads them, no more than fit in `pairs`, then `>` or
/// `/>`. The offset of its `>` and how many attributes it has; None for anything else,
/// which is cut as quick-xml cuts it.
fn cut_tag<'x>(xml: &'x str, lt: usize, pairs: &mut [(&'x str, &'x str); INLINE_ATTRS]) -> Option<(usize, usize)> {
    let tag = xml.get(lt + 1..)?;
    let mut rest = tag.get(name_len(tag.as_bytes())..)?;
    let mut n = 0;
    loop {
        rest = skip_space(rest);
        match rest.as_bytes() {
            [b'>', ..] => break,
            [b'/', b'>', ..] => {
                rest = rest.get(1..)?;
                break;
            }
            _ => {}
        }
        let (key, value, after) = plain_attribute(rest)?;
        *pairs.get_mut(n)? = (key, value);
        n += 1;
        rest = after;
    }
    // `rest` starts at the `>`.
    Some((xml.len() - rest.len(), n))
}

/// The offset of the `>` that closes the tag opened at `lt`: the first outside quotes,
/// as quick-xml finds it.
fn tag_end(bytes: &[u8], lt: usize) -> Option<usize> {
    let mut i = lt + 1;
    loop {
        match *bytes.get(i)? {
            b'>' => return Some(i),
            // A quoted value ends at the same quote (values are short: no search call).
            q @ (b'\'' | b'"') => i += 1 + bytes.get(i + 1..)?.iter().position(|&b| b == q)?,
            _ => {}
        }
        i += 1;
    }
}

/// Past the comment opened at `lt`: it ends at the first `-->` after its `<!--`.
fn comment_end(xml: &str, lt: usize) -> Option<usize> {
    let body = lt + 4;
    xml.get(body..)?.find("-->").map(|p| body + p + 3)
}

/// Past the declaration or processing instruction opened at `lt`: it ends at the first
/// `?>` after its `<`, and holds something (`<??>` at least).
fn declaration_end(xml: &str, lt: usize) -> Option<usize> {
    let end = xml.get(lt + 1..)?.find("?>").map(|p| lt + 1 + p + 2)?;
    (end - lt > 3).then_some(end)
}

#[cfg(test)]
mod tests;
