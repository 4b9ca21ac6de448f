//! How the project reaches the outside world: files and this machine's /sys.

use crate::host::HostProfile;
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
