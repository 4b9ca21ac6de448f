//! `vnumac fmt`: canonical formatting of .vnuma text, comments kept.
//!
//! # How it works
//!
//! The text is parsed first ([`crate::syntax::parse`]); a file with any parse error
//! (a syntax error or a bad string escape) is not formatted, and [`format()`] returns that
//! diagnostic. The syntax tree then gives every token exactly as the parser saw it: the
//! keyword, each argument and each `key=value` property (in source order, strings as
//! written, escapes and all), and each block's `{` and `}`. The tree has no comments, so
//! the text *between* consecutive tokens is read by the lexer ([`crate::syntax::lexer`]):
//! after a successful parse it holds only spaces, tabs, `;`, newlines (`\n`, `\r\n`, `\r`)
//! and `#` comments. Those gaps
//! decide where comments and blank lines go. The result is a flat list of output lines,
//! which is then aligned and printed.
//!
//! # Rules
//!
//! - One statement per line: statements joined by `;` are split, and `;` disappears.
//! - Two spaces of indentation per block depth. A single space between the parts of a
//!   statement (except for column alignment, below), also where the source had none
//!   (`x"a"b` is `x "a" b`; `cell0.5` is keyword `cell0` and argument `.5`).
//! - A block opens with ` {` at the end of its statement's line; each `}` is on its own
//!   line at the statement's indentation. A block with no statements and no comments is
//!   written `name {}`.
//! - A comment alone on its line stays on its own line, indented to the depth where it
//!   stands: inside a block (also just before its `}`) at the block's contents' depth.
//!   A comment after code on the same line (after a statement, a `{` or a `}`) stays on
//!   that line. Such end-of-line comments on consecutive lines form a group, aligned to
//!   one column: two spaces past the longest code line of the group (so a lone one has
//!   exactly two spaces before its `#`). Comment text is kept, minus trailing whitespace.
//! - Blank lines: runs of blank lines become one; none at the start or end of a block or
//!   of the file. No blank line is added. The output ends with exactly one newline (an
//!   empty file stays empty) and no line has trailing whitespace.
//! - Column alignment: a *run* is a maximal sequence of consecutive lines holding
//!   statements without a block, at the same depth and with the same keyword (so a
//!   blank line, a comment line, a different keyword or a statement with a block ends
//!   it; end-of-line comments do not). Within a run, every field after the keyword has a
//!   column: argument `i` is column "argument `i`", a property is column "its key" (the
//!   `n`-th repeat of a key on a line is its own column). The columns are ordered so
//!   that every line keeps its own field order (ties: first appearance in the run).
//!   Taken in that order, each column goes to the first slot that follows its fields'
//!   predecessors on every line and where none of its lines has a field yet, so
//!   alternatives line up: `pin vcpus=0-7  cpus=8-11` over `pin vcpus=8-15 node=1`, and
//!   `cachetune vcpus=0-3 monitor=0-3` under `cachetune vcpus=0-3 cache=0 size=8MiB`
//!   puts `monitor=` under `cache=`.
//!   Each field is padded to its slot's widest field (in characters) among the fields
//!   that are not the last of their line (a last field pushes nothing), and a line with
//!   no field in a slot leaves it blank, e.g. a memory-only cell under cells with
//!   `cpus=`. Nothing is written after a line's last field. When no such order exists
//!   (two lines with `a=1 b=2` and `b=2 a=1`), the run uses single spaces.
//!
//! Formatting never changes meaning: the output parses to the same tree, modulo spans.

use crate::diagnostics::Diagnostic;
use crate::span::{FileId, Span};
use crate::syntax::lexer::{self, Kind as Tok};
use crate::syntax::{self, ast};

/// Format a whole file. Err when the text does not parse: the first error that
/// [`crate::syntax::parse`] reports with `FileId(0)` (E0101 syntax, or E0102 bad escape).
pub fn format(text: &str) -> Result<String, Diagnostic> {
    let (file, diags) = syntax::parse(FileId(0), text);
    if let Some(d) = diags.into_iter().find(Diagnostic::is_error) {
        return Err(d);
    }
    let mut b = Builder {
        text,
        pos: 0,
        lines: Vec::new(),
        same_line: false,
        newlines: 0,
    };
    for s in &file.statements {
        b.statement(s, 0)?;
    }
    b.gap(text.len(), 0)?;
    Ok(render(&b.lines))
}

