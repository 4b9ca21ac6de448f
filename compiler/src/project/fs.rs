//! How the project reaches the outside world: files and this machine's /sys.

use crate::host::HostProfile;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// How the loader reaches the outside world.
pub trait Loader {
    fn read(&self, path: &Path) -> std::io::Result<String>;
    fn probe(&self) -> Result<HostProfile, String>;
}

/// The real file system and /sys.
pub struct FsLoader {
    pub sysfs_root: PathBuf,
}

impl Loader for FsLoader {
    fn read(&self, path: &Path) -> std::io::Result<String> {
        crate::source::read_input(path)
    }
    fn probe(&self) -> Result<HostProfile, String> {
        crate::host::sysfs::probe("probed", &self.sysfs_root)
            .map(|(p, _)| p)
            .map_err(|e| e.to_string())
    }
}

/// Files held in memory: a program that comes from somewhere other than a disk (a fuzzer's
/// bundle, a test's text). A path it does not hold is read from its directory on disk when
/// it has one ([`MemLoader::or_from`]), and is otherwise not found. It never probes.
#[derive(Debug, Clone, Default)]
pub struct MemLoader {
    files: BTreeMap<PathBuf, String>,
    disk: Option<PathBuf>,
}

impl MemLoader {
    /// Holding one file.
    pub fn new(path: impl AsRef<Path>, text: impl Into<String>) -> Self {
        MemLoader::default().with(path, text)
    }

    /// Holding one more file (the first given of a path stays).
    pub fn with(mut self, path: impl AsRef<Path>, text: impl Into<String>) -> Self {
        let path = super::paths::normalize(path.as_ref());
        self.files.entry(path).or_insert_with(|| text.into());
        self
    }

    /// Reading the paths it does not hold under `dir` (an absolute path is read as it is).
    pub fn or_from(mut self, dir: impl Into<PathBuf>) -> Self {
        self.disk = Some(dir.into());
        self
    }
}

impl Loader for MemLoader {
    fn read(&self, path: &Path) -> std::io::Result<String> {
        if let Some(text) = self.files.get(&super::paths::normalize(path)) {
            return Ok(text.clone());
        }
        match &self.disk {
            Some(dir) => crate::source::read_input(&dir.join(path)),
            None => Err(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!("{}: not among the files held in memory", path.display()),
            )),
        }
    }
    fn probe(&self) -> Result<HostProfile, String> {
        Err("a program held in memory does not probe this machine".into())
    }
}

/// Where a session reads what is not an open document.
pub trait Files: Send {
    /// A file's text, bounded as input files are.
    fn read(&self, path: &Path) -> Result<String, String>;
    /// The `.vnuma` files in a directory, at most `limit`, sorted.
    fn neighbours(&self, dir: &Path, limit: usize) -> Vec<PathBuf>;
    /// This machine's host profile.
    fn probe(&self) -> Result<HostProfile, String>;
}

/// The file system and /sys.
pub struct Disk;

impl Files for Disk {
    fn read(&self, path: &Path) -> Result<String, String> {
        crate::source::read_input(path).map_err(|e| e.to_string())
    }

    fn neighbours(&self, dir: &Path, limit: usize) -> Vec<PathBuf> {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return Vec::new();
        };
        let mut out: Vec<PathBuf> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "vnuma"))
            .take(limit)
            .collect();
        out.sort();
        out
    }

    fn probe(&self) -> Result<HostProfile, String> {
        crate::host::sysfs::probe("probed", Path::new("/sys"))
            .map(|(p, _)| p)
            .map_err(|e| e.to_string())
    }
}
