//! What each statement may contain, per context, and typed access to what it holds.

use crate::diagnostics::Diagnostic;
use crate::sets::IdSet;
use crate::span::Span;
use crate::syntax::ast::{Statement, Value};
use crate::syntax::value;

pub const UNKNOWN_STATEMENT: &str = "vnuma::E0201";
pub const UNKNOWN_PROPERTY: &str = "vnuma::E0202";
pub const UNKNOWN_VALUE: &str = "vnuma::E0203";
pub const WRONG_KIND: &str = "vnuma::E0204";
pub const SI_UNIT: &str = "vnuma::E0205";
pub const MISSING: &str = "vnuma::E0206";
pub const DUPLICATE: &str = "vnuma::E0207";
pub const ARGUMENTS: &str = "vnuma::E0208";
pub const BLOCK: &str = "vnuma::E0209";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Context {
    File,
    Guest,
    Numa,
    Host,
    Devices,
}

impl Context {
    pub fn describe(self) -> &'static str {
        match self {
            Context::File => "at the top level of a file",
            Context::Guest => "in a `guest` block",
            Context::Numa => "in a `numa` block",
            Context::Host => "in a `host` block",
            Context::Devices => "in a `devices` block",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Int,
    Size,
    Set,
    Bool,
    Str,
    Name,
    Mac,
    Pci,
    /// One of the listed words.
    OneOf(&'static [&'static str]),
    /// An integer, or one of the listed words.
    IntOr(&'static [&'static str]),
    /// Any word or string (machine types, cpu models).
    Text,
}

impl Kind {
    pub fn describe(self) -> String {
        match self {
            Kind::Int => "an integer like `16`".into(),
            Kind::Size => "a size like `8GiB`".into(),
            Kind::Set => "a set like `0-3,8`".into(),
            Kind::Bool => "`true` or `false`".into(),
            Kind::Str => "a string like \"/path\"".into(),
            Kind::Name => "a name".into(),
            Kind::Mac => "a MAC address".into(),
            Kind::Pci => "a PCI address like `0000:3b:00.0`".into(),
            Kind::OneOf(w) => one_of(w),
            Kind::IntOr(w) => format!("an integer or {}", one_of(w)),
            Kind::Text => "a word or a string".into(),
        }
    }
}

fn one_of(words: &[&str]) -> String {
    let quoted: Vec<String> = words.iter().map(|w| format!("`{w}`")).collect();
    match quoted.len() {
        0 => String::new(),
        1 => quoted[0].clone(),
        n => format!("{} or {}", quoted[..n - 1].join(", "), quoted[n - 1]),
    }
}

#[derive(Debug, Clone, Copy)]
pub struct PropSpec {
    pub key: &'static str,
    pub kind: Kind,
    pub required: bool,
    pub doc: &'static str,
}

