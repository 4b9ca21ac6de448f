//! The whole language, statement by statement, with the docs editors show.

use super::spec::{Context, Kind, PropSpec, StmtSpec};

const fn p(key: &'static str, kind: Kind, doc: &'static str) -> PropSpec {
    PropSpec {
        key,
        kind,
        required: false,
        doc,
    }
}

const fn req(key: &'static str, kind: Kind, doc: &'static str) -> PropSpec {
    PropSpec {
        key,
        kind,
        required: true,
        doc,
    }
}

pub const POLICIES: &[&str] = &["strict", "preferred", "interleave", "restrictive"];
/// Linux scheduling policies libvirt sets on a guest's threads.
pub const SCHED_POLICIES: &[&str] = &["fifo", "rr", "batch", "idle"];
/// Which part of a cache an allocation takes.
pub const CACHE_TYPES: &[&str] = &["both", "code", "data"];
const DISTRIBUTIONS: &[&str] = &["contiguous", "siblings", "round-robin", "interleave"];

/// How `vnuma` places emulator and I/O threads.
pub const THREAD_POLICIES: &[&str] = &["share", "isolate"];
const THREAD_POLICY_DOC: &str = "`share` (default): on CPUs no dedicated vCPU uses; `isolate`: a host core of their own (each I/O thread its own), on cell 0's host node (per-cell I/O threads: their cell's); needs `vnuma pinning=cpu`.";

macro_rules! stmt {
    ($kw:literal in $ctx:ident, args [$($an:literal : $ak:expr),*] $(opt $opt:literal)?, props [$($prop:expr),*], block $block:expr, repeat $rep:literal, $doc:literal) => {
        StmtSpec {
            keyword: $kw,
            context: Context::$ctx,
            args: &[$(($an, $ak)),*],
            optional_last: false $(|| $opt)?,
            props: &[$($prop),*],
            block: $block,
            repeatable: $rep,
            doc: $doc,
        }
    };
}

