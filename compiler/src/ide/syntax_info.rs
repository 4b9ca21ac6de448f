//! What the syntax alone says: folding ranges and semantic tokens.

use crate::db::{self, SourceFile};
use crate::source::LineIndex;
use crate::span::Span;
use crate::syntax::ast::{Statement, Value};
use crate::syntax::lexer::{self, Kind};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fold {
    /// Byte offsets of the first and last line's content.
    pub start: u32,
    pub end: u32,
    pub comment: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TokenKind {
    Keyword,
    Property,
    Number,
    String,
    /// A word value (`strict`, `host`, a name).
    Word,
    Comment,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Token {
    pub span: Span,
    pub kind: TokenKind,
}

/// `(start, end)` of every comment, as the lexer reads them.
fn comments(text: &str) -> impl Iterator<Item = (usize, usize)> + '_ {
    lexer::tokens(text)
        .filter(|t| t.kind == Kind::Comment)
        .map(|t| (t.start, t.end))
}

/// Every multi-line block, and every run of two or more comment lines. Linear: lines are
/// found once, and each comment's line by a search in them.
pub fn folding_ranges(db: &dyn salsa::Database, file: SourceFile) -> Vec<Fold> {
    let text = file.text(db);
    let index = LineIndex::new(text);
    let line_of = |o: u32| index.line_of(o as usize).0;
    let mut out = Vec::new();
    fn walk(stmts: &[Statement], out: &mut Vec<Fold>, line_of: &dyn Fn(u32) -> usize) {
        for s in stmts {
            if let Some(b) = &s.block {
                if line_of(b.span.start) < line_of(b.span.end) {
                    out.push(Fold {
                        start: s.span.start,
                        end: b.span.end,
                        comment: false,
                    });
                }
                walk(&b.statements, out, line_of);
            }
        }
    }
    walk(&db::parse(db, file).ast.statements, &mut out, &line_of);
    let mut run: Option<(usize, usize, usize)> = None; // (start, end, last line)
    let close = |run: Option<(usize, usize, usize)>, out: &mut Vec<Fold>| {
        if let Some((rs, re, last)) = run
            && line_of(rs as u32) < last
        {
            out.push(Fold {
                start: rs as u32,
                end: re as u32,
                comment: true,
            });
        }
    };
    for (s, e) in comments(text) {
        let (line, line_start) = index.line_of(s);
        let whole_line = text[line_start..s].trim().is_empty();
        match run {
            Some((rs, _, last)) if whole_line && line == last + 1 => run = Some((rs, e, line)),
            _ => {
                close(run, &mut out);
                run = whole_line.then_some((s, e, line));
            }
        }
    }
    close(run, &mut out);
    out.sort_by_key(|f| (f.start, f.end));
    out
}

fn value_kind(v: &Value) -> TokenKind {
    if v.quoted {
        TokenKind::String
    } else if v.text.starts_with(|c: char| c.is_ascii_digit()) {
        TokenKind::Number
    } else {
        TokenKind::Word
    }
}

/// Keywords, property keys, values and comments, in source order, never overlapping.
pub fn semantic_tokens(db: &dyn salsa::Database, file: SourceFile) -> Vec<Token> {
    let mut out = Vec::new();
    fn walk(stmts: &[Statement], out: &mut Vec<Token>) {
        for s in stmts {
            out.push(Token {
                span: s.keyword.span,
                kind: TokenKind::Keyword,
            });
            for a in &s.args {
                out.push(Token {
                    span: a.span,
                    kind: value_kind(a),
                });
            }
            for p in &s.props {
                out.push(Token {
                    span: p.key.span,
                    kind: TokenKind::Property,
                });
                out.push(Token {
                    span: p.value.span,
                    kind: value_kind(&p.value),
                });
            }
            if let Some(b) = &s.block {
                walk(&b.statements, out);
            }
        }
    }
    walk(&db::parse(db, file).ast.statements, &mut out);
    let id = file.id(db);
    out.extend(comments(file.text(db)).map(|(s, e)| Token {
        span: Span::new(id, s, e),
        kind: TokenKind::Comment,
    }));
    out.sort_by_key(|t| (t.span.start, t.span.end));
    out.dedup_by(|b, a| b.span.start < a.span.end);
    out
}
