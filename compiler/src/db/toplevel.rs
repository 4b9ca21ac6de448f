//! A program's files in include order and its top-level hosts and guests, each found by
//! its key wherever it moves.

use super::inputs::{ItemKey, ItemKind, Program, SourceFile};
use super::parsed::{Piece, parse_piece, pieces, top_statements, word_cut};
use crate::check;
use crate::diagnostics::Diagnostic;
use crate::lang;
use crate::project::{Tree, include_order};
use crate::span::{FileId, Span};
use crate::syntax::{self, ast};
use std::path::Path;

/// A top-level statement: its file, its piece there and its index in the piece.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ItemRef {
    pub file: SourceFile,
    pub piece: u32,
    pub index: u32,
}

/// The program's files and top-level items, with the diagnostics found at that level.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Items {
    /// Files in statement order, includes expanded in place.
    pub order: Vec<SourceFile>,
    /// Host statements whose head passed the schema, in order.
    pub hosts: Vec<ItemRef>,
    /// Guest statements whose head passed the schema, in order.
    pub guests: Vec<ItemRef>,
    /// Includes, syntax, top-level statement shapes and duplicate names.
    pub diagnostics: Vec<Diagnostic>,
}

/// Includes, syntax and the top-level statements. Runs on every edit; cheap, and what
/// depends on it reads single items through [`item`], which stops the ripple.
#[salsa::tracked(returns(ref))]
pub fn items(db: &dyn salsa::Database, program: Program) -> Items {
    let mut diags = Vec::new();
    let order = include_order(&ProgramTree { db, program }, program.root(db), &mut diags);
    let mut out = Items::default();
    let mut host_names: Vec<(String, Span)> = Vec::new();
    let mut guest_names: Vec<(String, Span)> = Vec::new();
    for f in &order {
        let id = f.id(db);
        for (pi, (piece, at)) in pieces(db, *f).iter().enumerate() {
            let (ast, syntax) = parse_piece(db, *piece);
            diags.extend(syntax.iter().map(|d| d.relocated(id, *at)));
            for (index, stmt) in ast.statements.iter().enumerate() {
                let mut shape = Vec::new();
                let fields = lang::check(stmt, lang::Context::File, &mut shape);
                diags.extend(shape.iter().map(|d| d.relocated(id, *at)));
                let Some(fields) = fields else { continue };
                let named = || {
                    (
                        fields.arg_text(0).unwrap_or_default().to_string(),
                        fields.arg_span(0).relocate(id, *at),
                    )
                };
                let r = ItemRef {
                    file: *f,
                    piece: pi as u32,
                    index: index as u32,
                };
                match fields.keyword() {
                    "host" => {
                        host_names.push(named());
                        out.hosts.push(r);
                    }
                    "guest" => {
                        guest_names.push(named());
                        out.guests.push(r);
                    }
                    _ => {}
                }
            }
        }
        if let Some(cut) = word_cut(db, *f) {
            diags.push(syntax::cut_error(id, f.text(db), *cut));
        }
    }
    check::duplicate_names(&host_names, "host", &mut diags);
    check::duplicate_names(&guest_names, "guest", &mut diags);
    out.order = order;
    out.diagnostics = diags;
    out
}

fn item_ref<'db>(db: &'db dyn salsa::Database, key: ItemKey<'db>) -> Option<ItemRef> {
    let items = items(db, key.program(db));
    let list = match key.kind(db) {
        ItemKind::Host => &items.hosts,
        ItemKind::Guest => &items.guests,
    };
    list.get(key.index(db) as usize).copied()
}

/// The piece an item is in and its index there: unchanged (and so the item is not checked
/// again) unless the item's own text changed, wherever it moved.
#[salsa::tracked(returns(copy))]
pub fn item_piece<'db>(db: &'db dyn salsa::Database, key: ItemKey<'db>) -> Option<(Piece<'db>, u32)> {
    let r = item_ref(db, key)?;
    pieces(db, r.file).get(r.piece as usize).map(|(p, _)| (*p, r.index))
}

/// Where an item's piece is: its file and offset.
#[salsa::tracked(returns(copy))]
pub fn item_at<'db>(db: &'db dyn salsa::Database, key: ItemKey<'db>) -> Option<(SourceFile, u32)> {
    let r = item_ref(db, key)?;
    pieces(db, r.file).get(r.piece as usize).map(|(_, at)| (r.file, *at))
}

/// An item's statement, with spans relative to its piece.
pub fn item<'db>(db: &'db dyn salsa::Database, key: ItemKey<'db>) -> Option<&'db ast::Statement> {
    let (piece, index) = item_piece(db, key)?;
    parse_piece(db, piece).0.statements.get(index as usize)
}

/// The names of the program's hosts, in order.
#[salsa::tracked(returns(ref))]
pub fn host_names(db: &dyn salsa::Database, program: Program) -> Vec<Option<String>> {
    (0..items(db, program).hosts.len())
        .map(|i| {
            let key = ItemKey::new(db, program, ItemKind::Host, i as u32);
            item(db, key).and_then(|s| s.args.first().map(|a| a.text.clone()))
        })
        .collect()
}

/// A program's files, for include traversal.
struct ProgramTree<'db> {
    db: &'db dyn salsa::Database,
    program: Program,
}

impl Tree for ProgramTree<'_> {
    type File = SourceFile;

    fn path(&self, file: SourceFile) -> &Path {
        file.path(self.db)
    }

    fn id(&self, file: SourceFile) -> FileId {
        file.id(self.db)
    }

    fn statements(&self, file: SourceFile) -> impl Iterator<Item = (&ast::Statement, u32)> {
        top_statements(self.db, file)
    }

    fn file(&self, path: &Path) -> Option<Result<SourceFile, &str>> {
        let f = self.program.files(self.db).get(path)?;
        Some(f.as_ref().copied().map_err(String::as_str))
    }
}
