//! One guest, fully resolved, and where each part of it was written.

use super::cells::{GuestCell, Hmat};
use super::devices::{Controller, Device, PciAddress};
use super::machine::{CpuMode, CpuOptions, DomainType, Isolated, MachineFamily, Topology, VcpuPin, VcpuState};
use super::memory::{MaxMemory, MemBinding, MemoryBacking, MemoryDevice};
use super::resctrl::{CacheTune, MemoryTune};
use super::sched::ThreadSched;
use crate::sets::IdSet;
use crate::span::Span;

/// One guest, fully resolved.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Guest {
    pub name: String,
    pub domain_type: DomainType,
    pub machine: String,
    /// The family of `machine`.
    pub family: MachineFamily,
    /// Whether `machine` takes QEMU's legacy `-numa node,mem=` (versioned types up to 5.0).
    pub numa_mem: bool,
    pub cpu: CpuMode,
    pub cpu_options: CpuOptions,
    pub memory_kib: u64,
    pub locked: bool,
    /// Hugepage size for the whole guest, in KiB.
    pub hugepage_kib: Option<u64>,
    pub backing: MemoryBacking,
    pub vcpus: u32,
    /// Present only when written or derived; libvirt's default otherwise.
    pub topology: Option<Topology>,
    pub cells: Vec<GuestCell>,
    /// Full matrix over cells, or none at all.
    pub distances: Option<Vec<Vec<u32>>>,
    /// ACPI HMAT data: memory-side caches and latencies/bandwidths between cells.
    pub hmat: Hmat,
    pub pins: Vec<VcpuPin>,
    pub emulator_pin: Option<IdSet>,
    /// The host nodes of the emulator's CPUs, when the host's libvirt preallocates only
    /// from those (9.2 and later): a preallocated, bound backend's `thread-context` takes
    /// the backend's nodes among them, and there is none when it has none of them. None:
    /// the thread-context takes all of the backend's nodes.
    pub emulator_nodes: Option<IdSet>,
    /// `<iothreads>`: QEMU I/O threads `iothread1` … `iothreadN`.
    pub iothreads: u32,
    /// `<iothreadpin>`: the host CPUs of I/O thread 1, 2, … (one entry per thread; None
    /// for a thread that is not pinned).
    pub iothread_pins: Vec<Option<IdSet>>,
    /// The threads that have host cores of their own (`policy=isolate`).
    pub isolated: Isolated,
    /// vCPUs without a core of their own (`vnuma shared-vcpus=`): they float over the
    /// host CPUs of their cell that no guest has as dedicated.
    pub shared_vcpus: IdSet,
    /// Whole-guest `<numatune><memory>`.
    pub memory_binding: Option<MemBinding>,
    /// `<vcpusched>`, `<iothreadsched>` and `<emulatorsched>`, in the order written.
    pub sched: Vec<ThreadSched>,
    /// `<cachetune>`s and `<memorytune>`s, in the order their first line was written.
    pub cachetunes: Vec<CacheTune>,
    pub memorytunes: Vec<MemoryTune>,
    /// The `<vcpus>` list when vCPUs are hotpluggable; empty otherwise.
    pub vcpu_states: Vec<VcpuState>,
    pub max_memory: Option<MaxMemory>,
    pub memory_devices: Vec<MemoryDevice>,
    /// PCI controllers in index order.
    pub controllers: Vec<Controller>,
    /// The AHCI controller the SATA disks of a `pc` machine sit on (libvirt's
    /// `<controller type='sata' index='0'>`, QEMU's `ahci` with id `sata0`), at its slot of
    /// pci.0. None on q35, whose chipset has its own, and without SATA disks.
    pub ahci: Option<PciAddress>,
    pub devices: Vec<Device>,
    /// Where each part of the guest was written.
    pub spans: GuestSpans,
}

