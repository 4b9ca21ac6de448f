//! A direct reading of text without syntax errors, on the lexer's tokens, giving the tree
//! the grammar gives.
//!
//! Almost every file an editor or the command line reads has no syntax error, and for
//! those the grammar's work (pest's token queue, its pairs, and its recursion guard, which
//! reads `/proc/self/maps` once) is most of what parsing costs. This reader follows the
//! grammar (`grammar/vnuma.pest`) for the statements it recovers nothing in: a keyword,
//! then arguments (a closed string or a word) and properties (`key=value`, a closed string
//! or a word after `=`), spaces, tabs and comments between them, an optional block, and a
//! separator, a `}` or the end after them. At anything else — a stray `=` or `}`, an
//! unclosed string, a statement that does not start with a keyword, text after a block,
//! a string with an escape, more than `max_fields` fields — it gives up, and the grammar reads the
//! text with its recovery. It never reports an error, so the grammar's diagnostics stay
//! the only ones. `tests.rs` holds the two readers to the same tree.

use super::ast::{Block, Ident, Prop, Statement, Value};
use super::lexer::{self, Kind, Token};
use super::repair::MAX_DEPTH;
use crate::span::Span;
use std::iter::Peekable;

/// The statements of `src`, when it has no syntax error and no statement has more than
/// `max_fields` arguments and properties; `span` maps a range of `src` to a span of the
/// file. `None` when the grammar must read it.
pub(super) fn statements(src: &str, max_fields: usize, span: impl Fn(usize, usize) -> Span) -> Option<Vec<Statement>> {
    let mut r = Reader {
        src,
        tokens: lexer::tokens(src).peekable(),
        max_fields,
        span,
    };
    let out = r.items(0)?;
    // Only the end is left: `items` stops at the end or at a `}` with no open block.
    r.tokens.peek().is_none().then_some(out)
}

struct Reader<'a, F> {
    src: &'a str,
    tokens: Peekable<lexer::Lexer<'a>>,
    max_fields: usize,
    span: F,
}

