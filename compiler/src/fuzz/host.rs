//! The `caps` and `sysfs` targets: host profiles read from capabilities XML and from a
//! sysfs tree, printed and read back.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use super::common::{Bundle, ROOT, text};
use crate::db::{self, Database};
use crate::host::HostProfile;

/// Capabilities XML import; a profile it accepts prints as a `host` block that reads back,
/// without a diagnostic, to the same profile (`docs/language.md`, host profiles).
pub fn caps(data: &[u8]) {
    let xml = text(data);
    if let Ok(profile) = crate::host::caps::from_capabilities_xml("h", &xml) {
        reads_back(&profile);
    }
}

/// `host print`'s round trip through the parser and checker.
fn reads_back(profile: &HostProfile) {
    let printed = crate::host::print::to_vnuma(profile);
    let bundle = Bundle {
        files: BTreeMap::from([(PathBuf::from(ROOT), printed.clone())]),
    };
    let database = Database::default();
    let Ok(program) = db::load_program(&database, Path::new(ROOT), &bundle) else {
        panic!("the root file is always there");
    };
    let compiled = db::compile(&database, program);
    assert!(compiled.diagnostics.is_empty(), "{printed}\n{:?}", compiled.diagnostics);
    match compiled.checked.hosts.first() {
        Some(Some(h)) => assert_eq!(&*h.profile, profile, "{printed}"),
        _ => panic!("the printed host is missing: {printed}"),
    }
}

/// Temporary trees of concurrent runs (the smoke test runs in threads) must not collide.
static TREE: AtomicU64 = AtomicU64::new(0);

/// At most this many files and directories per tree, so a run stays fast.
const MAX_ENTRIES: usize = 512;

/// The probe on a small sysfs tree written to a temporary directory. The input is a text
/// archive: a line `>REL/PATH` starts a file whose content is the following lines (up to
/// the next `>` line); a path ending in `/` is an empty directory. Path components are
/// `[A-Za-z0-9_.:-]+` other than `.` and `..`; other entries are skipped. A profile the
/// probe accepts reads back like an imported one.
pub fn sysfs(data: &[u8]) {
    let entries = sysfs_entries(&text(data));
    let n = TREE.fetch_add(1, Ordering::Relaxed);
    let root = scratch().join(format!("vnumac-fuzz-sysfs-{}-{n}", std::process::id()));
    if write_tree(&root, &entries).is_ok()
        && let Ok((profile, _warnings)) = crate::host::sysfs::probe("h", &root)
    {
        reads_back(&profile);
    }
    let _ = std::fs::remove_dir_all(&root);
}

/// Where trees are written: `VNUMAC_FUZZ_TMPDIR`, else `/dev/shm` (a tmpfs: a disk makes
/// this target a hundred times slower), else the temporary directory.
fn scratch() -> PathBuf {
    if let Some(dir) = std::env::var_os("VNUMAC_FUZZ_TMPDIR") {
        return PathBuf::from(dir);
    }
    let shm = Path::new("/dev/shm");
    if shm.is_dir() {
        return shm.to_path_buf();
    }
    std::env::temp_dir()
}

/// (relative path, content; None for a directory) of a sysfs archive.
pub fn sysfs_entries(archive: &str) -> Vec<(PathBuf, Option<String>)> {
    let mut out: Vec<(PathBuf, Option<String>)> = Vec::new();
    let mut current: Option<(PathBuf, String)> = None;
    let mut lines = archive.split_inclusive('\n');
    let flush = |cur: &mut Option<(PathBuf, String)>, out: &mut Vec<(PathBuf, Option<String>)>| {
        if let Some((p, body)) = cur.take() {
            out.push((p, Some(body)));
        }
    };
    for line in lines.by_ref() {
        let Some(head) = line.strip_prefix('>') else {
            if let Some((_, body)) = current.as_mut() {
                body.push_str(line);
            }
            continue;
        };
        flush(&mut current, &mut out);
        if out.len() >= MAX_ENTRIES {
            break;
        }
        let head = head.trim_end_matches(['\n', '\r']);
        let dir = head.ends_with('/');
        let Some(path) = safe_path(head.trim_end_matches('/')) else {
            continue;
        };
        if dir {
            out.push((path, None));
        } else {
            current = Some((path, String::new()));
        }
    }
    flush(&mut current, &mut out);
    out
}

fn safe_path(rel: &str) -> Option<PathBuf> {
    let mut path = PathBuf::new();
    for c in rel.split('/') {
        let ok = !c.is_empty()
            && c != "."
            && c != ".."
            && c.len() <= 64
            && c.bytes().all(|b| b.is_ascii_alphanumeric() || b"_.:-".contains(&b));
        if !ok {
            return None;
        }
        path.push(c);
    }
    (path.components().count() <= 12).then_some(path)
}

fn write_tree(root: &Path, entries: &[(PathBuf, Option<String>)]) -> std::io::Result<()> {
    std::fs::create_dir_all(root)?;
    for (rel, body) in entries {
        let path = root.join(rel);
        // A later entry under an earlier file, or a file where a directory is: skipped.
        match body {
            None => {
                let _ = std::fs::create_dir_all(&path);
            }
            Some(body) => {
                if let Some(parent) = path.parent()
                    && std::fs::create_dir_all(parent).is_ok()
                    && !path.exists()
                {
                    let _ = std::fs::write(&path, body);
                }
            }
        }
    }
    Ok(())
}
