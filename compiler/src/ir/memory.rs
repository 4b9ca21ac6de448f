//! A guest's memory: bindings to host nodes, backing, hotplug headroom and memory devices.

use super::devices::PciAddress;
use crate::sets::IdSet;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MemPolicy {
    Strict,
    Preferred,
    Interleave,
    Restrictive,
}

impl MemPolicy {
    pub fn parse(word: &str) -> MemPolicy {
        match word {
            "preferred" => MemPolicy::Preferred,
            "interleave" => MemPolicy::Interleave,
            "restrictive" => MemPolicy::Restrictive,
            _ => MemPolicy::Strict,
        }
    }

    /// libvirt's numatune mode name.
    pub fn libvirt(self) -> &'static str {
        match self {
            MemPolicy::Strict => "strict",
            MemPolicy::Preferred => "preferred",
            MemPolicy::Interleave => "interleave",
            MemPolicy::Restrictive => "restrictive",
        }
    }

    /// QEMU's memory-backend `policy`; restrictive has none (cgroups only).
    pub fn qemu(self) -> Option<&'static str> {
        match self {
            MemPolicy::Strict => Some("bind"),
            MemPolicy::Preferred => Some("preferred"),
            MemPolicy::Interleave => Some("interleave"),
            MemPolicy::Restrictive => None,
        }
    }

    /// Policies that reserve memory on the bound nodes.
    pub fn binds(self) -> bool {
        matches!(self, MemPolicy::Strict | MemPolicy::Restrictive)
    }
}

/// Memory binding of one guest cell to host nodes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MemBinding {
    pub nodes: IdSet,
    pub policy: MemPolicy,
    /// `placement=auto`: libvirt asks numad for the nodes when the guest starts
    /// (`<memory placement='auto'>`); `nodes` are then every host node with memory, which
    /// is what the standalone QEMU line binds to.
    pub auto: bool,
}

/// `<maxMemory>`: memory hotplug headroom.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MaxMemory {
    pub kib: u64,
    pub slots: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum MemoryDeviceKind {
    /// A DIMM; what it leaves unsaid follows its cell.
    Dimm {
        /// `<source><nodemask>`: host nodes of its own, bound strictly.
        host_nodes: Option<IdSet>,
        /// `<source><pagesize>` in KiB: its own page size; 4 is ordinary memory.
        page_kib: Option<u64>,
        /// `access=`: Some(true) shared, Some(false) private.
        shared: Option<bool>,
        /// `discard=`.
        discard: Option<bool>,
    },
    Nvdimm {
        path: String,
        label_kib: Option<u64>,
        align_kib: Option<u64>,
        pmem: bool,
        /// `Some(true)` shared, `Some(false)` private.
        shared: Option<bool>,
        /// `<target><readonly/>`: the guest cannot write it (QEMU `unarmed=on`).
        readonly: bool,
    },
    /// A virtio-mem device: `size` is the most it can give its cell, `requested_kib` what
    /// it gives at boot, in blocks of `block_kib`. On a PCI slot of the root bus.
    VirtioMem {
        block_kib: u64,
        requested_kib: u64,
        host_nodes: Option<IdSet>,
        /// Its own page size; 4 is ordinary memory; None follows its cell.
        page_kib: Option<u64>,
        pci: PciAddress,
    },
    /// A virtio-pmem device on a file; it belongs to no cell (`node` is unused).
    VirtioPmem {
        path: String,
        shared: Option<bool>,
        pci: PciAddress,
    },
}

impl MemoryDeviceKind {
    /// A DIMM or NVDIMM, which takes one of `slots=`; virtio devices sit on PCI instead.
    pub fn model(&self) -> &'static str {
        match self {
            MemoryDeviceKind::Dimm { .. } => "dimm",
            MemoryDeviceKind::Nvdimm { .. } => "nvdimm",
            MemoryDeviceKind::VirtioMem { .. } => "virtio-mem",
            MemoryDeviceKind::VirtioPmem { .. } => "virtio-pmem",
        }
    }

    pub fn takes_slot(&self) -> bool {
        matches!(self, MemoryDeviceKind::Dimm { .. } | MemoryDeviceKind::Nvdimm { .. })
    }
}

/// A DIMM or NVDIMM in a hotplug slot, belonging to a guest cell.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MemoryDevice {
    pub kind: MemoryDeviceKind,
    pub size_kib: u64,
    /// Guest cell id.
    pub node: u32,
    /// The hotplug slot of a DIMM or NVDIMM; for a virtio device, its number among
    /// the devices of its model.
    pub slot: u32,
    /// `<address base>`: the guest physical address, in bytes (QEMU `addr=`).
    pub base: Option<u64>,
    /// The hugepage size its memory comes in: its own page size (4 KiB, the base page, is
    /// ordinary memory: None), else its cell's, else the guest's.
    pub hugepage_kib: Option<u64>,
    /// The host nodes its memory is bound to: its own host nodes (strictly), else its
    /// cell's binding, else the guest's; None for virtio-pmem, which its file backs.
    pub binding: Option<MemBinding>,
}

impl MemoryDevice {
    /// libvirt's alias: `dimm<slot>` or `nvdimm<slot>`.
    pub fn alias(&self) -> String {
        match self.kind {
            MemoryDeviceKind::Dimm { .. } => format!("dimm{}", self.slot),
            MemoryDeviceKind::Nvdimm { .. } => format!("nvdimm{}", self.slot),
            MemoryDeviceKind::VirtioMem { .. } => format!("virtiomem{}", self.slot),
            MemoryDeviceKind::VirtioPmem { .. } => format!("virtiopmem{}", self.slot),
        }
    }
}

/// Where guest RAM comes from (`<memoryBacking><source>`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum MemorySource {
    /// Anonymous memory: `memory-backend-ram` (unless hugepages or `access=` need a file).
    #[default]
    Anonymous,
    /// A file in libvirt's memory_backing_dir: `memory-backend-file`.
    File,
    /// An anonymous file: `memory-backend-memfd`.
    Memfd,
}

/// `<memoryBacking>` beyond hugepages and locking: it applies to every cell, to the
/// memory of a guest without cells, and to DIMMs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct MemoryBacking {
    pub source: MemorySource,
    /// `<access mode>`: Some(true) shared, Some(false) private.
    pub shared: Option<bool>,
    /// `<allocation mode='immediate'>`: preallocate.
    pub prealloc: bool,
    /// `<allocation threads>`: how many threads preallocate (QEMU `prealloc-threads`).
    pub prealloc_threads: Option<u32>,
    /// `<discard/>`: discard the memory's contents when the guest stops (`discard-data`).
    /// The guest's is Some(true) or None; a cell's `discard=false` makes it Some(false).
    pub discard: Option<bool>,
}