/// One part of a statement: the keyword, an argument or a property, as written.
#[derive(Debug, Clone, Copy)]
struct Field<'a> {
    text: &'a str,
    /// The key of a property; `None` for the keyword and arguments.
    key: Option<&'a str>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tail {
    /// No block.
    None,
    /// ` {`, its contents on the following lines.
    Open,
    /// ` {}`.
    Empty,
}

#[derive(Debug)]
enum Kind<'a> {
    /// `fields[0]` is the keyword.
    Stmt(Vec<Field<'a>>, Tail),
    Close,
    Comment(&'a str),
    Blank,
}

#[derive(Debug)]
struct Line<'a> {
    depth: usize,
    kind: Kind<'a>,
    /// An end-of-line comment.
    comment: Option<&'a str>,
}

impl<'a> Line<'a> {
    fn new(depth: usize, kind: Kind<'a>) -> Self {
        Line {
            depth,
            kind,
            comment: None,
        }
    }

    fn is_code(&self) -> bool {
        matches!(self.kind, Kind::Stmt(..) | Kind::Close)
    }
}

struct Builder<'a> {
    text: &'a str,
    /// Everything before this byte offset has been consumed.
    pos: usize,
    lines: Vec<Line<'a>>,
    /// No newline since the last line was pushed: a comment now belongs on that line.
    same_line: bool,
    /// Newlines since the last token or comment; two or more make a blank line.
    newlines: usize,
}

impl<'a> Builder<'a> {
    fn slice(&self, start: usize, end: usize) -> Result<&'a str, Diagnostic> {
        self.text.get(start..end).ok_or_else(|| {
            Diagnostic::error(
                syntax::SYNTAX,
                "internal error: a token lies outside the text",
                Span::new(FileId(0), start.min(self.text.len()), start.min(self.text.len())),
                "while formatting here",
            )
        })
    }

    fn span(&self, span: Span) -> Result<&'a str, Diagnostic> {
        self.slice(span.start as usize, span.end as usize)
    }

    /// Push a line, after a blank line if the source had one here and one is allowed.
    fn push(&mut self, depth: usize, kind: Kind<'a>) {
        let after_open = matches!(
            self.lines.last(),
            Some(Line {
                kind: Kind::Stmt(_, Tail::Open),
                ..
            })
        );
        if self.newlines >= 2 && !self.lines.is_empty() && !after_open {
            self.lines.push(Line::new(depth, Kind::Blank));
        }
        self.lines.push(Line::new(depth, kind));
        self.newlines = 0;
        self.same_line = true;
    }

    /// Consume the text up to `end`: newlines and comments (the rest is spaces and `;`).
    fn gap(&mut self, end: usize, depth: usize) -> Result<(), Diagnostic> {
        let start = self.pos;
        let gap = self.slice(start, end)?;
        for t in lexer::tokens(gap) {
            match t.kind {
                Tok::Newline => {
                    self.newlines += 1;
                    self.same_line = false;
                }
                Tok::Comment => self.comment(t.text(gap).trim_end(), depth),
                _ => {}
            }
        }
        self.pos = end;
        Ok(())
    }

    fn comment(&mut self, text: &'a str, depth: usize) {
        if self.same_line
            && let Some(last) = self.lines.last_mut()
            && last.is_code()
            && last.comment.is_none()
        {
            last.comment = Some(text);
            self.newlines = 0;
            return;
        }
        self.push(depth, Kind::Comment(text));
    }

    fn statement(&mut self, s: &ast::Statement, depth: usize) -> Result<(), Diagnostic> {
        self.gap(s.keyword.span.start as usize, depth)?;
        let mut parts: Vec<(Span, Option<&str>)> = s.args.iter().map(|a| (a.span, None)).collect();
        parts.extend(s.props.iter().map(|p| (p.span, Some(p.key.text.as_str()))));
        parts.sort_by_key(|(span, _)| span.start);
        let mut fields = vec![Field {
            text: self.span(s.keyword.span)?,
            key: None,
        }];
        self.pos = s.keyword.span.end as usize;
        for (span, key) in parts {
            let text = self.span(span)?;
            // The key's text, borrowed from the source rather than the tree.
            let key = key.map(|k| text.get(..k.len()).unwrap_or(text));
            fields.push(Field { text, key });
            self.pos = span.end as usize;
        }
        let Some(block) = &s.block else {
            self.push(depth, Kind::Stmt(fields, Tail::None));
            return Ok(());
        };
        self.push(depth, Kind::Stmt(fields, Tail::Open));
        let open = self.lines.len() - 1;
        self.gap(block.span.start as usize, depth)?;
        self.pos = block.span.start as usize + 1;
        for c in &block.statements {
            self.statement(c, depth + 1)?;
        }
        let close = (block.span.end as usize).saturating_sub(1);
        self.gap(close, depth + 1)?;
        self.pos = block.span.end as usize;
        self.newlines = 0;
        let nothing_inside = self.lines.len() == open + 1;
        match self.lines.get_mut(open) {
            Some(Line {
                kind: Kind::Stmt(_, tail),
                comment: None,
                ..
            }) if nothing_inside => {
                *tail = Tail::Empty;
                self.same_line = true;
            }
            _ => self.push(depth, Kind::Close),
        }
        Ok(())
    }
}

