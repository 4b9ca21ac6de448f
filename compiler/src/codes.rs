//! The registry of every code vnumac reports: diagnostics of a `.vnuma` file (`E…` errors,
//! `W…` warnings, `N…` notes), the errors that are not about a file's text (`io`, `usage`,
//! `import`, `qmp`, `proc`), the note that counts what was not shown (`more`), and the
//! differences `vnumac verify` finds between a running guest and its file (`V…`, [`DRIFT`]).
//! Each has a summary and an
//! entry in docs/diagnostics.md ([`anchor`]). The command line and the language server both
//! show at most [`SHOWN_PER_FILE`] diagnostics of a file and end with [`more_note`].
//!
//! Codes are defined here and in `codes/commands.rs` (those of `verify` and `migrate`,
//! re-exported here) and nowhere else: `tests/codes.rs` fails on a `"vnuma::…"` literal
//! anywhere else in the code base, and on a code without its documentation.

mod commands;

pub use commands::*;

// Syntax (`syntax/`).
/// A syntax error (also a file read only in part).
pub const SYNTAX: &str = "vnuma::E0101";
/// An invalid escape in a string.
pub const BAD_ESCAPE: &str = "vnuma::E0102";

// Files, names and the language table (`project/`, `check/`, `lang/`).
pub const INCLUDE_NOT_FOUND: &str = "vnuma::E0103";
pub const INCLUDE_CYCLE: &str = "vnuma::E0104";
pub const DUPLICATE_NAME: &str = "vnuma::E0105";

pub const UNKNOWN_STATEMENT: &str = "vnuma::E0201";
pub const UNKNOWN_PROPERTY: &str = "vnuma::E0202";
pub const UNKNOWN_VALUE: &str = "vnuma::E0203";
pub const WRONG_KIND: &str = "vnuma::E0204";
pub const SI_UNIT: &str = "vnuma::E0205";
pub const MISSING: &str = "vnuma::E0206";
pub const DUPLICATE: &str = "vnuma::E0207";
pub const ARGUMENTS: &str = "vnuma::E0208";
pub const BLOCK: &str = "vnuma::E0209";

// Guests, hosts, warnings and notes (`check/`).
pub const VCPU_COVERAGE: &str = "vnuma::E0301";
pub const CELL_MEMORY_SUM: &str = "vnuma::E0302";
pub const CELL_IDS: &str = "vnuma::E0303";
pub const TOPOLOGY_PRODUCT: &str = "vnuma::E0304";
pub const DISTANCE_VALUE: &str = "vnuma::E0305";
pub const VNUMA_CONFLICT: &str = "vnuma::E0306";
pub const VCPU_RANGE: &str = "vnuma::E0307";
pub const DISTANCE_CELL: &str = "vnuma::E0308";
pub const DISTANCES_UNBOUND: &str = "vnuma::E0309";
pub const PREFERRED_ONE_NODE: &str = "vnuma::E0310";
pub const NO_CPU_CELL: &str = "vnuma::E0311";
pub const MISSING_STATEMENT: &str = "vnuma::E0312";
pub const MEMORY_GRANULE: &str = "vnuma::E0313";
pub const VCPU_COUNT: &str = "vnuma::E0314";
pub const POLICY_WITHOUT_NODE: &str = "vnuma::E0315";
pub const PIN_TARGET: &str = "vnuma::E0316";
pub const PINNED_TWICE: &str = "vnuma::E0317";
pub const DISTANCE_TWICE: &str = "vnuma::E0318";
pub const GUEST_NAME: &str = "vnuma::E0319";
pub const VNUMA_INVALID: &str = "vnuma::E0320";
pub const VNUMA_NO_ROOM: &str = "vnuma::E0321";
pub const EMULATOR_NO_CPU: &str = "vnuma::E0322";
pub const MEMORY_HOTPLUG: &str = "vnuma::E0323";
pub const MEMDEV_NODE: &str = "vnuma::E0324";
pub const DEVICE_NODE: &str = "vnuma::E0325";
pub const DEVICE_REF: &str = "vnuma::E0326";
pub const BUS_NR: &str = "vnuma::E0327";
pub const DEVICE_CONFIG: &str = "vnuma::E0328";
pub const IDENTIFIER: &str = "vnuma::E0329";
pub const XML_TEXT: &str = "vnuma::E0330";
pub const RELATIVE_PATH: &str = "vnuma::E0331";
pub const BRIDGE_NAME: &str = "vnuma::E0332";
pub const NODE_NAME: &str = "vnuma::E0333";
pub const DUPLICATE_ALIAS: &str = "vnuma::E0334";
pub const MEMORY_PLACEMENT: &str = "vnuma::E0335";
pub const RESTRICTIVE_MIX: &str = "vnuma::E0336";
pub const HMAT: &str = "vnuma::E0337";
pub const CPU_OPTION: &str = "vnuma::E0338";
pub const CELL_COUNT: &str = "vnuma::E0340";
pub const HMAT_VALUE: &str = "vnuma::E0341";
pub const HMAT_SPREAD: &str = "vnuma::E0342";
pub const HMAT_CACHE: &str = "vnuma::E0343";

