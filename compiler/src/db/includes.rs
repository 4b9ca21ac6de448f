//! Include traversal: a program's files in statement order, includes expanded in place.

use super::inputs::{Program, SourceFile};
use super::parsed::top_statements;
use crate::check;
use crate::diagnostics::Diagnostic;
use crate::span::Span;
use std::path::{Component, Path, PathBuf};

/// Files in statement order with includes expanded in place; reports missing files and cycles.
pub(super) fn include_order(
    db: &dyn salsa::Database,
    program: Program,
    diags: &mut Vec<Diagnostic>,
) -> Vec<SourceFile> {
    let mut order = Vec::new();
    let mut stack = Vec::new();
    visit(db, program, program.root(db), None, &mut stack, &mut order, diags);
    order
}

/// Depth-first over includes; `stack` holds the files being included and the include that led to each.
fn visit(
    db: &dyn salsa::Database,
    program: Program,
    file: SourceFile,
    via: Option<Span>,
    stack: &mut Vec<(SourceFile, Option<Span>)>,
    order: &mut Vec<SourceFile>,
    diags: &mut Vec<Diagnostic>,
) {
    if let Some(pos) = stack.iter().position(|(f, _)| *f == file) {
        let chain: Vec<String> = stack[pos..]
            .iter()
            .map(|(f, _)| f.path(db).display().to_string())
            .chain(std::iter::once(file.path(db).display().to_string()))
            .collect();
        if let Some(span) = via {
            let mut d = Diagnostic::error(
                check::codes::INCLUDE_CYCLE,
                format!("include cycle: {}", chain.join(" → ")),
                span,
                "this include closes the cycle",
            );
            for s in stack[pos + 1..].iter().filter_map(|(_, s)| *s) {
                d = d.with_label(s, "included here");
            }
            diags.push(d.with_help("remove one of the includes in the chain"));
        }
        return;
    }
    if order.contains(&file) {
        return; // Included before: its definitions are not repeated.
    }
    order.push(file);
    stack.push((file, via));
    for (stmt, at) in top_statements(db, file) {
        if stmt.keyword.text != "include" {
            continue;
        }
        let Some(arg) = stmt.args.first().filter(|a| a.quoted) else {
            continue;
        };
        let span = arg.span.relocate(file.id(db), at);
        let path = normalize(&check::resolve_relative(file.path(db), &arg.text));
        match program.files(db).get(&path) {
            Some(Ok(next)) => visit(db, program, *next, Some(span), stack, order, diags),
            Some(Err(e)) => diags.push(
                Diagnostic::error(
                    check::codes::INCLUDE_NOT_FOUND,
                    format!("cannot read {}: {e}", path.display()),
                    span,
                    "included here",
                )
                .with_help("the path is relative to the including file"),
            ),
            None => {}
        }
    }
    stack.pop();
}

/// Lexically clean a path (`a/./b/../c` → `a/c`) so one file has one key.
pub fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    if out.as_os_str().is_empty() {
        out.push(".");
    }
    out
}