fn width(s: &str) -> usize {
    s.chars().count()
}

/// The column of a field within a run: argument index, or property key and repeat.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Column<'a> {
    Arg(usize),
    Prop(&'a str, usize),
}

/// Each column's slot in a run (indexed like `columns`), and the number of slots. The
/// columns are taken in an order that keeps every line's own order (ties by first
/// appearance); each goes to the first slot after its predecessors' on every line that
/// holds it where none of those lines has a field yet, so alternatives share a slot.
/// `None` when there is no such order.
fn slots(lines: &[Vec<usize>], columns: usize) -> Option<(Vec<usize>, usize)> {
    let mut next: Vec<Vec<usize>> = vec![Vec::new(); columns];
    let mut before = vec![0usize; columns];
    let mut holders: Vec<Vec<usize>> = vec![Vec::new(); columns];
    for (l, line) in lines.iter().enumerate() {
        for pair in line.windows(2) {
            next[pair[0]].push(pair[1]);
            before[pair[1]] += 1;
        }
        for &c in line {
            holders[c].push(l);
        }
    }
    let mut slot = vec![usize::MAX; columns];
    // The first slot each column may take: one past its predecessors' slots.
    let mut low = vec![0usize; columns];
    // The slots each line has a field in (a run has at most MAX_COLUMNS + 1 columns).
    let mut taken = vec![0u128; lines.len()];
    let mut count = 0;
    for _ in 0..columns {
        let c = (0..columns).find(|&c| slot[c] == usize::MAX && before[c] == 0)?;
        let used = holders[c].iter().fold(0u128, |m, &l| m | taken[l]);
        let s = (low[c]..128).find(|&s| used & (1u128 << s) == 0)?;
        slot[c] = s;
        count = count.max(s + 1);
        for &l in &holders[c] {
            taken[l] |= 1u128 << s;
        }
        for &n in &next[c] {
            before[n] -= 1;
            low[n] = low[n].max(s + 1);
        }
    }
    Some((slot, count))
}

/// The most columns a run of statements is aligned in.
const MAX_COLUMNS: usize = 64;

