//! Guest rules: one guest block → one checked `ir::Guest`, or diagnostics.

use super::codes::*;
use super::schema::{self, Context, Fields};
use crate::diagnostics::Diagnostic;
use crate::host::HostProfile;
use crate::ir::*;
use crate::sets::IdSet;
use crate::span::Span;

/// The host a guest is checked against.
pub struct HostRef<'h> {
    pub index: usize,
    pub name: &'h str,
    pub profile: &'h HostProfile,
}

/// A claim on no particular node: hugepages that may come from any node.
pub const ANY_NODE: u32 = u32::MAX;

/// Memory a guest binds to one host node, for the cross-guest fit check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeClaim {
    pub host: usize,
    pub node: u32,
    pub kib: u64,
    /// Hugepage size in KiB when the claim is in hugepages.
    pub page_kib: Option<u64>,
    pub span: Span,
    pub guest: String,
}

pub struct GuestResult {
    pub guest: Option<Guest>,
    pub claims: Vec<NodeClaim>,
    /// Placed by `vnuma`: its use of the host is already in the placement ledger.
    pub placed: bool,
    /// For a placed guest without `emulator`: the host node its emulator threads belong to.
    pub emulator_node: Option<u32>,
}

pub(super) struct Cx<'a, 'h> {
    pub(super) diags: &'a mut Vec<Diagnostic>,
    pub(super) host: Option<&'a HostRef<'h>>,
    pub(super) guest_span: Span,
}

impl Cx<'_, '_> {
    pub(super) fn err(&mut self, d: Diagnostic) {
        self.diags.push(d);
    }

    /// The host, or an error saying this statement needs one.
    pub(super) fn need_host(&mut self, what: &str, span: Span) -> Option<&HostProfile> {
        match self.host {
            Some(h) => Some(h.profile),
            None => {
                self.diags.push(
                    Diagnostic::error(HOST_NEEDED, format!("{what} needs a host"), span, "host-dependent")
                        .with_label(self.guest_span, "this guest has no host")
                        .with_help("define a host (`host NAME from=\"caps.xml\"`) and give the guest `on=NAME`"),
                );
                None
            }
        }
    }

    pub(super) fn check_nodes(&mut self, nodes: &IdSet, span: Span) -> bool {
        let Some(h) = self.host else { return false };
        let missing = nodes.difference(&h.profile.node_ids());
        if missing.is_empty() {
            return true;
        }
        self.diags.push(
            Diagnostic::error(
                HOST_NODE,
                format!("host `{}` has no node {missing}", h.name),
                span,
                "no such host node",
            )
            .with_help(format!("host `{}` has nodes {}", h.name, h.profile.node_ids())),
        );
        false
    }

    pub(super) fn check_cpus(&mut self, cpus: &IdSet, span: Span) -> bool {
        let Some(h) = self.host else { return false };
        let all = h.profile.cpu_ids();
        let missing = cpus.difference(&all);
        if missing.is_empty() {
            return true;
        }
        self.diags.push(
            Diagnostic::error(
                HOST_CPU,
                format!("host `{}` has no CPU {missing}", h.name),
                span,
                "no such host CPU",
            )
            .with_help(format!("host `{}` has CPUs {all}", h.name)),
        );
        false
    }
}

fn kib(bytes: u64) -> u64 {
    bytes / 1024
}

fn human(kib: u64) -> String {
    crate::units::human_kib(kib)
}

/// The longest guest name: `NAME.args` and its temporary file must fit in a file name
/// (255 bytes on Linux file systems).
pub const MAX_GUEST_NAME: usize = 200;

