//! The pest grammar run over the repaired text, and its pairs turned into the syntax tree
//! with every error it recovered from (see the module documentation of [`super`]).

use super::ast::{Block, File, Ident, Prop, Statement, Value};
use super::budget::{cut_error, read_cut};
use super::direct;
use super::repair::{self, EndedBy, Repaired};
use crate::codes::{BAD_ESCAPE, SYNTAX};
use crate::diagnostics::Diagnostic;
use crate::span::{FileId, Span};
use pest::Parser;
use pest::iterators::Pair;

#[derive(pest_derive::Parser)]
#[grammar = "../grammar/vnuma.pest"]
struct VnumaParser;

/// The most arguments and properties one statement keeps (the longest statements of the
/// language have about a dozen).
pub const MAX_FIELDS: usize = 256;

/// Parse one file: the tree of everything that parsed, and every error found.
pub fn parse(file: FileId, text: &str) -> (File, Vec<Diagnostic>) {
    if let Some(cut) = read_cut(text) {
        let (tree, mut diags, _) = parse_reporting_fallback(file, &text[..cut.at]);
        diags.push(cut_error(file, text, cut));
        return (tree, diags);
    }
    let (tree, diags, _) = parse_reporting_fallback(file, text);
    (tree, diags)
}

/// [`parse`], and whether recovery failed so that the result is an empty tree with the
/// one error pest reports for the original text. That should never happen; tests check.
#[doc(hidden)]
pub fn parse_reporting_fallback(file: FileId, text: &str) -> (File, Vec<Diagnostic>, bool) {
    read(file, text, true)
}

/// [`parse_reporting_fallback`] by the grammar alone, without the direct reader of text
/// without syntax errors (`direct.rs`): the two must give the same tree.
#[doc(hidden)]
pub fn parse_by_grammar(file: FileId, text: &str) -> (File, Vec<Diagnostic>, bool) {
    read(file, text, false)
}

fn read(file: FileId, text: &str, direct_first: bool) -> (File, Vec<Diagnostic>, bool) {
    let repaired = repair::repair(text);
    let src: &str = &repaired.text;
    let span = |s: usize, e: usize| Span::new(file, repaired.original(s), repaired.original(e));
    let direct = direct_first
        .then(|| direct::statements(src, MAX_FIELDS, span))
        .flatten();
    // The grammar reads what the direct reader gives up on.
    let parsed = match direct {
        Some(_) => Ok(None),
        None => VnumaParser::parse(Rule::file, src).map(|mut pairs| pairs.next()),
    };
    let root = match parsed {
        Ok(root) => root,
        Err(_) => {
            let diag = match VnumaParser::parse(Rule::file, text) {
                Err(e) => syntax_error(file, text, e),
                Ok(_) => syntax_error_at(file, text, 0, 0, |o| o),
            };
            return (File::default(), vec![diag], true);
        }
    };
    let mut cx = Cx {
        file,
        src,
        fix: &repaired,
        diags: Vec::new(),
        errors: Vec::new(),
        last_error: None,
    };
    for u in &repaired.unclosed {
        let (d, span) = unclosed(file, text, u.open, u.ended_by, u.at);
        cx.diags.push(d);
        cx.errors.push(span);
    }
    for &(start, end) in &repaired.too_deep {
        cx.too_deep(start, end);
    }
    let statements = match (direct, root) {
        (Some(statements), _) => statements,
        (None, Some(root)) => cx.items(root),
        (None, None) => Vec::new(),
    };
    let Cx {
        mut diags, mut errors, ..
    } = cx;
    diags.sort_by_key(|d| d.primary_span().start);
    errors.sort_by_key(|s| (s.start, s.end));
    (File { statements, errors }, diags, false)
}

/// An unclosed `{`, and where vnumac ended it (as a second label, so the message holds
/// no line numbers: a file is parsed in pieces, each from its own first line).
fn unclosed(file: FileId, src: &str, open: usize, ended_by: EndedBy, at: usize) -> (Diagnostic, Span) {
    let span = Span::new(file, open, open + 1);
    let line_end = |from: usize| src[from.min(src.len())..].find('\n').map_or(src.len(), |i| from + i);
    let (end, label, where_) = match ended_by {
        EndedBy::TopLevel(k, _) => (
            Span::new(file, at, at + k.len()),
            "vnumac ends the block before this",
            format!("before the next top-level `{k}`"),
        ),
        EndedBy::Dedent(..) => {
            let start =
                at + src[at.min(src.len())..].len() - src[at.min(src.len())..].trim_start_matches([' ', '\t']).len();
            (
                Span::new(file, start, line_end(start).min(start + 1)),
                "vnumac ends the block before this `}`",
                "before the `}` that lines up with an outer block".to_string(),
            )
        }
        EndedBy::EndOfFile => (
            Span::new(file, src.len(), src.len()),
            "the block ends with the file",
            "at the end of the file".to_string(),
        ),
    };
    let d = Diagnostic::error(SYNTAX, "syntax error: unclosed `{`", span, "this block is never closed")
        .with_label(end, label)
        .with_help(format!("close it with `}}`; vnumac ends it {where_}"));
    (d, span)
}

