//! Device names: identifiers, unique within the block, short enough for QEMU's node names.

use crate::codes::*;
use crate::diagnostics::Diagnostic;
use crate::lang::Fields;
use crate::span::Span;
use std::collections::HashMap;

/// Names are identifiers, unique within the block; paths, bridges and networks are usable.
pub(super) fn check(fields: &[Fields<'_>], diags: &mut Vec<Diagnostic>) {
    let mut names: HashMap<&str, Span> = HashMap::new();
    for f in fields {
        let Some(n) = f
            .arg_text(0)
            .filter(|_| !matches!(f.keyword(), "serial" | "console" | "hostdev"))
        else {
            continue;
        };
        let what = format!("a {} name", f.keyword());
        if crate::check::values::identifier(n, f.arg_span(0), &what, "", diags) && f.keyword() == "disk" {
            disk_node_names(n, f.arg_span(0), diags);
        }
        if let Some(v) = f.text("network") {
            crate::check::values::identifier(v, f.span_of("network"), "a network name", "", diags);
        }
        if let Some(b) = f.text("bridge") {
            crate::check::values::bridge(b, f.span_of("bridge"), diags);
        }
        if let Some(p) = f.text("path") {
            crate::check::values::path(p, f.span_of("path"), "the disk path", diags);
        }
        match names.get(n) {
            Some(first) => diags.push(
                Diagnostic::error(
                    DUPLICATE_NAME,
                    format!("device `{n}` is defined twice"),
                    f.arg_span(0),
                    "again here",
                )
                .with_label(*first, "first here")
                .with_help("give each device its own name"),
            ),
            None => {
                names.insert(n, f.arg_span(0));
            }
        }
    }
}

/// QEMU node names (`disk-NAME-storage`, `disk-NAME-format`) are at most 31 characters.
fn disk_node_names(name: &str, span: Span, diags: &mut Vec<Diagnostic>) {
    let longest = format!("disk-{name}-storage");
    if longest.len() <= crate::check::values::MAX_NODE_NAME {
        return;
    }
    let room = crate::check::values::MAX_NODE_NAME - "disk--storage".len();
    diags.push(
        Diagnostic::error(
            NODE_NAME,
            format!("disk name `{name}` is too long for QEMU"),
            span,
            format!("{} characters; at most {room}", name.len()),
        )
        .with_help(format!(
            "QEMU names the disk's block nodes `{longest}`, and node names have at most {} characters: \
             use a name of at most {room}",
            crate::check::values::MAX_NODE_NAME
        )),
    );
}
