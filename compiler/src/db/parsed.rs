//! A file cut into pieces and parsed piece by piece.

use super::inputs::SourceFile;
use crate::diagnostics::Diagnostic;
use crate::span::FileId;
use crate::syntax::{self, ast};

#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Parsed {
    pub ast: ast::File,
    pub diagnostics: Vec<Diagnostic>,
}

/// A top-level piece of a file's text ([`syntax::chunks`]), by content: a piece an edit did
/// not touch is the same piece, and is not parsed or checked again, wherever it moved.
/// Pieces unused for a few revisions are forgotten.
#[salsa::interned(revisions = 4)]
pub struct Piece<'db> {
    #[returns(ref)]
    pub text: String,
}

/// One piece parsed on its own. Its spans are relative to the piece
/// ([`FileId::RELATIVE`]); [`Span::relocate`] puts them in place.
#[salsa::tracked(returns(ref))]
pub fn parse_piece<'db>(db: &'db dyn salsa::Database, piece: Piece<'db>) -> (ast::File, Vec<Diagnostic>) {
    syntax::parse(FileId::RELATIVE, piece.text(db))
}

/// Where a file stops being read ([`syntax::read_cut`]).
#[salsa::tracked]
pub fn word_cut(db: &dyn salsa::Database, file: SourceFile) -> Option<syntax::Cut> {
    syntax::read_cut(file.text(db))
}

/// A file's pieces and where each starts.
#[salsa::tracked(returns(ref))]
pub fn pieces<'db>(db: &'db dyn salsa::Database, file: SourceFile) -> Vec<(Piece<'db>, u32)> {
    let text = file.text(db);
    // A file is read up to its word budget; `items` and `parse` report the cut.
    let text = &text[..word_cut(db, file).map_or(text.len(), |c| c.at)];
    syntax::chunks::chunks(text)
        .into_iter()
        .map(|r| (Piece::new(db, text[r.clone()].to_string()), r.start as u32))
        .collect()
}

/// A file's syntax tree and syntax errors, with spans in the file. Never fails: a broken
/// statement is an error node and the rest is still parsed.
#[salsa::tracked(returns(ref))]
pub fn parse(db: &dyn salsa::Database, file: SourceFile) -> Parsed {
    let mut out = (ast::File::default(), Vec::new());
    for (piece, at) in pieces(db, file) {
        syntax::chunks::append(&mut out, parse_piece(db, *piece), file.id(db), *at);
    }
    if let Some(cut) = word_cut(db, file) {
        out.1.push(syntax::cut_error(file.id(db), file.text(db), *cut));
    }
    Parsed {
        ast: out.0,
        diagnostics: out.1,
    }
}

/// Every top-level statement of a file, relative to its piece, with the piece's offset.
pub(crate) fn top_statements(
    db: &dyn salsa::Database,
    file: SourceFile,
) -> impl Iterator<Item = (&ast::Statement, u32)> {
    pieces(db, file)
        .iter()
        .flat_map(move |(piece, at)| parse_piece(db, *piece).0.statements.iter().map(move |s| (s, *at)))
}
