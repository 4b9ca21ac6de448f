//! An editor's session: one [`Workspace`] for the life of the process, the open documents,
//! which program each open file is analysed in, and a cache of files read from disk. Nothing
//! here knows LSP: the language server keeps one session behind a lock and answers from
//! [`Snapshot`]s of it.
//!
//! What it costs is bounded:
//! - a document larger than [`MAX_INPUT_BYTES`] is kept (so that later edits apply) but not
//!   analysed: it reads as a file that large does, an error;
//! - finding the file that includes an opened one reads only the `include`s of at most
//!   [`MAX_SCAN_FILES`] files beside it (and of the files they include), at most
//!   [`MAX_SCAN_BYTES`] in all, and remembers them until a file changes on disk;
//! - closing a document forgets the programs no open document needs, and when the
//!   workspace holds more than twice what the open documents read, it is made anew from them,
//!   which frees everything else.

use super::document::{self, Change};
use crate::db::{Loader, Program, Snapshot, SourceFile, Workspace};
use crate::host::HostProfile;
use crate::project::Includers;
use crate::source::{Encoding, MAX_INPUT_BYTES};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

pub use crate::project::{Disk, Files, MAX_NEIGHBOURS, MAX_SCAN_BYTES, MAX_SCAN_FILES};

/// An open document.
pub struct Doc {
    pub version: i32,
    pub text: String,
}

/// Why a document is not analysed: it is larger than files may be.
pub fn too_large(path: &Path) -> String {
    format!(
        "cannot read {}: is larger than the {} MiB limit for input files",
        path.display(),
        MAX_INPUT_BYTES >> 20
    )
}

pub struct Session {
    pub ws: Workspace,
    docs: HashMap<PathBuf, Doc>,
    /// Open file → the root of the program it is analysed in.
    roots: HashMap<PathBuf, PathBuf>,
    /// Files read from disk, by path.
    disk: HashMap<PathBuf, Result<String, String>>,
    /// What the search for includers learnt: each file's includes.
    scan: Includers,
    files: Box<dyn Files>,
    pub workspace_root: Option<PathBuf>,
}

impl Default for Session {
    fn default() -> Session {
        Session::new(Box::new(Disk))
    }
}

/// Open documents first, then the disk through the session's cache.
struct Overlay<'s> {
    docs: &'s HashMap<PathBuf, Doc>,
    disk: std::cell::RefCell<&'s mut HashMap<PathBuf, Result<String, String>>>,
    files: &'s dyn Files,
}

impl Loader for Overlay<'_> {
    fn read(&self, path: &Path) -> std::io::Result<String> {
        if let Some(d) = self.docs.get(path) {
            if d.text.len() as u64 > MAX_INPUT_BYTES {
                return Err(std::io::Error::other(format!(
                    "is larger than the {} MiB limit for input files",
                    MAX_INPUT_BYTES >> 20
                )));
            }
            return Ok(d.text.clone());
        }
        let mut disk = self.disk.borrow_mut();
        let r = disk
            .entry(path.to_path_buf())
            .or_insert_with(|| self.files.read(path))
            .clone();
        r.map_err(std::io::Error::other)
    }
    fn probe(&self) -> Result<HostProfile, String> {
        self.files.probe()
    }
}

impl Session {
    pub fn new(files: Box<dyn Files>) -> Session {
        Session {
            ws: Workspace::default(),
            docs: HashMap::new(),
            roots: HashMap::new(),
            disk: HashMap::new(),
            scan: Includers::default(),
            files,
            workspace_root: None,
        }
    }

    /// The open documents and their versions.
    pub fn open_documents(&self) -> Vec<(PathBuf, i32)> {
        self.docs.iter().map(|(p, d)| (p.clone(), d.version)).collect()
    }

    pub fn doc(&self, path: &Path) -> Option<&Doc> {
        self.docs.get(path)
    }

    /// Whether an open document is too large to analyse.
    pub fn is_too_large(&self, path: &Path) -> bool {
        self.docs
            .get(path)
            .is_some_and(|d| d.text.len() as u64 > MAX_INPUT_BYTES)
    }

    fn load(&mut self, root: &Path) -> Option<Program> {
        let loader = Overlay {
            docs: &self.docs,
            disk: std::cell::RefCell::new(&mut self.disk),
            files: &*self.files,
        };
        self.ws.load(root, &loader).ok()
    }

    /// Whether `program` reads `path`.
    fn reads(&self, program: Program, path: &Path) -> bool {
        program.files(&self.ws.db).contains_key(path)
    }

    /// The program and file an open (or loaded) file is answered in.
    pub fn context(&mut self, path: &Path) -> Option<(Program, SourceFile)> {
        let program = self.program_for(path)?;
        Some((program, self.ws.file(path)?))
    }

