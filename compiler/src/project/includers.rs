//! Which program a file belongs to: the file that includes it, found among its neighbours
//! by what each includes. A file's includes are learnt from its top-level `include`s alone
//! (the pieces of the file that name `include` are parsed, nothing is checked), and
//! remembered until the file changes.
//!
//! What a search costs is bounded: it looks at [`MAX_NEIGHBOURS`] `.vnuma` files per
//! directory and reads at most [`MAX_SCAN_FILES`] files and [`MAX_SCAN_BYTES`] (remembered
//! files are free).

use super::fs::Files;
use super::includes::include_path;
use super::paths::normalize;
use crate::check;
use crate::source::MAX_INPUT_BYTES;
use crate::span::FileId;
use crate::syntax;
use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::path::{Path, PathBuf};

/// How many `.vnuma` files in one directory are looked at to find one that includes an
/// opened file.
pub const MAX_NEIGHBOURS: usize = 256;
/// How many files one search for an includer reads (remembered ones are free).
pub const MAX_SCAN_FILES: usize = 1024;
/// How many bytes one search for an includer reads.
pub const MAX_SCAN_BYTES: usize = 64 << 20;

/// The most files whose includes are remembered; past it they are all forgotten.
const MAX_KNOWN: usize = 16_384;

/// What the search for includers learnt: each file's includes, as read from disk,
/// remembered until the file changes.
#[derive(Default)]
pub struct Includers {
    known: HashMap<PathBuf, Vec<PathBuf>>,
}

/// Includes among the files one search looked at.
struct Graph {
    edges: HashMap<PathBuf, Vec<PathBuf>>,
}

/// The files `text` (the text of `path`) includes at its top level.
fn includes(path: &Path, text: &str) -> Vec<PathBuf> {
    let text = &text[..syntax::read_cut(text).map_or(text.len(), |c| c.at)];
    let mut out = Vec::new();
    for r in syntax::chunks::chunks(text) {
        let piece = &text[r];
        if !piece.contains("include") {
            continue;
        }
        let (file, _) = syntax::parse(FileId::RELATIVE, piece);
        for (rel, _) in file.statements.iter().filter_map(include_path) {
            out.push(normalize(&check::resolve_relative(path, rel)));
        }
    }
    out
}

impl Includers {
    pub fn forget(&mut self, path: &Path) {
        self.known.remove(path);
    }

    /// The root of the program `path` is analysed in: a file that includes it, directly or
    /// not, among the `.vnuma` files beside it and in `workspace_root`, unless `path` includes
    /// that file too (a cycle: the file is its own root); or else `path` itself. `open` gives
    /// the text of the files open in an editor, read instead of the disk.
    pub fn root_of<'o>(
        &mut self,
        path: &Path,
        workspace_root: Option<&Path>,
        open: &dyn Fn(&Path) -> Option<&'o str>,
        files: &dyn Files,
    ) -> PathBuf {
        let mut candidates: BTreeSet<PathBuf> = BTreeSet::new();
        let dirs = [path.parent(), workspace_root];
        for dir in dirs.into_iter().flatten() {
            for p in files.neighbours(dir, MAX_NEIGHBOURS) {
                let p = normalize(&p);
                if p != path {
                    candidates.insert(p);
                }
            }
        }
        let graph = self.graph(path, &candidates, open, files);
        // When the search did not see everything the file includes, it cannot tell an
        // includer from a file in a cycle with it: the file is its own root.
        let Some(reached) = graph.reached_from(path) else {
            return path.to_path_buf();
        };
        let reaching = graph.reaching(path);
        candidates
            .into_iter()
            .find(|c| reaching.contains(c) && !reached.contains(c))
            .unwrap_or_else(|| path.to_path_buf())
    }

    /// The includes of `start`, of `candidates` and of what they include, breadth first:
    /// open documents from their text, other files from what is remembered or else from
    /// disk, at most [`MAX_SCAN_FILES`] files and [`MAX_SCAN_BYTES`] read.
    fn graph<'o>(
        &mut self,
        start: &Path,
        candidates: &BTreeSet<PathBuf>,
        open: &dyn Fn(&Path) -> Option<&'o str>,
        files: &dyn Files,
    ) -> Graph {
        let mut edges: HashMap<PathBuf, Vec<PathBuf>> = HashMap::new();
        let mut queue: VecDeque<PathBuf> = std::iter::once(start.to_path_buf())
            .chain(candidates.iter().cloned())
            .collect();
        let (mut read, mut bytes) = (0usize, 0usize);
        while let Some(f) = queue.pop_front() {
            if edges.contains_key(&f) {
                continue;
            }
            let found = if let Some(text) = open(&f) {
                if text.len() as u64 > MAX_INPUT_BYTES {
                    Vec::new()
                } else {
                    includes(&f, text)
                }
            } else if let Some(k) = self.known.get(&f) {
                k.clone()
            } else if read < MAX_SCAN_FILES && bytes < MAX_SCAN_BYTES {
                read += 1;
                let found = match files.read(&f) {
                    Ok(text) => {
                        bytes += text.len();
                        includes(&f, &text)
                    }
                    Err(_) => Vec::new(),
                };
                self.known.insert(f.clone(), found.clone());
                found
            } else {
                continue;
            };
            queue.extend(found.iter().filter(|n| !edges.contains_key(*n)).cloned());
            edges.insert(f, found);
        }
        if self.known.len() > MAX_KNOWN {
            self.known.clear();
        }
        Graph { edges }
    }
}

impl Graph {
    /// The files that include `path`, directly or not.
    fn reaching(&self, path: &Path) -> HashSet<PathBuf> {
        let mut reverse: HashMap<PathBuf, Vec<PathBuf>> = HashMap::new();
        for (from, tos) in &self.edges {
            for to in tos {
                reverse.entry(to.clone()).or_default().push(from.clone());
            }
        }
        closure(path, &reverse)
    }

    /// The files `path` includes, directly or not; None when the search stopped before it
    /// saw them all.
    fn reached_from(&self, path: &Path) -> Option<HashSet<PathBuf>> {
        let all = closure(path, &self.edges);
        all.iter().all(|f| self.edges.contains_key(f)).then_some(all)
    }
}

/// Breadth-first over `edges` from `start` (`start` itself only when on a cycle).
fn closure(start: &Path, edges: &HashMap<PathBuf, Vec<PathBuf>>) -> HashSet<PathBuf> {
    let mut seen: HashSet<PathBuf> = HashSet::new();
    let mut queue: VecDeque<&Path> = VecDeque::from([start]);
    while let Some(f) = queue.pop_front() {
        for next in edges.get(f).into_iter().flatten() {
            if seen.insert(next.clone()) {
                queue.push_back(next);
            }
        }
    }
    seen
}
