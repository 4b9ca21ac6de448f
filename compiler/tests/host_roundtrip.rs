//! `host import` / `host probe` print a block that reads back to the identical profile,
//! through the real parser and checker.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use vnumac::db::{self, Database, Loader};
use vnumac::host::HostProfile;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

/// Serves one in-memory file.
struct OneFile(String);

impl Loader for OneFile {
    fn read(&self, _: &Path) -> std::io::Result<String> {
        Ok(self.0.clone())
    }
    fn probe(&self) -> Result<HostProfile, String> {
        Err("not probing".into())
    }
}

fn reimport(profile: &HostProfile) -> HostProfile {
    let text = vnumac::host::print::to_vnuma(profile);
    let db = Database::default();
    let program = db::load_program(&db, Path::new("printed.vnuma"), &OneFile(text.clone())).unwrap();
    let compiled = db::compile(&db, program);
    assert!(compiled.diagnostics.is_empty(), "{text}\n{:?}", compiled.diagnostics);
    compiled.checked.hosts[0].as_ref().unwrap().profile.clone()
}

#[test]
fn every_capabilities_file_round_trips() {
    let mut n = 0;
    for dir in ["examples/hosts", "examples/hosts/real"] {
        for entry in std::fs::read_dir(workspace().join(dir)).unwrap() {
            let path = entry.unwrap().path();
            if !path.to_string_lossy().ends_with(".caps.xml") {
                continue;
            }
            let xml = std::fs::read_to_string(&path).unwrap();
            let p = vnumac::host::caps::from_capabilities_xml("h", &xml).unwrap();
            assert_eq!(reimport(&p), p, "{}", path.display());
            n += 1;
        }
    }
    assert_eq!(n, 10);
}

#[test]
fn every_sysfs_dump_and_this_machine_round_trip() {
    let mut roots: Vec<PathBuf> = ["linux-test8", "linux-test4", "linux-high-ids", "linux-with-die"]
        .iter()
        .map(|d| workspace().join("compiler/tests/fixtures/sysfs").join(d))
        .collect();
    roots.push(PathBuf::from("/sys"));
    for root in roots {
        let (p, _) = vnumac::host::sysfs::probe("h", &root).unwrap();
        assert!(!p.nodes.is_empty(), "{}", root.display());
        assert_eq!(reimport(&p), p, "{}", root.display());
    }
}
