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
