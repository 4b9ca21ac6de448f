//! What the `vnuma` statement asks of the placer.

use crate::ir::MemPolicy;
use crate::sets::IdSet;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Host,
    Node,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Distribution {
    Contiguous,
    Siblings,
    RoundRobin,
    Interleave,
}

impl Distribution {
    pub fn parse(w: &str) -> Distribution {
        match w {
            "siblings" => Distribution::Siblings,
            "round-robin" => Distribution::RoundRobin,
            "interleave" => Distribution::Interleave,
            _ => Distribution::Contiguous,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Distribution::Contiguous => "contiguous",
            Distribution::Siblings => "siblings",
            Distribution::RoundRobin => "round-robin",
            Distribution::Interleave => "interleave",
        }
    }

    /// Whole guest cores of T threads, or single vCPUs.
    pub(super) fn core_units(self) -> bool {
        matches!(self, Distribution::Siblings | Distribution::Interleave)
    }

    /// Unit j → cell j mod N, instead of consecutive blocks.
    pub(super) fn modulo(self) -> bool {
        matches!(self, Distribution::RoundRobin | Distribution::Interleave)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pinning {
    Cpu,
    Node,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub mode: Mode,
    pub nodeset: Option<IdSet>,
    pub cells: Option<u32>,
    pub distribution: Distribution,
    pub pinning: Pinning,
    /// Strict, Interleave or Preferred.
    pub memory_mode: MemPolicy,
    pub vcpus: u32,
    pub memory_kib: u64,
    pub page_kib: Option<u64>,
    /// Threads that take a host core of their own (`policy=isolate`), placed after the
    /// vCPUs: on cell 0's nodes (the emulator and I/O threads not per cell), and on every
    /// cell's nodes (per-cell I/O threads). `pinning=cpu` only.
    pub isolated: Isolation,
    /// vCPUs that take no core (`shared-vcpus=`): whole units, `pinning=cpu` only.
    pub shared: IdSet,
    /// Host node ids some cell should run on: those of the devices the guest needs near
    /// (`node=auto policy=required`). Nodes picked for the guest hold them all when such a
    /// set fits.
    pub near: IdSet,
    /// `l3=SIZE`: bytes of every L3 cache the cells run on. Nodes picked for the guest each
    /// have an L3 cache with that much free when such a set fits.
    pub l3_bytes: Option<u64>,
}

/// How many host cores of their own a guest's isolated threads take.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Isolation {
    /// On cell 0's nodes.
    pub first: u32,
    /// On each cell's nodes.
    pub each: u32,
}

impl Isolation {
    /// Cores on cell `c`.
    pub fn on_cell(self, c: usize) -> u32 {
        self.each + if c == 0 { self.first } else { 0 }
    }

    /// Cores over `cells` cells.
    pub fn total(self, cells: u32) -> u32 {
        self.first.saturating_add(self.each.saturating_mul(cells))
    }
}