pub fn check_guest(
    stmt: &Fields<'_>,
    host: Option<&HostRef<'_>>,
    place_state: Option<&mut super::vnuma::PlaceState<'_>>,
    diags: &mut Vec<Diagnostic>,
) -> GuestResult {
    let name = stmt.arg_text(0).unwrap_or_default().to_string();
    let before = diags.len();
    let mut cx = Cx {
        diags,
        host,
        guest_span: stmt.arg_span(0),
    };
    let mut claims = Vec::new();
    if name == "."
        || name == ".."
        || name
            .chars()
            .any(|c| c == '/' || c.is_control() || super::values::not_xml_char(c))
    {
        cx.err(
            Diagnostic::error(GUEST_NAME, format!("`{}` cannot be a guest name", name.escape_debug()), stmt.arg_span(0), "not usable as a name")
                .with_help("guest names become file names (`NAME.xml`) and libvirt domain names: leave out `/` and control characters"),
        );
    }
    if name.len() > MAX_GUEST_NAME {
        cx.err(
            Diagnostic::error(
                GUEST_NAME,
                format!("a guest name of {} bytes is too long for a file name", name.len()),
                stmt.arg_span(0),
                "too long",
            )
            .with_help(format!(
                "guest names become file names (`NAME.args` under `-o`): at most {MAX_GUEST_NAME} bytes"
            )),
        );
    }
    let body: &[crate::syntax::ast::Statement] =
        stmt.stmt.block.as_ref().map(|b| b.statements.as_slice()).unwrap_or(&[]);
    schema::check_repeats(body, Context::Guest, cx.diags);
    let fields: Vec<Fields<'_>> = body
        .iter()
        .filter_map(|s| schema::check(s, Context::Guest, cx.diags))
        .collect();
    let find = |kw: &str| fields.iter().find(|f| f.keyword() == kw);
    let all = |kw: &'static str| fields.iter().filter(move |f| f.keyword() == kw);

    if let Some(v) = find("vnuma") {
        for other in fields
            .iter()
            .filter(|f| matches!(f.keyword(), "numa" | "pin" | "topology" | "memory-policy"))
        {
            cx.err(
                Diagnostic::error(
                    VNUMA_CONFLICT,
                    format!("`{}` conflicts with `vnuma`", other.keyword()),
                    other.stmt.keyword.span,
                    "written by hand",
                )
                .with_label(v.stmt.keyword.span, "cells and pins are derived here")
                .with_help(format!(
                    "remove `{}` and let `vnuma` place the guest, or remove `vnuma`",
                    other.keyword()
                )),
            );
        }
    }

    let domain_type = match find("type").and_then(|f| f.arg_text(0)) {
        Some("qemu") => DomainType::Qemu,
        _ => DomainType::Kvm,
    };
    let machine = find("machine").and_then(|f| f.arg_text(0)).unwrap_or("q35").to_string();
    if let Some(f) = find("machine") {
        super::values::machine(&machine, f.arg_span(0), cx.diags);
    }
    let (cpu, cpu_options) = super::cpu::check(find("cpu"), domain_type, cx.diags);

    // Memory.
    let memory = find("memory");
    let memory_kib = match memory.and_then(|f| f.arg_size(0)) {
        Some(b) if b % 1024 != 0 || b == 0 => {
            let f = memory.map(|f| f.arg_span(0)).unwrap_or(cx.guest_span);
            cx.err(
                Diagnostic::error(
                    MEMORY_GRANULE,
                    "guest memory must be a positive whole number of KiB",
                    f,
                    "not a whole KiB",
                )
                .with_help("write the size in `MiB` or `GiB`"),
            );
            0
        }
        Some(b) => kib(b),
        None => {
            if !body.iter().any(|s| s.keyword.text == "memory") {
                cx.err(
                    Diagnostic::error(
                        MISSING_STATEMENT,
                        format!("guest `{name}` has no `memory`"),
                        stmt.arg_span(0),
                        "memory missing",
                    )
                    .with_help("add `memory 8GiB` (or the size you need) to the guest"),
                );
            }
            0
        }
    };
    let locked = memory.and_then(|f| f.bool("locked")).unwrap_or(false);
    let backing = crate::ir::MemoryBacking {
        source: match memory.and_then(|f| f.text("source")) {
            Some("file") => crate::ir::MemorySource::File,
            Some("memfd") => crate::ir::MemorySource::Memfd,
            _ => crate::ir::MemorySource::Anonymous,
        },
        shared: memory.and_then(|f| f.text("access")).map(|a| a == "shared"),
        prealloc: memory.and_then(|f| f.bool("prealloc")).unwrap_or(false),
        prealloc_threads: memory
            .and_then(|f| f.int("prealloc-threads"))
            .and_then(|n| u32::try_from(n).ok()),
        discard: memory.and_then(|f| f.bool("discard")).filter(|d| *d),
    };
    if let Some(f) = memory
        && f.int("prealloc-threads") == Some(0)
    {
        cx.err(
            Diagnostic::error(
                schema::WRONG_KIND,
                "`prealloc-threads=` must be at least 1",
                f.span_of("prealloc-threads"),
                "no threads",
            )
            .with_help("leave it out for QEMU's default of one thread"),
        );
    }
    let hugepage_kib = memory.and_then(|f| f.size("hugepages")).map(kib);
    if let (Some(f), Some(page)) = (memory, hugepage_kib) {
        let _ = check_page_size(&mut cx, page, f.span_of("hugepages"), "`hugepages=`");
        // With cells of their own page sizes, each cell is checked instead.
        let own_pages = find("numa").and_then(|n| n.stmt.block.as_ref()).is_some_and(|b| {
            b.statements
                .iter()
                .any(|s| s.props.iter().any(|p| p.key.text == "hugepages"))
        });
        if !own_pages && let Some(d) = whole_pages("guest memory", memory_kib, page, f.arg_span(0)) {
            cx.err(d);
        }
    }

    // vCPUs.
    let vcpus_f = find("vcpus");
    let vcpus = match vcpus_f.and_then(|f| f.arg_int(0)) {
        Some(n) if (1..=4096).contains(&n) => n as u32,
        Some(n) => {
            let span = vcpus_f.map(|f| f.arg_span(0)).unwrap_or(cx.guest_span);
            cx.err(
                Diagnostic::error(VCPU_COUNT, format!("{n} vCPUs is out of range"), span, "1 to 4096")
                    .with_help("a guest has between 1 and 4096 vCPUs"),
            );
            0
        }
        None => {
            if !body.iter().any(|s| s.keyword.text == "vcpus") {
                cx.err(
                    Diagnostic::error(
                        MISSING_STATEMENT,
                        format!("guest `{name}` has no `vcpus`"),
                        stmt.arg_span(0),
                        "vcpus missing",
                    )
                    .with_help("add `vcpus 4` (or the count you need) to the guest"),
                );
            }
            0
        }
    };

    if let Some(max) = super::values::machine_max_vcpus(&machine).filter(|max| vcpus > *max) {
        let span = vcpus_f.map(|f| f.arg_span(0)).unwrap_or(cx.guest_span);
        cx.err(
            Diagnostic::error(
                VCPU_COUNT,
                format!("machine `{machine}` takes at most {max} vCPUs, and this guest has {vcpus}"),
                span,
                format!("more than {max}"),
            )
            .with_help(if max == 255 && !machine.contains("q35") {
                format!(
                    "QEMU refuses to start `{machine}` with more than 255 vCPUs (\"Invalid SMP CPUs\"); \
                     use at most 255, or `machine q35`, which takes 288 in QEMU 7.2"
                )
            } else {
                format!(
                    "QEMU 7.2 refuses to start `{machine}` with more than {max} vCPUs (\"Invalid SMP CPUs\"); \
                     use at most {max}, or a newer machine type your QEMU has (QEMU 9.0 starts \
                     `machine \"pc-q35-9.0\"` with up to 4096)"
                )
            }),
        );
    }

    // libvirt's `current=M`: the first M vCPUs online and fixed, the rest offline.
    let current = match vcpus_f {
        Some(f) if f.has("current") => {
            let m = f.int("current").unwrap_or(u64::from(vcpus));
            let other = ["boot", "hotpluggable"].into_iter().find(|k| f.has(k));
            if let Some(k) = other {
                cx.err(
                    Diagnostic::error(
                        VCPU_COUNT,
                        format!("`current=` and `{k}=` both say which vCPUs are online"),
                        f.span_of(k),
                        "choose one",
                    )
                    .with_help("`current=M` keeps libvirt's order (vCPUs 0 to M−1 fixed); `boot=M` gives a balanced, hot-pluggable set"),
                );
                None
            } else if vcpus > 0 && !(1..=u64::from(vcpus)).contains(&m) {
                cx.err(
                    Diagnostic::error(
                        VCPU_COUNT,
                        format!("`current={m}` is out of range"),
                        f.span_of("current"),
                        format!("1 to {vcpus}"),
                    )
                    .with_help(format!("between 1 and the guest's {vcpus} vCPUs can be online at boot")),
                );
                None
            } else {
                Some(m as u32)
            }
        }
        _ => None,
    };

    // Hotplug: `boot=M` online at boot, or every vCPU online but hotpluggable.
    let hotplug_boot = match vcpus_f {
        Some(f) if f.has("boot") || f.bool("hotpluggable") == Some(true) => {
            let boot = f.int("boot").unwrap_or(u64::from(vcpus));
            if vcpus > 0 && !(1..=u64::from(vcpus)).contains(&boot) {
                cx.err(
                    Diagnostic::error(
                        VCPU_COUNT,
                        format!("`boot={boot}` is out of range"),
                        f.span_of("boot"),
                        format!("1 to {vcpus}"),
                    )
                    .with_help(format!("between 1 and the guest's {vcpus} vCPUs can be online at boot")),
                );
            }
            Some(boot.clamp(1, u64::from(vcpus.max(1))) as u32)
        }
        _ => None,
    };

    // Cells.
    let mut cells: Vec<GuestCell> = Vec::new();
    let mut cell_spans: Vec<Span> = Vec::new();
    let mut binding_spans: Vec<Option<Span>> = Vec::new();
    let mut page_spans: Vec<Option<Span>> = Vec::new();
    let mut distances = None;
    let mut hmat = Hmat::default();
    if let Some(numa) = find("numa") {
        let r = super::numa::check_numa(
            numa,
            vcpus,
            memory_kib,
            memory.map(|m| m.arg_span(0)),
            &mut cx_numa(&mut cx),
        );
        cells = r.cells;
        cell_spans = r.cell_spans;
        binding_spans = r.binding_spans;
        page_spans = r.page_spans;
        distances = r.distances;
        hmat = r.hmat;
    }
    for (i, c) in cells.iter_mut().enumerate() {
        // A cell's own `hugepages=` wins; 4KiB, the base page, is ordinary memory.
        c.hugepage_kib = match (c.hugepage_kib, page_spans.get(i).copied().flatten()) {
            (Some(4), Some(_)) => None,
            // A size the host lacks is reported once, not again by the fit check.
            (Some(page), Some(span)) => check_page_size(&mut cx, page, span, "a cell's `hugepages=`").then_some(page),
            _ => hugepage_kib,
        };
        if let Some(page) = c.hugepage_kib
            && let Some(d) = whole_pages(
                &format!("cell {}'s memory", c.id),
                c.memory_kib,
                page,
                cell_spans.get(i).copied().unwrap_or(cx.guest_span),
            )
        {
            cx.err(d);
        }
    }

    // Topology.
    let mut topology = match find("topology") {
        Some(f) => {
            let t = Topology {
                sockets: f.int("sockets").unwrap_or(1) as u32,
                dies: f.int("dies").unwrap_or(1) as u32,
                cores: f.int("cores").unwrap_or(1) as u32,
                threads: f.int("threads").unwrap_or(1) as u32,
            };
            let raw = [f.int("sockets"), f.int("dies"), f.int("cores"), f.int("threads")];
            if raw.iter().flatten().any(|v| *v == 0 || *v > 4096) {
                cx.err(
                    Diagnostic::error(
                        TOPOLOGY_PRODUCT,
                        "topology values must be between 1 and 4096",
                        f.span(),
                        "out of range",
                    )
                    .with_help("every level has at least one unit"),
                );
            } else if vcpus > 0 && t.product() != u64::from(vcpus) {
                let span = vcpus_f.map(|v| v.arg_span(0)).unwrap_or(cx.guest_span);
                cx.err(
                    Diagnostic::error(
                        TOPOLOGY_PRODUCT,
                        format!(
                            "topology gives {} vCPUs ({}×{}×{}×{}) but the guest has {vcpus}",
                            t.product(),
                            t.sockets,
                            t.dies,
                            t.cores,
                            t.threads
                        ),
                        f.span(),
                        format!("{} vCPUs", t.product()),
                    )
                    .with_label(span, format!("{vcpus} vCPUs"))
                    .with_help(topology_hint(vcpus, &t)),
                );
            } else {
                warn_sockets_spanning_cells(&t, &cells, &cell_spans, f.span(), cx.diags);
            }
            Some(t)
        }
        None => default_topology(vcpus, &cells),
    };

    // Pins and emulator threads.
    let pin_fields: Vec<&Fields<'_>> = all("pin").collect();
    let (mut pins, mut pin_spans) = super::pins::check_pins(&pin_fields, vcpus, &cells, &binding_spans, &mut cx);
    let emulator_pin = find("emulator").and_then(|f| super::pins::check_emulator(f, &mut cx));
    let (iothreads, iothread_pin) = find("iothreads").map_or((0, None), |f| super::pins::check_iothreads(f, &mut cx));

    // Whole-guest memory policy, and how it agrees with the cells' own.
    let memory_binding = super::policy::check(
        find("memory-policy"),
        &cells,
        &cell_spans,
        &binding_spans,
        stmt.span(),
        &mut cx,
    );

    // Automatic partitioning, only for a guest that is otherwise sound.
    let mut placed = false;
    let mut emulator_node = None;
    if let Some(v) = find("vnuma")
        && !super::errors_since(cx.diags, before)
        && let Some(profile_host) = cx.host
        && cx.need_host("`vnuma`", v.stmt.keyword.span).is_some()
        && let Some(state) = place_state
    {
        let facts = super::vnuma::GuestFacts {
            vcpus,
            vcpus_span: vcpus_f.map(|f| f.arg_span(0)).unwrap_or(cx.guest_span),
            memory_kib,
            memory_span: memory.map(|f| f.arg_span(0)).unwrap_or(cx.guest_span),
            page_kib: hugepage_kib,
        };
        if let Some(p) = super::vnuma::place_guest(v, &facts, profile_host, state, cx.diags) {
            cells = p.cells;
            pins = p.pins;
            cell_spans = vec![v.span(); cells.len()];
            pin_spans = vec![v.span(); pins.len()];
            topology = Some(p.topology);
            distances = p.distances;
            placed = true;
            if emulator_pin.is_none() {
                emulator_node = Some(p.emulator_node);
            }
            binding_spans = vec![Some(v.stmt.keyword.span); cells.len()];
        }
    } else if let Some(v) = find("vnuma")
        && cx.host.is_none()
    {
        cx.need_host("`vnuma`", v.stmt.keyword.span);
    }

    // Memory hotplug: headroom and devices, on the final cells.
    let memdevs: Vec<&Fields<'_>> = fields
        .iter()
        .filter(|f| matches!(f.keyword(), "dimm" | "nvdimm" | "virtio-mem" | "virtio-pmem"))
        .collect();
    let mut mem = super::memdev::check(memory, &memdevs, &cells, memory_kib, cx.diags);
    for (d, &index) in mem.devices.iter_mut().zip(&mem.statements) {
        let f = memdevs.get(index).copied();
        let guest_span = cx.guest_span;
        let span_of = |key: &str| f.map(|f| f.span_of(key)).unwrap_or(guest_span);
        let cell = cells.iter().find(|c| c.id == d.node);
        let cell_page = cell.map_or(hugepage_kib, |c| c.hugepage_kib);
        let (page, own_nodes) = match &d.kind {
            MemoryDeviceKind::Dimm {
                host_nodes, page_kib, ..
            }
            | MemoryDeviceKind::VirtioMem {
                host_nodes, page_kib, ..
            } => {
                let page = match page_kib {
                    Some(4) => None,
                    Some(p) => {
                        if !check_page_size(&mut cx, *p, span_of("hugepages"), "a DIMM's `hugepages=`") {
                            continue;
                        }
                        Some(*p)
                    }
                    None => cell_page,
                };
                (page, host_nodes.as_ref())
            }
            // NVDIMMs and virtio-pmem are backed by their file, not by node memory.
            MemoryDeviceKind::Nvdimm { .. } | MemoryDeviceKind::VirtioPmem { .. } => (cell_page, None),
        };
        d.hugepage_kib = page;
        d.binding = match d.kind {
            MemoryDeviceKind::VirtioPmem { .. } => None,
            _ => own_nodes
                .map(|nodes| MemBinding {
                    nodes: nodes.clone(),
                    policy: MemPolicy::Strict,
                    auto: false,
                })
                .or_else(|| cell.and_then(|c| c.binding.clone()))
                .or_else(|| memory_binding.clone()),
        };
        // QEMU refuses a hugepage-backed DIMM or NVDIMM that is not whole pages.
        if let Some(page) = page
            && let Some(e) = whole_pages(&format!("`{}`'s size", d.alias()), d.size_kib, page, span_of("size"))
        {
            cx.err(e);
        }
        if matches!(
            d.kind,
            MemoryDeviceKind::Nvdimm { .. } | MemoryDeviceKind::VirtioPmem { .. }
        ) {
            continue;
        }
        if let Some(nodes) = own_nodes
            && (cx.need_host("a DIMM's `host-node=`", span_of("host-node")).is_none()
                || !cx.check_nodes(nodes, span_of("host-node")))
        {
            continue;
        }
        let Some(h) = cx.host else { continue };
        if let Some(b) = &d.binding
            && (b.policy.binds() || page.is_some())
        {
            let span = if own_nodes.is_some() {
                span_of("host-node")
            } else {
                span_of("node")
            };
            spread_claims(&mut claims, h.index, &b.nodes, d.size_kib, page, span, &name);
        }
    }

    // Devices, on the final cells.
    let device_set = find("devices").and_then(|f| {
        let host = cx.host.map(|h| h.profile);
        super::devices::check(
            f,
            &cells,
            MachineFamily::of(&machine) == MachineFamily::Q35,
            host,
            cx.diags,
        )
    });

    // virtio memory devices take the next free slots of the root bus (slot 1 is the
    // chipset's on `pc`, 0x1f on q35).
    let q35 = MachineFamily::of(&machine) == MachineFamily::Q35;
    let mut root_slot = device_set.as_ref().map_or(0, |d| {
        d.controllers
            .iter()
            .map(|c| &c.address)
            .chain(d.devices.iter().filter_map(|x| x.address.as_ref()))
            .filter(|a| a.bus == 0)
            .map(|a| a.slot)
            .max()
            .unwrap_or(0)
    }) + 1;
    if !q35 {
        root_slot = root_slot.max(2);
    }
    for (d, &index) in mem.devices.iter_mut().zip(&mem.statements) {
        let (MemoryDeviceKind::VirtioMem { pci, .. } | MemoryDeviceKind::VirtioPmem { pci, .. }) = &mut d.kind else {
            continue;
        };
        if root_slot > 0x1e {
            cx.err(
                Diagnostic::error(
                    DEVICE_CONFIG,
                    "no slot is left on the root bus for this device",
                    memdevs.get(index).map_or(cx.guest_span, |f| f.span()),
                    "no free slot",
                )
                .with_help("the root bus has 30 free slots; put other devices behind expanders"),
            );
            break;
        }
        pci.slot = root_slot;
        root_slot += 1;
    }

    // Host-node checks on cells, and claims for the fit check.
    for (i, cell) in cells.iter().enumerate() {
        let Some(b) = &cell.binding else { continue };
        let span = binding_spans.get(i).copied().flatten().unwrap_or(cx.guest_span);
        if cx.need_host("`host-node=`", span).is_none() || !cx.check_nodes(&b.nodes, span) {
            continue;
        }
        if let Some(h) = cx.host
            && (b.policy.binds() || cell.hugepage_kib.is_some())
        {
            spread_claims(
                &mut claims,
                h.index,
                &b.nodes,
                cell.memory_kib,
                cell.hugepage_kib,
                span,
                &name,
            );
        }
    }
    // Memory without a binding of its own, by page size (cells may differ).
    let mut unbound: Vec<(Option<u64>, u64)> = Vec::new();
    if cells.is_empty() {
        unbound.push((hugepage_kib, memory_kib));
    }
    for c in cells.iter().filter(|c| c.binding.is_none()) {
        match unbound.iter_mut().find(|(p, _)| *p == c.hugepage_kib) {
            Some((_, kib)) => *kib += c.memory_kib,
            None => unbound.push((c.hugepage_kib, c.memory_kib)),
        }
    }
    for (page, kib) in unbound {
        let Some(h) = cx.host else { break };
        match &memory_binding {
            Some(b) if b.policy.binds() || page.is_some() => {
                let span = find("memory-policy")
                    .map(|f| f.span_of(if b.auto { "placement" } else { "nodeset" }))
                    .unwrap_or(cx.guest_span);
                spread_claims(&mut claims, h.index, &b.nodes, kib, page, span, &name);
            }
            Some(_) => {}
            // Hugepages not bound to any node come from whichever node has them.
            None if page.is_some() && kib > 0 => claims.push(NodeClaim {
                host: h.index,
                node: ANY_NODE,
                kib,
                page_kib: page,
                // The cell that asked for this size, or the guest's `hugepages=`.
                span: cells
                    .iter()
                    .zip(&page_spans)
                    .find(|(c, s)| s.is_some() && c.binding.is_none() && c.hugepage_kib == page)
                    .and_then(|(_, s)| *s)
                    .or(memory.filter(|f| f.has("hugepages")).map(|f| f.span_of("hugepages")))
                    .unwrap_or(cx.guest_span),
                guest: name.clone(),
            }),
            None => {}
        }
    }

    let ok = !super::errors_since(cx.diags, before);
    let named = |name: &str| {
        let block = find("devices");
        block
            .and_then(|b| b.stmt.block.as_ref())
            .and_then(|b| {
                b.statements
                    .iter()
                    .find(|s| s.args.first().is_some_and(|a| a.text == name))
            })
            .map(|s| s.span)
            .or(block.map(|b| b.span()))
            .unwrap_or(stmt.span())
    };
    let spans = GuestSpans {
        guest: stmt.span(),
        name: stmt.arg_span(0),
        cells: cell_spans,
        pins: pin_spans,
        shared_pins: pin_fields
            .iter()
            .filter(|f| f.bool("shared") == Some(true))
            .map(|f| f.span())
            .collect(),
        vnuma: find("vnuma").map(|v| v.span()),
        memory_devices: mem
            .statements
            .iter()
            .map(|&i| memdevs.get(i).map(|f| f.span()).unwrap_or(stmt.span()))
            .collect(),
        controllers: device_set
            .as_ref()
            .map(|d| d.controllers.iter().map(|c| named(&c.name)).collect())
            .unwrap_or_default(),
        devices: device_set
            .as_ref()
            .map(|d| d.devices.iter().map(|x| named(&x.name)).collect())
            .unwrap_or_default(),
    };
    GuestResult {
        guest: ok
            .then_some(Guest {
                name,
                domain_type,
                family: MachineFamily::of(&machine),
                machine,
                cpu,
                cpu_options,
                memory_kib,
                locked,
                hugepage_kib,
                backing,
                vcpus,
                topology,
                cells,
                distances,
                hmat,
                pins,
                emulator_pin,
                iothreads,
                iothread_pin,
                memory_binding,
                vcpu_states: Vec::new(),
                max_memory: mem.max,
                memory_devices: mem.devices,
                controllers: device_set.as_ref().map(|d| d.controllers.clone()).unwrap_or_default(),
                devices: device_set.map(|d| d.devices).unwrap_or_default(),
                spans,
            })
            .map(|mut g| {
                if let Some(m) = current {
                    g.vcpu_states = crate::place::hotplug::fixed_states(g.vcpus, m);
                } else if let Some(boot) = hotplug_boot {
                    g.vcpu_states = crate::place::hotplug::states(&g, boot);
                }
                g
            }),
        claims,
        placed,
        emulator_node,
    }
}