#[derive(Debug, Clone, Copy)]
pub struct StmtSpec {
    pub keyword: &'static str,
    pub context: Context,
    /// Positional arguments; the last may be optional when `optional_last`.
    pub args: &'static [(&'static str, Kind)],
    pub optional_last: bool,
    pub props: &'static [PropSpec],
    pub block: Option<Context>,
    /// May appear more than once in its block.
    pub repeatable: bool,
    pub doc: &'static str,
}

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
const DISTRIBUTIONS: &[&str] = &["contiguous", "siblings", "round-robin", "interleave"];

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
        p("probe", Kind::Bool, "Read this machine's /sys at build time.")
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
        "The QEMU machine type; default `q35`."),
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
        p("discard", Kind::Bool, "Discard RAM contents when the guest stops (`<discard/>`, QEMU `discard-data=`).")
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
        p("memory-mode", Kind::OneOf(&["strict", "interleave", "preferred"]), "How cell memory is bound.")
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
        p("node", Kind::Int, "A host node whose CPUs the emulator threads may use.")
    ], block None, repeat false,
        "Pin QEMU's emulator threads (`<emulatorpin>`)."),
    stmt!("iothreads" in Guest, args ["N": Kind::Int], props [
        p("cpus", Kind::Set, "Host CPUs the I/O threads run on (`<iothreadpin>`)."),
        p("node", Kind::Int, "A host node whose CPUs the I/O threads run on.")
    ], block None, repeat false,
        "QEMU I/O threads (`<iothreads>`, `-object iothread`), optionally pinned."),
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
        req("node", Kind::Int, "The device's NUMA node."),
        p("name", Kind::Text, "A name for the device.")
    ], block None, repeat true,
        "A host PCI device and its NUMA node."),
    // devices
    stmt!("expander" in Devices, args ["NAME": Kind::Name], props [
        req("node", Kind::Int, "The guest cell the bus belongs to."),
        p("bus-nr", Kind::Int, "The first bus number.")
    ], block None, repeat true,
        "A PCIe expander bus (pxb-pcie) bound to a guest cell."),
    stmt!("root-port" in Devices, args ["NAME": Kind::Name], props [
        p("on", Kind::Name, "The expander it sits on (default pcie.0).")
    ], block None, repeat true,
        "A PCIe root port."),
    stmt!("nic" in Devices, args ["NAME": Kind::Name], props [
        p("bridge", Kind::Text, "A host bridge."),
        p("network", Kind::Text, "A libvirt network."),
        p("model", Kind::OneOf(&["virtio", "e1000e"]), "The NIC model."),
        p("mac", Kind::Mac, "The MAC address."),
        p("on", Kind::Name, "The root port it plugs into."),
        p("node", Kind::Int, "Put it on this guest cell.")
    ], block None, repeat true,
        "A network interface."),
    stmt!("disk" in Devices, args ["NAME": Kind::Name], props [
        req("path", Kind::Str, "The image."),
        p("format", Kind::OneOf(&["qcow2", "raw"]), "Image format."),
        p("bus", Kind::OneOf(&["sata", "virtio"]), "Disk bus."),
        p("on", Kind::Name, "The root port it plugs into."),
        p("node", Kind::Int, "Put it on this guest cell.")
    ], block None, repeat true,
        "A disk."),
    stmt!("hostdev" in Devices, args ["ADDR": Kind::Pci], props [
        p("node", Kind::IntOr(&["auto"]), "The guest cell, or `auto`.")
    ], block None, repeat true,
        "A host PCI device passed through."),
    stmt!("serial" in Devices, args ["TYPE": Kind::OneOf(&["pty"])], props [], block None, repeat false,
        "A serial port."),
    stmt!("console" in Devices, args ["TYPE": Kind::OneOf(&["pty"])], props [], block None, repeat false,
        "A console."),
];

pub fn lookup(context: Context, keyword: &str) -> Option<&'static StmtSpec> {
    SCHEMA.iter().find(|s| s.context == context && s.keyword == keyword)
}

/// A value converted to its kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Typed {
    Int(u64),
    Size(u64),
    Set(IdSet),
    Bool(bool),
    Text(String),
}

/// A statement whose shape the schema accepted, with typed values.
#[derive(Debug, Clone)]
pub struct Fields<'a> {
    pub stmt: &'a Statement,
    pub spec: &'static StmtSpec,
    args: Vec<(Typed, Span)>,
    props: Vec<(&'static str, Typed, Span)>,
}