// How the host schedules a guest's threads (`sched`).
pub const SCHED_OVERLAP: &str = "vnuma::E0344";
pub const SCHED_THREADS: &str = "vnuma::E0345";
pub const SCHED_PRIORITY: &str = "vnuma::E0346";
pub const REALTIME_NOT_ALONE: &str = "vnuma::W0509";
pub const REALTIME_NEIGHBOUR: &str = "vnuma::W0510";
pub const REALTIME_UNLOCKED: &str = "vnuma::W0511";
pub const REALTIME_NO_HUGEPAGES: &str = "vnuma::W0512";

pub const UNKNOWN_HOST: &str = "vnuma::E0401";
pub const HOST_NEEDED: &str = "vnuma::E0402";
pub const HOST_NODE: &str = "vnuma::E0403";
pub const HOST_CPU: &str = "vnuma::E0404";
pub const HOST_PAGE_SIZE: &str = "vnuma::E0405";
pub const NODE_MEMORY: &str = "vnuma::E0406";
pub const NODE_HUGEPAGES: &str = "vnuma::E0407";
pub const RESERVED_CPU: &str = "vnuma::E0408";
pub const CAPS_XML: &str = "vnuma::E0409";
pub const PROBE: &str = "vnuma::E0410";
pub const HOST_SOURCE: &str = "vnuma::E0411";
pub const HOST_BLOCK: &str = "vnuma::E0412";
pub const HOST_PCI: &str = "vnuma::E0413";
pub const HOST_L3: &str = "vnuma::E0414";
pub const HOST_NAME: &str = "vnuma::E0415";

pub const PIN_SPANS_NODES: &str = "vnuma::W0501";
pub const PIN_OFF_CELL_NODE: &str = "vnuma::W0502";
pub const SOCKET_SPANS_CELLS: &str = "vnuma::W0503";
pub const UNEVEN_CELLS: &str = "vnuma::W0504";
pub const HOSTDEV_FAR: &str = "vnuma::W0505";
pub const GUEST_RENUMBERS: &str = "vnuma::W0506";
pub const PINS_SHARED: &str = "vnuma::W0507";
pub const FREE_SNAPSHOT: &str = "vnuma::W0508";
pub const NEWER_LIBVIRT: &str = "vnuma::E0339";

pub const PICKED_NODES: &str = "vnuma::N0601";

// Emulator and I/O thread policies, I/O threads per cell, shared vCPUs (`check/threads.rs`).
pub const THREAD_NO_CORE: &str = "vnuma::E0347";
pub const THREAD_POLICY: &str = "vnuma::E0348";
pub const FLOATS_ON_DEDICATED: &str = "vnuma::W0513";
pub const IOTHREAD_FAR: &str = "vnuma::W0514";