fn cx_numa<'x, 'a, 'h>(cx: &'x mut Cx<'a, 'h>) -> super::numa::NumaCx<'x, 'h> {
    super::numa::NumaCx {
        diags: cx.diags,
        host: cx.host.map(|h| (h.name, h.profile)),
        guest_span: cx.guest_span,
    }
}

/// A hugepage size must be a power of two that the host has pools of.
fn check_page_size(cx: &mut Cx<'_, '_>, page: u64, span: Span, what: &str) -> bool {
    let before = cx.diags.len();
    if page < 4 || !page.is_power_of_two() {
        cx.err(
            Diagnostic::error(
                HOST_PAGE_SIZE,
                format!("{} is not a page size", human(page)),
                span,
                "not a power of two",
            )
            .with_help("hugepages are `2MiB` or `1GiB` on x86_64"),
        );
    } else if let Some(profile) = cx.need_host(what, span) {
        let mut sizes: Vec<u64> = profile
            .nodes
            .iter()
            .flat_map(|n| n.hugepages.iter().map(|p| p.size_kib))
            .collect();
        sizes.sort_unstable();
        sizes.dedup();
        if !sizes.contains(&page) {
            let have: Vec<String> = sizes.iter().map(|s| human(*s)).collect();
            cx.err(
                Diagnostic::error(
                    HOST_PAGE_SIZE,
                    format!("the host has no {} hugepages", human(page)),
                    span,
                    "no such page size on the host",
                )
                .with_help(if have.is_empty() {
                    "the host has no hugepage pools; drop `hugepages=` or reserve pages on the host".to_string()
                } else {
                    format!("the host has {} pages", have.join(", "))
                }),
            );
        }
    }
    !super::errors_since(cx.diags, before)
}

