//! What the importer found, before it is written out.

use crate::ir;
use crate::sets::IdSet;

/// Everything the importer found, before it is written out.
#[derive(Debug, Default)]
pub(super) struct Draft {
    pub name: String,
    pub qemu: bool,
    /// The live XML of a running domain (`<domain id=…>`): its sizes are those QEMU runs.
    pub running: bool,
    /// Written when not `q35`.
    pub machine: Option<String>,
    /// The `cpu` statement's arguments, when not the default.
    pub cpu: Option<String>,
    /// libvirt's `<memory>`: initial memory plus memory devices; None when the XML has none.
    pub total_kib: Option<u64>,
    /// The guest's initial memory as libvirt starts it (see `memory::settle_memory`).
    pub initial_kib: u64,
    pub max: Option<(u64, u32)>,
    pub locked: bool,
    pub hugepage_kib: Option<u64>,
    /// Cells whose page size differs from `hugepage_kib` (4 KiB: ordinary memory).
    pub cell_pages: Vec<(u32, u64)>,
    /// `source=`, `access=`, `prealloc=true`, `discard=true` on `memory`.
    pub backing: Vec<String>,
    pub vcpus: u32,
    /// `boot=M`, when fewer than all vCPUs are online at boot.
    pub boot: Option<u32>,
    /// `current=M`: libvirt's own order, vCPUs 0 to M−1 online and fixed, the rest offline.
    pub current: Option<u32>,
    /// `hotpluggable=true`: every vCPU online, all but vCPU 0 hot-pluggable.
    pub hotpluggable: bool,
    pub topology: Option<ir::Topology>,
    pub cells: Vec<Cell>,
    /// `distance A B V` lines.
    pub distances: Vec<(u32, u32, u32)>,
    /// HMAT `cache`, `latency` and `bandwidth` lines of the `numa` block.
    pub hmat: Vec<String>,
    /// (vCPUs, host CPUs), one `pin` line each.
    pub pins: Vec<(IdSet, IdSet)>,
    pub emulator: Option<IdSet>,
    /// `iothreads N`, and the CPUs of each pinned thread (1 to N).
    pub iothreads: Option<(u32, std::collections::BTreeMap<u32, IdSet>)>,
    /// `sched` lines: what they set (`sched vcpus=0-3`) and the policy (`policy=fifo priority=1`).
    pub sched: Vec<(String, String)>,
    /// `cachetune` and `memorytune` lines, as written.
    pub tunes: Vec<String>,
    /// The mode and the nodeset; no nodeset for `placement='auto'`.
    pub memory_policy: Option<(String, Option<IdSet>)>,
    /// `dimm` / `nvdimm` lines, and their total size.
    pub memdevs: Vec<String>,
    pub memdev_kib: u64,
    /// Lines of the `devices { }` block.
    pub devices: Vec<String>,
}

#[derive(Debug, Clone)]
pub(super) struct Cell {
    pub id: u32,
    /// Byte offset of its `<cell>`.
    pub at: usize,
    pub cpus: Option<IdSet>,
    pub memory_kib: u64,
    pub host_node: Option<IdSet>,
    /// Written when not `strict`.
    pub policy: Option<String>,
    /// `memAccess`: `shared` or `private`.
    pub access: Option<String>,
    /// `discard='yes|no'`.
    pub discard: Option<bool>,
}
