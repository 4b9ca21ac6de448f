//! Include traversal: a program's files in statement order, includes expanded in place, over
//! any store of files ([`Tree`]).

use super::paths::normalize;
use crate::check;
use crate::codes;
use crate::diagnostics::Diagnostic;
use crate::span::{FileId, Span};
use crate::syntax::ast::Statement;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

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
/// files and cycles. Iterative, and linear in the files and their includes: an include chain
/// as long as a program may be costs no stack.
pub fn include_order<T: Tree>(tree: &T, root: T::File, diags: &mut Vec<Diagnostic>) -> Vec<T::File> {
    let mut walk = Walk {
        tree,
        order: Vec::new(),
        seen: HashSet::new(),
        stack: Vec::new(),
        on_stack: HashMap::new(),
    };
    walk.enter(root, None, diags);
    while let Some(frame) = walk.stack.last_mut() {
        let Some((path, span)) = frame.includes.get(frame.next).cloned() else {
            if let Some(done) = walk.stack.pop() {
                walk.on_stack.remove(&tree.id(done.file));
            }
            continue;
        };
        frame.next += 1;
        match tree.file(&path) {
            Some(Ok(next)) => walk.enter(next, Some(span), diags),
            Some(Err(e)) => diags.push(not_found(&path, e, span)),
            None => {}
        }
    }
    walk.order
}

/// A file being read: the include that led to it, its includes, and how many are done.
struct Frame<F> {
    file: F,
    via: Option<Span>,
    includes: Vec<(PathBuf, Span)>,
    next: usize,
}

struct Walk<'t, T: Tree> {
    tree: &'t T,
    order: Vec<T::File>,
    /// Files already in `order`.
    seen: HashSet<FileId>,
    stack: Vec<Frame<T::File>>,
    /// Position in `stack` of each file being read.
    on_stack: HashMap<FileId, usize>,
}

impl<T: Tree> Walk<'_, T> {
    /// Start reading `file`, included at `via`: a cycle when it is being read already, nothing
    /// when it was read before (its definitions are not repeated).
    fn enter(&mut self, file: T::File, via: Option<Span>, diags: &mut Vec<Diagnostic>) {
        let id = self.tree.id(file);
        if let Some(&pos) = self.on_stack.get(&id) {
            if let Some(span) = via {
                diags.push(self.cycle(pos, file, span));
            }
            return;
        }
        if !self.seen.insert(id) {
            return;
        }
        self.order.push(file);
        let includes = self
            .tree
            .statements(file)
            .filter_map(|(stmt, at)| {
                let (rel, span) = include_path(stmt)?;
                let path = normalize(&check::resolve_relative(self.tree.path(file), rel));
                Some((path, span.relocate(id, at)))
            })
            .collect();
        self.on_stack.insert(id, self.stack.len());
        self.stack.push(Frame {
            file,
            via,
            includes,
            next: 0,
        });
    }

    /// The cycle from `stack[pos]` back to `file`, closed by the include at `span`. The
    /// message names at most [`CYCLE_SHOWN`] files and the labels as many includes.
    fn cycle(&self, pos: usize, file: T::File, span: Span) -> Diagnostic {
        let ring = &self.stack[pos..];
        let mut names: Vec<String> = ring
            .iter()
            .take(CYCLE_SHOWN)
            .map(|f| self.tree.path(f.file).display().to_string())
            .collect();
        if ring.len() > CYCLE_SHOWN {
            names.push(format!("… ({} files in all)", ring.len()));
        }
        names.push(self.tree.path(file).display().to_string());
        let mut d = Diagnostic::error(
            codes::INCLUDE_CYCLE,
            format!("include cycle: {}", names.join(" → ")),
            span,
            "this include closes the cycle",
        );
        for s in ring.iter().skip(1).filter_map(|f| f.via).take(CYCLE_SHOWN) {
            d = d.with_label(s, "included here");
        }
        d.with_help("remove one of the includes in the chain")
    }
}

/// How many files of a cycle its error names.
const CYCLE_SHOWN: usize = 8;

fn not_found(path: &Path, e: &str, span: Span) -> Diagnostic {
    Diagnostic::error(
        codes::INCLUDE_NOT_FOUND,
        format!("cannot read {}: {e}", path.display()),
        span,
        "included here",
    )
    .with_help("the path is relative to the including file")
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
/// follow) and the `from=` and `domcaps=` files of hosts (`false`), as written, and whether a host probes
/// this machine.
pub fn references<'a>(statements: impl Iterator<Item = &'a Statement>) -> (Vec<(String, bool)>, bool) {
    let mut out = Vec::new();
    let mut probe = false;
    for stmt in statements {
        if let Some((path, _)) = include_path(stmt) {
            out.push((path.to_string(), true));
        } else if stmt.keyword.text == "host" {
            probe |= stmt.prop("probe").is_some_and(|p| p.value.text == "true");
            for key in ["from", "domcaps"] {
                if let Some(p) = stmt.prop(key).filter(|p| p.value.quoted) {
                    out.push((p.value.text.clone(), false));
                }
            }
        }
    }
    (out, probe)
}