impl<'a> Fields<'a> {
    pub fn keyword(&self) -> &'static str {
        self.spec.keyword
    }
    pub fn span(&self) -> Span {
        self.stmt.span
    }
    pub fn arg(&self, i: usize) -> Option<&Typed> {
        self.args.get(i).map(|(t, _)| t)
    }
    pub fn arg_span(&self, i: usize) -> Span {
        self.args.get(i).map(|(_, s)| *s).unwrap_or(self.stmt.keyword.span)
    }
    pub fn arg_int(&self, i: usize) -> Option<u64> {
        match self.arg(i)? {
            Typed::Int(v) => Some(*v),
            _ => None,
        }
    }
    pub fn arg_text(&self, i: usize) -> Option<&str> {
        match self.arg(i)? {
            Typed::Text(v) => Some(v),
            _ => None,
        }
    }
    pub fn arg_set(&self, i: usize) -> Option<&IdSet> {
        match self.arg(i)? {
            Typed::Set(v) => Some(v),
            _ => None,
        }
    }
    pub fn arg_size(&self, i: usize) -> Option<u64> {
        match self.arg(i)? {
            Typed::Size(v) => Some(*v),
            _ => None,
        }
    }
    fn get(&self, key: &str) -> Option<&Typed> {
        self.props.iter().find(|(k, _, _)| *k == key).map(|(_, t, _)| t)
    }
    pub fn has(&self, key: &str) -> bool {
        self.get(key).is_some()
    }
    /// The span of a property's value, or of the statement head when absent.
    pub fn span_of(&self, key: &str) -> Span {
        self.props
            .iter()
            .find(|(k, _, _)| *k == key)
            .map(|(_, _, s)| *s)
            .unwrap_or_else(|| self.stmt.head_span())
    }
    pub fn int(&self, key: &str) -> Option<u64> {
        match self.get(key)? {
            Typed::Int(v) => Some(*v),
            _ => None,
        }
    }
    pub fn size(&self, key: &str) -> Option<u64> {
        match self.get(key)? {
            Typed::Size(v) => Some(*v),
            _ => None,
        }
    }
    pub fn set(&self, key: &str) -> Option<&IdSet> {
        match self.get(key)? {
            Typed::Set(v) => Some(v),
            _ => None,
        }
    }
    pub fn bool(&self, key: &str) -> Option<bool> {
        match self.get(key)? {
            Typed::Bool(v) => Some(*v),
            _ => None,
        }
    }
    pub fn text(&self, key: &str) -> Option<&str> {
        match self.get(key)? {
            Typed::Text(v) => Some(v),
            _ => None,
        }
    }
    /// An integer property as a set of one, or a set property.
    pub fn set_or_int(&self, key: &str) -> Option<IdSet> {
        match self.get(key)? {
            Typed::Set(v) => Some(v.clone()),
            Typed::Int(v) => u32::try_from(*v).ok().map(IdSet::single),
            _ => None,
        }
    }
}

/// The closest candidate within a small edit distance, for "did you mean".
pub fn suggest<'c>(word: &str, candidates: impl IntoIterator<Item = &'c str>) -> Option<&'c str> {
    let mut best: Option<(usize, &str)> = None;
    for c in candidates {
        let d = edit_distance(&word.to_ascii_lowercase(), &c.to_ascii_lowercase());
        let limit = (word.len().max(c.len()) / 3).max(1);
        if d <= limit && best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, c));
        }
    }
    best.map(|(_, c)| c)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for i in 1..=a.len() {
        let mut cur = vec![i; b.len() + 1];
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            cur[j] = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
        }
        prev = cur;
    }
    prev[b.len()]
}

