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
mod read;
mod tune;
mod vcpus;
mod write;

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
    cells::rectify_cells(&mut draft, &mut notes)?;
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
