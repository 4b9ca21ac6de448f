//! What an offset lands on: the statements around it, outermost first, and the part of the
//! innermost one it is in.

use crate::lang::{self, Context, StmtSpec};
use crate::span::Span;
use crate::syntax::ast::{self, Prop, Statement, Value};

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
            lang::lookup(context, &s.keyword.text).and_then(|spec| spec.block),
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
    lang::lookup(context, &stmt.keyword.text)
}
