//! A file cut into its top-level pieces, so an edit re-parses only the piece it touched.
//!
//! A piece starts at a line that begins in column 0 with something other than `}`, `;` or
//! `#`, where every brace before it is closed (lines, comments and strings as the lexer
//! reads them). Statements never span lines outside a block, and only the last piece can
//! hold a `{` that is never closed, which is the only piece the repair of unclosed blocks
//! (`repair.rs`) reads by layout; so parsing the pieces one by one gives the tree and the
//! errors of parsing the whole file.

use super::ast::{Block, File, Ident, Prop, Statement, Value};
use super::lexer::{self, Kind};
use crate::diagnostics::Diagnostic;
use crate::span::{FileId, Span};
use std::ops::Range;

/// The byte ranges of the file's top-level pieces, in order, covering the whole text.
pub fn chunks(text: &str) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut start = 0;
    for at in starts(text) {
        out.push(start..at);
        start = at;
    }
    if start < text.len() || out.is_empty() {
        out.push(start..text.len());
    }
    out
}

/// Where the pieces after the first start, in order. The repair of unclosed blocks reads
/// the last one: every block before it is closed, so only the last piece can have an
/// unclosed `{`.
pub(crate) fn starts(text: &str) -> impl Iterator<Item = usize> + '_ {
    let mut depth = 0usize;
    let mut line_start = true;
    lexer::tokens(text).filter_map(move |t| {
        let starts_piece = !matches!(
            t.kind,
            Kind::Space | Kind::Newline | Kind::Close | Kind::Comment | Kind::Semicolon
        );
        let cut = (line_start && depth == 0 && t.start > 0 && starts_piece).then_some(t.start);
        line_start = t.kind == Kind::Newline;
        match t.kind {
            Kind::Open => depth += 1,
            Kind::Close => depth = depth.saturating_sub(1),
            _ => {}
        }
        cut
    })
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

    fn starts(text: &str) -> Vec<&str> {
        chunks(text).into_iter().map(|r| &text[r]).collect()
    }

    #[test]
    fn a_lone_carriage_return_ends_a_line() {
        let text = "host h {\r  node 0 # }\r}\rguest a {\r}\r";
        assert_eq!(starts(text), vec!["host h {\r  node 0 # }\r}\r", "guest a {\r}\r"]);
        // A comment or an unterminated string ends at a lone `\r`: the `{` after it opens a block.
        for t in ["# c\r{\nvcpus 1\n}\n", "guest a \"x\r{\nvcpus 1\n}\n"] {
            let whole = super::super::parse(FileId(3), t);
            let pieces = parse_in_pieces(FileId(3), t, |p| super::super::parse(FileId(3), p));
            assert_eq!(whole.0, pieces.0, "{t:?}");
            assert_eq!(whole.1, pieces.1, "{t:?}");
        }
    }

    #[test]
    fn an_escaped_quote_does_not_end_a_string() {
        let text = "guest a x=\"\\\"{\" {\n}\nguest b \"\\\"}\" {\nvcpus 1\n}\n";
        assert_eq!(
            starts(text),
            vec!["guest a x=\"\\\"{\" {\n}\n", "guest b \"\\\"}\" {\nvcpus 1\n}\n"]
        );
    }

    #[test]
    fn separators_and_braces_in_a_string_are_text() {
        let text = "guest a x=\"{;\" {\nvcpus 1\n}\nguest b x=\"};\"\nvcpus 1\n";
        assert_eq!(
            starts(text),
            vec!["guest a x=\"{;\" {\nvcpus 1\n}\n", "guest b x=\"};\"\n", "vcpus 1\n"]
        );
    }

    #[test]
    fn an_unclosed_block_at_the_end_leaves_the_closed_pieces_before_it_alone() {
        let both = |t: &str| {
            let whole = super::super::parse(FileId(3), t);
            let pieces = parse_in_pieces(FileId(3), t, |p| super::super::parse(FileId(3), p));
            assert_eq!(whole.0, pieces.0, "{t:?}");
            assert_eq!(whole.1, pieces.1, "{t:?}");
            whole
        };
        // `guest b` in column 0 is inside the block `}` closes: the `{` left open on the last
        // line does not make it end the block.
        let (tree, diags) = both("guest a {\nguest b\n}\n{\n");
        let inner: Vec<&str> = tree.statements[0]
            .block
            .iter()
            .flat_map(|b| &b.statements)
            .map(|s| s.keyword.text.as_str())
            .collect();
        assert_eq!(inner, ["guest"]);
        assert!(tree.errors.iter().all(|e| e.start == 20), "{:?}", tree.errors);
        assert_eq!(diags.len(), 2, "{diags:?}");
        assert!(diags.iter().all(|d| d.primary_span().start == 20), "{diags:?}");
        // A block with no head from `{` to `}` (a lone `\r` ends its first line, `\` is text):
        // one error node, the statement in it dropped; then the unclosed `{`.
        let (tree, _) = both("{\rguest\\}\n{");
        assert!(tree.statements.is_empty(), "{tree:?}");
        let errors: Vec<(u32, u32)> = tree.errors.iter().map(|e| (e.start, e.end)).collect();
        assert_eq!(errors, [(0, 9), (10, 11), (10, 11)]);
    }

    proptest::proptest! {
        #[test]
        fn parsing_in_pieces_equals_parsing_the_whole_for_any_text(
            text in "(guest|host|[a-z0-9 {}=\"#;\\\\\t\r\n]){0,60}"
        ) {
            let whole = super::super::parse(FileId(3), &text);
            let pieces = parse_in_pieces(FileId(3), &text, |p| super::super::parse(FileId(3), p));
            proptest::prop_assert_eq!(whole.0, pieces.0);
            proptest::prop_assert_eq!(whole.1, pieces.1);
        }

        #[test]
        fn parsing_in_pieces_equals_parsing_the_whole_for_lines_of_blocks(
            text in "(( |  |\t)?(guest a|host|include|vcpus 1|x|\\\\|\"b|#)?( ?\\{| ?\\}| ?\\\\| #\\{)*(\n|\r|\r\n|;)){0,12}"
        ) {
            let whole = super::super::parse(FileId(3), &text);
            let pieces = parse_in_pieces(FileId(3), &text, |p| super::super::parse(FileId(3), p));
            proptest::prop_assert_eq!(whole.0, pieces.0);
            proptest::prop_assert_eq!(whole.1, pieces.1);
        }
    }
}
