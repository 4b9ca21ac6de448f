//! The `parse` target.

use super::common::text;
use crate::span::{FileId, Span};
use crate::syntax;

/// The parser on arbitrary text: it never falls back to an empty tree, it gives what the
/// grammar alone gives, every span is a range of the text on character boundaries, and a
/// file without syntax errors formats idempotently.
pub fn parse(data: &[u8]) {
    let text = text(data);
    let (file, diags, fell_back) = syntax::parse_reporting_fallback(FileId(0), &text);
    assert!(!fell_back, "recovery failed: {diags:?}");
    let by_grammar = syntax::parse_by_grammar(FileId(0), &text);
    assert!(by_grammar == (file.clone(), diags.clone(), false), "the readers differ");
    let mut spans = file.errors.clone();
    collect_spans(&file.statements, &mut spans);
    spans.extend(diags.iter().flat_map(|d| d.labels.iter().map(|l| l.span)));
    for s in spans {
        let (start, end) = (s.start as usize, s.end as usize);
        assert!(
            start <= end && end <= text.len() && text.is_char_boundary(start) && text.is_char_boundary(end),
            "span {s:?} is not a range of the text"
        );
    }
    if let Ok(out) = crate::fmt::format(&text) {
        match crate::fmt::format(&out) {
            Ok(again) => assert_eq!(again, out, "formatting is not idempotent"),
            Err(d) => panic!("formatted text does not parse: {d:?}\n{out}"),
        }
    }
}

fn collect_spans(statements: &[syntax::ast::Statement], out: &mut Vec<Span>) {
    for s in statements {
        out.extend([s.span, s.keyword.span]);
        out.extend(s.args.iter().map(|a| a.span));
        out.extend(s.props.iter().flat_map(|p| [p.span, p.key.span, p.value.span]));
        if let Some(b) = &s.block {
            out.push(b.span);
            collect_spans(&b.statements, out);
        }
    }
}
