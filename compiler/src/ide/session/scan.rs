//! Which files include which, to find the file that includes an opened one: learnt from the
//! top-level `include`s of each file alone (the pieces of a file that name `include` are
//! parsed, nothing is checked), and remembered until the file changes.

use super::{Doc, Files, MAX_SCAN_BYTES, MAX_SCAN_FILES};
use crate::db::normalize;
use crate::source::MAX_INPUT_BYTES;
use crate::span::FileId;
use crate::syntax;
use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::path::{Path, PathBuf};

/// The most files whose includes are remembered; past it they are all forgotten.
const MAX_KNOWN: usize = 16_384;

/// Each file's includes, as read from disk.
#[derive(Default)]
pub(super) struct Includes {
    known: HashMap<PathBuf, Vec<PathBuf>>,
}

/// Includes among the files one search looked at.
pub(super) struct Graph {
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
        for s in file.statements.iter().filter(|s| s.keyword.text == "include") {
            if let Some(a) = s.args.first().filter(|a| a.quoted) {
                out.push(normalize(&crate::check::resolve_relative(path, &a.text)));
            }
        }
    }
    out
}

impl Includes {
    pub fn forget(&mut self, path: &Path) {
        self.known.remove(path);
    }

    /// The includes of `start`, of `candidates` and of what they include, breadth first:
    /// open documents from their text, other files from what is remembered or else from
    /// disk, at most [`MAX_SCAN_FILES`] files and [`MAX_SCAN_BYTES`] read.
    pub fn graph(
        &mut self,
        start: &Path,
        candidates: &BTreeSet<PathBuf>,
        docs: &HashMap<PathBuf, Doc>,
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
            let found = if let Some(d) = docs.get(&f) {
                if d.text.len() as u64 > MAX_INPUT_BYTES {
                    Vec::new()
                } else {
                    includes(&f, &d.text)
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
    pub fn reaching(&self, path: &Path) -> HashSet<PathBuf> {
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
    pub fn reached_from(&self, path: &Path) -> Option<HashSet<PathBuf>> {
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
