//! Reading a program's files: the root file and everything it reaches, through a
//! [`Loader`], into any store of inputs ([`Inputs`]).

use super::fs::Loader;
use super::includes::references;
use super::paths::normalize;
use crate::check;
use crate::syntax::ast::Statement;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Where the files a program reads end up: fresh inputs, or a workspace's lasting ones.
pub trait Inputs {
    /// A file's input.
    type File: Copy;
    /// An input for the file at `path` with `text`.
    fn add(&mut self, path: PathBuf, text: String) -> Self::File;
    /// The file's top-level statements.
    fn statements(&self, file: Self::File) -> impl Iterator<Item = &Statement>;
}

/// What loading found: the root file, every file it reaches by path (or why one could not be
/// read), and whether a host probes this machine.
pub struct Discovered<F> {
    pub root: F,
    pub files: BTreeMap<PathBuf, Result<F, String>>,
    pub wants_probe: bool,
}

/// The most files one program reads (its root, includes and capabilities files), and the
/// most bytes in all: far beyond any real program, and what keeps a crafted include chain
/// from reading a disk's worth of files.
pub const MAX_PROGRAM_FILES: usize = 1024;
pub const MAX_PROGRAM_BYTES: u64 = 64 << 20;
const TOO_MUCH: &str = "not read: a program reads at most 1024 files and 64 MiB in all";

/// Read the root file and everything it reaches. Only the root file's absence is an error
/// here; the rest becomes diagnostics when the program is checked.
pub fn discover<I: Inputs>(inputs: &mut I, root: &Path, loader: &dyn Loader) -> std::io::Result<Discovered<I::File>> {
    let root = normalize(root);
    let text = loader.read(&root)?;
    let mut read_bytes = text.len() as u64;
    let root_file = inputs.add(root.clone(), text);
    let mut files = BTreeMap::new();
    files.insert(root.clone(), Ok(root_file));
    let mut queue = vec![(root_file, root)];
    let mut wants_probe = false;
    while let Some((file, base)) = queue.pop() {
        let (targets, probe) = references(inputs.statements(file));
        wants_probe |= probe;
        for (rel, is_source) in targets {
            let path = normalize(&check::resolve_relative(&base, &rel));
            if files.contains_key(&path) {
                continue;
            }
            if files.len() >= MAX_PROGRAM_FILES || read_bytes >= MAX_PROGRAM_BYTES {
                files.insert(path, Err(TOO_MUCH.to_string()));
                continue;
            }
            match loader.read(&path) {
                Ok(text) if read_bytes + text.len() as u64 > MAX_PROGRAM_BYTES => {
                    files.insert(path, Err(TOO_MUCH.to_string()));
                }
                Ok(text) => {
                    read_bytes += text.len() as u64;
                    let f = inputs.add(path.clone(), text);
                    files.insert(path.clone(), Ok(f));
                    if is_source {
                        queue.push((f, path));
                    }
                }
                Err(e) => {
                    files.insert(path, Err(e.to_string()));
                }
            }
        }
    }
    Ok(Discovered {
        root: root_file,
        files,
        wants_probe,
    })
}
