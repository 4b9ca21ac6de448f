//! A file cut into its top-level pieces, so an edit re-parses only the piece it touched.
//!
//! A piece starts at a line that begins in column 0 with something other than `}` or `#`,
//! where every brace before it is closed. Statements never span lines outside a block, so
//! parsing the pieces one by one gives the tree and the errors of parsing the whole file.

use super::ast::{Block, File, Ident, Prop, Statement, Value};
use crate::diagnostics::Diagnostic;
use crate::span::{FileId, Span};
use std::ops::Range;

/// The byte ranges of the file's top-level pieces, in order, covering the whole text.
pub fn chunks(text: &str) -> Vec<Range<usize>> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut start = 0;
    let mut depth = 0i64;
    let mut i = 0;
    let mut line_start = true;
    while i < bytes.len() {
        let b = bytes[i];
        if line_start && depth == 0 && i > start && !matches!(b, b' ' | b'\t' | b'\r' | b'\n' | b'}' | b'#' | b';') {
            out.push(start..i);
            start = i;
        }
        line_start = false;
        match b {
            b'\n' => line_start = true,
            b'#' => {
                while i + 1 < bytes.len() && bytes[i + 1] != b'\n' {
                    i += 1;
                }
            }
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' && bytes[i] != b'\n' {
                    if bytes[i] == b'\\' && i + 1 < bytes.len() && bytes[i + 1] != b'\n' {
                        i += 1;
                    }
                    i += 1;
                }
                if i < bytes.len() && bytes[i] == b'\n' {
                    line_start = true;
                }
            }
            b'{' => depth += 1,
            b'}' => depth = (depth - 1).max(0),
            _ => {}
        }
        i += 1;
    }
    if start < bytes.len() || out.is_empty() {
        out.push(start..bytes.len());
    }
    out
}

fn span(s: Span, file: FileId, at: u32) -> Span {
    Span {
        file,
        start: s.start + at,
        end: s.end + at,
    }
}

fn ident(i: &Ident, file: FileId, at: u32) -> Ident {
    Ident {
        text: i.text.clone(),
        span: span(i.span, file, at),
    }
}

fn value(v: &Value, file: FileId, at: u32) -> Value {
    Value {
        text: v.text.clone(),
        quoted: v.quoted,
        span: span(v.span, file, at),
    }
}

fn statement(s: &Statement, file: FileId, at: u32) -> Statement {
    Statement {
        keyword: ident(&s.keyword, file, at),
        args: s.args.iter().map(|a| value(a, file, at)).collect(),
        props: s
            .props
            .iter()
            .map(|p| Prop {
                key: ident(&p.key, file, at),
                value: value(&p.value, file, at),
                span: span(p.span, file, at),
            })
            .collect(),
        block: s.block.as_ref().map(|b| Block {
            statements: b.statements.iter().map(|c| statement(c, file, at)).collect(),
            span: span(b.span, file, at),
        }),
        span: span(s.span, file, at),
    }
}

/// Add a piece parsed on its own (as file 0, from offset 0) to the file's tree at `at`.
pub fn append(into: &mut (File, Vec<Diagnostic>), piece: &(File, Vec<Diagnostic>), file: FileId, at: u32) {
    let (ast, diags) = piece;
    into.0
        .statements
        .extend(ast.statements.iter().map(|s| statement(s, file, at)));
    into.0.errors.extend(ast.errors.iter().map(|e| span(*e, file, at)));
    into.1.extend(diags.iter().map(|d| {
        let mut d = d.clone();
        for l in &mut d.labels {
            l.span = span(l.span, file, at);
        }
        d
    }));
}

/// Parse piece by piece (each with `parse_piece`), the same as [`super::parse`] on the whole.
pub fn parse_in_pieces(
    file: FileId,
    text: &str,
    mut parse_piece: impl FnMut(&str) -> (File, Vec<Diagnostic>),
) -> (File, Vec<Diagnostic>) {
    let mut out = (File::default(), Vec::new());
    for r in chunks(text) {
        let piece = parse_piece(&text[r.clone()]);
        append(&mut out, &piece, file, r.start as u32);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_start_at_top_level_lines_and_cover_the_text() {
        let text = "host h {\n  node 0\n}\n# c\nguest a { x \"}{\" }\n  indented\nguest b {\nvcpus 2\n}\n";
        let c = chunks(text);
        let starts: Vec<&str> = c.iter().map(|r| text[r.clone()].lines().next().unwrap()).collect();
        assert_eq!(starts, vec!["host h {", "guest a { x \"}{\" }", "guest b {"]);
        assert_eq!(c.first().unwrap().start, 0);
        assert_eq!(c.last().unwrap().end, text.len());
        assert!(c.windows(2).all(|w| w[0].end == w[1].start));
        assert_eq!(chunks(""), vec![0..0]);
    }

    #[test]
    fn parsing_in_pieces_equals_parsing_the_whole() {
        let texts = [
            "host h {\n  node 0 cpus=0 memory=1GiB\n}\nguest a on=h {\n  vcpus = 2\n  memory 1GiB\n}\nguest b {\n  numa {\n    cell 0\n}\nguest c {}\n",
            "}\nguest \"x\n# }\nguest y { a=\"{\" }\n",
            "",
        ];
        for t in texts {
            let whole = super::super::parse(FileId(3), t);
            let pieces = parse_in_pieces(FileId(3), t, |p| super::super::parse(FileId(3), p));
            // Pieces are parsed as file 3 here too, then moved; spans must agree.
            assert_eq!(whole.0, pieces.0, "{t}");
            assert_eq!(whole.1, pieces.1, "{t}");
        }
    }
}