/// An error when `kib` is not a whole number of `page`-KiB pages, with the two nearest
/// sizes that are (QEMU 7.2 refuses a backend smaller than a page, and rounds otherwise).
fn whole_pages(what: &str, kib: u64, page: u64, span: Span) -> Option<Diagnostic> {
    let page = page.max(1);
    if kib.is_multiple_of(page) {
        return None;
    }
    let below = kib / page * page;
    let above = below.saturating_add(page);
    let sizes = if below == 0 {
        format!("`{}`", human(above))
    } else {
        format!("`{}` or `{}`", human(below), human(above))
    };
    Some(
        Diagnostic::error(
            MEMORY_GRANULE,
            format!("{what} ({}) is not a whole number of {} pages", human(kib), human(page)),
            span,
            "not a multiple of the page size",
        )
        .with_help(format!(
            "QEMU refuses or rounds memory backed by {} pages that is not whole pages; use {sizes}",
            human(page)
        )),
    )
}

pub fn preferred_error(nodes: &IdSet, span: Span) -> Diagnostic {
    Diagnostic::error(
        PREFERRED_ONE_NODE,
        format!("`preferred` takes one node, found {nodes}"),
        span,
        "several nodes",
    )
    .with_help(format!(
        "name a single node (e.g. `{}`), or use `interleave` to spread memory over {nodes}",
        nodes.first().unwrap_or(0)
    ))
}

