//! Unclosed `{` found and closed before the grammar runs, with a map back to the text.
//!
//! pest cannot recover from a block that never ends, so this lexical pre-scan finds
//! them first. It reads the text's tokens ([`super::lexer`]): every `{` and `}` outside a
//! comment or a string opens or closes a block.
//!
//! When every `{` finds its `}` the text is used as it is (a `}` too many is the
//! grammar's business: it becomes a stray-close node). Otherwise the unclosed `{` are all
//! in the file's last top-level piece ([`super::chunks`]: before the line it starts on,
//! every `{` has found its `}`), and the pieces before it are used as they are too, so that
//! a `{` left open changes nothing above its piece and a file parses in pieces as it
//! parses whole. The blocks of the last piece are matched again, this time guided by
//! layout, and an unclosed block ends
//!
//! - before a line that starts in column 0 with `guest`, `host` or `include` (every
//!   block still open ends there);
//! - before a `}` that is the first thing on its line, when an open block's opening
//!   line has the same indentation as that `}`: the `}` closes that block, and the
//!   blocks opened inside it are the unclosed ones;
//! - at the end of the file.
//!
//! The missing `}` are inserted at the start of that line (each followed by a newline),
//! or at the end of the file (after a newline if the last line has none). The
//! insertions are kept in order so that every offset in the repaired text maps back to
//! the original text; an inserted character maps to its insertion point.

use super::chunks;
use super::lexer::{self, Kind};
use std::borrow::Cow;

/// Where vnumac ended a block that was never closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EndedBy {
    /// A line starting in column 0 with this keyword, on this line (1-based).
    TopLevel(&'static str, usize),
    /// A `}` on the first line (1-based) indented like the second, the opening line
    /// of an outer block, which that `}` closes.
    Dedent(usize, usize),
    EndOfFile,
}

/// A `{` that is never closed: its offset in the original text and where it ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Unclosed {
    pub open: usize,
    pub ended_by: EndedBy,
    /// Where vnumac ends it, in the original text.
    pub at: usize,
}

#[derive(Debug, Clone, Copy)]
struct Insertion {
    /// Offset in the original text.
    at: usize,
    /// Offset of the inserted text in the repaired text.
    start: usize,
    len: usize,
}

/// Blocks may nest this deep; deeper ones are blanked out (pest recurses per block).
pub(crate) const MAX_DEPTH: usize = 64;

/// The text with every block closed, and the unclosed blocks found.
#[derive(Debug)]
pub(crate) struct Repaired<'a> {
    pub text: Cow<'a, str>,
    pub unclosed: Vec<Unclosed>,
    /// Blocks nested deeper than [`MAX_DEPTH`], `{` to `}` in the original text: they
    /// are replaced by spaces (line breaks kept) in `text`.
    pub too_deep: Vec<(usize, usize)>,
    insertions: Vec<Insertion>,
}

impl Repaired<'_> {
    /// Map an offset in the repaired text to the original text.
    pub fn original(&self, offset: usize) -> usize {
        // Insertions are sorted by `start`; find the last one starting at or before `offset`.
        let i = self.insertions.partition_point(|ins| ins.start <= offset);
        let Some(last) = i.checked_sub(1).and_then(|i| self.insertions.get(i)) else {
            return offset;
        };
        if offset < last.start + last.len {
            return last.at;
        }
        // Everything up to and including `last` was inserted before `offset`.
        offset - (last.start + last.len - last.at)
    }
}

#[derive(Debug, Clone, Copy)]
enum Event {
    /// A line begins at this offset; `Some(keyword)` when it starts in column 0 with a
    /// top-level keyword.
    Line(usize, Option<&'static str>),
    /// `{` at this offset, on a line with this indentation.
    Open(usize, usize),
    /// `}` at this offset; whether it is first on its line, and the line's indentation.
    Close(usize, bool, usize),
}

const TOP_LEVEL: [&str; 3] = ["guest", "host", "include"];

fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}

/// The braces, line starts and indentation of `text`, read as the grammar reads them.
fn scan(text: &str) -> Vec<Event> {
    let b = text.as_bytes();
    let mut events = Vec::new();
    let mut at_line_start = true;
    let mut indent = 0;
    let mut code_on_line = false;
    for t in lexer::tokens(text) {
        if at_line_start {
            at_line_start = false;
            code_on_line = false;
            indent = if t.kind == Kind::Space { t.len() } else { 0 };
            let rest = &b[t.start..];
            let keyword = TOP_LEVEL
                .into_iter()
                .find(|k| rest.starts_with(k.as_bytes()) && !rest.get(k.len()).copied().is_some_and(is_word_byte));
            events.push(Event::Line(t.start, keyword));
        }
        match t.kind {
            Kind::Newline => at_line_start = true,
            Kind::Space | Kind::Comment => {}
            Kind::Open => {
                events.push(Event::Open(t.start, indent));
                code_on_line = true;
            }
            Kind::Close => {
                events.push(Event::Close(t.start, !code_on_line, indent));
                code_on_line = true;
            }
            _ => code_on_line = true,
        }
    }
    events
}

