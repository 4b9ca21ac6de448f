//! The syntax tree: uniform statements with byte spans on every node.

use crate::span::Span;

/// A parsed file: every statement that parsed, and where the text did not.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct File {
    /// The statements that parsed, each with the children that parsed. A statement
    /// that does not start with a keyword is not here, and neither are the statements
    /// in its block (they are checked for syntax errors, then dropped with it). Text
    /// after a statement's block is dropped the same way, blocks and all. A statement
    /// with a stray `=`, a `key=` without a value, an unterminated string or text
    /// after its block stays, with what did parse.
    pub statements: Vec<Statement>,
    /// The spans of the text the parser could not read, sorted by start: statements
    /// that do not start with a keyword (the rest of their line and their block),
    /// text after a block, stray `=`, `key=` without a value, unterminated strings, a
    /// `}` with no open block, each `{` that is never closed and blocks nested too
    /// deeply. Each comes with a syntax error (E0101), except that errors at one
    /// position are reported once. Empty exactly when the file has no syntax error.
    pub errors: Vec<Span>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Ident {
    pub text: String,
    pub span: Span,
}

/// A value as written; its kind (integer, size, set, ...) is decided by the schema.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Value {
    /// The text, with escapes resolved for strings.
    pub text: String,
    pub quoted: bool,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Prop {
    pub key: Ident,
    pub value: Value,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Block {
    pub statements: Vec<Statement>,
    pub span: Span,
}

/// `keyword arg* prop* [block]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Statement {
    pub keyword: Ident,
    pub args: Vec<Value>,
    pub props: Vec<Prop>,
    pub block: Option<Block>,
    pub span: Span,
}

impl Statement {
    pub fn prop(&self, key: &str) -> Option<&Prop> {
        self.props.iter().find(|p| p.key.text == key)
    }

    /// The span of the keyword and its arguments: a compact place to point at.
    pub fn head_span(&self) -> Span {
        let mut s = self.keyword.span;
        if let Some(a) = self.args.last() {
            s = s.to(a.span);
        }
        s
    }
}
