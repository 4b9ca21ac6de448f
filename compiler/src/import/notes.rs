//! What the import could not carry over, or changed: the notes it reports and writes as
//! comments.

use super::dom::Node;

/// Notes in the order found, without repeats.
#[derive(Debug, Default)]
pub(super) struct Notes {
    pub(super) list: Vec<String>,
    /// The notes in `list`, to skip repeats in constant time.
    seen: std::collections::HashSet<String>,
}

impl Notes {
    /// Something the language cannot say.
    pub(super) fn drop(&mut self, what: impl std::fmt::Display) {
        self.push(format!("not imported: {what}"));
    }

    /// Something imported differently from what the XML said.
    pub(super) fn change(&mut self, what: impl std::fmt::Display) {
        self.push(format!("changed: {what}"));
    }

    /// Something imported as written that libvirt 9.0 cannot take: the text says so and
    /// does not build until it is changed.
    pub(super) fn newer(&mut self, what: impl std::fmt::Display) {
        self.push(format!("kept, but libvirt 9.0 cannot take it (E0339): {what}"));
    }

    /// A machine type imported as written that QEMU 7.2, the default target, does not
    /// have: the text says so and does not build until its host says a QEMU that has it.
    pub(super) fn machine(&mut self, code: &str, what: impl std::fmt::Display) {
        self.push(format!("kept, but QEMU 7.2 has no such machine type ({code}): {what}"));
    }

    fn push(&mut self, note: String) {
        if self.seen.insert(note.clone()) {
            self.list.push(note);
        }
    }
}

/// Notes for the children of `parent` that are not in `known`.
pub(super) fn drop_unknown_children(parent: &Node, known: &[&str], notes: &mut Notes) {
    for c in parent.children.iter().filter(|c| !known.contains(&c.name.as_str())) {
        notes.drop(format!("{} in {}", c.describe(), parent.describe()));
    }
}

/// Notes for the attributes of `node` that are not in `known` (namespace declarations aside).
pub(super) fn drop_unknown_attrs(node: &Node, known: &[&str], notes: &mut Notes) {
    for (k, v) in &node.attrs {
        if !known.contains(&k.as_str()) && !k.starts_with("xmlns") {
            notes.drop(format!("<{} {k}='{v}'>", node.name));
        }
    }
}
