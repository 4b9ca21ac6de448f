//! Loading: reading a program's files through a [`Loader`] into inputs, once
//! ([`load_program`]) or into a [`Workspace`] that lives as long as an editor session.

use super::inputs::{Database, Program, SourceFile};
use super::parsed::top_statements;
use crate::host::HostProfile;
use crate::project::{Discovered, Inputs, Loader, discover, normalize};
use crate::span::FileId;
use crate::syntax::ast::Statement;
use salsa::Setter;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

struct Fresh<'d> {
    db: &'d Database,
    next: u32,
}

impl Inputs for Fresh<'_> {
    type File = SourceFile;
    fn add(&mut self, path: PathBuf, text: String) -> SourceFile {
        let f = SourceFile::new(self.db, FileId(self.next), path, text);
        self.next += 1;
        f
    }
    fn statements(&self, file: SourceFile) -> impl Iterator<Item = &Statement> {
        top_statements(self.db, file).map(|(s, _)| s)
    }
}

/// Load a program once, into fresh inputs (a one-shot build). Editors use [`Workspace`].
pub fn load_program(db: &Database, root: &Path, loader: &dyn Loader) -> std::io::Result<Program> {
    let mut inputs = Fresh { db, next: 0 };
    let found = discover(&mut inputs, root, loader)?;
    let probed = found.wants_probe.then(|| loader.probe());
    Ok(Program::new(db, found.root, found.files, probed))
}

/// One database for the life of a process: every file has one input, found by its path,
/// and a change to a file is a change to that input's text.
#[derive(Default)]
pub struct Workspace {
    pub db: Database,
    files: HashMap<PathBuf, SourceFile>,
    by_id: Arc<HashMap<FileId, SourceFile>>,
    programs: HashMap<PathBuf, Program>,
    probed: Option<Result<HostProfile, String>>,
    next_id: u32,
    /// Programs made since the workspace was made (dropped ones included).
    made: usize,
}

/// A read-only view of a [`Workspace`] for answering on another thread: a clone of its
/// database, and its files by id. A write to the workspace (a file's new text, a program
/// loaded again) cancels every query running on a snapshot — it unwinds with
/// [`salsa::Cancelled`] at its next query — and waits until every snapshot is dropped: hold
/// one only while answering, never on the thread that writes.
#[derive(Clone)]
pub struct Snapshot {
    pub db: Database,
    by_id: Arc<HashMap<FileId, SourceFile>>,
}

impl Snapshot {
    /// The input of the file with this id.
    pub fn file_by_id(&self, id: FileId) -> Option<SourceFile> {
        self.by_id.get(&id).copied()
    }
}

impl Workspace {
    pub fn new(db: Database) -> Workspace {
        Workspace {
            db,
            ..Workspace::default()
        }
    }

    /// A snapshot to answer from while the workspace goes on.
    pub fn snapshot(&self) -> Snapshot {
        Snapshot {
            db: self.db.clone(),
            by_id: Arc::clone(&self.by_id),
        }
    }

    /// The input for `path`, created or given `text` when its text differs.
    pub fn set_file(&mut self, path: &Path, text: String) -> SourceFile {
        let path = normalize(path);
        match self.files.get(&path) {
            Some(&f) => {
                if *f.text(&self.db) != text {
                    f.set_text(&mut self.db).to(text);
                }
                f
            }
            None => {
                let id = FileId(self.next_id);
                let f = SourceFile::new(&self.db, id, path.clone(), text);
                self.next_id += 1;
                self.files.insert(path, f);
                Arc::make_mut(&mut self.by_id).insert(id, f);
                f
            }
        }
    }

    /// The input of a file already read.
    pub fn file(&self, path: &Path) -> Option<SourceFile> {
        self.files.get(&normalize(path)).copied()
    }

    /// The input of the file with this id.
    pub fn file_by_id(&self, id: FileId) -> Option<SourceFile> {
        self.by_id.get(&id).copied()
    }

    /// How many files have an input.
    pub fn file_count(&self) -> usize {
        self.files.len()
    }

    /// How many programs were made, dropped ones included.
    pub fn programs_made(&self) -> usize {
        self.made
    }

    /// The program rooted at `root`, if loaded before.
    pub fn program(&self, root: &Path) -> Option<Program> {
        self.programs.get(&normalize(root)).copied()
    }

    /// Every program loaded so far.
    pub fn programs(&self) -> impl Iterator<Item = Program> + '_ {
        self.programs.values().copied()
    }

    /// Forget a program (its files stay, for other programs that read them).
    pub fn drop_program(&mut self, root: &Path) {
        self.programs.remove(&normalize(root));
    }

    /// (Re)load the program rooted at `root`: reads every file it reaches through `loader`
    /// and updates only the inputs whose text or file set changed. This machine is probed
    /// once per workspace.
    pub fn load(&mut self, root: &Path, loader: &dyn Loader) -> std::io::Result<Program> {
        let Discovered {
            root: root_file,
            files,
            wants_probe,
        } = discover(self, root, loader)?;
        let probed = if wants_probe {
            Some(self.probed.get_or_insert_with(|| loader.probe()).clone())
        } else {
            None
        };
        let key = normalize(root);
        if let Some(&p) = self.programs.get(&key) {
            if p.root(&self.db) != root_file {
                p.set_root(&mut self.db).to(root_file);
            }
            if *p.files(&self.db) != files {
                p.set_files(&mut self.db).to(files);
            }
            if *p.probed(&self.db) != probed {
                p.set_probed(&mut self.db).to(probed);
            }
            return Ok(p);
        }
        let p = Program::new(&self.db, root_file, files, probed);
        self.programs.insert(key, p);
        self.made += 1;
        Ok(p)
    }
}

impl Inputs for Workspace {
    type File = SourceFile;
    fn add(&mut self, path: PathBuf, text: String) -> SourceFile {
        self.set_file(&path, text)
    }
    fn statements(&self, file: SourceFile) -> impl Iterator<Item = &Statement> {
        top_statements(&self.db, file).map(|(s, _)| s)
    }
}
