//! The checked model: everything the backends need, already validated.
//! Lowering reads only this, so libvirt XML and the QEMU line cannot disagree.

use crate::sets::IdSet;
use crate::span::Span;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DomainType {
    Kvm,
    Qemu,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CpuMode {
    HostPassthrough,
    HostModel,
    /// QEMU's `max` model: the default for TCG guests, where the host CPU cannot be passed through.
    Maximum,
    Custom(String),
}

/// What the `cpu` statement adds to its mode.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CpuOptions {
    /// `migratable='off'` on host-passthrough (and QEMU's `max`): the guest may see
    /// host features that would stop it from migrating.
    pub migratable: bool,
    /// `<feature policy name>`: true for `require`, false for `disable`; in written order.
    pub features: Vec<(String, bool)>,
}

impl Default for CpuOptions {
    fn default() -> Self {
        CpuOptions {
            migratable: true,
            features: Vec::new(),
        }
    }
}

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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Topology {
    pub sockets: u32,
    pub dies: u32,
    pub cores: u32,
    pub threads: u32,
}

impl Topology {
    pub fn product(&self) -> u64 {
        u64::from(self.sockets) * u64::from(self.dies) * u64::from(self.cores) * u64::from(self.threads)
    }

    /// vCPUs per socket.
    pub fn per_socket(&self) -> u32 {
        self.dies.saturating_mul(self.cores).saturating_mul(self.threads)
    }

    /// Where vCPU `id` sits: (socket, die, core, thread), socket-major as libvirt and QEMU
    /// number them.
    pub fn position(&self, id: u32) -> (u32, u32, u32, u32) {
        let thread = id % self.threads.max(1);
        let core = id / self.threads.max(1) % self.cores.max(1);
        let die = id / (self.threads.max(1) * self.cores.max(1)) % self.dies.max(1);
        let socket = id / self.per_socket().max(1);
        (socket, die, core, thread)
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

/// A PCI address on bus `bus` (a controller index; 0 is pcie.0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PciAddress {
    pub bus: u32,
    pub slot: u32,
    pub function: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ControllerKind {
    /// pcie-expander-bus (pxb-pcie) bound to a guest cell.
    Expander { bus_nr: u32, node: u32 },
    /// pcie-root-port.
    RootPort { chassis: u32, port: u32 },
}

/// A PCI controller beyond the implicit pcie.0; its QEMU id is `pci.<index>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Controller {
    pub index: u32,
    pub name: String,
    pub kind: ControllerKind,
    pub address: PciAddress,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum NetSource {
    Bridge(String),
    Network(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DiskBus {
    Sata,
    Virtio,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum DeviceKind {
    Nic {
        source: NetSource,
        model: String,
        mac: Option<String>,
    },
    Disk {
        path: String,
        format: String,
        bus: DiskBus,
    },
    /// PCI passthrough of a host device (`dddd:bb:ss.f`).
    Hostdev {
        host: String,
    },
    Serial,
    Console,
}

/// A guest device; `ordinal` numbers devices of one kind (net0, hostdev0, vda/sda …).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Device {
    pub name: String,
    pub kind: DeviceKind,
    pub address: Option<PciAddress>,
    pub ordinal: u32,
}

/// 0 → a, 25 → z, 26 → aa: Linux disk names.
pub fn drive_letters(n: u32) -> String {
    let mut n = n as i64;
    let mut out = Vec::new();
    loop {
        out.push((b'a' + (n % 26) as u8) as char);
        n = n / 26 - 1;
        if n < 0 {
            break;
        }
    }
    out.iter().rev().collect()
}

/// One entry of libvirt's `<vcpus>` list.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct VcpuState {
    pub id: u32,
    pub enabled: bool,
    pub hotpluggable: bool,
    /// Position in the boot-time plug order (1-based), for enabled vCPUs.
    pub order: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct VcpuPin {
    pub vcpu: u32,
    pub cpus: IdSet,
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

/// What a machine type is built on: it decides the root bus and which devices fit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum MachineFamily {
    /// `q35` and `pc-q35-X.Y`: PCI Express, with the root bus `pcie.0`.
    #[default]
    Q35,
    /// Every other machine type (`pc`, `pc-i440fx-X.Y`): conventional PCI, with `pci.0`.
    Pc,
}

impl MachineFamily {
    /// The family of a machine type.
    pub fn of(machine: &str) -> MachineFamily {
        if machine == "q35" || machine.starts_with("pc-q35") {
            MachineFamily::Q35
        } else {
            MachineFamily::Pc
        }
    }
}

/// One guest, fully resolved.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Guest {
    pub name: String,
    pub domain_type: DomainType,
    pub machine: String,
    /// The family of `machine`.
    pub family: MachineFamily,
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
    /// `<iothreads>`: QEMU I/O threads `iothread1` … `iothreadN`.
    pub iothreads: u32,
    /// `<iothreadpin>`: the host CPUs every I/O thread may run on.
    pub iothread_pin: Option<IdSet>,
    /// Whole-guest `<numatune><memory>`.
    pub memory_binding: Option<MemBinding>,
    /// The `<vcpus>` list when vCPUs are hotpluggable; empty otherwise.
    pub vcpu_states: Vec<VcpuState>,
    pub max_memory: Option<MaxMemory>,
    pub memory_devices: Vec<MemoryDevice>,
    /// PCI controllers in index order.
    pub controllers: Vec<Controller>,
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
    /// One per memory device.
    pub memory_devices: Vec<Span>,
    /// One per controller.
    pub controllers: Vec<Span>,
    /// One per device.
    pub devices: Vec<Span>,
}

impl GuestSpans {
    /// Move relative spans into their file ([`Span::relocate`]).
    pub fn relocate(&mut self, file: crate::span::FileId, at: u32) {
        self.guest = self.guest.relocate(file, at);
        self.name = self.name.relocate(file, at);
        self.vnuma = self.vnuma.map(|v| v.relocate(file, at));
        for s in self
            .cells
            .iter_mut()
            .chain(&mut self.pins)
            .chain(&mut self.shared_pins)
            .chain(&mut self.memory_devices)
            .chain(&mut self.controllers)
            .chain(&mut self.devices)
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
            iothreads: 0,
            iothread_pin: None,
            memory_binding: None,
            vcpu_states: Vec::new(),
            max_memory: None,
            memory_devices: Vec::new(),
            controllers: Vec::new(),
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
