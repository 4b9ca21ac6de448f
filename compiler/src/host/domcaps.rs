//! [`DomCaps`] from `virsh domcapabilities` XML.
//!
//! Read: `<machine>`, `<vcpu max>`, `<memoryBacking><enum name='sourceType'>` and
//! `<devices><memory><enum name='model'>`. Every other element is skipped, so newer libvirt
//! output keeps working. One pass over the text; what is kept is bounded.

use quick_xml::events::{BytesStart, Event};
use quick_xml::reader::Reader;

use super::target::DomCaps;
use super::xml::{CapsError, is_path, raw_attr, reference};

/// The most values one list may hold: libvirt's longest has a handful.
pub const MAX_ENUM_VALUES: usize = 64;
/// The longest machine type or value kept (libvirt's are under 40 bytes).
pub const MAX_WORD: usize = 128;

const ROOT: &str = "domainCapabilities";
const BACKING: [&str; 4] = [ROOT, "memoryBacking", "enum", "value"];
const MODELS: [&str; 5] = [ROOT, "devices", "memory", "enum", "value"];

/// Which list an open `<enum>` feeds.
#[derive(Clone, Copy, PartialEq, Eq)]
enum List {
    Backing,
    Models,
}

#[derive(Default)]
struct Reading {
    caps: DomCaps,
    /// The list the open `<enum>` feeds, if it is one that is read.
    list: Option<List>,
    text: String,
}

/// Read `virsh domcapabilities` output.
pub fn from_domcaps_xml(xml: &str) -> Result<DomCaps, CapsError> {
    let mut reader = Reader::from_str(xml);
    let mut path: Vec<String> = Vec::new();
    let mut r = Reading::default();
    loop {
        let (at, event) = super::xml::next_event(&mut reader)?;
        match event {
            Event::Start(e) | Event::Empty(e) if path.is_empty() && e.name().as_ref() != ROOT => {
                return Err(not_domcaps(Some(at)));
            }
            Event::Start(e) => {
                open(&path, &e, at, &mut r)?;
                path.push(e.name().as_ref().to_string());
            }
            Event::Empty(e) => {
                open(&path, &e, at, &mut r)?;
                path.push(e.name().as_ref().to_string());
                close(&mut path, at, &mut r)?;
            }
            Event::End(_) => close(&mut path, at, &mut r)?,
            Event::Text(t) if keeps_text(&path) => push_text(&mut r.text, &t.xml10_content(), at)?,
            Event::GeneralRef(e) if keeps_text(&path) => {
                let c = reference(&e).ok_or_else(|| {
                    let name: &str = &e;
                    CapsError::at(at, format!("malformed XML: unknown entity `&{name};`"))
                })?;
                push_text(&mut r.text, c.encode_utf8(&mut [0; 4]), at)?;
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if let Some(open) = path.last() {
        return Err(CapsError::at(
            xml.len(),
            format!("malformed XML: the document ends inside <{open}>"),
        ));
    }
    if r.caps == DomCaps::default() && !xml.contains(ROOT) {
        return Err(not_domcaps(None));
    }
    Ok(r.caps)
}

fn keeps_text(path: &[String]) -> bool {
    is_path(path, &[ROOT, "machine"], &[]) || is_path(path, &BACKING, &[]) || is_path(path, &MODELS, &[])
}

/// A character reference or one of XML's five entities.
fn push_text(text: &mut String, more: &str, at: usize) -> Result<(), CapsError> {
    if text.len() + more.len() > MAX_WORD {
        return Err(CapsError::at(at, format!("a value longer than {MAX_WORD} bytes")));
    }
    text.push_str(more);
    Ok(())
}

fn not_domcaps(offset: Option<usize>) -> CapsError {
    CapsError {
        message: "not a `virsh domcapabilities` document: no <domainCapabilities>".into(),
        offset,
    }
}

/// The value of `key`, trimmed.
fn attr(e: &BytesStart, key: &str, at: usize) -> Result<Option<String>, CapsError> {
    Ok(raw_attr(e, key, at)?.map(|v| v.trim().to_string()))
}

/// An element opens under `path`.
fn open(path: &[String], e: &BytesStart, at: usize, r: &mut Reading) -> Result<(), CapsError> {
    let name = e.name();
    let name: &str = name.as_ref();
    r.text.clear();
    if is_path(path, &[ROOT], &[]) && name == "vcpu" {
        let Some(max) = attr(e, "max", at)? else {
            return Err(CapsError::at(at, "<vcpu> has no `max` attribute".into()));
        };
        let n = crate::numbers::read(&crate::numbers::CAPS_ID, &max)
            .ok()
            .flatten()
            .and_then(|n| u32::try_from(n).ok())
            .ok_or_else(|| CapsError::at(at, format!("<vcpu max='{}'> is not a count", max.escape_debug())))?;
        r.caps.max_vcpus = Some(n);
    } else if is_path(path, &[ROOT], &[]) && name == "memoryBacking" {
        r.caps.backing_sources.get_or_insert_with(Vec::new);
    } else if is_path(path, &[ROOT, "devices"], &[]) && name == "memory" {
        r.caps.memory_models.get_or_insert_with(Vec::new);
    } else if name == "enum" {
        let which = attr(e, "name", at)?;
        r.list = match which.as_deref() {
            Some("sourceType") if is_path(path, &BACKING[..2], &[]) => Some(List::Backing),
            Some("model") if is_path(path, &MODELS[..3], &[]) => Some(List::Models),
            _ => None,
        };
    }
    Ok(())
}

/// The innermost element closes.
fn close(path: &mut Vec<String>, at: usize, r: &mut Reading) -> Result<(), CapsError> {
    if is_path(path, &[ROOT, "machine"], &[]) {
        r.caps.machine = Some(r.text.trim().to_string());
    } else if let Some(list) = r
        .list
        .filter(|_| is_path(path, &BACKING, &[]) || is_path(path, &MODELS, &[]))
    {
        let values = match list {
            List::Backing => r.caps.backing_sources.get_or_insert_with(Vec::new),
            List::Models => r.caps.memory_models.get_or_insert_with(Vec::new),
        };
        let value = r.text.trim().to_string();
        if !values.contains(&value) {
            if values.len() == MAX_ENUM_VALUES {
                return Err(CapsError::at(
                    at,
                    format!("a list of more than {MAX_ENUM_VALUES} values"),
                ));
            }
            values.push(value);
        }
    }
    r.text.clear();
    path.pop();
    Ok(())
}

#[cfg(test)]
#[path = "domcaps/tests.rs"]
mod tests;
