//! Writing output files all or nothing, never through a planted name.
//!
//! Every file is first written to a temporary file beside its target, created exclusively
//! (`O_CREAT|O_EXCL`, which also refuses to follow a symlink) under a name no other
//! process can predict. Only when every temporary file is written are they made durable,
//! together: one `syncfs` per filesystem they are on (Linux; elsewhere an fsync of each).
//! Then the targets are replaced, one `rename` each (which replaces a symlink itself,
//! never what it points to), and each directory written to is synced once, so the new
//! names are durable too. Each existing target is kept under a backup name until all
//! renames are done; if one fails, the targets already replaced get their old files back
//! and the new files are removed, so every file is as it was before.

use std::fs::{self, File, OpenOptions};
use std::hash::{BuildHasher, Hasher};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Why writing failed: the path involved and the error.
#[derive(Debug)]
pub struct WriteError {
    pub path: PathBuf,
    pub action: &'static str,
    pub error: io::Error,
}

impl std::fmt::Display for WriteError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "cannot {} {}: {}", self.action, self.path.display(), self.error)
    }
}

fn err<'p>(action: &'static str, path: &'p Path) -> impl FnOnce(io::Error) -> WriteError + 'p {
    move |error| WriteError {
        path: path.to_path_buf(),
        action,
        error,
    }
}

/// A name in `dir` that no other process can guess: `.NAME.XXXXXXXXXXXXXXXX.tmp`.
fn unpredictable(dir: &Path, name: &str, tag: &str) -> PathBuf {
    // RandomState is seeded from the OS for each process; the counter and the clock make
    // every call differ.
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
    h.write_u32(std::process::id());
    if let Ok(t) = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
        h.write_u128(t.as_nanos());
    }
    dir.join(format!(".{name}.{:016x}.{tag}", h.finish()))
}

/// Create a new file exclusively under an unpredictable name beside `target`.
fn create_temp(target: &Path, tag: &str) -> Result<(PathBuf, File), WriteError> {
    let dir = parent(target);
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut last = None;
    for _ in 0..16 {
        let path = unpredictable(dir, &name, tag);
        match OpenOptions::new().write(true).create_new(true).open(&path) {
            Ok(f) => return Ok((path, f)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last = Some(e),
            Err(e) => return Err(err("create a temporary file for", target)(e)),
        }
    }
    Err(err("create a temporary file for", target)(
        last.unwrap_or_else(|| io::Error::other("no free temporary name")),
    ))
}

fn parent(path: &Path) -> &Path {
    path.parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// One file to write: where, what, and the permissions to give it (default: the
/// process's, as a new file gets).
pub struct Output {
    pub path: PathBuf,
    pub text: String,
    pub permissions: Option<fs::Permissions>,
}

impl Output {
    pub fn new(path: PathBuf, text: String) -> Output {
        Output {
            path,
            text,
            permissions: None,
        }
    }
}

/// Refuse targets that cannot be replaced by a file (a directory, a device…) before
/// anything is written.
pub fn preflight(files: &[Output]) -> Result<(), WriteError> {
    for f in files {
        match fs::symlink_metadata(&f.path) {
            Ok(m) if m.is_dir() => {
                return Err(err("write", &f.path)(io::Error::other("a directory is in the way")));
            }
            Ok(m) if !m.is_file() && !m.file_type().is_symlink() => {
                return Err(err("write", &f.path)(io::Error::other(
                    "something other than a regular file is in the way",
                )));
            }
            _ => {}
        }
    }
    Ok(())
}

/// Write every file or none (see the module documentation).
pub fn write_all(files: &[Output]) -> Result<(), WriteError> {
    preflight(files)?;
    install(files, |from, to| fs::rename(from, to))
}

/// Write the temporary files, then put them in place with `rename`, rolling back on failure.
fn install(files: &[Output], rename: impl Fn(&Path, &Path) -> io::Result<()>) -> Result<(), WriteError> {
    let mut temps: Vec<PathBuf> = Vec::new();
    let remove_all = |paths: &[PathBuf]| {
        for p in paths {
            let _ = fs::remove_file(p);
        }
    };
    for f in files {
        let written = create_temp(&f.path, "tmp").and_then(|(tmp, mut file)| {
            temps.push(tmp.clone());
            file.write_all(f.text.as_bytes())
                .and_then(|_| match &f.permissions {
                    Some(p) => file.set_permissions(p.clone()),
                    None => Ok(()),
                })
                .map_err(err("write", &tmp))
        });
        if let Err(e) = written {
            remove_all(&temps);
            return Err(e);
        }
    }
    if let Err(e) = make_durable(&temps) {
        remove_all(&temps);
        return Err(e);
    }
    // Keep every existing target under a backup name (a hard link: the target stays in
    // place until its rename), so that a failed rename can be undone.
    let mut backups: Vec<Option<PathBuf>> = Vec::new();
    for f in files {
        if fs::symlink_metadata(&f.path).is_err() {
            backups.push(None);
            continue;
        }
        match backup(&f.path) {
            Ok(b) => backups.push(Some(b)),
            Err(e) => {
                remove_all(&temps);
                remove_all(&backups.iter().flatten().cloned().collect::<Vec<_>>());
                return Err(e);
            }
        }
    }
    for (i, (f, tmp)) in files.iter().zip(&temps).enumerate() {
        if let Err(e) = rename(tmp, &f.path) {
            // Undo the renames done so far, newest first.
            for (g, b) in files[..i].iter().zip(&backups).rev() {
                match b {
                    Some(b) => {
                        let _ = fs::rename(b, &g.path);
                    }
                    None => {
                        let _ = fs::remove_file(&g.path);
                    }
                }
            }
            remove_all(&temps[i..]);
            remove_all(&backups[i..].iter().flatten().cloned().collect::<Vec<_>>());
            return Err(err("write", &f.path)(e));
        }
    }
    remove_all(&backups.into_iter().flatten().collect::<Vec<_>>());
    sync_dirs(files.iter().map(|f| parent(&f.path)));
    Ok(())
}

/// The distinct directories of `paths`, in first-seen order.
fn dirs<'p>(paths: impl Iterator<Item = &'p Path>) -> Vec<&'p Path> {
    let mut out: Vec<&Path> = Vec::new();
    for d in paths {
        if !out.contains(&d) {
            out.push(d);
        }
    }
    out
}

