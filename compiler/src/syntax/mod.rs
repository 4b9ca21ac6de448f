//! Text → syntax tree, recovering from syntax errors so that one mistake never hides
//! the rest of a file.
//!
//! [`parse`] always returns a tree and every syntax error (E0101) it found, each with its
//! own span; bad string escapes (E0102) are reported too. The grammar
//! (`grammar/vnuma.pest`) defines the language and also how it recovers:
//!
//! - A `{` that is never closed is found by a lexical pre-scan (`syntax/repair.rs`)
//!   and closed where the next top-level statement or the indentation of a later `}`
//!   says it ends (or at the end of the file); the error points at the `{`. Spans are
//!   mapped back to the original text.
//! - A statement that does not start with a keyword becomes an error node: the rest of
//!   its line and the block it opens. It is not in the tree (nor are the statements in
//!   its block, though their errors are reported); the statements around it are.
//! - Inside a statement, a stray `=` (`vcpus = 4`), a `key=` without a value, an
//!   unterminated string or text after the statement's block is reported and
//!   skipped; the statement stays in the tree with what did parse (`vcpus 4`).
//! - A `}` at the top level with no open block is an error node.
//! - A block nested more than 64 deep is skipped (pest recurses once per block).
//!
//! [`ast::File::errors`] lists the spans of those error nodes, for editors. The
//! semantic checks decide for themselves what to do with a file that has errors.

pub mod ast;
pub mod chunks;
mod repair;
pub mod value;
pub mod write;

use crate::diagnostics::Diagnostic;
use crate::span::{FileId, Span};
use ast::{Block, File, Ident, Prop, Statement, Value};
use pest::Parser;
use pest::iterators::Pair;
use repair::{EndedBy, Repaired};

#[derive(pest_derive::Parser)]
#[grammar = "../grammar/vnuma.pest"]
struct VnumaParser;

pub const SYNTAX: &str = "vnuma::E0101";
pub const BAD_ESCAPE: &str = "vnuma::E0102";

/// The most arguments and properties one statement keeps (the longest statements of the
/// language have about a dozen).
pub const MAX_FIELDS: usize = 256;

/// The most words (keywords, values, `key=value` pairs, strings and braces) a file is read
/// for. Past them vnumac reads no further: the syntax tree, the parser's own token queue and
/// the diagnostics all grow with the words of a file, so this bounds what any input can cost.
/// The 1,000-guest fleet of the placement benchmark has about 20,000.
pub const MAX_WORDS: usize = 250_000;

/// The longest word, string or comment a file is read for: 64 KiB, sixteen times the
/// longest path, and room for a list of ten thousand single CPUs. A longer one is not
/// parsed (the parser spends about 100 ns on each of its bytes, and some errors would
/// quote it), and reading stops at the start of its line.
pub const MAX_WORD_BYTES: usize = 64 << 10;

/// Where a file stops being read, and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Cut {
    /// The start of the line where reading stops.
    pub at: usize,
    /// Where the word longer than [`MAX_WORD_BYTES`] starts; None when the file has more
    /// than [`MAX_WORDS`] words.
    pub long_word: Option<usize>,
}