/// Find unclosed blocks and close them (see the module documentation), then blank out
/// blocks nested deeper than [`MAX_DEPTH`].
pub(crate) fn repair(text: &str) -> Repaired<'_> {
    let mut r = close_blocks(text);
    r.blank_deep_blocks();
    r
}

impl Repaired<'_> {
    fn blank_deep_blocks(&mut self) {
        // The text is balanced now: `}` with no open block only at the top level.
        let mut ranges = Vec::new();
        let mut depth = 0usize;
        let mut deep_open = None;
        for e in scan(&self.text) {
            match e {
                Event::Open(at, _) => {
                    depth += 1;
                    if depth > MAX_DEPTH && deep_open.is_none() {
                        deep_open = Some(at);
                    }
                }
                Event::Close(at, ..) if depth > 0 => {
                    if depth == MAX_DEPTH + 1
                        && let Some(open) = deep_open.take()
                    {
                        ranges.push((open, at + 1));
                    }
                    depth -= 1;
                }
                _ => {}
            }
        }
        if ranges.is_empty() {
            return;
        }
        let mut out = String::with_capacity(self.text.len());
        let mut next = ranges.iter().peekable();
        for (i, c) in self.text.char_indices() {
            while next.peek().is_some_and(|(_, end)| *end <= i) {
                next.next();
            }
            let blank = next.peek().is_some_and(|(start, _)| *start <= i);
            if blank && c != '\n' && c != '\r' {
                out.extend(std::iter::repeat_n(' ', c.len_utf8()));
            } else {
                out.push(c);
            }
        }
        self.text = Cow::Owned(out);
        self.too_deep = ranges
            .into_iter()
            .map(|(s, e)| (self.original(s), self.original(e)))
            .collect();
    }
}

fn close_blocks(text: &str) -> Repaired<'_> {
    let events = scan(text);
    let mut depth = 0usize;
    for e in &events {
        match e {
            Event::Open(..) => depth += 1,
            Event::Close(..) => depth = depth.saturating_sub(1),
            Event::Line(..) => {}
        }
    }
    if depth == 0 {
        return Repaired {
            text: Cow::Borrowed(text),
            unclosed: Vec::new(),
            too_deep: Vec::new(),
            insertions: Vec::new(),
        };
    }

    // (original offset, how many `}`) to insert, in order.
    let mut closes: Vec<(usize, usize)> = Vec::new();
    let mut unclosed = Vec::new();
    // Open blocks: (offset of `{`, indentation of its line, its line).
    let mut stack: Vec<(usize, usize, usize)> = Vec::new();
    let mut line_no = 0;
    let mut line_start = 0;
    let mut close_from = |stack: &mut Vec<(usize, usize, usize)>, keep: usize, at: usize, by: EndedBy| {
        let n = stack.len().saturating_sub(keep);
        if n == 0 {
            return;
        }
        for (open, ..) in stack.drain(keep..) {
            unclosed.push(Unclosed { open, ended_by: by, at });
        }
        match closes.last_mut() {
            Some((last, count)) if *last == at => *count += n,
            _ => closes.push((at, n)),
        }
    };
    // Every block before the last piece is closed: those pieces are kept as they are.
    let from = chunks::starts(text).last().unwrap_or(0);
    for e in events {
        match e {
            Event::Open(at, _) | Event::Close(at, ..) if at < from => {}
            Event::Line(at, keyword) => {
                line_no += 1;
                line_start = at;
                if let Some(k) = keyword {
                    close_from(&mut stack, 0, at, EndedBy::TopLevel(k, line_no));
                }
            }
            Event::Open(at, indent) => stack.push((at, indent, line_no)),
            Event::Close(_, first, indent) => {
                let matching = if first {
                    stack.iter().rposition(|(_, i, _)| *i == indent)
                } else {
                    None
                };
                match matching {
                    Some(j) => {
                        let outer = stack.get(j).map_or(0, |(_, _, line)| *line);
                        close_from(&mut stack, j + 1, line_start, EndedBy::Dedent(line_no, outer));
                        stack.pop();
                    }
                    None => {
                        // Closes the innermost block, or is stray at the top level.
                        stack.pop();
                    }
                }
            }
        }
    }
    close_from(&mut stack, 0, text.len(), EndedBy::EndOfFile);
    unclosed.sort_by_key(|u| u.open);

    let (out, insertions) = insert_closes(text, closes);
    Repaired {
        text: Cow::Owned(out),
        unclosed,
        too_deep: Vec::new(),
        insertions,
    }
}