/// Make the written temporary files durable: one `syncfs` per filesystem their
/// directories are on.
#[cfg(target_os = "linux")]
fn make_durable(temps: &[PathBuf]) -> Result<(), WriteError> {
    use std::os::unix::fs::MetadataExt;
    let mut synced: Vec<u64> = Vec::new();
    for dir in dirs(temps.iter().map(|t| parent(t))) {
        let d = File::open(dir).map_err(err("open the directory", dir))?;
        let dev = d.metadata().map_err(err("read the directory", dir))?.dev();
        if synced.contains(&dev) {
            continue;
        }
        rustix::fs::syncfs(&d).map_err(|e| err("sync the files written to", dir)(e.into()))?;
        synced.push(dev);
    }
    Ok(())
}

/// Make the written temporary files durable: an fsync of each.
#[cfg(not(target_os = "linux"))]
fn make_durable(temps: &[PathBuf]) -> Result<(), WriteError> {
    for t in temps {
        File::open(t).and_then(|f| f.sync_all()).map_err(err("sync", t))?;
    }
    Ok(())
}

/// After the renames, sync each directory written to, once, so the new names are durable
/// too. Best effort: the files are in place whether or not a filesystem can sync a
/// directory.
fn sync_dirs<'p>(paths: impl Iterator<Item = &'p Path>) {
    for dir in dirs(paths) {
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
    }
}

/// A second name for `path` (not following a symlink), under an unpredictable name.
fn backup(path: &Path) -> Result<PathBuf, WriteError> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut last = io::Error::other("no free backup name");
    for _ in 0..16 {
        let b = unpredictable(parent(path), &name, "bak");
        // link() is exclusive: it fails when `b` exists, and links a symlink itself.
        match fs::hard_link(path, &b) {
            Ok(()) => return Ok(b),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last = e,
            Err(e) => return Err(err("keep a backup of", path)(e)),
        }
    }
    Err(err("keep a backup of", path)(last))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("vnumac-write-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        fs::create_dir_all(&d).unwrap();
        d
    }

    // A rename that fails half way leaves every target as it was, and no stray file.
    #[test]
    fn a_failed_rename_restores_every_file() {
        let d = scratch("rollback");
        let files: Vec<Output> = (0..10)
            .map(|i| Output::new(d.join(format!("g{i}.xml")), format!("new {i}\n")))
            .collect();
        for i in 0..10 {
            if i != 3 {
                fs::write(d.join(format!("g{i}.xml")), format!("old {i}\n")).unwrap();
            }
        }
        let bad = d.join("g6.xml");
        let r = install(&files, |from, to| {
            if to == bad {
                Err(io::Error::other("refused"))
            } else {
                fs::rename(from, to)
            }
        });
        assert!(r.unwrap_err().to_string().contains("g6.xml"));
        for i in 0..10 {
            let p = d.join(format!("g{i}.xml"));
            if i == 3 {
                assert!(!p.exists(), "g3 did not exist before");
            } else {
                assert_eq!(fs::read_to_string(&p).unwrap(), format!("old {i}\n"));
            }
        }
        assert_eq!(fs::read_dir(&d).unwrap().count(), 9, "no temporary or backup file left");
        fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn a_directory_in_the_way_is_refused_before_writing() {
        let d = scratch("dir");
        fs::create_dir(d.join("b.xml")).unwrap();
        fs::write(d.join("a.xml"), "old").unwrap();
        let files = [
            Output::new(d.join("a.xml"), "new".into()),
            Output::new(d.join("b.xml"), "new".into()),
        ];
        let e = write_all(&files).unwrap_err();
        assert!(e.to_string().contains("b.xml"), "{e}");
        assert_eq!(fs::read_to_string(d.join("a.xml")).unwrap(), "old");
        assert_eq!(fs::read_dir(&d).unwrap().count(), 2);
        fs::remove_dir_all(&d).unwrap();
    }
}
