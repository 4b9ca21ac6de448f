//! Text → syntax tree. Parsing reports at most one syntax error (pest does not recover);
//! semantic checks run only on files that parsed.

pub mod ast;
pub mod value;

use crate::diagnostics::Diagnostic;
use crate::span::{FileId, Span};
use ast::{Block, File, Ident, Prop, Statement, Value};
use pest::Parser;
use pest::iterators::Pair;

#[derive(pest_derive::Parser)]
#[grammar = "../grammar/vnuma.pest"]
struct VnumaParser;

pub const SYNTAX: &str = "vnuma::E0101";
pub const BAD_ESCAPE: &str = "vnuma::E0102";

/// Parse one file. On a syntax error the tree is empty and the error is returned.
pub fn parse(file: FileId, text: &str) -> (File, Vec<Diagnostic>) {
    let pairs = match VnumaParser::parse(Rule::file, text) {
        Ok(p) => p,
        Err(e) => return (File::default(), vec![syntax_error(file, text, e)]),
    };
    let mut diags = Vec::new();
    let mut statements = Vec::new();
    for pair in pairs.flatten() {
        if pair.as_rule() == Rule::file {
            for inner in pair.into_inner() {
                if inner.as_rule() == Rule::statement {
                    statements.push(statement(file, inner, &mut diags));
                }
            }
            break;
        }
    }
    (File { statements }, diags)
}

fn span_of(file: FileId, pair: &Pair<'_, Rule>) -> Span {
    let s = pair.as_span();
    Span::new(file, s.start(), s.end())
}

fn statement(file: FileId, pair: Pair<'_, Rule>, diags: &mut Vec<Diagnostic>) -> Statement {
    let span = span_of(file, &pair);
    let mut keyword = Ident {
        text: String::new(),
        span,
    };
    let mut args = Vec::new();
    let mut props = Vec::new();
    let mut block = None;
    for inner in pair.into_inner() {
        match inner.as_rule() {
            Rule::keyword => {
                keyword = Ident {
                    text: inner.as_str().to_string(),
                    span: span_of(file, &inner),
                }
            }
            Rule::arg => {
                if let Some(v) = inner.into_inner().next() {
                    args.push(value(file, v, diags));
                }
            }
            Rule::prop => {
                let pspan = span_of(file, &inner);
                let mut key = None;
                let mut val = None;
                for part in inner.into_inner() {
                    match part.as_rule() {
                        Rule::key => {
                            key = Some(Ident {
                                text: part.as_str().to_string(),
                                span: span_of(file, &part),
                            })
                        }
                        _ => val = Some(value(file, part, diags)),
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
            Rule::block => {
                let bspan = span_of(file, &inner);
                let statements = inner
                    .into_inner()
                    .filter(|p| p.as_rule() == Rule::statement)
                    .map(|p| statement(file, p, diags))
                    .collect();
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

fn value(file: FileId, pair: Pair<'_, Rule>, diags: &mut Vec<Diagnostic>) -> Value {
    let span = span_of(file, &pair);
    match pair.as_rule() {
        Rule::string => {
            let body = pair.into_inner().next();
            let (text, body_start) = match &body {
                Some(b) => (b.as_str(), b.as_span().start()),
                None => ("", span.start as usize + 1),
            };
            let text = match unescape(text) {
                Ok(t) => t,
                Err((at, len, msg)) => {
                    diags.push(
                        Diagnostic::error(
                            BAD_ESCAPE,
                            format!("invalid escape in string: {msg}"),
                            Span::new(file, body_start + at, body_start + at + len),
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

fn syntax_error(file: FileId, text: &str, e: pest::error::Error<Rule>) -> Diagnostic {
    let (start, end) = match e.location {
        pest::error::InputLocation::Pos(p) => (p, p),
        pest::error::InputLocation::Span((s, e)) => (s, e),
    };
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
        Span::new(file, start, end),
        label,
    )
    .with_help(help)
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn syntax_errors_point_at_the_problem() {
        let (_, d) = parse(FileId(0), "guest a {\n  vcpus = 4\n}\n");
        assert_eq!(d[0].code, SYNTAX);
        assert_eq!(d[0].primary_span().start, 18);
        let (_, d) = parse(FileId(0), "guest a {\n  vcpus 4\n");
        assert_eq!(d[0].message, "syntax error: unexpected end of file");
    }

    #[test]
    fn semicolons_separate_statements() {
        let (f, d) = parse(FileId(0), "host h { node 0 cpus=0-3 memory=1GiB; smt none }");
        assert!(d.is_empty(), "{d:?}");
        assert_eq!(f.statements[0].block.as_ref().unwrap().statements.len(), 2);
    }
}