/// The code of each statement line of one run, aligned in columns.
fn align_run(run: &[&[Field<'_>]]) -> Vec<String> {
    // Every line's fields after the keyword, as indices into `columns`.
    let mut columns: Vec<Column<'_>> = Vec::new();
    let mut lines: Vec<Vec<usize>> = Vec::with_capacity(run.len());
    for fields in run {
        let (mut args, mut keys) = (0, Vec::new());
        let mut line = Vec::with_capacity(fields.len());
        for f in fields.iter().skip(1) {
            // Past this many distinct columns a table helps nobody; single spaces keep the
            // formatter linear in the file (the column search below is quadratic in columns).
            if columns.len() > MAX_COLUMNS {
                return run.iter().map(|f| join(f)).collect();
            }
            let c = match f.key {
                None => {
                    args += 1;
                    Column::Arg(args - 1)
                }
                Some(k) => {
                    keys.push(k);
                    Column::Prop(k, keys.iter().filter(|s| **s == k).count())
                }
            };
            line.push(columns.iter().position(|k| *k == c).unwrap_or_else(|| {
                columns.push(c);
                columns.len() - 1
            }));
        }
        lines.push(line);
    }
    let Some((slot, count)) = slots(&lines, columns.len()) else {
        return run.iter().map(|f| join(f)).collect();
    };
    // Each line's field in each slot (at most one: a slot's columns exclude each other).
    let cells: Vec<Vec<Option<&str>>> = run
        .iter()
        .zip(&lines)
        .map(|(fields, line)| {
            let mut cells = vec![None; count];
            for (f, &c) in fields.iter().skip(1).zip(line) {
                if let Some(cell) = slot.get(c).and_then(|&s| cells.get_mut(s)) {
                    *cell = Some(f.text);
                }
            }
            cells
        })
        .collect();
    // A line's last field is padded by nothing and pushes no column, so it does not widen
    // its slot (as with tab stops: the last cell of a line is not part of a column).
    let widths: Vec<usize> = (0..count)
        .map(|k| {
            let inner = cells.iter().filter(|c| c[k + 1..].iter().any(Option::is_some));
            inner.filter_map(|c| c[k]).map(width).max().unwrap_or(0)
        })
        .collect();
    let mut out = Vec::with_capacity(run.len());
    for (fields, cells) in run.iter().zip(&cells) {
        let mut line = fields.first().map(|f| f.text.to_string()).unwrap_or_default();
        let last = cells.iter().rposition(Option::is_some);
        for (k, cell) in cells.iter().enumerate().take(last.map_or(0, |l| l + 1)) {
            line.push(' ');
            let text = cell.unwrap_or("");
            line.push_str(text);
            if Some(k) != last {
                line.extend(std::iter::repeat_n(' ', widths[k].saturating_sub(width(text))));
            }
        }
        out.push(line);
    }
    out
}

fn join(fields: &[Field<'_>]) -> String {
    fields.iter().map(|f| f.text).collect::<Vec<_>>().join(" ")
}

fn render(lines: &[Line<'_>]) -> String {
    // Every line without its end-of-line comment, indentation included, and that comment.
    let mut text: Vec<(String, Option<&str>)> = Vec::with_capacity(lines.len());
    let mut i = 0;
    while i < lines.len() {
        let line = &lines[i];
        let indent = "  ".repeat(line.depth);
        let code = match &line.kind {
            Kind::Stmt(fields, Tail::None) => {
                let keyword = fields.first().map(|f| f.text);
                let mut run: Vec<&[Field<'_>]> = Vec::new();
                while let Some(Line {
                    depth,
                    kind: Kind::Stmt(f, Tail::None),
                    ..
                }) = lines.get(i + run.len())
                    && *depth == line.depth
                    && f.first().map(|f| f.text) == keyword
                {
                    run.push(f);
                }
                let aligned = align_run(&run).into_iter().zip(&lines[i..]);
                text.extend(aligned.map(|(code, l)| (format!("{indent}{code}"), l.comment)));
                i += run.len();
                continue;
            }
            Kind::Stmt(fields, Tail::Open) => format!("{indent}{} {{", join(fields)),
            Kind::Stmt(fields, Tail::Empty) => format!("{indent}{} {{}}", join(fields)),
            Kind::Close => format!("{indent}}}"),
            Kind::Comment(comment) => format!("{indent}{comment}"),
            Kind::Blank => String::new(),
        };
        text.push((code, line.comment));
        i += 1;
    }
    let mut out = String::new();
    let mut i = 0;
    while i < text.len() {
        // Consecutive lines with end-of-line comments put them in one column.
        let group = text[i..].iter().take_while(|(_, c)| c.is_some()).count().max(1);
        let column = text[i..i + group]
            .iter()
            .map(|(code, _)| width(code))
            .max()
            .unwrap_or(0)
            + 2;
        for (code, comment) in &text[i..i + group] {
            out.push_str(code);
            if let Some(comment) = comment {
                out.extend(std::iter::repeat_n(' ', column.saturating_sub(width(code))));
                out.push_str(comment);
            }
            out.push('\n');
        }
        i += group;
    }
    out
}

#[cfg(test)]
mod tests;