/// `text` with `n` lines of `}` inserted at each `(at, n)` of `closes` (in order), and
/// where they went.
fn insert_closes(text: &str, closes: Vec<(usize, usize)>) -> (String, Vec<Insertion>) {
    let mut out = String::with_capacity(text.len() + 2 * closes.len() + 1);
    let mut insertions = Vec::with_capacity(closes.len());
    let mut copied = 0;
    for (at, n) in closes {
        out.push_str(text.get(copied..at).unwrap_or(""));
        copied = at;
        let start = out.len();
        if at == text.len() && !text.ends_with(['\n', '\r']) {
            out.push('\n');
        }
        for _ in 0..n {
            out.push_str("}\n");
        }
        insertions.push(Insertion {
            at,
            start,
            len: out.len() - start,
        });
    }
    out.push_str(text.get(copied..).unwrap_or(""));
    (out, insertions)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn balanced_text_is_kept() {
        let r = repair("a { b \"}\" # }\n c { } }\n");
        assert!(matches!(r.text, Cow::Borrowed(_)));
        assert!(r.unclosed.is_empty());
        assert_eq!(r.original(7), 7);
    }

    #[test]
    fn inserted_text_maps_to_its_insertion_point() {
        let src = "guest a {\n  numa {\n    cell 0\nguest b {\n}\n";
        let r = repair(src);
        assert_eq!(r.text, "guest a {\n  numa {\n    cell 0\n}\n}\nguest b {\n}\n");
        let at = src.find("guest b").unwrap_or(0);
        assert_eq!(r.original(at), at);
        assert_eq!(r.original(at + 1), at);
        assert_eq!(r.original(at + 4), at);
        assert_eq!(r.original(at + 4 + 5), at + 5);
        assert_eq!(r.unclosed.len(), 2);
        assert_eq!(r.unclosed[0].ended_by, EndedBy::TopLevel("guest", 4));
    }

    #[test]
    fn indentation_decides_which_block_a_brace_closes() {
        let src = "guest a {\n  numa {\n    cell 0\n}\n";
        let r = repair(src);
        assert_eq!(r.text, "guest a {\n  numa {\n    cell 0\n}\n}\n");
        assert_eq!(r.unclosed.len(), 1);
        assert_eq!(r.unclosed[0].open, 17);
        assert_eq!(r.unclosed[0].ended_by, EndedBy::Dedent(4, 1));
    }

    #[test]
    fn the_pieces_before_an_unclosed_block_are_kept() {
        // Matched by layout, `guest b` would end the first block and leave its `}` stray.
        let r = repair("guest a {\nguest b\n}\nguest c {\n");
        assert_eq!(r.text, "guest a {\nguest b\n}\nguest c {\n}\n");
        assert_eq!(r.unclosed.len(), 1);
        assert_eq!((r.unclosed[0].open, r.unclosed[0].ended_by), (28, EndedBy::EndOfFile));
        // Within the last piece, layout still decides.
        let r = repair("guest a {\n  numa {\n}\n");
        assert_eq!(r.unclosed.len(), 1);
        assert_eq!(r.unclosed[0].open, 17);
    }

    #[test]
    fn end_of_file_gets_a_newline_first() {
        let r = repair("a { # c");
        assert_eq!(r.text, "a { # c\n}\n");
        assert_eq!(r.original(r.text.len()), 7);
        assert_eq!(r.unclosed[0].ended_by, EndedBy::EndOfFile);
    }

    #[test]
    fn blocks_nested_too_deep_are_blanked() {
        let src = format!("a {}x é\n{} b", "{".repeat(MAX_DEPTH + 1), "}".repeat(MAX_DEPTH + 1));
        let r = repair(&src);
        assert_eq!(r.text.len(), src.len());
        let open = 2 + MAX_DEPTH;
        assert_eq!(r.too_deep, [(open, open + 7)]);
        assert_eq!(&r.text[open - 1..open + 8], "{     \n }");
    }

    #[test]
    fn a_lone_carriage_return_ends_a_line() {
        // The `guest` after a lone `\r` starts in column 0: the blocks still open end there.
        let src = "guest a {\r  numa {\r    cell 0 # {\rguest b {\r}\r";
        let r = repair(src);
        assert_eq!(r.text, "guest a {\r  numa {\r    cell 0 # {\r}\n}\nguest b {\r}\r");
        assert_eq!(r.unclosed.len(), 2);
        assert_eq!(r.unclosed[0].ended_by, EndedBy::TopLevel("guest", 4));
    }

    #[test]
    fn an_escaped_quote_does_not_end_a_string() {
        let r = repair("a { b \"\\\"}\" }\n");
        assert!(matches!(r.text, Cow::Borrowed(_)), "{:?}", r.text);
        let r = repair("a { b \"\\\"}\"\n");
        assert_eq!(r.unclosed.len(), 1);
    }

    #[test]
    fn separators_and_braces_in_a_string_are_text() {
        let r = repair("a { b \"; { } {\" }\n");
        assert!(matches!(r.text, Cow::Borrowed(_)), "{:?}", r.text);
        assert!(r.unclosed.is_empty());
    }
}
