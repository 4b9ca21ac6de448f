//! `vnumac import`: existing libvirt domain XML → a .vnuma guest.
//!
//! Everything the language can say is carried over; everything else (graphics, USB,
//! tuning knobs, …) becomes a note, listed in [`Imported::notes`] and as `#` comment lines
//! at the top of the text, so nothing is dropped without a word. Values vnumac derives
//! itself (controller indices, the hotplug order, disk names) are recomputed, with a note
//! when the XML said something else.

mod cells;
mod devices;
mod dom;
mod guest;
mod hmat;
mod memdev;
mod pages;
mod plan;
mod tune;
mod vcpus;
mod write;

use crate::sets::IdSet;

/// How to import.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportOptions {
    /// The guest's host, written as `on=HOST`.
    pub host: Option<String>,
}

/// The imported guest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Imported {
    /// Comment lines with the notes, then a `guest NAME [on=HOST] { ... }` block.
    pub text: String,
    /// What was not imported, or was approximated.
    pub notes: Vec<String>,
}

/// Why the XML could not be imported; `offset` is a byte offset into it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ImportError {
    pub message: String,
    pub offset: Option<usize>,
}

/// Import one libvirt domain.
pub fn import_domain(xml: &str, opts: &ImportOptions) -> Result<Imported, ImportError> {
    let root = dom::parse(xml)?;
    let mut notes = Notes::default();
    let mut draft = guest::read(&root, &mut notes)?;
    if let Some(devs) = root.child("devices") {
        devices::read(devs, &mut draft, &mut notes)?;
    }
    guest::settle_memory(&root, &mut draft, &mut notes)?;
    cells::rectify_cells(&mut draft, &mut notes);
    cells::check_derived(&root, &mut draft);
    let text = write::render(&draft, opts, &notes.list);
    Ok(Imported {
        text,
        notes: notes.list,
    })
}

/// Notes in the order found, without repeats.
#[derive(Debug, Default)]
pub(crate) struct Notes {
    list: Vec<String>,
    /// The notes in `list`, to skip repeats in constant time.
    seen: std::collections::HashSet<String>,
}

impl Notes {
    /// Something the language cannot say.
    fn drop(&mut self, what: impl std::fmt::Display) {
        self.push(format!("not imported: {what}"));
    }

    /// Something imported differently from what the XML said.
    fn change(&mut self, what: impl std::fmt::Display) {
        self.push(format!("changed: {what}"));
    }

    /// Something imported as written that libvirt 9.0 cannot take: the text says so and
    /// does not build until it is changed.
    fn newer(&mut self, what: impl std::fmt::Display) {
        self.push(format!("kept, but libvirt 9.0 cannot take it (E0339): {what}"));
    }

    fn push(&mut self, note: String) {
        if self.seen.insert(note.clone()) {
            self.list.push(note);
        }
    }
}

/// Notes for the children of `parent` that are not in `known`.
fn drop_unknown_children(parent: &dom::Node, known: &[&str], notes: &mut Notes) {
    for c in parent.children.iter().filter(|c| !known.contains(&c.name.as_str())) {
        notes.drop(format!("{} in {}", c.describe(), parent.describe()));
    }
}

/// Notes for the attributes of `node` that are not in `known` (namespace declarations aside).
fn drop_unknown_attrs(node: &dom::Node, known: &[&str], notes: &mut Notes) {
    for (k, v) in &node.attrs {
        if !known.contains(&k.as_str()) && !k.starts_with("xmlns") {
            notes.drop(format!("<{} {k}='{v}'>", node.name));
        }
    }
}

fn error_at(at: usize, message: impl Into<String>) -> ImportError {
    ImportError {
        message: message.into(),
        offset: Some(at),
    }
}

/// A decimal or `0x` hex number, as libvirt accepts in attributes.
fn number(text: &str) -> Option<u64> {
    let t = text.trim();
    match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => t.parse().ok(),
    }
}

/// A required numeric attribute of `node`, as u32.
fn attr_u32(node: &dom::Node, key: &str) -> Result<Option<u32>, ImportError> {
    match node.attr(key) {
        None => Ok(None),
        Some(v) => number(v)
            .and_then(|n| u32::try_from(n).ok())
            .map(Some)
            .ok_or_else(|| error_at(node.at, format!("<{} {key}='{v}'> is not a number", node.name))),
    }
}

/// A libvirt id set (`0-3,^2`); spaces are allowed around the parts.
fn id_set(node: &dom::Node, key: &str, text: &str) -> Result<IdSet, ImportError> {
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    let set = IdSet::parse(&compact)
        .map_err(|e| error_at(node.at, format!("<{} {key}='{text}'>: {}", node.name, e.message)))?;
    if set.is_empty() {
        // libvirt rejects a set that names nothing ("Invalid value of 'nodeset'").
        return Err(error_at(node.at, format!("<{} {key}='{text}'> names no id", node.name)));
    }
    Ok(set)
}

/// Bytes per libvirt unit: `b`/`bytes`, then k/m/g/t/p/e alone or with `iB` (powers of
/// 1024) or with `B` (powers of 1000), case-insensitive.
fn unit_bytes(unit: &str) -> Option<u128> {
    let lower = unit.trim().to_ascii_lowercase();
    if lower == "b" || lower == "bytes" {
        return Some(1);
    }
    let mut chars = lower.chars();
    let power = match chars.next()? {
        'k' => 1,
        'm' => 2,
        'g' => 3,
        't' => 4,
        'p' => 5,
        'e' => 6,
        _ => return None,
    };
    let base: u128 = match chars.as_str() {
        "" | "ib" => 1024,
        "b" => 1000,
        _ => return None,
    };
    Some(base.pow(power))
}

/// `value` in `unit` (default KiB) as KiB. A size that is not a whole KiB is rounded up, as
/// libvirt does, with a note.
fn size_kib(
    node: &dom::Node,
    value: &str,
    unit: Option<&str>,
    what: &str,
    notes: &mut Notes,
) -> Result<u64, ImportError> {
    let unit = unit.unwrap_or("KiB");
    let bytes = unit_bytes(unit).ok_or_else(|| error_at(node.at, format!("{what}: unknown unit `{unit}`")))?;
    let v: u64 = value
        .trim()
        .parse()
        .map_err(|_| error_at(node.at, format!("{what} is `{}`, not a number", value.trim())))?;
    let total = u128::from(v) * bytes;
    if !total.is_multiple_of(1024) {
        notes.change(format!(
            "{what} of {v} {unit} is not a whole KiB; rounded up as libvirt does"
        ));
    }
    u64::try_from(total.div_ceil(1024)).map_err(|_| error_at(node.at, format!("{what} of {v} {unit} is too large")))
}

/// The text of `node` as a size in KiB, with its `unit` attribute.
fn text_kib(node: &dom::Node, what: &str, notes: &mut Notes) -> Result<u64, ImportError> {
    size_kib(node, node.trimmed(), node.attr("unit"), what, notes)
}

/// A name or text value: a bare word when it is one, else a quoted string.
fn word_or_string(s: &str) -> String {
    crate::syntax::write::token(s)
}

/// A .vnuma string literal (see [`crate::syntax::write::string`]).
fn quoted(s: &str) -> String {
    crate::syntax::write::string(s)
}

#[cfg(test)]
mod tests;
