//! The syntax tree: uniform statements with byte spans on every node.

use crate::span::Span;

#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct File {
    pub statements: Vec<Statement>,
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
