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
}