fn convert(kind: Kind, v: &Value) -> Result<Typed, Diagnostic> {
    let to_diag = |e: value::ValueError| {
        let code = if e.si_unit { SI_UNIT } else { WRONG_KIND };
        Diagnostic::error(code, e.message, v.span, format!("expected {}", kind.describe())).maybe_help(e.help)
    };
    let unknown_word = |words: &[&str]| {
        let mut d = Diagnostic::error(
            UNKNOWN_VALUE,
            format!("unknown value `{}`", v.text),
            v.span,
            format!("expected {}", one_of(words)),
        );
        if let Some(s) = suggest(&v.text, words.iter().copied()) {
            d = d.with_help(format!("did you mean `{s}`?"));
        } else {
            d = d.with_help(format!("write {}", one_of(words)));
        }
        d
    };
    Ok(match kind {
        Kind::Int => Typed::Int(value::integer(v).map_err(to_diag)?),
        Kind::Size => Typed::Size(value::size(v).map_err(to_diag)?),
        Kind::Set => Typed::Set(value::set(v).map_err(to_diag)?),
        Kind::Bool => Typed::Bool(value::boolean(v).map_err(to_diag)?),
        Kind::Str => Typed::Text(value::string(v).map_err(to_diag)?),
        Kind::Name => Typed::Text(value::name(v).map_err(to_diag)?),
        Kind::Mac => Typed::Text(value::mac(v).map_err(to_diag)?),
        Kind::Pci => Typed::Text(value::pci_address(v).map_err(to_diag)?),
        Kind::Text => {
            if v.quoted || value::is_word(&v.text) {
                Typed::Text(v.text.clone())
            } else {
                return Err(to_diag(value::ValueError {
                    message: format!("expected a word or a string, found `{}`", v.text),
                    help: Some(format!("put it in double quotes: \"{}\"", v.text)),
                    si_unit: false,
                }));
            }
        }
        Kind::OneOf(words) => {
            if !v.quoted && words.contains(&v.text.as_str()) {
                Typed::Text(v.text.clone())
            } else {
                return Err(unknown_word(words));
            }
        }
        Kind::IntOr(words) => {
            if !v.quoted && words.contains(&v.text.as_str()) {
                Typed::Text(v.text.clone())
            } else if let Ok(i) = value::integer(v) {
                Typed::Int(i)
            } else {
                return Err(unknown_word(words));
            }
        }
    })
}