// Device affinity policies of `node=auto` (`check/devices/affinity.rs`).
pub const AFFINITY_REQUIRED: &str = "vnuma::E0357";
pub const AFFINITY_SOCKET: &str = "vnuma::E0358";
pub const AFFINITY_UNKNOWN: &str = "vnuma::E0359";
pub const AFFINITY_POLICY: &str = "vnuma::E0360";
pub const AFFINITY_NONE: &str = "vnuma::W0518";
pub const AFFINITY_OTHER_NODE: &str = "vnuma::W0519";
// Cache and memory-bandwidth allocation (`check/resctrl*.rs`, `check/host_resctrl.rs`).
pub const HOST_RESCTRL: &str = "vnuma::E0416";
pub const CACHE_BANK: &str = "vnuma::E0349";
pub const CACHE_TYPE: &str = "vnuma::E0350";
pub const CACHE_SIZE: &str = "vnuma::E0351";
pub const CACHE_FULL: &str = "vnuma::E0352";
pub const RESCTRL_GROUPS: &str = "vnuma::E0353";
pub const TUNE_OVERLAP: &str = "vnuma::E0354";
pub const BANDWIDTH_LIMIT: &str = "vnuma::E0355";
pub const TUNES_NOT_KVM: &str = "vnuma::E0356";
pub const TUNE_OFF_BANK: &str = "vnuma::W0515";
pub const TUNE_VCPUS: &str = "vnuma::W0516";
pub const TUNE_UNPINNED: &str = "vnuma::W0517";
// The libvirt and QEMU a host runs, and what its domcapabilities offer (`host/target.rs`).
pub const HOST_TARGET: &str = "vnuma::E0418";
pub const TARGET_VCPUS: &str = "vnuma::E0361";
pub const TARGET_LACKS: &str = "vnuma::E0362";
pub const TARGET_OTHER_MACHINE: &str = "vnuma::W0520";
pub const TARGET_OTHER_QEMU: &str = "vnuma::W0521";
// Where memory devices may sit (`check/memdev/window.rs`).
pub const MEMORY_WINDOW: &str = "vnuma::E0363";
// i440fx PCI (`check/devices/`), cells kept to the KiB (`check/cell_sizes.rs`), old machine types.
pub const PCIE_ON_PC: &str = "vnuma::E0364";
pub const EXACT_TOTAL: &str = "vnuma::E0367";
pub const EXACT_ON_START: &str = "vnuma::W0522";
pub const OLD_MACHINE_MAXMEM: &str = "vnuma::E0368";
// What libvirt refuses of a virtio-pmem device (`check/memdev/kinds.rs`).
pub const PMEM_PRIVATE: &str = "vnuma::E0369";

// The guest's addresses against its CPU's physical address bits (`check/memdev/address_space.rs`).
pub const ADDRESS_SPACE: &str = "vnuma::E0372";
// Machine types the target QEMU has (`check/machine_type.rs`, `ir/machine_types.rs`).
pub const MACHINE_UNKNOWN: &str = "vnuma::E0373";
pub const MACHINE_NOT_PC: &str = "vnuma::E0374";
pub const MACHINE_DEPRECATED: &str = "vnuma::W0524";

// Not about a file's text.
/// A file that cannot be read or written (exit code 2).
pub const IO: &str = "vnuma::io";
/// Arguments that do not make sense (exit code 2).
pub const USAGE: &str = "vnuma::usage";
/// A domain XML that `vnumac import` cannot turn into a guest, or a note on what it changed.
pub const IMPORT: &str = "vnuma::import";
/// How many diagnostics of a file were not shown.
pub const MORE: &str = "vnuma::more";
/// A QMP socket that cannot be reached, or a peer that does not answer as QEMU does (exit code 2).
pub const QMP: &str = "vnuma::qmp";
/// A running guest's process whose /proc entries cannot be read (exit code 2).
pub const PROC: &str = "vnuma::proc";

