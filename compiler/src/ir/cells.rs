//! Guest NUMA cells and their HMAT data.

use super::memory::{MemBinding, MemoryBacking};
use crate::sets::IdSet;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct GuestCell {
    pub id: u32,
    /// The cell's vCPUs; empty for a memory-only cell.
    pub vcpus: IdSet,
    pub memory_kib: u64,
    pub binding: Option<MemBinding>,
    /// Hugepage size backing this cell, in KiB.
    pub hugepage_kib: Option<u64>,
    /// `<cell memAccess>`: Some(true) shared, Some(false) private; None follows the guest.
    pub shared: Option<bool>,
    /// `<cell discard>`; None follows the guest's `<discard/>`.
    pub discard: Option<bool>,
}

impl GuestCell {
    /// The guest's memory backing as it applies to this cell (and its DIMMs): the cell's
    /// own `memAccess` and `discard` win.
    pub fn backing(&self, whole: &MemoryBacking) -> MemoryBacking {
        MemoryBacking {
            shared: self.shared.or(whole.shared),
            discard: self.discard.or(whole.discard),
            ..*whole
        }
    }
}

/// HMAT data (`<cell><cache>`, `<interconnects>`); empty when the guest has none.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Hmat {
    pub caches: Vec<CellCache>,
    /// In the order written.
    pub links: Vec<HmatLink>,
}

impl Hmat {
    pub fn is_empty(&self) -> bool {
        self.caches.is_empty() && self.links.is_empty()
    }
}

/// A memory-side cache in front of a cell's memory.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CellCache {
    pub cell: u32,
    /// 1 to 3.
    pub level: u32,
    pub size_kib: u64,
    pub line_bytes: u64,
    /// libvirt's `none`, `direct` or `full`.
    pub associativity: &'static str,
    /// libvirt's `none`, `writeback` or `writethrough`.
    pub policy: &'static str,
}

/// One `<latency>` (nanoseconds) or `<bandwidth>` (KiB/s) between an initiator cell and a
/// target cell, to its memory or (`cache` 1-3) to one of its caches.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct HmatLink {
    pub initiator: u32,
    pub target: u32,
    pub cache: Option<u32>,
    /// `access`, `read` or `write`.
    pub kind: &'static str,
    pub bandwidth: bool,
    pub value: u64,
}
