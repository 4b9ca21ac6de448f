//! The plain-data form of a host: what an inline `host NAME { ... }` block declares, what
//! the capabilities and /sys readers fill in, and the errors that name a declaration.

use super::resctrl::Resctrl;
use crate::sets::IdSet;

/// How CPUs not named by an explicit `siblings` statement are paired into cores.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtRule {
    /// Sorted CPU ids, N of them: position p < N/2 pairs with p + N/2 (Intel numbering).
    Split,
    /// Ids 2k and 2k+1 are siblings.
    Adjacent,
    /// Every CPU is its own core.
    None,
}

/// `node ID cpus=SET memory=SIZE [free=SIZE]`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeDecl {
    pub id: u32,
    pub cpus: IdSet,
    pub memory_kib: u64,
    pub free_kib: Option<u64>,
}

/// `siblings SET [core=N]`: one core's threads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SiblingsDecl {
    pub cpus: IdSet,
    pub core: Option<u32>,
}

/// `cpu SET [socket=N] [die=M]`: where CPUs sit when it is not the default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CpuGroupDecl {
    pub cpus: IdSet,
    pub socket: Option<u32>,
    pub die: Option<u32>,
}

/// `distance A B V`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DistanceDecl {
    pub from: u32,
    pub to: u32,
    pub value: u32,
}

/// `hugepages node=ID size=SIZE count=N`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HugepagesDecl {
    pub node: u32,
    pub size_kib: u64,
    pub count: u64,
}

/// `pci ADDR node=ID [name=NAME]`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PciDecl {
    pub address: String,
    /// None for `node=none`: the device reports no NUMA affinity.
    pub node: Option<u32>,
    pub name: Option<String>,
}

/// Everything a host block declares, in declaration order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HostBuilder {
    pub name: String,
    pub nodes: Vec<NodeDecl>,
    pub smt: Option<SmtRule>,
    pub siblings: Vec<SiblingsDecl>,
    pub cpu_groups: Vec<CpuGroupDecl>,
    pub distances: Vec<DistanceDecl>,
    pub hugepages: Vec<HugepagesDecl>,
    pub reserved: IdSet,
    /// `reserve memory=SIZE [node=ID]`: memory the host keeps on a node (every node with
    /// memory when no node is named).
    pub reserved_memory: Vec<(Option<u32>, u64)>,
    pub pci: Vec<PciDecl>,
    /// `l3 SET`: the CPUs sharing one last-level cache.
    pub l3: Vec<IdSet>,
    /// `cache-bank` and `bandwidth-node`: what the host can allocate of its caches and
    /// memory bandwidth, in declaration order.
    pub resctrl: Resctrl,
}

/// Which declaration an error is about; indexes the builder's vectors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeclRef {
    Node(usize),
    Siblings(usize),
    CpuGroup(usize),
    Distance(usize),
    Hugepages(usize),
    Reserve,
    Pci(usize),
    Smt,
    L3(usize),
    CacheBank(usize),
    BandwidthNode(usize),
}

/// A host block that does not describe a consistent host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildError {
    pub decl: DeclRef,
    pub message: String,
    pub help: Option<String>,
    /// A second declaration involved (the first claim of a duplicated id or CPU).
    pub other: Option<DeclRef>,
}

pub(super) fn error(decl: DeclRef, message: impl Into<String>) -> BuildError {
    BuildError {
        decl,
        message: message.into(),
        help: None,
        other: None,
    }
}

impl BuildError {
    pub(super) fn other(mut self, other: DeclRef) -> Self {
        self.other = Some(other);
        self
    }

    pub(super) fn help(mut self, help: &str) -> Self {
        self.help = Some(help.into());
        self
    }
}