/// Split `kib` over `nodes` evenly, in whole units (the kernel's allocation is not known in advance).
pub fn spread(nodes: &IdSet, kib: u64, unit: u64) -> Vec<(u32, u64)> {
    let n = nodes.len() as u64;
    if n == 0 {
        return Vec::new();
    }
    let unit = unit.max(1);
    let units = kib / unit;
    nodes
        .iter()
        .enumerate()
        .map(|(i, node)| (node, (units / n + u64::from((i as u64) < units % n)) * unit))
        .collect()
}

/// Split `kib` over `nodes` evenly (the kernel's allocation is not known in advance).
fn spread_claims(
    claims: &mut Vec<NodeClaim>,
    host: usize,
    nodes: &IdSet,
    kib: u64,
    page_kib: Option<u64>,
    span: Span,
    guest: &str,
) {
    for (node, share) in spread(nodes, kib, page_kib.unwrap_or(1)) {
        claims.push(NodeClaim {
            host,
            node,
            kib: share,
            page_kib,
            span,
            guest: guest.to_string(),
        });
    }
}

fn topology_hint(vcpus: u32, t: &Topology) -> String {
    let per = t.dies * t.threads;
    if per > 0 && vcpus.is_multiple_of((t.sockets * per).max(1)) {
        let cores = vcpus / (t.sockets * per);
        return format!(
            "with {} sockets and {} threads, write `cores={cores}`",
            t.sockets, t.threads
        );
    }
    format!("choose sockets × dies × cores × threads = {vcpus}")
}

