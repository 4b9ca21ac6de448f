//! Guest rules: one guest block → one checked `ir::Guest`, or diagnostics.

pub use super::claims::{ANY_NODE, NodeClaim};
pub use super::cx::HostRef;

use super::body::Body;
use super::claims::spread_claims;
use super::codes::*;
use super::cx::{Cx, errors_since};
use super::pages::{check_page_size, whole_pages};
use super::schema::{Context, Fields};
use crate::diagnostics::Diagnostic;
use crate::ir::*;
use crate::span::Span;

pub struct GuestResult {
    pub guest: Option<Guest>,
    pub claims: Vec<NodeClaim>,
    /// Placed by `vnuma`: its use of the host is already in the placement ledger.
    pub placed: bool,
    /// For a placed guest without `emulator`: the host node its emulator threads belong to.
    pub emulator_node: Option<u32>,
}

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
    super::guest_name::check(&name, &mut cx);
    let body = Body::check(stmt, Context::Guest, cx.diags);
    let find = |kw: &str| body.find(kw);
    let all = |kw: &'static str| body.all(kw);
    super::vnuma::conflicts(&body, &mut cx);
    let platform = super::platform::check(&body, &mut cx);
    let memory_facts = super::memory::check(&body, &name, &mut cx);
    let memory = find("memory");
    let memory_kib = memory_facts.kib;
    let hugepage_kib = memory_facts.hugepage_kib;

    let vcpus_facts = super::vcpus::check(&body, &name, &platform.machine, &mut cx);
    let vcpus = vcpus_facts.count;

    // Cells.
    let mut cells: Vec<GuestCell> = Vec::new();
    let mut cell_spans: Vec<Span> = Vec::new();
    let mut binding_spans: Vec<Option<Span>> = Vec::new();
    let mut page_spans: Vec<Option<Span>> = Vec::new();
    let mut distances = None;
    let mut hmat = Hmat::default();
    if let Some(numa) = find("numa") {
        let r = super::numa::check_numa(numa, vcpus, memory_kib, memory.map(|m| m.arg_span(0)), &mut cx);
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
                let span = vcpus_facts.span;
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
        && !errors_since(cx.diags, before)
        && let Some(profile_host) = cx.host
        && cx.need_host("`vnuma`", v.stmt.keyword.span).is_some()
        && let Some(state) = place_state
    {
        let facts = super::vnuma::GuestFacts {
            vcpus,
            vcpus_span: vcpus_facts.span,
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
    let memdevs: Vec<&Fields<'_>> = body
        .fields
        .iter()
        .filter(|f| matches!(f.keyword(), "dimm" | "nvdimm" | "virtio-mem" | "virtio-pmem"))
        .collect();
    let mut mem = super::memdev::check(memory, &memdevs, &cells, memory_kib, cx.diags);
    for (d, &index) in mem.devices.iter().zip(&mem.statements) {
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
        let own = own_nodes.map(|nodes| MemBinding {
            nodes: nodes.clone(),
            policy: MemPolicy::Strict,
            auto: false,
        });
        if let Some(b) = own.or(cell.and_then(|c| c.binding.clone())).or(memory_binding.clone())
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
        super::devices::check(f, &cells, platform.q35(), host, cx.diags)
    });

    // virtio memory devices take the next free slots of the root bus (slot 1 is the
    // chipset's on `pc`, 0x1f on q35).
    let q35 = platform.q35();
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

    let ok = !errors_since(cx.diags, before);
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
                domain_type: platform.domain_type,
                machine: platform.machine,
                cpu: platform.cpu,
                cpu_options: platform.cpu_options,
                memory_kib,
                locked: memory_facts.locked,
                hugepage_kib,
                backing: memory_facts.backing,
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
                if let Some(m) = vcpus_facts.current {
                    g.vcpu_states = crate::place::online::fixed_states(g.vcpus, m);
                } else if let Some(boot) = vcpus_facts.boot {
                    g.vcpu_states = crate::place::online::states(&g, boot);
                }
                g
            }),
        claims,
        placed,
        emulator_node,
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