/// Check one statement's shape in `context`; `None` when it has errors (already reported).
pub fn check<'a>(stmt: &'a Statement, context: Context, diags: &mut Vec<Diagnostic>) -> Option<Fields<'a>> {
    let kw = &stmt.keyword;
    let Some(spec) = lookup(context, &kw.text) else {
        let here: Vec<&str> = SCHEMA
            .iter()
            .filter(|s| s.context == context)
            .map(|s| s.keyword)
            .collect();
        let mut d = Diagnostic::error(
            UNKNOWN_STATEMENT,
            format!("unknown statement `{}` {}", kw.text, context.describe()),
            kw.span,
            "not known here",
        );
        d = match suggest(&kw.text, here.iter().copied()) {
            Some(s) => d.with_help(format!("did you mean `{s}`?")),
            None => match SCHEMA.iter().find(|s| s.keyword == kw.text) {
                Some(other) => d.with_help(format!("`{}` belongs {}", kw.text, other.context.describe())),
                None => d.with_help(format!("statements {}: {}", context.describe(), one_of(&here))),
            },
        };
        diags.push(d);
        return None;
    };
    let before = diags.len();
    // Arguments.
    let min = spec.args.len() - usize::from(spec.optional_last && !spec.args.is_empty());
    if stmt.args.len() < min || stmt.args.len() > spec.args.len() {
        let expected: Vec<&str> = spec.args.iter().map(|(n, _)| *n).collect();
        let usage = if expected.is_empty() {
            format!("`{}` takes no arguments, only `key=value` properties", spec.keyword)
        } else {
            format!("write `{} {}`", spec.keyword, expected.join(" "))
        };
        let span = if stmt.args.len() > spec.args.len() {
            stmt.args[spec.args.len()].span.to(stmt.args[stmt.args.len() - 1].span)
        } else {
            stmt.head_span()
        };
        diags.push(
            Diagnostic::error(
                ARGUMENTS,
                format!(
                    "`{}` takes {} argument{}, found {}",
                    spec.keyword,
                    spec.args.len(),
                    if spec.args.len() == 1 { "" } else { "s" },
                    stmt.args.len()
                ),
                span,
                if stmt.args.len() > spec.args.len() {
                    "unexpected"
                } else {
                    "arguments missing"
                },
            )
            .with_help(usage),
        );
    }
    let mut args = Vec::new();
    for (v, (_, kind)) in stmt.args.iter().zip(spec.args) {
        match convert(*kind, v) {
            Ok(t) => args.push((t, v.span)),
            Err(d) => diags.push(d),
        }
    }
    // Properties.
    let mut props: Vec<(&'static str, Typed, Span)> = Vec::new();
    for prop in &stmt.props {
        let Some(ps) = spec.props.iter().find(|ps| ps.key == prop.key.text) else {
            let keys: Vec<&str> = spec.props.iter().map(|p| p.key).collect();
            let mut d = Diagnostic::error(
                UNKNOWN_PROPERTY,
                format!("unknown property `{}` for `{}`", prop.key.text, spec.keyword),
                prop.key.span,
                "not a property of this statement",
            );
            d = match suggest(&prop.key.text, keys.iter().copied()) {
                Some(s) => d.with_help(format!("did you mean `{s}`?")),
                None if keys.is_empty() => d.with_help(format!("`{}` takes no properties", spec.keyword)),
                None => d.with_help(format!("`{}` takes {}", spec.keyword, one_of(&keys))),
            };
            diags.push(d);
            continue;
        };
        if let Some((_, _, first)) = props.iter().find(|(k, _, _)| *k == ps.key) {
            diags.push(
                Diagnostic::error(
                    DUPLICATE,
                    format!("`{}` is given twice", ps.key),
                    prop.key.span,
                    "again here",
                )
                .with_label(*first, "first here")
                .with_help("remove one of them"),
            );
            continue;
        }
        match convert(ps.kind, &prop.value) {
            Ok(t) => props.push((ps.key, t, prop.value.span)),
            Err(d) => diags.push(d),
        }
    }
    for ps in spec.props.iter().filter(|ps| ps.required) {
        if !stmt.props.iter().any(|p| p.key.text == ps.key) {
            diags.push(
                Diagnostic::error(
                    MISSING,
                    format!("`{}` needs `{}=`", spec.keyword, ps.key),
                    stmt.head_span(),
                    format!("`{}` missing", ps.key),
                )
                .with_help(format!("add `{}=` with {}: {}", ps.key, ps.kind.describe(), ps.doc)),
            );
        }
    }
    // Block.
    match (&stmt.block, spec.block) {
        (Some(b), None) => diags.push(
            Diagnostic::error(
                BLOCK,
                format!("`{}` takes no block", spec.keyword),
                b.span,
                "unexpected block",
            )
            .with_help("remove the `{ ... }`"),
        ),
        (None, Some(_)) if spec.keyword != "host" => diags.push(
            Diagnostic::error(
                BLOCK,
                format!("`{}` needs a block", spec.keyword),
                stmt.head_span(),
                "no `{ ... }` follows",
            )
            .with_help(format!("write `{} {{ ... }}`", spec.keyword)),
        ),
        _ => {}
    }
    if super::cx::errors_since(diags, before) {
        return None;
    }
    Some(Fields {
        stmt,
        spec,
        args,
        props,
    })
}

/// Report statements that may appear only once in a block.
pub fn check_repeats(stmts: &[Statement], context: Context, diags: &mut Vec<Diagnostic>) {
    for (i, s) in stmts.iter().enumerate() {
        let Some(spec) = lookup(context, &s.keyword.text) else {
            continue;
        };
        if spec.repeatable {
            continue;
        }
        if let Some(first) = stmts[..i].iter().find(|o| o.keyword.text == s.keyword.text) {
            diags.push(
                Diagnostic::error(
                    DUPLICATE,
                    format!("`{}` is given twice", spec.keyword),
                    s.keyword.span,
                    "again here",
                )
                .with_label(first.keyword.span, "first here")
                .with_help(format!(
                    "a {} holds one `{}`; merge them",
                    context_noun(context),
                    spec.keyword
                )),
            );
        }
    }
}

fn context_noun(c: Context) -> &'static str {
    match c {
        Context::File => "file",
        Context::Guest => "guest",
        Context::Numa => "`numa` block",
        Context::Host => "host",
        Context::Devices => "`devices` block",
    }
}
