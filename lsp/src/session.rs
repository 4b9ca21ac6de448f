//! The server's state: one vnumac workspace (one database for the life of the process),
//! the open documents, which program each open file is analysed in, and a cache of files
//! read from disk (refreshed when the editor says a watched file changed).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use vnumac::db::{Loader, Program, Workspace};
use vnumac::host::HostProfile;
use vnumac::source::{Encoding, LineIndex};

/// How many `.vnuma` files beside an opened file are looked at to find one that includes it.
const MAX_NEIGHBOURS: usize = 256;

/// An open document.
pub struct Doc {
    pub version: i32,
    pub text: String,
}

#[derive(Default)]
pub struct Session {
    pub ws: Workspace,
    pub docs: HashMap<PathBuf, Doc>,
    /// Open file → the root of the program it is analysed in.
    roots: HashMap<PathBuf, PathBuf>,
    /// Files read from disk, by path.
    disk: HashMap<PathBuf, Result<String, String>>,
    pub encoding: Option<Encoding>,
    pub workspace_root: Option<PathBuf>,
    /// Where `docs/diagnostics.md` is, for links from diagnostic codes.
    pub docs_url: Option<String>,
    /// Publish notes too (initialization option `notes`).
    pub notes: bool,
}

/// Open documents first, then the disk (regular files only, bounded in size), cached.
struct Overlay<'s> {
    docs: &'s HashMap<PathBuf, Doc>,
    disk: std::cell::RefCell<&'s mut HashMap<PathBuf, Result<String, String>>>,
}

pub fn read_file(path: &Path) -> Result<String, String> {
    vnumac::source::read_input(path).map_err(|e| e.to_string())
}

impl Loader for Overlay<'_> {
    fn read(&self, path: &Path) -> std::io::Result<String> {
        if let Some(d) = self.docs.get(path) {
            return Ok(d.text.clone());
        }
        let mut disk = self.disk.borrow_mut();
        let r = disk
            .entry(path.to_path_buf())
            .or_insert_with(|| read_file(path))
            .clone();
        r.map_err(std::io::Error::other)
    }
    fn probe(&self) -> Result<HostProfile, String> {
        vnumac::host::sysfs::probe("probed", Path::new("/sys"))
            .map(|(p, _)| p)
            .map_err(|e| e.to_string())
    }
}

impl Session {
    pub fn encoding(&self) -> Encoding {
        self.encoding.unwrap_or(Encoding::Utf16)
    }

    fn load(&mut self, root: &Path) -> Option<Program> {
        let loader = Overlay {
            docs: &self.docs,
            disk: std::cell::RefCell::new(&mut self.disk),
        };
        self.ws.load(root, &loader).ok()
    }

    /// Whether `program` reads `path`.
    fn reads(&self, program: Program, path: &Path) -> bool {
        program.files(&self.ws.db).contains_key(path)
    }

    /// The program an open file is analysed in: a program that includes it, found among
    /// the programs already loaded and the `.vnuma` files beside it and at the workspace
    /// root, or else the file's own.
    pub fn program_for(&mut self, path: &Path) -> Option<Program> {
        if let Some(root) = self.roots.get(path).cloned()
            && let Some(p) = self.ws.program(&root)
        {
            return Some(p);
        }
        let mut candidates: Vec<PathBuf> = Vec::new();
        let dirs = [path.parent().map(Path::to_path_buf), self.workspace_root.clone()];
        for dir in dirs.into_iter().flatten() {
            let Ok(entries) = std::fs::read_dir(&dir) else { continue };
            for e in entries.flatten().take(MAX_NEIGHBOURS) {
                let p = e.path();
                if p.extension().is_some_and(|x| x == "vnuma") && p != path && !candidates.contains(&p) {
                    candidates.push(p);
                }
            }
        }
        candidates.sort();
        // An includer, unless the file includes it too (a cycle: the file is its own root).
        let own = self.load(path);
        let root = candidates
            .into_iter()
            .find(|c| self.load(c).is_some_and(|p| self.reads(p, path)) && !own.is_some_and(|o| self.reads(o, c)))
            .unwrap_or_else(|| path.to_path_buf());
        // Programs loaded only to look are dropped again, unless they are someone's root.
        self.roots.insert(path.to_path_buf(), root.clone());
        let keep: Vec<PathBuf> = self.roots.values().cloned().collect();
        let loaded: Vec<PathBuf> = self
            .ws
            .programs()
            .map(|p| p.root(&self.ws.db).path(&self.ws.db).clone())
            .collect();
        for l in loaded {
            if !keep.contains(&l) {
                self.ws.drop_program(&l);
            }
        }
        self.load(&root)
    }

    /// A document was opened or changed: its text is the input's text now, and every
    /// program that reads it (or the file's own) is loaded again, as its includes and
    /// `from=` files may have changed.
    pub fn update(&mut self, path: &Path) {
        if let Some(d) = self.docs.get(path) {
            self.ws.set_file(path, d.text.clone());
        }
        self.reload_readers(path);
        self.program_for(path);
    }

    /// A file changed on disk (or was saved, created or deleted).
    pub fn disk_changed(&mut self, path: &Path) {
        self.disk.remove(path);
        if !self.docs.contains_key(path)
            && let Ok(text) = read_file(path)
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

    pub fn close(&mut self, path: &Path) {
        self.docs.remove(path);
        self.roots.remove(path);
        self.disk.remove(path);
        if let Ok(text) = read_file(path)
            && self.ws.file(path).is_some()
        {
            self.ws.set_file(path, text);
        }
        self.reload_readers(path);
    }

    /// Apply an edit to an open document: `range` in the session's encoding, or the whole text.
    pub fn edit(&mut self, path: &Path, range: Option<((u32, u32), (u32, u32))>, text: &str) {
        let enc = self.encoding();
        let Some(doc) = self.docs.get_mut(path) else { return };
        match range {
            None => doc.text = text.to_string(),
            Some(((l0, c0), (l1, c1))) => {
                let idx = LineIndex::new(&doc.text);
                let a = idx.offset(&doc.text, l0, c0, enc) as usize;
                let b = (idx.offset(&doc.text, l1, c1, enc) as usize).max(a);
                doc.text.replace_range(a..b, text);
            }
        }
    }
}
