//! Cache and memory-bandwidth allocation: libvirt's `<cachetune>` and `<memorytune>`, which
//! it applies through Linux's resctrl file system after QEMU starts (nothing of it is on the
//! QEMU command line).

pub use crate::host::CacheType;
use crate::sets::IdSet;

/// A part of one host cache (`<cache id level type size unit>`), in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CacheAlloc {
    pub id: u32,
    pub level: u32,
    pub kind: CacheType,
    pub size: u64,
}

/// One `<cachetune vcpus>`: one resctrl group holding the given vCPUs, its cache
/// allocations, and the vCPU sets whose cache occupancy is monitored (`<monitor level='3'>`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CacheTune {
    pub vcpus: IdSet,
    pub caches: Vec<CacheAlloc>,
    pub monitors: Vec<IdSet>,
}

/// One `<memorytune vcpus>`: the limit, in percent, on each memory-bandwidth node
/// (`<node id bandwidth>`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MemoryTune {
    pub vcpus: IdSet,
    pub nodes: Vec<(u32, u32)>,
}

/// The level `<monitor>` watches: only the L3 cache's occupancy can be monitored.
pub const MONITOR_LEVEL: u32 = 3;