/// Where a file stops being read: the start of the line holding its word number
/// [`MAX_WORDS`]` + 1`, or holding a word, string or comment longer than [`MAX_WORD_BYTES`];
/// None when there is neither. One linear pass that knows comments and strings.
pub fn read_cut(text: &str) -> Option<Cut> {
    let bytes = text.as_bytes();
    let (mut words, mut in_word, mut line_start, mut word_start) = (0usize, false, 0usize, 0usize);
    let long = |start: usize, end: usize, line_start: usize| {
        (end - start > MAX_WORD_BYTES).then_some(Cut {
            at: line_start,
            long_word: Some(start),
        })
    };
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        match b {
            b' ' | b'\t' | b'\r' | b';' => in_word = false,
            b'\n' => {
                in_word = false;
                line_start = i + 1;
            }
            b'#' => {
                in_word = false;
                let start = i;
                i += bytes[i..]
                    .iter()
                    .position(|&c| c == b'\n')
                    .map_or(bytes.len() - i, |n| n)
                    - 1;
                if let Some(cut) = long(start, i + 1, line_start) {
                    return Some(cut);
                }
            }
            b'{' | b'}' => {
                in_word = false;
                words += 1;
            }
            _ => {
                if !in_word {
                    words += 1;
                    in_word = true;
                    word_start = i;
                }
                if b == b'"' {
                    i += 1;
                    while i < bytes.len() && bytes[i] != b'"' && bytes[i] != b'\n' {
                        if bytes[i] == b'\\' && i + 1 < bytes.len() && bytes[i + 1] != b'\n' {
                            i += 1;
                        }
                        i += 1;
                    }
                    if let Some(cut) = long(word_start, i.min(bytes.len()), line_start) {
                        return Some(cut);
                    }
                    if i < bytes.len() && bytes[i] == b'\n' {
                        in_word = false;
                        line_start = i + 1;
                    }
                } else if let Some(cut) = long(word_start, i + 1, line_start) {
                    return Some(cut);
                }
            }
        }
        if words > MAX_WORDS {
            return Some(Cut {
                at: line_start,
                long_word: None,
            });
        }
        i += 1;
    }
    None
}

