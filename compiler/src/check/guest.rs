//! Guest rules: one guest block → one checked `ir::Guest`, or diagnostics.
//!
//! `check_guest` runs the passes in order over one context (`Cx`, in cx.rs); each pass reports
//! its own errors and returns what later passes read.

pub use super::claims::{ANY_NODE, NodeClaim};
pub use super::cx::HostRef;
pub use super::floats::Holds;
pub use super::shared::Later;

use super::body::Body;
use super::cells::Cells;
use super::claims::Claims;
use super::cx::{Cx, errors_since};
use super::devices::DeviceSet;
use super::memdev::MemoryDevices;
use super::memory::Memory;
use super::pins::Pins;
use super::platform::Platform;
use super::resctrl::Tunes;
use super::sched::Sched;
use super::thread_pins::ThreadPins;
use super::vcpus::Vcpus;
use super::vnuma::{GuestFacts, PlaceState};
use crate::diagnostics::Diagnostic;
use crate::ir::{Guest, GuestSpans, MemBinding, Topology};
use crate::lang::{Context, Fields};
use crate::span::Span;

pub struct GuestResult {
    pub guest: Option<Guest>,
    pub claims: Vec<NodeClaim>,
    /// Placed by `vnuma`: its use of the host is already in the placement ledger.
    pub placed: bool,
    /// For a placed guest without `emulator`: the host node its emulator threads belong to.
    pub emulator_node: Option<u32>,
    /// What a placed guest leaves to be placed after every guest of its host.
    pub later: Later,
    /// What it holds of its host as dedicated, and where its vCPUs float.
    pub holds: Holds,
}

pub fn check_guest(
    stmt: &Fields<'_>,
    host: Option<&HostRef<'_>>,
    mut place_state: Option<&mut PlaceState<'_>>,
    diags: &mut Vec<Diagnostic>,
) -> GuestResult {
    let name = stmt.arg_text(0).unwrap_or_default().to_string();
    let before = diags.len();
    let mut cx = Cx {
        diags,
        host,
        guest_span: stmt.arg_span(0),
    };
    super::guest_name::check(&name, &mut cx);
    let body = Body::check(stmt, Context::Guest, cx.diags);
    super::vnuma::conflicts(&body, &mut cx);
    let platform = super::platform::check(&body, &mut cx);
    let memory = super::memory::check(&body, &name, &mut cx);
    let vcpus = super::vcpus::check(&body, &name, &platform.machine, &mut cx);
    let memory_span = body.find("memory").map(|m| m.arg_span(0));
    let mut cells = match body.find("numa") {
        Some(numa) => super::numa::check_numa(numa, vcpus.count, memory.kib, body.find("memory"), &mut cx),
        None => Cells::default(),
    };
    super::pages::cell_pages(&mut cells, memory.hugepage_kib, &mut cx);
    let mut topology = super::topology::check(body.find("topology"), &vcpus, &cells, &mut cx);
    let mut pinning = super::pins::check(&body, vcpus.count, &cells, &mut cx);
    let mut sched = super::sched::check(&body, vcpus.count, pinning.threads.known_count(), &mut cx);
    // Whole-guest memory policy, and how it agrees with the cells' own.
    let memory_binding = super::policy::check(body.find("memory-policy"), &cells, stmt.span(), &mut cx);
    // Automatic partitioning, over the cells, pins and topology written by hand (none).
    let facts = facts(&vcpus, &memory, memory_span.unwrap_or(cx.guest_span), &pinning);
    let sound = !errors_since(cx.diags, before);
    let placement = super::vnuma::check(&body, &facts, place_state.as_deref_mut(), sound, &mut cx);
    let placed = placement.map(|p| p.apply(&mut cells, &mut pinning, &mut topology));
    let threads = super::thread_pins::after(&body, &pinning.threads, &cells.cells, placed.as_ref(), &mut cx);
    super::sched::iothreads_on_cells(&body, &mut sched, pinning.threads.known_count(), threads.count, &mut cx);
    super::sched::memory_warnings(&sched, &memory, &cells, memory_span, &mut cx);
    let tunes = tunes(&body, &platform, &vcpus, &cells, &pinning, &placed, &mut cx);

    // Memory hotplug and devices, on the final cells; then what the guest claims of its host.
    let mut claims = Claims::new(&name);
    let memdevs = super::memdev::statements(&body.fields);
    let binding = memory_binding.as_ref();
    let on_host = MemoryOnHost {
        body: &body,
        cells: &cells,
        memory: &memory,
        platform: &platform,
        binding,
        ledger: place_state.filter(|_| placed.is_some()),
    };
    let mut mem = memory_devices(on_host, &memdevs, &mut claims, &mut cx);
    let device_set = body.find("devices").and_then(|f| {
        let host = cx.host.map(|h| h.profile);
        super::devices::check(f, &cells.cells, platform.q35(), host, &threads.io(), cx.diags)
    });
    super::memdev::pci::assign_slots(&mut mem, &memdevs, device_set.as_ref(), platform.q35(), &mut cx);
    super::versions::check(&body.fields, &platform.machine, vcpus.count, vcpus.span, &mut cx);
    super::claims::cells(&cells, &mut cx, &mut claims);
    super::claims::unbound(&body, &cells, &memory, binding, &cx, &mut claims);
    let ok = !errors_since(cx.diags, before);
    let spans = spans(stmt, &body, &cells, &pinning, &mem, &memdevs, device_set.as_ref());
    let uses = super::uses::of(
        &body,
        vcpus.count,
        &cells.cells,
        &pinning,
        &threads,
        placed.as_ref(),
        cx.host,
    );
    let guest = ok.then(|| {
        Parts {
            name,
            platform,
            memory,
            vcpus,
            topology,
            cells,
            pinning,
            threads,
            memory_binding,
            sched,
            tunes,
            mem,
            device_set,
            spans,
        }
        .into_guest(cx.host)
    });
    GuestResult {
        guest,
        claims: claims.list,
        placed: placed.is_some(),
        emulator_node: uses.emulator_node,
        later: uses.later,
        holds: uses.holds,
    }
}