/// A libvirt connection that cannot be opened, a domain that is unknown or not running, a
/// call that fails or does not answer in time, or a vnumac built without libvirt (exit code 2).
pub const LIBVIRT: &str = "vnuma::libvirt";

/// Every code not about a file's text, with a one-line summary.
pub const OTHER: &[(&str, &str)] = &[
    (
        IO,
        "a file that cannot be read or written, a directory that cannot be written (exit code 2)",
    ),
    (USAGE, "arguments that do not make sense together (exit code 2)"),
    (
        IMPORT,
        "a domain XML that `vnumac import` refuses (exit code 1), or a note on what it could not say or changed",
    ),
    (
        MORE,
        "a note: how many more diagnostics a file has than the first 200 shown",
    ),
    (
        QMP,
        "`vnumac verify --qmp`: a socket that cannot be reached, or a peer that answers garbage, too much or nothing in time (exit code 2)",
    ),
    (
        PROC,
        "`vnumac verify`: the guest's process is gone, or one of its /proc entries cannot be read (exit code 2)",
    ),
    (
        LIBVIRT,
        "libvirt cannot be reached, the domain is unknown or not running, a call fails or does not answer in time, or this vnumac was built without the `libvirt` feature (exit code 2)",
    ),
];

/// How many diagnostics of one file the command line and the language server show; the
/// rest are counted in one [`more_note`].
pub const SHOWN_PER_FILE: usize = 200;

/// The note that ends a file's diagnostics when `hidden` more were not shown; `file` names
/// it (a path, or "this file").
pub fn more_note(hidden: usize, file: &str) -> String {
    format!("and {hidden} more diagnostics in {file} (the first {SHOWN_PER_FILE} are shown)")
}

/// `vnuma::E0301` → `vnumae0301`: the anchor of a code's entry in docs/diagnostics.md.
pub fn anchor(code: &str) -> String {
    code.replace("::", "").to_lowercase()
}

/// Whether `code` is in the registry.
pub fn known(code: &str) -> bool {
    ALL.iter()
        .chain(OTHER)
        .chain(DRIFT)
        .chain(MOVES)
        .any(|(c, _)| *c == code)
}