/// Without a written topology: one socket per cell when cells are equal consecutive
/// blocks, else libvirt's default (no `<topology>`, one socket per vCPU).
fn default_topology(vcpus: u32, cells: &[GuestCell]) -> Option<Topology> {
    let cpu_cells: Vec<&GuestCell> = cells.iter().filter(|c| !c.vcpus.is_empty()).collect();
    if cpu_cells.len() < 2 || vcpus == 0 {
        return None;
    }
    let per = cpu_cells[0].vcpus.len() as u32;
    let blocks = cpu_cells.iter().enumerate().all(|(k, c)| {
        c.vcpus.len() as u32 == per
            && c.vcpus.first() == Some(k as u32 * per)
            && c.vcpus.last() == Some((k as u32 + 1) * per - 1)
    });
    blocks.then_some(Topology {
        sockets: cpu_cells.len() as u32,
        dies: 1,
        cores: per,
        threads: 1,
    })
}

fn warn_sockets_spanning_cells(
    t: &Topology,
    cells: &[GuestCell],
    cell_spans: &[Span],
    span: Span,
    diags: &mut Vec<Diagnostic>,
) {
    let per = t.per_socket();
    if per == 0 {
        return;
    }
    for s in 0..t.sockets {
        let lo = s * per;
        let hi = lo + per - 1;
        let owners: Vec<usize> = cells
            .iter()
            .enumerate()
            .filter(|(_, c)| c.vcpus.iter().any(|v| v >= lo && v <= hi))
            .map(|(i, _)| i)
            .collect();
        if owners.len() > 1 {
            let mut d = Diagnostic::warning(
                SOCKET_SPANS_CELLS,
                format!(
                    "guest socket {s} (vCPUs {lo}-{hi}) spans cells {} and {}",
                    cells[owners[0]].id, cells[owners[1]].id
                ),
                span,
                "this topology",
            );
            for &o in owners.iter().take(2) {
                if let Some(cs) = cell_spans.get(o) {
                    d = d.with_label(*cs, format!("cell {}", cells[o].id));
                }
            }
            diags.push(d.with_help(
                "a socket split over NUMA cells confuses the guest scheduler; make each cell a whole number of sockets",
            ));
            return;
        }
    }
}
