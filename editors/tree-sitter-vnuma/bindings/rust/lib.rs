//! The tree-sitter grammar of the `.vnuma` language, and its queries.
//!
//! ```ignore
//! let mut parser = tree_sitter::Parser::new();
//! parser.set_language(&tree_sitter_vnuma::LANGUAGE.into())?;
//! let tree = parser.parse("guest g {\n  vcpus 4\n}\n", None);
//! ```
//!
//! The grammar (`grammar.js`) reads the language as `grammar/vnuma.pest` does: a text
//! has an ERROR or MISSING node exactly when vnumac reports a syntax error (E0101) in
//! it. The parser in `src/` is generated from it by the tree-sitter CLI and committed,
//! so building this crate needs only a C compiler.

use tree_sitter_language::LanguageFn;

#[allow(unsafe_code)]
unsafe extern "C" {
    fn tree_sitter_vnuma() -> *const ();
}

/// The language, for `tree_sitter::Parser::set_language(&LANGUAGE.into())`.
// SAFETY: `tree_sitter_vnuma` is the generated parser's entry point, which returns a
// pointer to its static `TSLanguage`.
#[allow(unsafe_code)]
pub const LANGUAGE: LanguageFn = unsafe { LanguageFn::from_raw(tree_sitter_vnuma) };

/// The node types of the grammar, as the tree-sitter CLI describes them.
pub const NODE_TYPES: &str = include_str!("../../src/node-types.json");

/// Highlights, with the capture names of Neovim and the tree-sitter CLI.
pub const HIGHLIGHTS_QUERY: &str = include_str!("../../queries/highlights.scm");

/// Folds (`@fold`), for Neovim.
pub const FOLDS_QUERY: &str = include_str!("../../queries/folds.scm");

/// Indents, with nvim-treesitter's captures.
pub const INDENTS_QUERY: &str = include_str!("../../queries/indents.scm");

/// Highlights, with Helix's scope names.
pub const HELIX_HIGHLIGHTS_QUERY: &str = include_str!("../../queries/helix/highlights.scm");

/// Indents, with Helix's captures.
pub const HELIX_INDENTS_QUERY: &str = include_str!("../../queries/helix/indents.scm");