/// The error for a file cut by [`read_cut`]: it points at the file's start, so that it
/// comes first among the file's diagnostics, and at where reading stopped (the long word's
/// first byte, or the line's).
pub fn cut_error(file: FileId, text: &str, cut: Cut) -> Diagnostic {
    let at = cut.at.min(text.len());
    let first_end = text.find('\n').unwrap_or(text.len()).min(1);
    let from = cut.long_word.unwrap_or(at).min(text.len());
    let mut end = (from + 1).min(text.len());
    while !text.is_char_boundary(end) {
        end += 1;
    }
    let (message, help) = match cut.long_word {
        None => (
            format!("syntax error: this file has more than {MAX_WORDS} words"),
            "split the file with `include`, or check that it is what you meant to read",
        ),
        Some(_) => (
            format!(
                "syntax error: a word, string or comment longer than {} KiB",
                MAX_WORD_BYTES >> 10
            ),
            "check that the file is what you meant to read",
        ),
    };
    let label = match cut.long_word {
        None => "vnumac read no further than here",
        Some(_) => "vnumac read no further than the line of this",
    };
    Diagnostic::error(
        SYNTAX,
        message,
        Span::new(file, 0, first_end),
        "this file is read only in part",
    )
    .with_label(Span::new(file, from, end), label)
    .with_help(help)
}

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
    let repaired = repair::repair(text);
    let src: &str = &repaired.text;
    let root = match VnumaParser::parse(Rule::file, src) {
        Ok(mut pairs) => pairs.next(),
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
    let statements = match root {
        Some(root) => cx.items(root),
        None => Vec::new(),
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
                if fields > MAX_FIELDS {
                    if fields == MAX_FIELDS + 1 {
                        let span = self.span_of(&inner);
                        self.diags.push(
                            Diagnostic::error(
                                SYNTAX,
                                format!(
                                    "syntax error: more than {MAX_FIELDS} arguments and properties in one statement"
                                ),
                                span,
                                "the statement is cut here",
                            )
                            .with_help("no statement of the language takes this many; vnumac left out the rest of it"),
                        );
                    }
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
                Rule::prop => {
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
                    if let (Some(key), Some(value)) = (key, val) {
                        props.push(Prop {
                            key,
                            value,
                            span: pspan,
                        });
                    }
                }
                Rule::missing_value => {
                    let span = self.span_of(&inner);
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
                Rule::bad => {
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
                    let span = self.span_of(&inner);
                    self.errors.push(span);
                }
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
        Statement {
            span: Span { end, ..keyword.span },
            keyword,
            args,
            props,
            block,
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_word_budget_counts_words_braces_and_strings_not_comments() {
        // 1,000 words per line: `x`, 997 × `a`, `y="a b; c"` and `}`; a comment and `;` count
        // nothing.
        let line = format!("x {}; y=\"a b; c\" }} # not {{ words\n", "a ".repeat(997));
        let text = line.repeat(MAX_WORDS / 1000);
        assert_eq!(read_cut(&text), None);
        let more = format!("{text}{line}");
        // Word MAX_WORDS + 1 is on the next line, which is where reading stops.
        assert_eq!(read_cut(&more).map(|c| c.at), Some(text.len()));
        let (f, diags) = parse(FileId(0), &more);
        let d = diags.iter().find(|d| d.message.contains("more than 250000 words"));
        let labels = d.map(|d| (d.labels[0].span.start, d.labels[1].span.start));
        assert_eq!(labels, Some((0, text.len() as u32)), "{diags:?}");
        // Nothing past the cut is in the tree.
        assert!(f.statements.iter().all(|s| (s.span.end as usize) <= text.len()));
    }

    #[test]
    fn a_word_string_or_comment_over_the_limit_stops_reading_at_its_line() {
        let head = "guest g {\n  vcpus 1\n}\n";
        let long = "x".repeat(MAX_WORD_BYTES + 1);
        for (line, start) in [
            (format!("{long}\n"), 0),
            (format!("host h from=\"{long}\"\n"), 7),
            (format!("  # {long}\n"), 2),
            (format!("{}\n", "\0".repeat(MAX_WORD_BYTES + 1)), 0),
            (format!("guest \"{long}"), 6),
        ] {
            let text = format!("{head}{line}guest h {{}}\n");
            let cut = read_cut(&text);
            assert_eq!(
                cut,
                Some(Cut {
                    at: head.len(),
                    long_word: Some(head.len() + start)
                }),
                "{}",
                &line[..20]
            );
            let (f, diags) = parse(FileId(0), &text);
            assert_eq!(f.statements.len(), 1, "only what comes before is read");
            assert_eq!(diags.len(), 1, "{diags:?}");
            assert_eq!(
                diags[0].message,
                "syntax error: a word, string or comment longer than 64 KiB"
            );
            assert_eq!(diags[0].labels[1].span.start as usize, head.len() + start);
            assert_eq!(diags[0].labels[1].span.end as usize, head.len() + start + 1);
        }
        // A word of exactly the limit is read.
        let text = format!("{head}{}\n", "x".repeat(MAX_WORD_BYTES));
        assert_eq!(read_cut(&text), None);
    }

    #[test]
    fn a_statement_keeps_at_most_max_fields() {
        let src = format!("guest g {{\n  cpu x {}\n}}\n", "a=1 ".repeat(MAX_FIELDS + 40));
        let (f, diags) = parse(FileId(0), &src);
        assert_eq!(diags.len(), 1, "{diags:?}");
        assert!(diags[0].message.contains("more than 256"), "{diags:?}");
        // The error points at the first field left out.
        let cut = diags[0].primary_span();
        assert_eq!(&src[cut.start as usize..cut.end as usize], "a=1");
        assert_eq!(cut.start as usize, src.find("a=1").unwrap_or(0) + 4 * (MAX_FIELDS - 1));
        let body = f.statements[0].block.as_ref().map(|b| &b.statements[0]);
        assert_eq!(body.map(|s| s.args.len() + s.props.len()), Some(MAX_FIELDS));
    }

    #[test]
    fn parses_nested_statements_with_spans() {
        let src = "guest a on=h {\n  vcpus 4 # four\n  numa { cell 0 cpus=0-3 memory=1GiB }\n}\n";
        let (f, d) = parse(FileId(0), src);
        assert!(d.is_empty(), "{d:?}");
        assert_eq!(f.statements.len(), 1);
        let g = &f.statements[0];
        assert_eq!(g.keyword.text, "guest");
        assert_eq!(g.args[0].text, "a");
        assert_eq!(g.props[0].key.text, "on");
        let body = &g.block.as_ref().unwrap().statements;
        assert_eq!(body.len(), 2);
        let cell = &body[1].block.as_ref().unwrap().statements[0];
        assert_eq!(cell.props[1].value.text, "1GiB");
        let s = cell.props[0].value.span;
        assert_eq!(&src[s.start as usize..s.end as usize], "0-3");
    }

    #[test]
    fn strings_unescape_and_bad_escapes_are_reported() {
        let (f, d) = parse(FileId(0), "include \"a\\\"b\\u{41}\"\n");
        assert!(d.is_empty());
        assert_eq!(f.statements[0].args[0].text, "a\"bA");
        let (_, d) = parse(FileId(0), "include \"a\\qb\"\n");
        assert_eq!(d[0].code, BAD_ESCAPE);
    }

    fn text(src: &str, s: Span) -> &str {
        &src[s.start as usize..s.end as usize]
    }

    fn body(f: &File) -> &[Statement] {
        f.statements[0].block.as_ref().map_or(&[], |b| &b.statements)
    }

    fn keywords(ss: &[Statement]) -> Vec<&str> {
        ss.iter().map(|s| s.keyword.text.as_str()).collect()
    }

    #[test]
    fn spaces_around_equals_keep_the_statement() {
        let src = "guest a {\n  vcpus = 4\n}\n";
        let (f, d) = parse(FileId(0), src);
        assert_eq!(d.len(), 1, "{d:?}");
        assert_eq!(d[0].code, SYNTAX);
        assert_eq!(d[0].message, "syntax error: unexpected `=`");
        assert_eq!(d[0].primary_span().start, 18);
        let vcpus = &body(&f)[0];
        assert_eq!(vcpus.keyword.text, "vcpus");
        assert_eq!(vcpus.args.len(), 1);
        assert_eq!(vcpus.args[0].text, "4");
        assert_eq!(f.errors.len(), 1);
        assert_eq!(text(src, f.errors[0]), "=");
    }

    #[test]
    fn two_broken_statements_are_two_errors_and_the_rest_survives() {
        let src =
            "guest a {\n  memory 4GiB\n  4 vcpus\n  vcpus 4\n  -numa x { cell 0 }\n  emulator node=0\n}\nhost h {}\n";
        let (f, d) = parse(FileId(0), src);
        assert_eq!(d.len(), 2, "{d:?}");
        assert!(d.iter().all(|d| d.code == SYNTAX));
        assert_eq!(text(src, d[0].primary_span()), "4");
        assert_eq!(text(src, d[1].primary_span()), "-");
        assert_eq!(keywords(body(&f)), ["memory", "vcpus", "emulator"]);
        assert_eq!(keywords(&f.statements), ["guest", "host"]);
        assert_eq!(f.errors.len(), 2);
        assert_eq!(text(src, f.errors[0]), "4 vcpus");
        assert_eq!(text(src, f.errors[1]), "-numa x { cell 0 }");
    }

    #[test]
    fn a_key_without_a_value_drops_the_property() {
        let src = "guest a {\n  numa { cell 0 cpus= memory=1GiB }\n}\n";
        let (f, d) = parse(FileId(0), src);
        assert_eq!(d.len(), 1, "{d:?}");
        assert_eq!(d[0].message, "syntax error: `cpus=` has no value");
        assert_eq!(text(src, d[0].primary_span()), "cpus=");
        let cell = &body_of(&body(&f)[0])[0];
        assert_eq!(cell.args[0].text, "0");
        assert_eq!(cell.props.len(), 1);
        assert_eq!(cell.props[0].key.text, "memory");
    }

    #[test]
    fn an_unterminated_string_ends_at_its_line() {
        let src = "host h from=\"x.xml {\n  smt none\n}\nguest g { vcpus \"a }\n  memory 1GiB\n}\n";
        let (f, d) = parse(FileId(0), src);
        assert_eq!(d.len(), 3, "{d:?}");
        assert_eq!(d[0].message, "syntax error: unterminated string");
        assert_eq!(d[0].primary_span().start, 12);
        // The `{` was in the string, so this `}` closes nothing.
        assert_eq!(d[1].message, "syntax error: unexpected `}`");
        assert_eq!(d[2].message, "syntax error: unterminated string");
        assert_eq!(text(src, f.errors[0]), "from=\"x.xml {");
        assert_eq!(text(src, f.errors[2]), "\"a }");
        assert_eq!(keywords(&f.statements), ["host", "smt", "guest"]);
        assert!(f.statements[0].props.is_empty());
        assert_eq!(keywords(body_of(&f.statements[2])), ["vcpus", "memory"]);
    }

    #[test]
    fn an_unclosed_block_ends_before_the_next_guest() {
        let src = "guest a {\n  numa {\n    cell 0 cpus=0\n  vcpus 2\n}\nguest b {\n  vcpus 4\n}\n";
        let (f, d) = parse(FileId(0), src);
        assert_eq!(d.len(), 1, "{d:?}");
        assert_eq!(d[0].message, "syntax error: unclosed `{`");
        let numa_open = src.find("numa {").unwrap_or(0) + 5;
        assert_eq!(d[0].primary_span(), Span::new(FileId(0), numa_open, numa_open + 1));
        assert_eq!(f.errors, [Span::new(FileId(0), numa_open, numa_open + 1)]);
        assert!(
            d[0].help
                .as_deref()
                .unwrap_or("")
                .contains("before the `}` that lines up with an outer block"),
            "{d:?}"
        );
        assert_eq!(keywords(&f.statements), ["guest", "guest"]);
        let b = &f.statements[1];
        assert_eq!(text(src, b.span), "guest b {\n  vcpus 4\n}");
        assert_eq!(keywords(body_of(b)), ["vcpus"]);
        // numa keeps what it had; the `}` on line 5 closes guest a, as its indentation says.
        let numa = &body(&f)[0];
        assert_eq!(keywords(body_of(numa)), ["cell", "vcpus"]);
    }

    #[test]
    fn an_unclosed_block_at_the_column_zero_guest() {
        let src = "guest a {\n  numa {\n    cell 0\nguest b {\n  vcpus 4\n}\n";
        let (f, d) = parse(FileId(0), src);
        assert_eq!(d.len(), 2, "{d:?}");
        assert_eq!(d[0].primary_span().start, 8);
        assert_eq!(d[1].primary_span().start, 17);
        assert!(
            d[1].help
                .as_deref()
                .unwrap_or("")
                .contains("before the next top-level `guest`"),
            "{d:?}"
        );
        assert_eq!(keywords(&f.statements), ["guest", "guest"]);
        let b = &f.statements[1];
        assert_eq!(text(src, b.span), "guest b {\n  vcpus 4\n}");
        assert_eq!(text(src, b.args[0].span), "b");
        // guest a's block ends where guest b starts.
        let a = f.statements[0].block.as_ref().map(|b| b.span);
        assert_eq!(a.map(|s| s.end as usize), src.find("guest b"));
    }

    #[test]
    fn an_unclosed_block_at_the_end_of_the_file() {
        let src = "guest a {\n  vcpus 4";
        let (f, d) = parse(FileId(0), src);
        assert_eq!(d.len(), 1, "{d:?}");
        assert_eq!(d[0].primary_span().start, 8);
        assert!(d[0].help.as_deref().unwrap_or("").contains("end of the file"), "{d:?}");
        assert_eq!(keywords(body(&f)), ["vcpus"]);
        assert_eq!(text(src, f.statements[0].span), src);
    }

    #[test]
    fn a_stray_close_at_the_top_level() {
        let src = "guest a {\n  vcpus 4\n}\n}\nhost h {}\n";
        let (f, d) = parse(FileId(0), src);
        assert_eq!(d.len(), 1, "{d:?}");
        assert_eq!(d[0].message, "syntax error: unexpected `}`");
        assert_eq!(d[0].primary_span().start, 22);
        assert_eq!(f.errors, [Span::new(FileId(0), 22, 23)]);
        assert_eq!(keywords(&f.statements), ["guest", "host"]);
    }

    #[test]
    fn braces_in_strings_and_comments_do_not_count() {
        let src = "guest a { # {\n  disk d path=\"{\"\n  vcpus \"{\\\\\"\n}\nhost h {}\n";
        let (f, d) = parse(FileId(0), src);
        assert!(d.is_empty(), "{d:?}");
        assert!(f.errors.is_empty());
        assert_eq!(keywords(body(&f)), ["disk", "vcpus"]);
        assert_eq!(keywords(&f.statements), ["guest", "host"]);
    }

    #[test]
    fn spans_after_an_insertion_point_are_original_offsets() {
        let src =
            "guest a {\n  numa {\n    cell 0 memory=1GiB\n}\nguest b on=h {\n  memory 2GiB # x\n  vcpus \"é\\q\"\n}\n";
        let (f, d) = parse(FileId(0), src);
        assert_eq!(d.len(), 2, "{d:?}");
        assert_eq!(d[0].code, SYNTAX);
        assert_eq!(d[1].code, BAD_ESCAPE);
        assert_eq!(text(src, d[1].primary_span()), "\\q");
        let b = &f.statements[1];
        assert_eq!(text(src, b.props[0].span), "on=h");
        let body = body_of(b);
        assert_eq!(text(src, body[0].span), "memory 2GiB");
        assert_eq!(text(src, body[1].args[0].span), "\"é\\q\"");
        let cell = &body_of(&body_of(&f.statements[0])[0])[0];
        assert_eq!(text(src, cell.props[0].value.span), "1GiB");
    }

    fn body_of(s: &Statement) -> &[Statement] {
        s.block.as_ref().map_or(&[], |b| &b.statements)
    }

    #[test]
    fn text_after_a_block_is_dropped() {
        let src = "guest a {\n  numa { cell 0 } x { 4 } y\n  vcpus 4\n}\n";
        let (f, d) = parse(FileId(0), src);
        assert_eq!(d.len(), 2, "{d:?}");
        assert_eq!(d[0].message, "syntax error: unexpected `x` after a block");
        let (_, d2) = parse(FileId(0), "a { } junk\nb {} {}\n");
        assert_eq!(d2[0].message, "syntax error: unexpected `junk` after a block");
        assert_eq!(d2[1].message, "syntax error: unexpected `{` after a block");
        assert_eq!(text(src, d[0].primary_span()), "x");
        // The error inside the dropped block is reported too.
        assert_eq!(text(src, d[1].primary_span()), "4");
        assert_eq!(text(src, f.errors[0]), "x { 4 } y");
        assert_eq!(text(src, f.errors[1]), "4");
        assert_eq!(keywords(body(&f)), ["numa", "vcpus"]);
        assert_eq!(keywords(body_of(&body(&f)[0])), ["cell"]);
    }

    #[test]
    fn deep_blocks_are_skipped() {
        let src = format!("guest a {{{}\n{}\nhost h {{}}\n", "a {".repeat(99), "}".repeat(100));
        let (f, d) = parse(FileId(0), &src);
        assert_eq!(d.len(), 1, "{d:?}");
        assert_eq!(d[0].message, "syntax error: blocks nested too deeply");
        assert_eq!(d[0].primary_span().start as usize, 9 + 63 * 3 + 2);
        assert_eq!(keywords(&f.statements), ["guest", "host"]);
    }

    #[test]
    fn valid_text_parses_as_before() {
        let src = "guest a {\n  vcpus 4\n}\n";
        let (f, d, fell_back) = parse_reporting_fallback(FileId(0), src);
        assert!(d.is_empty() && f.errors.is_empty() && !fell_back);
        let (_, d) = parse(FileId(0), "guest a {\n  vcpus 4\n");
        assert_eq!(d[0].message, "syntax error: unclosed `{`");
    }

    #[test]
    fn semicolons_separate_statements() {
        let (f, d) = parse(FileId(0), "host h { node 0 cpus=0-3 memory=1GiB; smt none }");
        assert!(d.is_empty(), "{d:?}");
        assert_eq!(f.statements[0].block.as_ref().unwrap().statements.len(), 2);
    }
}