/// The whole language, statement by statement.
pub const SCHEMA: &[StmtSpec] = &[
    stmt!("include" in File, args ["PATH": Kind::Str], props [], block None, repeat true,
        "Reads another .vnuma file, relative to this one."),
    stmt!("host" in File, args ["NAME": Kind::Name], props [
        p("from", Kind::Str, "A `virsh capabilities` XML file, relative to this file."),
        p("probe", Kind::Bool, "Read this machine's /sys at build time."),
        p("libvirt", Kind::Text, "The host's libvirt version, `MAJOR.MINOR` as `virsh version` says it (default \"9.0\"): what the XML is written for."),
        p("qemu", Kind::Text, "The host's QEMU version, `MAJOR.MINOR` as `virsh version` says it (default \"7.2\"): what the command line is written for."),
        p("domcaps", Kind::Str, "A `virsh domcapabilities` XML file, relative to this file: the machine's vCPU maximum, memory backing sources and memory device models guests are checked against.")
    ], block Some(Context::Host), repeat true,
        "A host profile: from capabilities XML, from /sys, or written inline."),
    stmt!("guest" in File, args ["NAME": Kind::Name], props [
        p("on", Kind::Name, "The host this guest is checked against and placed on.")
    ], block Some(Context::Guest), repeat true,
        "A virtual machine."),
    // guest
    stmt!("type" in Guest, args ["TYPE": Kind::OneOf(&["kvm", "qemu"])], props [], block None, repeat false,
        "The hypervisor: `kvm` (default) or `qemu` (TCG)."),
    stmt!("machine" in Guest, args ["MACHINE": Kind::Text], props [], block None, repeat false,
        "The QEMU machine type, of the q35 or pc (i440fx) family and one the host's QEMU has; default `q35`."),
    stmt!("cpu" in Guest, args ["MODE": Kind::OneOf(&["host-passthrough", "host-model", "custom"])], props [
        p("model", Kind::Text, "The CPU model for `cpu custom`."),
        p("migratable", Kind::Bool, "`false`: pass host features that block migration too (host-passthrough; `migratable='off'`)."),
        p("require", Kind::Text, "CPU features to require, comma-separated (`<feature policy='require'>`, QEMU `NAME=on`)."),
        p("disable", Kind::Text, "CPU features to disable, comma-separated (`<feature policy='disable'>`, QEMU `NAME=off`).")
    ], block None, repeat false,
        "The guest CPU model: `host-passthrough` (default), `host-model`, or `custom model=...`."),
    stmt!("memory" in Guest, args ["SIZE": Kind::Size], props [
        p("max", Kind::Size, "Maximum memory with hotplug (`<maxMemory>`)."),
        p("prealloc-threads", Kind::Int, "Threads that preallocate the memory (`<allocation threads>`, QEMU `prealloc-threads`)."),
        p("slots", Kind::Int, "Memory hotplug slots for DIMMs and NVDIMMs (virtio devices need none)."),
        p("locked", Kind::Bool, "Lock guest memory in host RAM (`<locked/>`, `-overcommit mem-lock=on`)."),
        p("hugepages", Kind::Size, "Back guest memory with hugepages of this size."),
        p("source", Kind::OneOf(&["anonymous", "file", "memfd"]), "Where guest RAM comes from (`<memoryBacking><source>`)."),
        p("access", Kind::OneOf(&["shared", "private"]), "Map guest RAM shared or private (`<memoryBacking><access>`, QEMU `share=`)."),
        p("prealloc", Kind::Bool, "Allocate all guest RAM at start (`<allocation mode='immediate'>`)."),
        p("discard", Kind::Bool, "Discard RAM contents when the guest stops (`<discard/>`, QEMU `discard-data=`)."),
        p("exact", Kind::Bool, "Keep each cell's size to the KiB, as libvirt keeps it for a guest it receives by migration or restores (it rounds cells up to 1 MiB when it starts one); the cells must add up to a whole MiB.")
    ], block None, repeat false,
        "Initial guest memory."),
    stmt!("vcpus" in Guest, args ["N": Kind::Int], props [
        p("boot", Kind::Int, "vCPUs online at boot; the rest are hotpluggable."),
        p("hotpluggable", Kind::Bool, "Make every vCPU but vCPU 0 hotpluggable."),
        p("current", Kind::Int, "libvirt's `<vcpu current>`: vCPUs 0 to M−1 online and fixed, the rest offline and hotpluggable.")
    ], block None, repeat false,
        "The maximum number of vCPUs."),
    stmt!("topology" in Guest, args [], props [
        req("sockets", Kind::Int, "Guest sockets."),
        p("dies", Kind::Int, "Dies per socket (default 1)."),
        req("cores", Kind::Int, "Cores per die."),
        req("threads", Kind::Int, "Threads per core.")
    ], block None, repeat false,
        "The guest CPU topology; the product must equal the vCPU count."),
    stmt!("numa" in Guest, args [], props [], block Some(Context::Numa), repeat false,
        "Guest NUMA cells written by hand."),
    stmt!("vnuma" in Guest, args [], props [
        req("mode", Kind::OneOf(&["host", "node"]), "`host` mirrors the host's nodes; `node` confines the guest to a node set."),
        p("nodeset", Kind::Set, "Host nodes to use."),
        p("cells", Kind::Int, "Number of guest cells."),
        p("distribution", Kind::OneOf(DISTRIBUTIONS), "How vCPUs are spread over cells."),
        p("pinning", Kind::OneOf(&["cpu", "node"]), "Pin each vCPU to one host CPU, or to its node."),
        p("memory-mode", Kind::OneOf(&["strict", "interleave", "preferred"]), "How cell memory is bound."),
        p("shared-vcpus", Kind::Set, "vCPUs with no core of their own: they float over their cell's host CPUs that no guest has as dedicated."),
        p("l3", Kind::Size, "Each cell's vCPUs get this much of every L3 cache of the host CPUs the cell was placed on (`<cachetune>`; each half with code and data prioritisation). `mode=node` picks nodes with an L3 cache that has this much free first.")
    ], block None, repeat false,
        "Automatic partitioning: cells, pinning, memory binding and topology derived from the host."),
    stmt!("pin" in Guest, args [], props [
        req("vcpus", Kind::Set, "The vCPUs to pin."),
        p("cpus", Kind::Set, "Host CPUs they may run on."),
        p("node", Kind::Int, "A host node whose CPUs they may run on (its CPUs the host does not reserve)."),
        p("shared", Kind::Bool, "These CPUs may run other guests too: no warning when another guest pins to them.")
    ], block None, repeat true,
        "Pin vCPUs to host CPUs (`<vcpupin>`)."),
    stmt!("emulator" in Guest, args [], props [
        p("cpus", Kind::Set, "Host CPUs for QEMU's emulator threads."),
        p("node", Kind::Int, "A host node whose CPUs the emulator threads may use."),
        p("policy", Kind::OneOf(THREAD_POLICIES), THREAD_POLICY_DOC)
    ], block None, repeat false,
        "Pin QEMU's emulator threads (`<emulatorpin>`), or choose how `vnuma` places them."),
    stmt!("iothreads" in Guest, args ["N": Kind::IntOr(&["per-cell"])], props [
        p("cpus", Kind::Set, "Host CPUs the I/O threads run on (`<iothreadpin>`)."),
        p("node", Kind::Int, "A host node whose CPUs the I/O threads run on."),
        p("policy", Kind::OneOf(THREAD_POLICIES), THREAD_POLICY_DOC)
    ], block None, repeat false,
        "QEMU I/O threads (`<iothreads>`, `-object iothread`), optionally pinned; `per-cell`: one per cell, on its host node."),
    stmt!("iothread" in Guest, args ["ID": Kind::Int], props [
        p("cpus", Kind::Set, "Host CPUs this I/O thread runs on (`<iothreadpin iothread='ID'>`)."),
        p("node", Kind::Int, "A host node whose CPUs this I/O thread runs on.")
    ], block None, repeat true,
        "Pin one I/O thread (1 to N of `iothreads N`) on CPUs of its own."),
    // How the host schedules the guest's threads.
    stmt!("sched" in Guest, args ["emulator": Kind::OneOf(&["emulator"])] opt true, props [
        p("vcpus", Kind::Set, "The vCPUs it sets (`<vcpusched vcpus>`)."),
        p("iothreads", Kind::Set, "The I/O threads it sets, from 1 (`<iothreadsched iothreads>`)."),
        req("policy", Kind::OneOf(SCHED_POLICIES), "The Linux scheduling policy: `fifo` and `rr` are real-time and take a priority; `batch` and `idle` take none."),
        p("priority", Kind::Int, "The real-time priority, 1 (lowest) to 99, for `fifo` and `rr`.")
    ], block None, repeat true,
        "How the host schedules vCPUs, I/O threads or (`sched emulator`) the emulator threads (`<vcpusched>`, `<iothreadsched>`, `<emulatorsched>`)."),
    // Cache and memory-bandwidth allocation.
    stmt!("cachetune" in Guest, args [], props [
        req("vcpus", Kind::Set, "The vCPUs of one resctrl group: lines with the same set are one `<cachetune>`."),
        p("cache", Kind::Int, "The id of the host cache they get a part of (`<cache id>`, a `cache-bank` of the host)."),
        p("level", Kind::Int, "The cache's level; default 3."),
        p("type", Kind::OneOf(CACHE_TYPES), "`both` (default), or with code and data prioritisation `code` or `data`."),
        p("size", Kind::Size, "How much of the cache: whole granules of the bank, at least its minimum."),
        p("monitor", Kind::Set, "vCPUs of the group whose L3 occupancy libvirt monitors (`<monitor level='3'>`).")
    ], block None, repeat true,
        "A part of a host cache for some vCPUs (`<cputune><cachetune>`), or a monitor of their cache use."),
    stmt!("memorytune" in Guest, args [], props [
        req("vcpus", Kind::Set, "The vCPUs of one resctrl group: lines with the same set are one `<memorytune>`."),
        req("node", Kind::Int, "The host's memory-bandwidth node (a `bandwidth-node`, the L3 cache id of its CPUs)."),
        req("bandwidth", Kind::Int, "The limit, in percent of the node's bandwidth.")
    ], block None, repeat true,
        "A limit on some vCPUs' memory bandwidth (`<cputune><memorytune>`)."),
    stmt!("memory-policy" in Guest, args [], props [
        req("mode", Kind::OneOf(POLICIES), "The memory policy."),
        p("nodeset", Kind::Set, "Host nodes; required unless `placement=auto`."),
        p("placement", Kind::OneOf(&["static", "auto"]), "`auto`: libvirt asks numad for the nodes when the guest starts (the QEMU line binds to every host node with memory); default `static`, the `nodeset`.")
    ], block None, repeat false,
        "Whole-guest memory binding (`<numatune><memory>`)."),
    stmt!("dimm" in Guest, args [], props [
        req("size", Kind::Size, "The DIMM's size."),
        req("node", Kind::Int, "The guest cell it belongs to."),
        p("host-node", Kind::Set, "Host nodes of its own, bound strictly (`<source><nodemask>`); default its cell's."),
        p("hugepages", Kind::Size, "Its own page size (`<source><pagesize>`); `4KiB` is ordinary memory; default its cell's."),
        p("access", Kind::OneOf(&["shared", "private"]), "Its memory mapping; default its cell's."),
        p("discard", Kind::Bool, "Discard its memory when the guest stops; default its cell's."),
        p("slot", Kind::Int, "Its hotplug slot; default the lowest free one."),
        p("base", Kind::Size, "Its guest physical address (`<address base>`, QEMU `addr=`); default QEMU's choice.")
    ], block None, repeat true,
        "A hot-pluggable DIMM."),
    stmt!("nvdimm" in Guest, args [], props [
        req("path", Kind::Str, "The backing file or device."),
        req("size", Kind::Size, "Its size."),
        req("node", Kind::Int, "The guest cell it belongs to."),
        p("label", Kind::Size, "Label area size."),
        p("align", Kind::Size, "Alignment of the backing."),
        p("pmem", Kind::Bool, "The backing is real persistent memory."),
        p("access", Kind::OneOf(&["shared", "private"]), "Mapping access mode."),
        p("readonly", Kind::Bool, "The guest cannot write it (`<readonly/>`, QEMU `unarmed=on`)."),
        p("slot", Kind::Int, "Its hotplug slot; default the lowest free one."),
        p("base", Kind::Size, "Its guest physical address (`<address base>`, QEMU `addr=`); default QEMU's choice.")
    ], block None, repeat true,
        "An emulated NVDIMM."),
    stmt!("virtio-mem" in Guest, args [], props [
        req("size", Kind::Size, "The most memory it can give its cell."),
        req("node", Kind::Int, "The guest cell it belongs to."),
        req("block", Kind::Size, "The block it plugs and unplugs memory in (a power of two, at least 2MiB)."),
        req("requested", Kind::Size, "The memory it gives the guest at boot (whole blocks)."),
        p("host-node", Kind::Set, "Host nodes of its own, bound strictly (`<source><nodemask>`); default its cell's."),
        p("hugepages", Kind::Size, "Its own page size (`<source><pagesize>`); `4KiB` is ordinary memory; default its cell's."),
        p("base", Kind::Size, "Its guest physical address (`<target><address base>`, QEMU `memaddr=`).")
    ], block None, repeat true,
        "A virtio-mem device: memory a cell can grow and shrink by, on a PCI slot."),
    stmt!("virtio-pmem" in Guest, args [], props [
        req("path", Kind::Str, "The backing file."),
        req("size", Kind::Size, "Its size."),
        p("access", Kind::OneOf(&["shared", "private"]), "Mapping access mode."),
        p("base", Kind::Size, "Its guest physical address (`<target><address base>`, QEMU `memaddr=`).")
    ], block None, repeat true,
        "A virtio-pmem device: a file the guest maps as persistent memory, on a PCI slot."),
    stmt!("devices" in Guest, args [], props [], block Some(Context::Devices), repeat false,
        "Guest devices."),
    // numa
    stmt!("cell" in Numa, args ["ID": Kind::Int], props [
        p("cpus", Kind::Set, "The cell's vCPUs; omit for a memory-only cell."),
        req("memory", Kind::Size, "The cell's memory."),
        p("host-node", Kind::Set, "Host nodes backing the cell's memory (`<memnode>`)."),
        p("policy", Kind::OneOf(POLICIES), "How the memory is bound; default `strict`."),
        p("access", Kind::OneOf(&["shared", "private"]), "The cell's memory mapping (`memAccess`), instead of `memory access=`."),
        p("discard", Kind::Bool, "Discard the cell's memory when the guest stops (`discard`), instead of `memory discard=`."),
        p("hugepages", Kind::Size, "The cell's page size (`<page nodeset>`), instead of `memory hugepages=`; `4KiB` is ordinary memory.")
    ], block None, repeat true,
        "A guest NUMA cell."),
    stmt!("cache" in Numa, args [], props [
        req("cell", Kind::Int, "The cell whose memory it caches."),
        req("level", Kind::Int, "Its level, 1 to 3."),
        req("size", Kind::Size, "Its size."),
        req("line", Kind::Size, "Its line size (e.g. `64B`)."),
        req("associativity", Kind::OneOf(&["none", "direct", "full"]), "How lines map to the cache."),
        req("policy", Kind::OneOf(&["none", "writeback", "writethrough"]), "Its write policy.")
    ], block None, repeat true,
        "A memory-side cache of a cell (HMAT, `<cell><cache>`)."),
    stmt!("latency" in Numa, args [], props [
        req("initiator", Kind::Int, "The cell whose vCPUs access the memory."),
        req("target", Kind::Int, "The cell whose memory they access."),
        p("cache", Kind::Int, "To the target's cache of this level rather than its memory."),
        req("type", Kind::OneOf(&["access", "read", "write"]), "Which accesses."),
        req("value", Kind::Int, "Nanoseconds.")
    ], block None, repeat true,
        "An HMAT latency (`<interconnects><latency>`)."),
    stmt!("bandwidth" in Numa, args [], props [
        req("initiator", Kind::Int, "The cell whose vCPUs access the memory."),
        req("target", Kind::Int, "The cell whose memory they access."),
        p("cache", Kind::Int, "To the target's cache of this level rather than its memory."),
        req("type", Kind::OneOf(&["access", "read", "write"]), "Which accesses."),
        req("value", Kind::Size, "Per second, a whole number of KiB (e.g. `200MiB`).")
    ], block None, repeat true,
        "An HMAT bandwidth (`<interconnects><bandwidth>`)."),
    stmt!("distance" in Numa, args ["A": Kind::Int, "B": Kind::Int, "VALUE": Kind::Int], props [], block None, repeat true,
        "The distance between two guest cells."),
    stmt!("distances" in Numa, args [], props [
        req("from", Kind::OneOf(&["host"]), "Copy the host's distances between the cells' bound nodes.")
    ], block None, repeat false,
        "Derive all cell distances from the host."),
    // host
    stmt!("node" in Host, args ["ID": Kind::Int], props [
        p("cpus", Kind::Set, "The node's CPUs; omit for a memory-only node."),
        req("memory", Kind::Size, "The node's memory."),
        p("free", Kind::Size, "Memory free for guests (default: all).")
    ], block None, repeat true,
        "A host NUMA node."),
    stmt!("smt" in Host, args ["LAYOUT": Kind::OneOf(&["split", "adjacent", "none"])], props [], block None, repeat false,
        "How SMT sibling threads are numbered."),
    stmt!("siblings" in Host, args ["CPUS": Kind::Set], props [
        p("core", Kind::Int, "The core id of these threads.")
    ], block None, repeat true,
        "The threads of one host core."),
    stmt!("cpu" in Host, args ["CPUS": Kind::Set], props [
        p("socket", Kind::Int, "Socket id (default: the node id)."),
        p("die", Kind::Int, "Die id (default 0).")
    ], block None, repeat true,
        "Where host CPUs sit: socket and die."),
    stmt!("l3" in Host, args ["CPUS": Kind::Set], props [], block None, repeat true,
        "The CPUs sharing one last-level (L3) cache; placement keeps a cell inside one when it fits."),
    stmt!("distance" in Host, args ["A": Kind::Int, "B": Kind::Int, "VALUE": Kind::Int], props [], block None, repeat true,
        "The distance between two host nodes."),
    // host: resource control (caches and memory bandwidth that can be allocated)
    stmt!("cache-bank" in Host, args ["ID": Kind::Int], props [
        req("level", Kind::Int, "The cache level (`3` for the last-level cache)."),
        req("size", Kind::Size, "The cache's size."),
        req("cpus", Kind::Set, "The CPUs sharing it."),
        p("type", Kind::OneOf(CACHE_TYPES), "`both` (default): a unified cache; `code` or `data`: an instruction or data cache."),
        p("control", Kind::OneOf(&["both", "cdp"]), "How it can be allocated: `both`, whole; `cdp`, its code and data halves apart (code and data prioritisation); omit when it cannot be."),
        p("granularity", Kind::Size, "The smallest step of an allocation (the cache's size over the bits of its capacity mask); with `control=`."),
        p("min", Kind::Size, "The smallest allocation; default one granule."),
        p("allocs", Kind::Int, "How many allocations it takes, the host's own included (resctrl's `num_closids`); with `control=`.")
    ], block None, repeat true,
        "A host cache guests can be given a part of (`<cache><bank>`, /sys/fs/resctrl)."),
    stmt!("bandwidth-node" in Host, args ["ID": Kind::Int], props [
        req("cpus", Kind::Set, "The CPUs whose memory traffic it limits."),
        req("granularity", Kind::Int, "The step of a limit, in percent."),
        p("min", Kind::Int, "The smallest limit, in percent; default one step."),
        req("allocs", Kind::Int, "How many limits it takes, the host's own included.")
    ], block None, repeat true,
        "A memory-bandwidth domain guests can be limited on (`<memory_bandwidth><node>`, /sys/fs/resctrl's MB)."),
    stmt!("hugepages" in Host, args [], props [
        req("node", Kind::Int, "The host node."),
        req("size", Kind::Size, "The page size."),
        req("count", Kind::Int, "Free pages.")
    ], block None, repeat true,
        "A hugepage pool on a node."),
    stmt!("reserve" in Host, args [], props [
        p("cpus", Kind::Set, "CPUs guests may never be pinned to."),
        p("memory", Kind::Size, "Memory the host keeps for itself on each node (or on `node=`)."),
        p("node", Kind::Int, "The node `memory=` is reserved on (default: every node with memory).")
    ], block None, repeat true,
        "CPUs and memory kept for the host."),
    stmt!("pci" in Host, args ["ADDR": Kind::Pci], props [
        req("node", Kind::IntOr(&["none"]), "The device's NUMA node, or `none` when it reports none (sysfs `numa_node` -1)."),
        p("name", Kind::Text, "A name for the device.")
    ], block None, repeat true,
        "A host PCI device and its NUMA node."),
    // devices
    stmt!("expander" in Devices, args ["NAME": Kind::Name], props [
        req("node", Kind::Int, "The guest cell the bus belongs to."),
        p("bus-nr", Kind::Int, "The first bus number.")
    ], block None, repeat true,
        "An expander bus bound to a guest cell: PCIe's pxb-pcie on q35, holding root ports; on the i440fx `pc` machines, conventional PCI's pxb, holding devices directly."),
    stmt!("root-port" in Devices, args ["NAME": Kind::Name], props [
        p("on", Kind::Name, "The expander it sits on (default pcie.0).")
    ], block None, repeat true,
        "A PCIe root port (q35 only)."),
    stmt!("nic" in Devices, args ["NAME": Kind::Name], props [
        p("bridge", Kind::Text, "A host bridge."),
        p("network", Kind::Text, "A libvirt network."),
        p("model", Kind::OneOf(&["virtio", "e1000e"]), "The NIC model."),
        p("mac", Kind::Mac, "The MAC address."),
        p("on", Kind::Name, "The root port it plugs into (on `pc`: the expander)."),
        p("node", Kind::IntOr(&["auto"]), "Put it on this guest cell, or `auto`: the cell on its `uplink=` device's host node."),
        p("uplink", Kind::Pci, "The host PCI device its traffic goes through (the bridge's port); `node=auto` follows its host node."),
        p("policy", Kind::OneOf(AFFINITY), AFFINITY_DOC)
    ], block None, repeat true,
        "A network interface."),
    stmt!("disk" in Devices, args ["NAME": Kind::Name], props [
        req("path", Kind::Str, "The image."),
        p("format", Kind::OneOf(&["qcow2", "raw"]), "Image format."),
        p("bus", Kind::OneOf(&["sata", "virtio"]), "Disk bus."),
        p("on", Kind::Name, "The root port it plugs into (on `pc`: the expander)."),
        p("node", Kind::Int, "Put it on this guest cell."),
        p("iothread", Kind::Int, "The I/O thread serving it (`<driver iothread>`, QEMU `iothread=`); virtio only; default its cell's with `iothreads per-cell`.")
    ], block None, repeat true,
        "A disk."),
    stmt!("hostdev" in Devices, args ["ADDR": Kind::Pci], props [
        p("node", Kind::IntOr(&["auto"]), "The guest cell, or `auto`: the cell on the device's host node."),
        p("policy", Kind::OneOf(AFFINITY), AFFINITY_DOC)
    ], block None, repeat true,
        "A host PCI device passed through."),
    stmt!("serial" in Devices, args ["TYPE": Kind::OneOf(&["pty"])], props [], block None, repeat false,
        "A serial port."),
    stmt!("console" in Devices, args ["TYPE": Kind::OneOf(&["pty"])], props [], block None, repeat false,
        "A console."),
];

/// Device affinity policies of `node=auto`, as Nova's `hw:pci_numa_affinity_policy`.
const AFFINITY: &[&str] = &["required", "preferred", "socket", "legacy"];
const AFFINITY_DOC: &str = "How near `node=auto` must be: `required` (a cell on the device's host node, which `vnuma mode=node` picks when one fits, else an error), `preferred` (else the root bus, with a warning; the default), `socket` (a cell in the device's host package), `legacy` (`required` when the device reports a node, else the root bus).";

pub fn lookup(context: Context, keyword: &str) -> Option<&'static StmtSpec> {
    SCHEMA.iter().find(|s| s.context == context && s.keyword == keyword)
}