    /// [`Session::context`] when it needs no write: the file's program is loaded.
    pub fn loaded_context(&self, path: &Path) -> Option<(Program, SourceFile)> {
        let root = self.roots.get(path)?;
        Some((self.ws.program(root)?, self.ws.file(path)?))
    }

    /// A snapshot to answer from on another thread.
    pub fn snapshot(&self) -> Snapshot {
        self.ws.snapshot()
    }

    /// The program an open file is analysed in: the program of the file that includes it
    /// ([`Includers::root_of`]), or else the file's own.
    pub fn program_for(&mut self, path: &Path) -> Option<Program> {
        if let Some(root) = self.roots.get(path).cloned()
            && let Some(p) = self.ws.program(&root)
        {
            return Some(p);
        }
        let root = self.find_root(path);
        self.roots.insert(path.to_path_buf(), root.clone());
        self.load(&root)
    }

    fn find_root(&mut self, path: &Path) -> PathBuf {
        let docs = &self.docs;
        let open = |p: &Path| docs.get(p).map(|d| d.text.as_str());
        let root = self.workspace_root.as_deref();
        self.scan.root_of(path, root, &open, &*self.files)
    }

    /// Open a document; false when a newer version is already open.
    pub fn open(&mut self, path: &Path, version: i32, text: String) -> bool {
        if self.docs.get(path).is_some_and(|d| d.version >= version) {
            return false;
        }
        self.docs.insert(path.to_path_buf(), Doc { version, text });
        self.update(path);
        true
    }

    /// Apply an editor's changes to an open document; false when it is not open or the
    /// version is not newer.
    pub fn change(&mut self, path: &Path, version: i32, changes: &[Change], enc: Encoding) -> bool {
        let Some(doc) = self.docs.get_mut(path) else {
            return false;
        };
        if doc.version >= version {
            return false;
        }
        document::apply(&mut doc.text, changes, enc);
        doc.version = version;
        self.update(path);
        true
    }

    /// A document was opened or changed: its text is the input's text now (unless it is too
    /// large), and every program that reads it (or the file's own) is loaded again, as its
    /// includes and `from=` files may have changed.
    fn update(&mut self, path: &Path) {
        self.scan.forget(path);
        if let Some(d) = self.docs.get(path)
            && d.text.len() as u64 <= MAX_INPUT_BYTES
        {
            self.ws.set_file(path, d.text.clone());
        }
        self.reload_readers(path);
        self.program_for(path);
    }

    /// A file changed on disk (or was saved, created or deleted).
    pub fn disk_changed(&mut self, path: &Path) {
        self.disk.remove(path);
        self.scan.forget(path);
        if !self.docs.contains_key(path)
            && let Ok(text) = self.files.read(path)
            && self.ws.file(path).is_some()
        {
            self.ws.set_file(path, text);
        }
        self.reload_readers(path);
    }

    fn reload_readers(&mut self, path: &Path) {
        let roots: Vec<PathBuf> = self
            .ws
            .programs()
            .filter(|p| self.reads(*p, path))
            .map(|p| p.root(&self.ws.db).path(&self.ws.db).clone())
            .collect();
        for r in roots {
            self.load(&r);
        }
    }

    /// Close a document: its text is the disk's again for the programs that read it, and
    /// what no open document needs any more is forgotten.
    pub fn close(&mut self, path: &Path) {
        self.docs.remove(path);
        self.roots.remove(path);
        self.disk.remove(path);
        self.scan.forget(path);
        let keep: HashSet<PathBuf> = self.roots.values().cloned().collect();
        let loaded: Vec<PathBuf> = self
            .ws
            .programs()
            .map(|p| p.root(&self.ws.db).path(&self.ws.db).clone())
            .collect();
        for l in loaded.iter().filter(|l| !keep.contains(*l)) {
            self.ws.drop_program(l);
        }
        let live: HashSet<PathBuf> = self
            .ws
            .programs()
            .flat_map(|p| p.files(&self.ws.db).keys().cloned().collect::<Vec<_>>())
            .collect();
        self.disk.retain(|p, _| live.contains(p));
        let programs = keep.len();
        if self.ws.file_count() > 2 * live.len() + 64 || self.ws.programs_made() > 2 * programs + 16 {
            self.renew(keep);
            return;
        }
        if let Ok(text) = self.files.read(path)
            && self.ws.file(path).is_some()
        {
            self.ws.set_file(path, text);
        }
        self.reload_readers(path);
    }

    /// A new workspace holding only the programs rooted at `roots`: dropping the old one
    /// frees every file, program and result no open document needs.
    fn renew(&mut self, roots: HashSet<PathBuf>) {
        self.ws = Workspace::default();
        let mut roots: Vec<PathBuf> = roots.into_iter().collect();
        roots.sort();
        for r in roots {
            self.load(&r);
        }
    }
}

#[cfg(test)]
mod tests;
