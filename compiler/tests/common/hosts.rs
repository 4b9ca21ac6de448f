//! The hosts the property suites build on: every bundled capabilities file
//! (`examples/hosts/*.caps.xml`, `examples/hosts/real/*.caps.xml`) and inline hosts with
//! reserved CPUs, sparse node ids, CPU-less nodes, asymmetric distances, mixed SMT widths
//! and L3 domains; and a build compiled from text held in memory.

use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use vnumac::db::{self, Compiled, Database, GuestOutput, MemLoader};
use vnumac::host::HostProfile;

use super::workspace;

/// Reserved CPUs (one a lone thread of an SMT core), less free memory than total, hugepages.
pub const HOST_RESERVED: &str = "
host h {
  node 0 cpus=0-7 memory=16GiB free=12GiB
  node 1 cpus=8-15 memory=16GiB
  smt adjacent
  distance 0 1 21
  reserve cpus=0,9
  hugepages node=0 size=2MiB count=2048
  hugepages node=1 size=2MiB count=1024
  hugepages node=1 size=1GiB count=4
}
";

/// Sparse node ids, two CPU-less (CXL-like) memory nodes, asymmetric distances, 1 GiB pages.
pub const HOST_SPARSE_CXL: &str = "
host h {
  node 1 cpus=0-3,8-11 memory=8GiB
  node 4 memory=64GiB
  node 6 cpus=4-7,12-15 memory=8GiB free=6GiB
  node 9 memory=32GiB
  smt split
  distance 1 6 31
  distance 6 1 29
  distance 1 4 17
  distance 6 4 25
  distance 1 9 40
  distance 6 9 19
  distance 4 9 50
  reserve cpus=3
  hugepages node=1 size=1GiB count=4
  hugepages node=6 size=1GiB count=2
  hugepages node=4 size=1GiB count=32
}
";

/// SMT width 4 with one 2-thread core, a node whose every CPU is reserved, sparse CPU ids.
pub const HOST_SMT4: &str = "
host h {
  node 0 cpus=0-15 memory=32GiB
  node 2 cpus=16-31 memory=32GiB free=30GiB
  node 3 cpus=40-41 memory=4GiB
  siblings 0-3
  siblings 4-7
  siblings 8-11
  siblings 12-15
  siblings 16-19
  siblings 20-23
  siblings 24-27
  siblings 28-31
  siblings 40-41
  distance 0 2 21
  distance 0 3 31
  distance 2 3 31
  reserve cpus=16,40-41
  hugepages node=0 size=2MiB count=4096
  hugepages node=2 size=2MiB count=4096
}
";

/// L3 domains whose cores do not follow core ids (node 0's cycle through three domains), of
/// different sizes, one spanning both nodes, one core with a reserved thread, two cores in none.
pub const HOST_L3: &str = "
host h {
  node 0 cpus=0-11,24-35 memory=16GiB
  node 1 cpus=12-23,36-47 memory=16GiB free=14GiB
  smt split
  l3 0,3,6,24,27,30
  l3 1,4,7,25,28,31
  l3 2,5,8,26,29,32
  l3 9-13,33-37
  l3 14-17,38-41
  l3 18-21,42-45
  distance 0 1 21
  reserve cpus=1
  hugepages node=0 size=2MiB count=1024
  hugepages node=1 size=2MiB count=1024
}
";

pub struct Fixture {
    pub label: String,
    pub profile: HostProfile,
    /// The capabilities file, for hosts that can also be written `from=`.
    pub caps: Option<PathBuf>,
}

pub static HOSTS: LazyLock<Vec<Fixture>> = LazyLock::new(load_hosts);

pub fn load_hosts() -> Vec<Fixture> {
    let mut hosts = Vec::new();
    for dir in ["examples/hosts", "examples/hosts/real"] {
        let mut paths: Vec<PathBuf> = std::fs::read_dir(workspace().join(dir))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.to_string_lossy().ends_with(".caps.xml"))
            .collect();
        paths.sort();
        for path in paths {
            let xml = std::fs::read_to_string(&path).unwrap();
            let profile = vnumac::host::caps::from_capabilities_xml("h", &xml).unwrap();
            hosts.push(Fixture {
                label: path.file_name().unwrap().to_string_lossy().into_owned(),
                profile,
                caps: Some(path),
            });
        }
    }
    assert_eq!(hosts.len(), 10, "the bundled capabilities files");
    for (label, text) in [
        ("inline reserved", HOST_RESERVED),
        ("inline sparse+cxl", HOST_SPARSE_CXL),
        ("inline smt4", HOST_SMT4),
        ("inline l3", HOST_L3),
    ] {
        let (c, _) = compile(text);
        assert!(!c.has_errors(), "{label}: {:?}", c.diagnostics);
        hosts.push(Fixture {
            label: label.into(),
            profile: c.checked.hosts[0].as_ref().unwrap().profile.as_ref().clone(),
            caps: None,
        });
    }
    hosts
}

/// Serves `input.vnuma` from memory and every other path (capabilities files) from disk.
pub fn mem(text: &str) -> MemLoader {
    MemLoader::new("input.vnuma", text).or_from(".")
}

pub fn compile(text: &str) -> (Compiled, Vec<GuestOutput>) {
    let db = Database::default();
    let program = db::load_program(&db, Path::new("input.vnuma"), &mem(text)).unwrap();
    let compiled = db::compile(&db, program).clone();
    let outputs = db::lower(&db, program).clone();
    (compiled, outputs)
}