/// What a guest's memory devices are checked against.
struct MemoryOnHost<'a, 'b, 's> {
    body: &'a Body<'s>,
    cells: &'a Cells,
    memory: &'a Memory,
    platform: &'a Platform,
    binding: Option<&'a MemBinding>,
    /// The host's ledger, for a guest `vnuma` placed.
    ledger: Option<&'a mut PlaceState<'b>>,
}

/// The memory devices on the final cells, their host binding and the memory they claim.
/// A placed guest's devices take memory of its host too (its cells are in the ledger
/// already): guests placed after it, and moves onto the host, see it.
fn memory_devices(
    m: MemoryOnHost<'_, '_, '_>,
    memdevs: &[&Fields<'_>],
    claims: &mut Claims,
    cx: &mut Cx<'_, '_>,
) -> MemoryDevices {
    let cells = &m.cells.cells;
    let host = cx.host.map(|h| &h.target);
    let target = super::memdev::Target {
        machine: &m.platform.machine,
        libvirt: host.map_or(crate::host::target::DEFAULT_LIBVIRT, |t| t.libvirt),
        qemu: host.map_or(crate::host::target::DEFAULT_QEMU, |t| t.qemu),
    };
    let mut mem = super::memdev::check(m.body.find("memory"), memdevs, cells, m.memory.kib, target, cx.diags);
    let on = super::memdev::address_space::AddressSpace {
        domain: m.platform.domain_type,
        cpu: &m.platform.cpu,
        machine: target.machine,
        qemu: target.qemu,
    };
    super::memdev::address_space::check(m.body.find("memory"), on, m.memory.kib, mem.max, cx.diags);
    super::memdev::host::check(&mut mem, memdevs, cells, m.memory.hugepage_kib, m.binding, cx, claims);
    if let (Some(state), Some(h)) = (m.ledger, cx.host) {
        super::ledger::record_claims(&mut state.ledger, h.profile, &claims.list);
    }
    mem
}

/// What `vnuma` places the guest by.
/// The guest's cache and memory-bandwidth allocations: its `cachetune` and `memorytune`
/// lines, and what `vnuma … l3=` gives each placed cell.
fn tunes(
    body: &Body<'_>,
    platform: &Platform,
    vcpus: &Vcpus,
    cells: &Cells,
    pinning: &Pins,
    placed: &Option<super::vnuma::Placed>,
    cx: &mut Cx<'_, '_>,
) -> Tunes {
    let derived = super::resctrl_cells::derive(body, &cells.cells, &pinning.pins, placed.is_some(), cx);
    super::resctrl::check(body, vcpus.count, platform.kvm(), &derived, cx)
}

fn facts(vcpus: &Vcpus, memory: &Memory, memory_span: Span, pinning: &Pins) -> GuestFacts {
    GuestFacts {
        vcpus: vcpus.count,
        vcpus_span: vcpus.span,
        memory_kib: memory.kib,
        memory_span,
        page_kib: memory.hugepage_kib,
        isolated: pinning.threads.isolation(),
        isolate_span: pinning.threads.isolate_span(),
    }
}

/// What the passes found, before it becomes the model.
struct Parts {
    name: String,
    platform: Platform,
    memory: Memory,
    vcpus: Vcpus,
    topology: Option<Topology>,
    cells: Cells,
    pinning: Pins,
    threads: ThreadPins,
    memory_binding: Option<MemBinding>,
    sched: Sched,
    tunes: Tunes,
    mem: MemoryDevices,
    device_set: Option<DeviceSet>,
    spans: GuestSpans,
}

impl Parts {
    /// The checked guest; on a host of libvirt 9.2 or later, with the host nodes of its
    /// emulator's CPUs, which narrow a preallocated backend's thread-context.
    fn into_guest(self, host: Option<&HostRef<'_>>) -> Guest {
        let Parts {
            name,
            platform,
            memory,
            vcpus,
            topology,
            cells,
            pinning,
            threads,
            memory_binding,
            sched,
            tunes,
            mem,
            device_set,
            mut spans,
        } = self;
        spans.sched = sched.spans;
        spans.cachetunes = tunes.cache_spans;
        spans.memorytunes = tunes.memory_spans;
        spans.cache_allocs = tunes.cache_allocs;
        spans.bandwidth_allocs = tunes.bandwidth_allocs;
        let emulator_nodes =
            host.and_then(|h| super::emulator::emulator_nodes(h.profile, h.target.libvirt, threads.emulator.as_ref()));
        let mut g = Guest {
            name,
            domain_type: platform.domain_type,
            family: platform.family(),
            numa_mem: crate::ir::numa_mem_supported(&platform.machine),
            machine: platform.machine,
            cpu: platform.cpu,
            cpu_options: platform.cpu_options,
            memory_kib: memory.kib,
            locked: memory.locked,
            hugepage_kib: memory.hugepage_kib,
            backing: memory.backing,
            vcpus: vcpus.count,
            topology,
            cells: cells.cells,
            distances: cells.distances,
            hmat: cells.hmat,
            pins: pinning.pins,
            emulator_pin: threads.emulator,
            emulator_nodes,
            iothreads: threads.count,
            iothread_pins: threads.pins,
            isolated: threads.isolated,
            shared_vcpus: threads.shared_vcpus,
            memory_binding,
            sched: sched.list,
            cachetunes: tunes.cache,
            memorytunes: tunes.memory,
            vcpu_states: Vec::new(),
            max_memory: mem.max,
            memory_devices: mem.devices,
            controllers: device_set.as_ref().map(|d| d.controllers.clone()).unwrap_or_default(),
            ahci: device_set.as_ref().and_then(|d| d.ahci),
            devices: device_set.map(|d| d.devices).unwrap_or_default(),
            spans,
        };
        if let Some(m) = vcpus.current {
            g.vcpu_states = crate::place::hotplug::fixed_states(g.vcpus, m);
        } else if let Some(boot) = vcpus.boot {
            g.vcpu_states = crate::place::hotplug::states(&g, boot);
        }
        g
    }
}

/// Where each part of the model was written, for diagnostics and editors.
fn spans(
    stmt: &Fields<'_>,
    body: &Body<'_>,
    cells: &Cells,
    pinning: &Pins,
    mem: &MemoryDevices,
    memdevs: &[&Fields<'_>],
    device_set: Option<&DeviceSet>,
) -> GuestSpans {
    let named = |name: &str| {
        let block = body.find("devices");
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
    GuestSpans {
        guest: stmt.span(),
        name: stmt.arg_span(0),
        cells: cells.cell_spans.clone(),
        pins: pinning.spans.clone(),
        shared_pins: pinning.shared.clone(),
        vnuma: body.find("vnuma").map(|v| v.span()),
        memory: body.find("memory").map(|v| v.span()),
        vcpus: body.find("vcpus").map(|v| v.span()),
        emulator: body.find("emulator").map(|v| v.span()),
        iothreads: body.find("iothreads").map(|v| v.span()),
        memory_devices: mem
            .statements
            .iter()
            .map(|&i| memdevs.get(i).map(|f| f.span()).unwrap_or(stmt.span()))
            .collect(),
        controllers: device_set
            .map(|d| d.controllers.iter().map(|c| named(&c.name)).collect())
            .unwrap_or_default(),
        devices: device_set
            .map(|d| d.devices.iter().map(|x| named(&x.name)).collect())
            .unwrap_or_default(),
        sched: Vec::new(),
        cache_allocs: Vec::new(),
        bandwidth_allocs: Vec::new(),
        cachetunes: Vec::new(),
        memorytunes: Vec::new(),
    }
}