/// State of one parse: spans are mapped from the repaired text back to the original.
struct Cx<'a> {
    file: FileId,
    /// The repaired text the grammar parsed.
    src: &'a str,
    fix: &'a Repaired<'a>,
    diags: Vec<Diagnostic>,
    errors: Vec<Span>,
    /// Offset (repaired) of the last syntax error, so one position is reported once.
    last_error: Option<usize>,
}

impl Cx<'_> {
    fn span(&self, start: usize, end: usize) -> Span {
        Span::new(self.file, self.fix.original(start), self.fix.original(end))
    }

    fn span_of(&self, pair: &Pair<'_, Rule>) -> Span {
        let s = pair.as_span();
        self.span(s.start(), s.end())
    }

    /// A syntax error at `pos` in the repaired text, worded after what is found there.
    fn syntax_error(&mut self, pos: usize) {
        if self.last_error == Some(pos) {
            return;
        }
        self.last_error = Some(pos);
        let fix = self.fix;
        self.diags
            .push(syntax_error_at(self.file, self.src, pos, pos, |o| fix.original(o)));
    }

    fn too_deep(&mut self, start: usize, end: usize) {
        let depth = repair::MAX_DEPTH;
        self.diags.push(
            Diagnostic::error(
                SYNTAX,
                "syntax error: blocks nested too deeply",
                Span::new(self.file, start, start + 1),
                format!("this block is nested more than {depth} deep"),
            )
            .with_help("vnumac skipped this block and everything in it"),
        );
        self.errors.push(Span::new(self.file, start, end));
    }

    /// The statements of a file or block; error nodes are reported and left out.
    fn items(&mut self, parent: Pair<'_, Rule>) -> Vec<Statement> {
        let mut out = Vec::new();
        for p in parent.into_inner() {
            match p.as_rule() {
                Rule::statement => out.push(self.statement(p)),
                Rule::broken => self.broken(p),
                Rule::stray_close => {
                    let s = p.as_span();
                    self.syntax_error(s.start());
                    let span = self.span_of(&p);
                    self.errors.push(span);
                }
                _ => {}
            }
        }
        out.shrink_to_fit();
        out
    }

    /// The span of an error node, without the whitespace it ends with.
    fn trimmed(&self, pair: &Pair<'_, Rule>) -> Span {
        let s = pair.as_span();
        self.span(s.start(), s.start() + s.as_str().trim_end().len())
    }

    /// Blocks inside an error node: checked for errors, then dropped with it.
    fn drop_blocks(&mut self, pair: Pair<'_, Rule>) {
        for inner in pair.into_inner() {
            if inner.as_rule() == Rule::block {
                let _dropped = self.items(inner);
            }
        }
    }

    /// A statement that does not start with a keyword. The grammar gives up on a
    /// statement only there (anything after a keyword is recovered inside the
    /// statement), so that is where the error is.
    fn broken(&mut self, pair: Pair<'_, Rule>) {
        self.syntax_error(pair.as_span().start());
        let span = self.trimmed(&pair);
        self.errors.push(span);
        self.drop_blocks(pair);
    }

    /// Text after a statement's block (`numa { ... } x`).
    fn trailing(&mut self, pair: Pair<'_, Rule>) {
        let pos = pair.as_span().start();
        if self.last_error != Some(pos) {
            self.last_error = Some(pos);
            // The first word, or the first character when that is a brace or a quote.
            let rest = pair.as_str();
            let word = rest
                .split(|c: char| c.is_whitespace() || "{}\";#".contains(c))
                .next()
                .unwrap_or("");
            let found = match rest.chars().next() {
                Some(c) if word.is_empty() => &rest[..c.len_utf8()],
                _ => word,
            };
            let span = self.span(pos, pos + found.len());
            self.diags.push(
                Diagnostic::error(
                    SYNTAX,
                    format!("syntax error: unexpected `{found}` after a block"),
                    span,
                    "a statement ends with its block",
                )
                .with_help("start the next statement on a new line or after `;`"),
            );
        }
        let span = self.trimmed(&pair);
        self.errors.push(span);
        self.drop_blocks(pair);
    }

    /// A statement's arguments and properties past [`MAX_FIELDS`] are an error and left out,
    /// so that the syntax tree and the diagnostics stay small whatever the input.
    fn statement(&mut self, pair: Pair<'_, Rule>) -> Statement {
        let span = self.span_of(&pair);
        let mut keyword = Ident {
            text: String::new(),
            span,
        };
        let mut args = Vec::new();
        let mut props = Vec::new();
        let mut block = None;
        let mut fields = 0usize;
        for inner in pair.into_inner() {
            if matches!(inner.as_rule(), Rule::arg | Rule::prop) {
                fields += 1;
                if !self.field_fits(fields, &inner) {
                    continue;
                }
            }
            match inner.as_rule() {
                Rule::keyword => {
                    keyword = Ident {
                        text: inner.as_str().to_string(),
                        span: self.span_of(&inner),
                    }
                }
                Rule::arg => {
                    if let Some(v) = inner.into_inner().next() {
                        args.push(self.value(v));
                    }
                }
                Rule::prop => props.extend(self.prop(inner)),
                Rule::missing_value => self.missing_value(&inner),
                Rule::bad => self.bad(&inner),
                Rule::trailing => self.trailing(inner),
                Rule::block => {
                    let bspan = self.span_of(&inner);
                    let statements = self.items(inner);
                    block = Some(Block {
                        statements,
                        span: bspan,
                    });
                }
                _ => {}
            }
        }
        // The statement span ends at its last token, not at the separator.
        let end = block
            .as_ref()
            .map(|b| b.span.end)
            .into_iter()
            .chain(props.iter().map(|p| p.span.end))
            .chain(args.iter().map(|a| a.span.end))
            .chain(std::iter::once(keyword.span.end))
            .max()
            .unwrap_or(span.end);
        // A tree is kept per piece for as long as its text is: no spare capacity in it.
        args.shrink_to_fit();
        props.shrink_to_fit();
        Statement {
            span: Span { end, ..keyword.span },
            keyword,
            args,
            props,
            block,
        }
    }

    /// Whether a statement's field number `fields` (counted from 1) is kept: past
    /// [`MAX_FIELDS`] it is not, and the first one left out is an error.
    fn field_fits(&mut self, fields: usize, inner: &Pair<'_, Rule>) -> bool {
        if fields == MAX_FIELDS + 1 {
            let span = self.span_of(inner);
            self.diags.push(
                Diagnostic::error(
                    SYNTAX,
                    format!("syntax error: more than {MAX_FIELDS} arguments and properties in one statement"),
                    span,
                    "the statement is cut here",
                )
                .with_help("no statement of the language takes this many; vnumac left out the rest of it"),
            );
        }
        fields <= MAX_FIELDS
    }

    /// A `key=value` property.
    fn prop(&mut self, inner: Pair<'_, Rule>) -> Option<Prop> {
        let pspan = self.span_of(&inner);
        let mut key = None;
        let mut val = None;
        for part in inner.into_inner() {
            match part.as_rule() {
                Rule::key => {
                    key = Some(Ident {
                        text: part.as_str().to_string(),
                        span: self.span_of(&part),
                    })
                }
                _ => val = Some(self.value(part)),
            }
        }
        Some(Prop {
            key: key?,
            value: val?,
            span: pspan,
        })
    }

    /// `key=` with no value: an error, and the property is dropped.
    fn missing_value(&mut self, inner: &Pair<'_, Rule>) {
        let span = self.span_of(inner);
        let key = inner.as_str().trim_end_matches('=');
        self.last_error = Some(inner.as_span().start());
        self.diags.push(
            Diagnostic::error(
                SYNTAX,
                format!("syntax error: `{key}=` has no value"),
                span,
                "no value after `=`",
            )
            .with_help(format!(
                "write `{key}=value` with no spaces around `=`, or remove `{key}=`"
            )),
        );
        self.errors.push(span);
    }

    /// A stray `=` or an unterminated string: an error where it starts, then skipped.
    fn bad(&mut self, inner: &Pair<'_, Rule>) {
        let s = inner.as_span();
        let pos = if s.as_str().starts_with('=') {
            s.start()
        } else {
            inner
                .clone()
                .into_inner()
                .find(|p| p.as_rule() == Rule::unterminated)
                .map_or(s.start(), |p| p.as_span().start())
        };
        self.syntax_error(pos);
        let span = self.span_of(inner);
        self.errors.push(span);
    }

    fn value(&mut self, pair: Pair<'_, Rule>) -> Value {
        let span = self.span_of(&pair);
        let quote = pair.as_span().start();
        match pair.as_rule() {
            Rule::string => {
                let body = pair.into_inner().next();
                let (text, body_start) = match &body {
                    Some(b) => (b.as_str(), b.as_span().start()),
                    None => ("", quote + 1),
                };
                let text = match unescape(text) {
                    Ok(t) => t,
                    Err((at, len, msg)) => {
                        let espan = self.span(body_start + at, body_start + at + len);
                        self.diags.push(
                            Diagnostic::error(
                                BAD_ESCAPE,
                                format!("invalid escape in string: {msg}"),
                                espan,
                                "this escape",
                            )
                            .with_help(r#"strings know `\"`, `\\`, `\n`, `\t` and `\u{...}`"#),
                        );
                        text.to_string()
                    }
                };
                Value {
                    text,
                    quoted: true,
                    span,
                }
            }
            _ => Value {
                text: pair.as_str().to_string(),
                quoted: false,
                span,
            },
        }
    }
}