/// Whether a word is a keyword or a key: an ASCII letter, then ASCII letters, digits, `-`
/// and `_` (the grammar's `word`).
fn is_word(text: &str) -> bool {
    let b = text.as_bytes();
    b.first().is_some_and(u8::is_ascii_alphabetic)
        && b.iter().all(|&c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
}

impl<'a, F: Fn(usize, usize) -> Span> Reader<'a, F> {
    /// The next token that is not a space or a comment, without taking it.
    fn peek(&mut self) -> Option<Token> {
        while let Some(t) = self.tokens.peek() {
            if !matches!(t.kind, Kind::Space | Kind::Comment) {
                return Some(*t);
            }
            self.tokens.next();
        }
        None
    }

    fn span_of(&self, t: Token) -> Span {
        (self.span)(t.start, t.end)
    }

    fn ident(&self, t: Token) -> Ident {
        Ident {
            text: t.text(self.src).to_string(),
            span: self.span_of(t),
        }
    }

    /// Statements up to the end or a `}` (not taken), separators between them.
    fn items(&mut self, depth: usize) -> Option<Vec<Statement>> {
        let mut out = Vec::new();
        while let Some(t) = self.peek() {
            match t.kind {
                Kind::Newline | Kind::Semicolon => {
                    self.tokens.next();
                }
                Kind::Close => break,
                Kind::Word if is_word(t.text(self.src)) => out.push(self.statement(depth)?),
                _ => return None,
            }
        }
        out.shrink_to_fit();
        Some(out)
    }

    /// A statement, its keyword next; it ends before its separator, a `}` or the end.
    fn statement(&mut self, depth: usize) -> Option<Statement> {
        let keyword = self.tokens.next().map(|t| self.ident(t))?;
        let mut args = Vec::new();
        let mut props = Vec::new();
        let mut block = None;
        while let Some(t) = self.peek() {
            match t.kind {
                Kind::Word | Kind::String { closed: true } => {
                    if args.len() + props.len() == self.max_fields {
                        return None;
                    }
                    self.tokens.next();
                    match self.tokens.peek() {
                        Some(e) if e.kind == Kind::Equals && is_word(t.text(self.src)) => props.push(self.prop(t)?),
                        _ => args.push(self.value(t)?),
                    }
                }
                Kind::Open if depth < MAX_DEPTH => {
                    block = Some(self.block(t, depth + 1)?);
                    break;
                }
                Kind::Newline | Kind::Semicolon | Kind::Close => break,
                _ => return None,
            }
        }
        // After a block, only what ends the statement (text there is the grammar's `trailing`).
        if block.is_some()
            && self
                .peek()
                .is_some_and(|t| !matches!(t.kind, Kind::Newline | Kind::Semicolon | Kind::Close))
        {
            return None;
        }
        let end = block
            .as_ref()
            .map(|b: &Block| b.span.end)
            .into_iter()
            .chain(props.iter().map(|p| p.span.end))
            .chain(args.iter().map(|a| a.span.end))
            .chain(std::iter::once(keyword.span.end))
            .max()
            .unwrap_or(keyword.span.end);
        args.shrink_to_fit();
        props.shrink_to_fit();
        Some(Statement {
            span: Span { end, ..keyword.span },
            keyword,
            args,
            props,
            block,
        })
    }

    /// A block whose `{` is `open` (taken): its statements and its `}`.
    fn block(&mut self, open: Token, depth: usize) -> Option<Block> {
        self.tokens.next();
        let statements = self.items(depth)?;
        let close = self.tokens.next().filter(|t| t.kind == Kind::Close)?;
        Some(Block {
            statements,
            span: (self.span)(open.start, close.end),
        })
    }

    /// `key=value`, its key taken and its `=` next.
    fn prop(&mut self, key: Token) -> Option<Prop> {
        self.tokens.next();
        let v = self
            .tokens
            .next()
            .filter(|t| matches!(t.kind, Kind::Word | Kind::String { closed: true }))?;
        Some(Prop {
            key: self.ident(key),
            value: self.value(v)?,
            span: (self.span)(key.start, v.end),
        })
    }

    /// A word or a closed string without escapes as a value.
    fn value(&self, t: Token) -> Option<Value> {
        let raw = t.text(self.src);
        let (text, quoted) = match t.kind {
            Kind::String { .. } => (raw.get(1..raw.len() - 1).filter(|s| !s.contains('\\'))?, true),
            _ => (raw, false),
        };
        Some(Value {
            text: text.to_string(),
            quoted,
            span: self.span_of(t),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::{parse_by_grammar, parse_reporting_fallback};
    use crate::span::FileId;
    use std::path::Path;

    /// Both readers on `text`: the same tree and diagnostics, and whether the direct one read it.
    fn same(text: &str) -> bool {
        let by_grammar = parse_by_grammar(FileId(0), text);
        let either = parse_reporting_fallback(FileId(0), text);
        assert_eq!(either, by_grammar, "{text:?}");
        super::statements(text, super::super::MAX_FIELDS, |s, e| {
            crate::span::Span::new(FileId(0), s, e)
        })
        .is_some()
    }

    fn vnuma_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                vnuma_files(&path, out);
            } else if path.extension().is_some_and(|e| e == "vnuma") {
                out.push(path);
            }
        }
    }

    #[test]
    fn every_example_and_golden_file_reads_as_the_grammar_reads_it() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let mut files = Vec::new();
        vnuma_files(&root.join("examples"), &mut files);
        vnuma_files(&root.join("golden"), &mut files);
        assert!(files.len() > 100, "{}", files.len());
        let mut direct = 0;
        for f in &files {
            let text = std::fs::read_to_string(f).unwrap_or_default();
            let (tree, diags) = crate::syntax::parse(FileId(0), &text);
            let read = same(&text);
            // The direct reader takes every file without a syntax error but those with
            // escapes in a string, and none with one.
            if read {
                direct += 1;
                assert!(diags.is_empty() && tree.errors.is_empty(), "{}", f.display());
            }
        }
        assert!(direct * 2 > files.len(), "{direct} of {}", files.len());
    }

    #[test]
    fn what_the_grammar_recovers_from_is_left_to_it() {
        for text in [
            "a = 1\n",
            "a b=\n",
            "a b= c\n",
            "a=b\n",
            "a b=c=d\n",
            "a x.y=1\n",
            "a \"b\n",
            "a \"b\\\"c\"\n",
            "}\n",
            "a {}\n}",
            "4 b\n",
            "a { b } c\n",
            "a { b } { c }\n",
            "a {\n",
            "\"x\" a\n",
            "a b c { d e=f { g } }\n# x\nh;i\r\nj\rk",
            "a\"b\"c d=\"e\"f\n",
            "é a\n",
            "a é=1\n",
        ] {
            same(text);
        }
        assert!(same("a b c { d e=f { g } }\n# x\nh;i\r\nj\rk"));
        assert!(same("a\"b\"c d=\"e\"f\n"));
        assert!(!same("a = 1\n"));
        assert!(!same("a \"b\\\"c\"\n"));
    }

    proptest::proptest! {
        #[test]
        fn any_text_reads_as_the_grammar_reads_it(
            text in "([a-c]|[0-9]|-|_|\\.|é| |\t|\n|\r|\\{|\\}|;|#|=|\"|\\\\|k=v|x y|k=\"v\"|\"s\"|\n  ){0,60}"
        ) {
            same(&text);
        }

        #[test]
        fn statement_shaped_text_reads_as_the_grammar_reads_it(
            text in "([a-c][a-c0-9_-]{0,2}( ([a-c0-9.é-]{1,3}|k=[a-c0-9]{1,2}|k=\"[a-c ;#{}=]{0,3}\"|\"[a-c ]{0,2}\"|=))*( ?\\{)?( ?\\})?( #[a-c {]{0,3})?(\n|;|\r\n|\r|\t)){0,10}"
        ) {
            same(&text);
        }
    }
}
