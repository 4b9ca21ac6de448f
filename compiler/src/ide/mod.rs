//! Editor features as plain functions of the database: `(db, program, file, offset) → data`
//! with byte spans. Nothing here knows LSP; the server converts positions and types.
//!
//! A file is analysed inside a [`Program`] (the file itself, or a file that includes it),
//! so everything checked against hosts and across guests is there.

mod complete;
pub mod document;
mod hover;
mod nav;
pub mod session;
mod syntax_info;

pub use complete::{Completion, CompletionKind, completions};
pub use hover::{Hover, hover};
pub use nav::{
    Action, Hint, Symbol, SymbolKind, code_actions, definition, document_symbols, inlay_hints, references,
    workspace_symbols,
};
pub use syntax_info::{Fold, Token, TokenKind, folding_ranges, semantic_tokens};

use crate::check::schema::{self, Context, StmtSpec};
use crate::check::{Checked, HostDef};
use crate::db::{self, Program, SourceFile};
use crate::diagnostics::Diagnostic;
use crate::ir::Guest;
use crate::span::Span;
use crate::syntax::ast::{self, Prop, Statement, Value};

/// A place in a file: what an answer points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Target {
    pub file: SourceFile,
    pub span: Span,
}

/// The diagnostics of a program whose primary span is in `file`, as `vnumac check` reports them.
pub fn diagnostics(db: &dyn salsa::Database, program: Program, file: SourceFile) -> Vec<Diagnostic> {
    let id = file.id(db);
    db::program_diagnostics(db, program)
        .iter()
        .filter(|d| d.primary_span().file == id)
        .cloned()
        .collect()
}

/// The file formatted as `vnumac fmt` would; `None` when it does not parse.
pub fn format(db: &dyn salsa::Database, file: SourceFile) -> Option<String> {
    crate::fmt::format(file.text(db)).ok()
}

/// What an offset lands on inside a statement.
#[derive(Debug, Clone, Copy)]
pub(crate) enum At<'a> {
    Keyword,
    Key(&'a Prop),
    Value(&'a Prop),
    Arg(usize, &'a Value),
    Elsewhere,
}

/// The statements around an offset, outermost first, each with the context it is in.
pub(crate) struct Cursor<'a> {
    pub chain: Vec<(&'a Statement, Context)>,
    pub at: At<'a>,
}

impl<'a> Cursor<'a> {
    pub fn innermost(&self) -> Option<(&'a Statement, Context)> {
        self.chain.last().copied()
    }

    pub fn top(&self) -> Option<&'a Statement> {
        self.chain.first().map(|(s, _)| *s)
    }
}

fn within(span: Span, offset: u32) -> bool {
    span.start <= offset && offset <= span.end
}

pub(crate) fn locate(file: &ast::File, offset: u32) -> Cursor<'_> {
    let mut chain = Vec::new();
    let mut stmts: &[Statement] = &file.statements;
    let mut context = Context::File;
    while let Some(s) = stmts.iter().find(|s| within(s.span, offset)) {
        chain.push((s, context));
        match (
            &s.block,
            schema::lookup(context, &s.keyword.text).and_then(|spec| spec.block),
        ) {
            (Some(b), Some(inner)) if b.span.start < offset && offset < b.span.end => {
                context = inner;
                stmts = &b.statements;
            }
            _ => break,
        }
    }
    let at = match chain.last() {
        None => At::Elsewhere,
        Some((s, _)) => {
            let in_block = s.block.as_ref().is_some_and(|b| within(b.span, offset));
            if in_block {
                At::Elsewhere
            } else if within(s.keyword.span, offset) {
                At::Keyword
            } else if let Some(p) = s.props.iter().find(|p| within(p.key.span, offset)) {
                At::Key(p)
            } else if let Some(p) = s.props.iter().find(|p| within(p.value.span, offset)) {
                At::Value(p)
            } else if let Some((i, a)) = s.args.iter().enumerate().find(|(_, a)| within(a.span, offset)) {
                At::Arg(i, a)
            } else {
                At::Elsewhere
            }
        }
    };
    Cursor { chain, at }
}

/// The schema entry of a statement in its context.
pub(crate) fn spec(stmt: &Statement, context: Context) -> Option<&'static StmtSpec> {
    schema::lookup(context, &stmt.keyword.text)
}

/// The checked guest a top-level guest statement became, with its host.
pub(crate) struct Resolved<'c> {
    pub checked: &'c Checked,
    pub guest: Option<&'c Guest>,
    pub host: Option<&'c HostDef>,
}

pub(crate) fn resolve<'c>(checked: &'c Checked, top: Option<&Statement>) -> Resolved<'c> {
    let mut out = Resolved {
        checked,
        guest: None,
        host: None,
    };
    let Some(top) = top else { return out };
    let Some(name) = top.args.first().map(|a| a.text.as_str()) else {
        return out;
    };
    match top.keyword.text.as_str() {
        "guest" => {
            if let Some(i) = checked.build.guests.iter().position(|g| g.name == name) {
                out.guest = checked.build.guests.get(i);
                out.host = checked.host_of(i);
            }
        }
        "host" => out.host = host_named(checked, name),
        _ => {}
    }
    out
}

pub(crate) fn host_named<'c>(checked: &'c Checked, name: &str) -> Option<&'c HostDef> {
    checked.hosts.iter().flatten().find(|h| h.name == name)
}

/// The XML or QEMU command line of the guest at `offset`: (guest name, text).
pub fn lowered(
    db: &dyn salsa::Database,
    program: Program,
    file: SourceFile,
    offset: u32,
    qemu: bool,
) -> Option<(String, String)> {
    let parsed = db::parse(db, file);
    let cursor = locate(&parsed.ast, offset);
    let top = cursor.top().filter(|s| s.keyword.text == "guest")?;
    let checked = &db::check_program(db, program).checked;
    let g = resolve(checked, Some(top)).guest?;
    let text = if qemu {
        crate::lower::qemu::command_line(g)
    } else {
        crate::lower::libvirt::domain_xml(g)
    };
    Some((g.name.clone(), text))
}

/// The placement map of every guest of the program, as text or SVG.
pub fn explain(db: &dyn salsa::Database, program: Program, svg: bool) -> String {
    let checked = &db::check_program(db, program).checked;
    if svg {
        crate::explain::svg(checked, None)
    } else {
        crate::explain::text(checked, None)
    }
}

#[cfg(test)]
mod tests;