/// The source ranges a guest's model came from, parallel to its lists, so an editor can
/// map a position to a fact. A part derived by `vnuma` points at the `vnuma` statement.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct GuestSpans {
    /// The whole `guest` statement.
    pub guest: Span,
    /// The guest's name.
    pub name: Span,
    /// One per cell.
    pub cells: Vec<Span>,
    /// One per pin.
    pub pins: Vec<Span>,
    /// The `pin` statements that say `shared=true`.
    pub shared_pins: Vec<Span>,
    pub vnuma: Option<Span>,
    /// The `memory`, `vcpus`, `emulator` and `iothreads` statements, when written.
    pub memory: Option<Span>,
    pub vcpus: Option<Span>,
    pub emulator: Option<Span>,
    pub iothreads: Option<Span>,
    /// One per memory device.
    pub memory_devices: Vec<Span>,
    /// One per controller.
    pub controllers: Vec<Span>,
    /// One per device.
    pub devices: Vec<Span>,
    /// One per `sched` statement, parallel to `Guest::sched`.
    pub sched: Vec<Span>,
    /// One per cache allocation, tune by tune in the order of `Guest::cachetunes`.
    pub cache_allocs: Vec<Span>,
    /// One per bandwidth limit, tune by tune in the order of `Guest::memorytunes`.
    pub bandwidth_allocs: Vec<Span>,
    /// One per `cachetune` and one per `memorytune`, parallel to those lists: the first
    /// line of each.
    pub cachetunes: Vec<Span>,
    pub memorytunes: Vec<Span>,
}

impl GuestSpans {
    /// Move relative spans into their file ([`Span::relocate`]).
    pub fn relocate(&mut self, file: crate::span::FileId, at: u32) {
        self.guest = self.guest.relocate(file, at);
        self.name = self.name.relocate(file, at);
        for one in [
            &mut self.vnuma,
            &mut self.memory,
            &mut self.vcpus,
            &mut self.emulator,
            &mut self.iothreads,
        ] {
            *one = one.map(|v| v.relocate(file, at));
        }
        for s in self
            .cells
            .iter_mut()
            .chain(&mut self.pins)
            .chain(&mut self.shared_pins)
            .chain(&mut self.memory_devices)
            .chain(&mut self.controllers)
            .chain(&mut self.devices)
            .chain(&mut self.sched)
            .chain(&mut self.cache_allocs)
            .chain(&mut self.bandwidth_allocs)
            .chain(&mut self.cachetunes)
            .chain(&mut self.memorytunes)
        {
            *s = s.relocate(file, at);
        }
    }
}

/// A guest with nothing in it yet: KVM on `q35` with the host's CPU, no vCPUs, no memory.
impl Default for Guest {
    fn default() -> Guest {
        Guest {
            name: String::new(),
            domain_type: DomainType::Kvm,
            machine: "q35".into(),
            family: MachineFamily::Q35,
            numa_mem: false,
            cpu: CpuMode::HostPassthrough,
            cpu_options: CpuOptions::default(),
            memory_kib: 0,
            locked: false,
            hugepage_kib: None,
            backing: MemoryBacking::default(),
            vcpus: 0,
            topology: None,
            cells: Vec::new(),
            distances: None,
            hmat: Hmat::default(),
            pins: Vec::new(),
            emulator_pin: None,
            emulator_nodes: None,
            iothreads: 0,
            iothread_pins: Vec::new(),
            isolated: Isolated::default(),
            shared_vcpus: IdSet::new(),
            memory_binding: None,
            sched: Vec::new(),
            cachetunes: Vec::new(),
            memorytunes: Vec::new(),
            vcpu_states: Vec::new(),
            max_memory: None,
            memory_devices: Vec::new(),
            controllers: Vec::new(),
            ahci: None,
            devices: Vec::new(),
            spans: GuestSpans::default(),
        }
    }
}

impl Guest {
    /// Initial memory plus every memory device: libvirt's `<memory>`.
    pub fn total_memory_kib(&self) -> u64 {
        self.memory_kib + self.memory_devices.iter().map(|d| d.size_kib).sum::<u64>()
    }

    /// vCPUs online at boot.
    pub fn boot_vcpus(&self) -> u32 {
        if self.vcpu_states.is_empty() {
            self.vcpus
        } else {
            self.vcpu_states.iter().filter(|v| v.enabled).count() as u32
        }
    }

    /// The topology QEMU and libvirt will use: the written one, or one socket per vCPU.
    pub fn effective_topology(&self) -> Topology {
        self.topology.unwrap_or(Topology {
            sockets: self.vcpus,
            dies: 1,
            cores: 1,
            threads: 1,
        })
    }
}

/// Everything one build produces.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Build {
    pub guests: Vec<Guest>,
}