/// Every diagnostic code of a `.vnuma` file, with a one-line summary; each has a failing
/// example in `golden/errors/`.
pub const ALL: &[(&str, &str)] = &[
    (SYNTAX, "syntax error"),
    (BAD_ESCAPE, "invalid escape in a string"),
    (INCLUDE_NOT_FOUND, "an included file cannot be read"),
    (INCLUDE_CYCLE, "files include each other in a cycle"),
    (DUPLICATE_NAME, "two hosts or two guests share a name"),
    (UNKNOWN_STATEMENT, "unknown statement"),
    (UNKNOWN_PROPERTY, "unknown property"),
    (UNKNOWN_VALUE, "unknown word value"),
    (WRONG_KIND, "a value of the wrong kind"),
    (SI_UNIT, "a size in SI or ambiguous units"),
    (MISSING, "a required property is missing"),
    (DUPLICATE, "a property or statement given twice"),
    (ARGUMENTS, "wrong number of arguments"),
    (BLOCK, "a block where none belongs, or none where one must be"),
    (VCPU_COVERAGE, "cells do not cover every vCPU exactly once"),
    (CELL_MEMORY_SUM, "cell memory does not sum to guest memory"),
    (CELL_IDS, "cell ids are not 0..k-1"),
    (CELL_COUNT, "more guest cells than the 128 NUMA nodes QEMU takes"),
    (
        TOPOLOGY_PRODUCT,
        "sockets × dies × cores × threads differs from the vCPU count",
    ),
    (DISTANCE_VALUE, "a distance Linux or QEMU would reject"),
    (VNUMA_CONFLICT, "`vnuma` combined with hand-written cells or pins"),
    (VCPU_RANGE, "a vCPU id beyond the guest's vCPUs"),
    (DISTANCE_CELL, "a distance names a cell that does not exist"),
    (
        DISTANCES_UNBOUND,
        "`distances from=host` with a cell not bound to a host node",
    ),
    (PREFERRED_ONE_NODE, "`preferred` with more than one node"),
    (NO_CPU_CELL, "no cell has vCPUs"),
    (MISSING_STATEMENT, "a guest without `memory` or `vcpus`"),
    (MEMORY_GRANULE, "a memory size libvirt or QEMU would round"),
    (VCPU_COUNT, "a vCPU or I/O thread count out of range"),
    (POLICY_WITHOUT_NODE, "a cell policy without `host-node=`"),
    (PIN_TARGET, "a pin without exactly one of `cpus=` and `node=`"),
    (PINNED_TWICE, "a vCPU pinned by two statements"),
    (DISTANCE_TWICE, "the same distance given twice"),
    (GUEST_NAME, "a guest name that cannot be a file or domain name"),
    (VNUMA_INVALID, "a `vnuma` request that cannot be met on any host"),
    (VNUMA_NO_ROOM, "`vnuma` runs out of host CPUs or memory"),
    (EMULATOR_NO_CPU, "no CPU is left for a placed guest's emulator threads"),
    (
        MEMORY_HOTPLUG,
        "memory hotplug settings that do not add up (max, slots, devices)",
    ),
    (MEMDEV_NODE, "a memory device on a cell the guest does not have"),
    (DEVICE_NODE, "an expander or device on a cell the guest does not have"),
    (
        DEVICE_REF,
        "a device plugged into something that is not a free root port or an expander",
    ),
    (BUS_NR, "expander bus numbers out of range or overlapping"),
    (DEVICE_CONFIG, "a device whose settings contradict each other"),
    (
        IDENTIFIER,
        "a machine type, CPU model, device or network name that is not an identifier",
    ),
    (
        MEMORY_PLACEMENT,
        "`memory-policy` without a nodeset, or with one and `placement=auto`",
    ),
    (RESTRICTIVE_MIX, "`restrictive` on some of a guest's memory but not all"),
    (HMAT, "HMAT caches, latencies or bandwidths that do not fit the cells"),
    (
        HMAT_VALUE,
        "an HMAT value QEMU 7.2 or libvirt's schema cannot take (a line of 64 KiB, a bandwidth not in whole MiB, 4 TiB)",
    ),
    (
        HMAT_SPREAD,
        "HMAT latencies or bandwidths of one table further apart than QEMU can store",
    ),
    (
        HMAT_CACHE,
        "an HMAT cache QEMU refuses: on a cell no latency and bandwidth reach, or not larger than the level before",
    ),
    (
        CPU_OPTION,
        "a CPU feature given twice, or `migratable=` on a mode that does not take it",
    ),
    (
        SCHED_OVERLAP,
        "two `sched` statements set the same vCPU, I/O thread or emulator threads",
    ),
    (
        SCHED_THREADS,
        "a `sched` that names no threads, more than one kind, or I/O threads the guest does not have",
    ),
    (
        SCHED_PRIORITY,
        "a `sched` priority Linux or libvirt refuses: none or outside 1-99 for `fifo`/`rr`, any for `batch`/`idle`",
    ),
    (
        REALTIME_NOT_ALONE,
        "warning: a real-time vCPU without a host CPU of its own (not pinned, pinned to several, or sharing one)",
    ),
    (
        REALTIME_NEIGHBOUR,
        "warning: another thread may run on a real-time vCPU's host CPU or its SMT sibling",
    ),
    (
        REALTIME_UNLOCKED,
        "warning: real-time vCPUs on memory that is not locked",
    ),
    (
        REALTIME_NO_HUGEPAGES,
        "warning: real-time vCPUs on memory in ordinary pages, not hugepages",
    ),
    (XML_TEXT, "a character XML 1.0 cannot carry, or a line break in a path"),
    (RELATIVE_PATH, "a disk or NVDIMM path that is not absolute"),
    (
        BRIDGE_NAME,
        "a bridge name Linux would refuse (a comma, a space, over 15 characters)",
    ),
    (NODE_NAME, "a disk name that makes QEMU node names over 31 characters"),
    (DUPLICATE_ALIAS, "two controllers that get the same libvirt alias"),
    (UNKNOWN_HOST, "`on=` names no host, or several hosts and no `on=`"),
    (HOST_NEEDED, "a host-dependent statement in a guest without a host"),
    (HOST_NODE, "a host node that does not exist or has no CPUs"),
    (HOST_CPU, "a host CPU that does not exist"),
    (HOST_PAGE_SIZE, "a hugepage size the host does not have"),
    (NODE_MEMORY, "guests bind more memory to a node than it has free"),
    (NODE_HUGEPAGES, "guests need more hugepages on a node than it has free"),
    (RESERVED_CPU, "a vCPU pinned to a CPU the host reserves"),
    (CAPS_XML, "a capabilities file that cannot be read or used"),
    (PROBE, "this machine's /sys cannot be read"),
    (HOST_SOURCE, "a host with no source or more than one"),
    (HOST_BLOCK, "an inline host block that does not describe a host"),
    (HOST_PCI, "a host PCI device the host profile does not list"),
    (
        HOST_L3,
        "an `l3` domain that overlaps another or names CPUs the host does not have",
    ),
    (
        HOST_NAME,
        "a host name with a control character, or one XML or a terminal cannot show",
    ),
    (PIN_SPANS_NODES, "warning: a pin spans several host nodes"),
    (
        PIN_OFF_CELL_NODE,
        "warning: vCPUs run on a node other than their cell's memory",
    ),
    (
        SOCKET_SPANS_CELLS,
        "warning: a hand-written topology puts one socket in two cells",
    ),
    (UNEVEN_CELLS, "warning: vCPUs do not divide evenly into the cells"),
    (
        HOSTDEV_FAR,
        "warning: a passed-through device's host node backs no guest cell",
    ),
    (
        GUEST_RENUMBERS,
        "warning: cell ids the guest kernel will number differently",
    ),
    (PINS_SHARED, "warning: two guests pin vCPUs to the same host CPUs"),
    (FREE_SNAPSHOT, "warning: guests bind more than a probed node had free"),
    (
        NEWER_LIBVIRT,
        "memory hotplug settings that the host's libvirt cannot take (a virtio device's address before 9.4, `max=` without `slots=` before 9.5)",
    ),
    (PICKED_NODES, "note: the host nodes `vnuma mode=node` picked"),
    // Emulator and I/O thread policies, I/O threads per cell, shared vCPUs.
    (
        THREAD_NO_CORE,
        "no free core for an isolated emulator or I/O thread, or no CPU left for shared vCPUs or an I/O thread of a cell",
    ),
    (
        THREAD_POLICY,
        "a thread policy, I/O thread or `shared-vcpus=` setting that cannot work with the rest of the guest",
    ),
    (
        FLOATS_ON_DEDICATED,
        "warning: vCPUs float over host CPUs another guest has as dedicated",
    ),
    (
        IOTHREAD_FAR,
        "warning: a disk on one cell served by an I/O thread on another host node",
    ),
    // Device affinity policies of `node=auto`.
    (
        AFFINITY_REQUIRED,
        "a device whose policy requires a guest cell on its host node, and no cell is there",
    ),
    (
        AFFINITY_SOCKET,
        "a device whose policy requires a guest cell in its host package, and no cell is there",
    ),
    (
        AFFINITY_UNKNOWN,
        "a device that reports no NUMA node under a policy that needs one",
    ),
    (
        AFFINITY_POLICY,
        "`policy=` or `uplink=` where no device's node decides the cell",
    ),
    (
        AFFINITY_NONE,
        "warning: a device on `node=auto` reports no NUMA node, so it gets no cell",
    ),
    (
        AFFINITY_OTHER_NODE,
        "warning: `policy=socket` put a device on a cell of another node of its package",
    ),
    // Cache and memory-bandwidth allocation.
    (
        HOST_RESCTRL,
        "a `cache-bank` or `bandwidth-node` no host can have (CPUs it lacks, a bank twice, controls that do not fit)",
    ),
    (
        CACHE_BANK,
        "a `cachetune` on a cache the host does not have or cannot allocate, or with neither a cache nor a monitor",
    ),
    (
        CACHE_TYPE,
        "a cache type the bank cannot allocate: `both` with code and data prioritisation, `code` or `data` without",
    ),
    (
        CACHE_SIZE,
        "a cache allocation that is not a whole number of the bank's granules, or below its minimum",
    ),
    (CACHE_FULL, "the guests of a host allocate more of a cache than it has"),
    (
        RESCTRL_GROUPS,
        "more tunes on a host than its resctrl groups (`maxAllocs` less the host's own)",
    ),
    (
        TUNE_OVERLAP,
        "tunes whose vCPUs overlap, a cache or node allocated twice in one, or a monitor off its tune's vCPUs",
    ),
    (
        BANDWIDTH_LIMIT,
        "a `memorytune` on a node the host cannot limit, or a limit it cannot set",
    ),
    (
        TUNES_NOT_KVM,
        "a `cachetune`, `memorytune` or `vnuma l3=` in a guest that is not KVM, which libvirt refuses",
    ),
    (
        TUNE_OFF_BANK,
        "warning: a cache or bandwidth node none of the tune's vCPUs run on",
    ),
    (
        TUNE_VCPUS,
        "warning: a tune naming vCPUs the guest does not have, which libvirt drops without a word",
    ),
    (
        TUNE_UNPINNED,
        "warning: a tune on vCPUs that are not pinned, which may run off the caches and nodes it allocates",
    ),
    // Target versions.
    (
        HOST_TARGET,
        "a host's `libvirt=`, `qemu=` or `domcaps=` that cannot be read",
    ),
    (
        TARGET_VCPUS,
        "more vCPUs than the machine takes, as the host's domcapabilities say",
    ),
    (
        TARGET_LACKS,
        "a memory backing source or memory device model the host's domcapabilities do not list",
    ),
    (
        TARGET_OTHER_MACHINE,
        "warning: the host's domcapabilities describe another machine type than the guest's",
    ),
    (
        TARGET_OTHER_QEMU,
        "warning: the host's domcapabilities are of another QEMU than its `qemu=`",
    ),
    (
        MEMORY_WINDOW,
        "a memory device's `base=` outside QEMU's device-memory window above the guest's RAM",
    ),
    (PCIE_ON_PC, "a PCIe root port on an i440fx machine"),
    (EXACT_TOTAL, "cells kept to the KiB that do not add up to a whole MiB"),
    (
        EXACT_ON_START,
        "warning: cells kept to the KiB, which `virsh start` rounds",
    ),
    (
        OLD_MACHINE_MAXMEM,
        "`max=` on pc-i440fx-2.0 or older, which QEMU refuses",
    ),
    (
        PMEM_PRIVATE,
        "a virtio-pmem device with `access=private`, which libvirt refuses",
    ),
    (
        ADDRESS_SPACE,
        "a TCG guest whose RAM, memory device window and 64-bit PCI hole reach past its CPU's 40 physical address bits",
    ),
    (
        MACHINE_UNKNOWN,
        "a machine type the target QEMU does not have: newer than it, removed, or no QEMU's",
    ),
    (
        MACHINE_NOT_PC,
        "a machine type other than pc and q35 (`microvm`, `isapc`, `none`, `x-remote`)",
    ),
    (
        MACHINE_DEPRECATED,
        "warning: a machine type the target QEMU marks deprecated",
    ),
];
