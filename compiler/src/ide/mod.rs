//! Editor features as plain functions of the database: `(db, program, file, offset) → data`
//! with byte spans. Nothing here knows LSP; the server converts positions and types.
//!
//! A file is analysed inside a [`Program`](crate::db::Program) (the file itself, or a file that includes it),
//! so everything checked against hosts and across guests is there.

mod complete;
mod cursor;
pub mod document;
mod hover;
mod migrate;
mod nav;
mod outputs;
mod resolve;
pub mod session;
mod syntax_info;
mod typing;

pub use complete::{Completion, CompletionKind, completions};
pub use hover::{Hover, hover};
pub use migrate::{LENS_HOSTS, LENSES, MigrateLens, Migrated, migrate, migrate_at, migrate_lenses};
pub use nav::{
    Action, Hint, Symbol, SymbolKind, Target, code_actions, definition, document_symbols, inlay_hints, references,
    workspace_symbols,
};
pub use outputs::{diagnostics, explain, format, lowered};
pub use syntax_info::{Fold, Token, TokenKind, folding_ranges, semantic_tokens};

#[cfg(test)]
mod tests;