/// Resolve `\"`, `\\`, `\n`, `\t`, `\u{..}`; on error, (byte offset, length, message).
pub fn unescape(s: &str) -> Result<String, (usize, usize, String)> {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some((_, '"')) => out.push('"'),
            Some((_, '\\')) => out.push('\\'),
            Some((_, 'n')) => out.push('\n'),
            Some((_, 't')) => out.push('\t'),
            Some((_, 'u')) => {
                let rest = &s[i + 2..];
                let close = rest.find('}');
                let hex = match (rest.strip_prefix('{'), close) {
                    (Some(_), Some(end)) if end > 1 => &rest[1..end],
                    _ => return Err((i, 2, "`\\u` needs `{hex}`".into())),
                };
                let ch = u32::from_str_radix(hex, 16).ok().and_then(char::from_u32);
                match ch {
                    Some(ch) => out.push(ch),
                    None => return Err((i, hex.len() + 4, format!("`{hex}` is not a character"))),
                }
                for _ in 0..hex.len() + 2 {
                    chars.next();
                }
            }
            Some((_, other)) => {
                return Err((i, 1 + other.len_utf8(), format!("unknown escape `\\{other}`")));
            }
            None => return Err((i, 1, "trailing backslash".into())),
        }
    }
    Ok(out)
}

