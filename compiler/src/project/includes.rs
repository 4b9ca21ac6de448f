//! Include traversal: a program's files in statement order, includes expanded in place, over
//! any store of files ([`Tree`]).

use super::paths::normalize;
use crate::check;
use crate::codes;
use crate::diagnostics::Diagnostic;
use crate::span::{FileId, Span};
use crate::syntax::ast::Statement;
use std::path::Path;

/// The files of a loaded program, as include traversal reads them.
pub trait Tree {
    /// A file of the program.
    type File: Copy + Eq;
    fn path(&self, file: Self::File) -> &Path;
    fn id(&self, file: Self::File) -> FileId;
    /// The file's top-level statements, each with the offset its spans are relative to.
    fn statements(&self, file: Self::File) -> impl Iterator<Item = (&Statement, u32)>;
    /// The file read at `path` or why it could not be read; None when it was not read.
    fn file(&self, path: &Path) -> Option<Result<Self::File, &str>>;
}

/// Files in statement order with includes expanded in place, from `root`; reports missing
/// files and cycles.
pub fn include_order<T: Tree>(tree: &T, root: T::File, diags: &mut Vec<Diagnostic>) -> Vec<T::File> {
    let mut order = Vec::new();
    let mut stack = Vec::new();
    visit(tree, root, None, &mut stack, &mut order, diags);
    order
}

/// Depth-first over includes; `stack` holds the files being included and the include that led to each.
fn visit<T: Tree>(
    tree: &T,
    file: T::File,
    via: Option<Span>,
    stack: &mut Vec<(T::File, Option<Span>)>,
    order: &mut Vec<T::File>,
    diags: &mut Vec<Diagnostic>,
) {
    if let Some(pos) = stack.iter().position(|(f, _)| *f == file) {
        let chain: Vec<String> = stack[pos..]
            .iter()
            .map(|(f, _)| tree.path(*f).display().to_string())
            .chain(std::iter::once(tree.path(file).display().to_string()))
            .collect();
        if let Some(span) = via {
            let mut d = Diagnostic::error(
                codes::INCLUDE_CYCLE,
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
    for (stmt, at) in tree.statements(file) {
        let Some(arg) = include_path(stmt) else {
            continue;
        };
        let span = arg.1.relocate(tree.id(file), at);
        let path = normalize(&check::resolve_relative(tree.path(file), arg.0));
        match tree.file(&path) {
            Some(Ok(next)) => visit(tree, next, Some(span), stack, order, diags),
            Some(Err(e)) => diags.push(
                Diagnostic::error(
                    codes::INCLUDE_NOT_FOUND,
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

/// The path an `include` statement names, as written, and the span of its string.
pub fn include_path(stmt: &Statement) -> Option<(&str, Span)> {
    if stmt.keyword.text != "include" {
        return None;
    }
    let arg = stmt.args.first().filter(|a| a.quoted)?;
    Some((&arg.text, arg.span))
}

/// What a file's top-level statements refer to: the files they include (`true`: sources to
/// follow) and the `from=` files of hosts (`false`), as written, and whether a host probes
/// this machine.
pub fn references<'a>(statements: impl Iterator<Item = &'a Statement>) -> (Vec<(String, bool)>, bool) {
    let mut out = Vec::new();
    let mut probe = false;
    for stmt in statements {
        if let Some((path, _)) = include_path(stmt) {
            out.push((path.to_string(), true));
        } else if stmt.keyword.text == "host" {
            probe |= stmt.prop("probe").is_some_and(|p| p.value.text == "true");
            if let Some(p) = stmt.prop("from").filter(|p| p.value.quoted) {
                out.push((p.value.text.clone(), false));
            }
        }
    }
    (out, probe)
}
