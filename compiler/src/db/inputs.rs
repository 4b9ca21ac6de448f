//! The inputs (files and programs), the keys of a program's hosts and guests, and the
//! concrete database.

use crate::host::HostProfile;
use crate::span::FileId;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// One source file's text. A file has one input for the life of a [`Workspace`].
#[salsa::input(debug)]
pub struct SourceFile {
    #[returns(copy)]
    pub id: FileId,
    #[returns(ref)]
    pub path: PathBuf,
    #[returns(ref)]
    pub text: String,
}

/// Everything a build reads: the root file and every file it reaches, with read errors.
#[salsa::input(debug)]
pub struct Program {
    #[returns(copy)]
    pub root: SourceFile,
    #[returns(ref)]
    pub files: BTreeMap<PathBuf, Result<SourceFile, String>>,
    /// This machine's host profile when some host says `probe=true`.
    #[returns(ref)]
    pub probed: Option<Result<HostProfile, String>>,
}

/// Whether an item is a `host` or a `guest` statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ItemKind {
    Host,
    Guest,
}

/// A top-level host or guest of a program, by its position among the program's hosts or guests.
#[salsa::interned(debug)]
pub struct ItemKey<'db> {
    #[returns(copy)]
    pub program: Program,
    #[returns(copy)]
    pub kind: ItemKind,
    #[returns(copy)]
    pub index: u32,
}

/// The concrete database.
#[salsa::db]
#[derive(Clone, Default)]
pub struct Database {
    storage: salsa::Storage<Self>,
}

#[salsa::db]
impl salsa::Database for Database {}

impl Database {
    /// A database that reports every salsa event to `callback` (tests use it to prove reuse).
    pub fn with_events(callback: impl Fn(salsa::Event) + Send + Sync + 'static) -> Database {
        Database {
            storage: salsa::Storage::new(Some(Box::new(callback))),
        }
    }
}