/// The error pest reports for `text`.
fn syntax_error(file: FileId, text: &str, e: pest::error::Error<Rule>) -> Diagnostic {
    let (start, end) = match e.location {
        pest::error::InputLocation::Pos(p) => (p, p),
        pest::error::InputLocation::Span((s, e)) => (s, e),
    };
    syntax_error_at(file, text, start, end, |o| o)
}

/// A syntax error at `start..end` of `text`, worded after the character found at
/// `start`; `original` maps offsets in `text` to the file's own.
fn syntax_error_at(
    file: FileId,
    text: &str,
    start: usize,
    end: usize,
    original: impl Fn(usize) -> usize,
) -> Diagnostic {
    let rest = text.get(start..).unwrap_or("");
    let found = rest.chars().next();
    let (message, label, help) = match found {
        Some('=') => (
            "unexpected `=`".to_string(),
            "spaces around `=`?".to_string(),
            "write properties as `key=value` with no spaces around `=`".to_string(),
        ),
        Some('}') => (
            "unexpected `}`".to_string(),
            "no block is open here".to_string(),
            "remove the `}` or open the block it closes with `{`".to_string(),
        ),
        Some('"') if VnumaParser::parse(Rule::string, rest).is_ok() => (
            "unexpected string".to_string(),
            "expected a statement keyword here".to_string(),
            "a statement starts with a keyword such as `guest`, `host`, `memory` or `vcpus`; strings are arguments or values".to_string(),
        ),
        Some('"') => (
            "unterminated string".to_string(),
            "this string has no closing `\"` on its line".to_string(),
            "close the string with `\"` before the end of the line".to_string(),
        ),
        None => (
            "unexpected end of file".to_string(),
            "a block is still open here".to_string(),
            "close every `{` with a matching `}`".to_string(),
        ),
        Some(c) if c == '\n' || c == '\r' => (
            "unexpected end of line".to_string(),
            "expected a statement".to_string(),
            "a statement starts with a keyword such as `guest`, `host`, `memory` or `vcpus`".to_string(),
        ),
        Some(c) => (
            format!("unexpected `{c}`"),
            "expected a statement keyword here".to_string(),
            "a statement starts with a keyword made of letters, digits, `-` and `_`, beginning with a letter"
                .to_string(),
        ),
    };
    let len = found.map(|c| c.len_utf8()).unwrap_or(0);
    let end = end.max(start + if found == Some('\n') { 0 } else { len });
    Diagnostic::error(
        SYNTAX,
        format!("syntax error: {message}"),
        Span::new(file, original(start), original(end)),
        label,
    )
    .with_help(help)
}
