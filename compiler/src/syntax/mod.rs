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
mod budget;
pub mod chunks;
mod direct;
pub mod lexer;
mod parser;
mod repair;
pub mod value;
pub mod write;

pub use crate::codes::{BAD_ESCAPE, SYNTAX};
pub use budget::{Cut, MAX_WORD_BYTES, MAX_WORDS, cut_error, read_cut};
pub use parser::{MAX_FIELDS, parse, parse_by_grammar, parse_reporting_fallback, unescape};

#[cfg(test)]
mod tests;
