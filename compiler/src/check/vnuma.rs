//! `vnuma`: the statement → a placement request; the plan → cells, pins and topology.

use super::body::Body;
use super::cells::{Cells, MAX_CELLS, too_many_cells};
use super::cx::Cx;
use super::cx::HostRef;
use super::pins::Pins;
use crate::codes::*;
use crate::diagnostics::Diagnostic;
use crate::ir::{GuestCell, MemPolicy, Topology, VcpuPin};
use crate::lang::Fields;
use crate::place::topo::{HostTopo, Ledger};
use crate::place::{self, Distribution, Field, Isolation, Mode, Pinning, Request};
use crate::sets::IdSet;
use crate::span::Span;

/// Placement state of one host across the guests of a build.
pub struct PlaceState<'t> {
    pub topo: &'t HostTopo,
    pub ledger: Ledger,
}

pub struct Placed {
    pub cells: Vec<GuestCell>,
    pub pins: Vec<VcpuPin>,
    pub topology: Topology,
    pub distances: Option<Vec<Vec<u32>>>,
    /// The host node of cell 0, for the emulator threads.
    pub emulator_node: u32,
    pub dedicated: bool,
    /// Each isolated thread's core: (cell, its threads), cell 0's first.
    pub isolated: Vec<(usize, IdSet)>,
    /// The host nodes each cell runs on.
    pub cell_nodes: Vec<IdSet>,
    /// The host CPUs of every core the guest holds: its dedicated vCPUs' and isolated
    /// threads', siblings included.
    pub held: IdSet,
}

pub struct GuestFacts {
    pub vcpus: u32,
    pub vcpus_span: Span,
    pub memory_kib: u64,
    pub memory_span: Span,
    pub page_kib: Option<u64>,
    /// Cores for isolated threads, and where `policy=isolate` is written.
    pub isolated: Isolation,
    pub isolate_span: Option<Span>,
}

/// `numa`, `pin`, `topology` and `memory-policy` are what `vnuma` derives: none is written
/// next to it.
pub(super) fn conflicts(body: &Body<'_>, cx: &mut Cx<'_, '_>) {
    if let Some(v) = body.find("vnuma") {
        for other in body
            .fields
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
}

/// `cells=`, or the host nodes `mode=host` mirrors, past what QEMU takes; known before planning.
fn too_many_requested(f: &Fields<'_>) -> Option<Diagnostic> {
    if let Some(n) = f.int("cells").filter(|n| *n > MAX_CELLS as u64) {
        return Some(too_many_cells(n, f.span_of("cells"), &format!("at most {MAX_CELLS}")));
    }
    let nodes = f.set("nodeset").map_or(0, |s| s.len());
    (f.text("mode") != Some("node") && nodes > MAX_CELLS).then(|| {
        too_many_cells(
            nodes as u64,
            f.span_of("nodeset"),
            &format!("`mode=host` makes a cell of each of these {nodes} nodes"),
        )
    })
}

/// The placement request a `vnuma` statement makes for a guest.
fn request(f: &Fields<'_>, facts: &GuestFacts, near: IdSet) -> Request {
    Request {
        mode: if f.text("mode") == Some("node") {
            Mode::Node
        } else {
            Mode::Host
        },
        nodeset: f.set("nodeset").cloned(),
        cells: f.int("cells").map(|c| u32::try_from(c).unwrap_or(u32::MAX)),
        distribution: Distribution::parse(f.text("distribution").unwrap_or("contiguous")),
        pinning: if f.text("pinning") == Some("node") {
            Pinning::Node
        } else {
            Pinning::Cpu
        },
        memory_mode: MemPolicy::parse(f.text("memory-mode").unwrap_or("strict")),
        vcpus: facts.vcpus,
        memory_kib: facts.memory_kib,
        page_kib: facts.page_kib,
        isolated: facts.isolated,
        shared: f.set("shared-vcpus").cloned().unwrap_or_default(),
        near,
        l3_bytes: f.size("l3"),
    }
}

/// What the picked nodes were chosen for besides room, for the note that names them.
fn wanted_words(plan: &place::Plan, req: &Request) -> String {
    let mut parts = Vec::new();
    if plan.wanted && !req.near.is_empty() {
        let nodes = if req.near.len() == 1 { "node" } else { "nodes" };
        parts.push(format!(
            "a cell on host {nodes} {} of the devices it needs near",
            req.near
        ));
    }
    if plan.wanted && req.l3_bytes.is_some() {
        parts.push("an L3 cache with the `l3=` size free on each".to_string());
    }
    if parts.is_empty() {
        return String::new();
    }
    format!(" with {}", parts.join(" and "))
}

/// The host nodes of the devices the guest needs near: each `hostdev` and each NIC's
/// `uplink=` on `node=auto policy=required` (or `legacy`) that the host lists with a node. What else
/// the device lines say is checked with the devices.
fn required_nodes(body: &Body<'_>, host: &crate::host::HostProfile) -> IdSet {
    let Some(block) = body.find("devices").and_then(|d| d.stmt.block.as_ref()) else {
        return IdSet::new();
    };
    let mut ignored = Vec::new();
    let mut nodes = IdSet::new();
    for s in &block.statements {
        let Some(f) = crate::lang::check(s, crate::lang::Context::Devices, &mut ignored) else {
            continue;
        };
        // `legacy` requires a cell on the node of a device that reports one, as `required`.
        if f.text("node") != Some("auto") || !matches!(f.text("policy"), Some("required" | "legacy")) {
            continue;
        }
        let key = match f.keyword() {
            "hostdev" => f.arg_text(0),
            "nic" => f.text("uplink"),
            _ => None,
        };
        let node = key
            .and_then(|k| host.pci.iter().find(|p| p.address == k))
            .and_then(|p| p.node);
        if let Some(n) = node {
            nodes.insert(n);
        }
    }
    nodes
}

/// Why a guest was not placed, at the part of its statements the reason is about.
fn plan_error(f: &Fields<'_>, facts: &GuestFacts, host: &HostRef<'_>, e: place::PlanError) -> Diagnostic {
    let span = match e.field {
        Field::SharedVcpus if f.has("shared-vcpus") => f.span_of("shared-vcpus"),
        Field::Threads => facts.isolate_span.unwrap_or(f.stmt.keyword.span),
        Field::Nodeset if f.has("nodeset") => f.span_of("nodeset"),
        Field::Cells if f.has("cells") => f.span_of("cells"),
        Field::Distribution if f.has("distribution") => f.span_of("distribution"),
        Field::MemoryMode if f.has("memory-mode") => f.span_of("memory-mode"),
        Field::Vcpus => facts.vcpus_span,
        Field::Memory => facts.memory_span,
        _ => f.stmt.keyword.span,
    };
    let code = match (e.field, e.capacity) {
        (Field::Threads | Field::SharedVcpus, true) => THREAD_NO_CORE,
        (Field::SharedVcpus, false) => THREAD_POLICY,
        (_, true) => VNUMA_NO_ROOM,
        (_, false) => VNUMA_INVALID,
    };
    let label = if e.capacity { "does not fit" } else { "cannot be met" };
    let mut d = Diagnostic::error(code, e.message, span, label);
    if span != f.stmt.keyword.span {
        d = d.with_label(f.stmt.keyword.span, format!("placed on host `{}`", host.name));
    }
    if !e.help.is_empty() {
        d = d.with_help(e.help.join("; "));
    }
    d
}

pub fn place_guest(
    f: &Fields<'_>,
    facts: &GuestFacts,
    near: IdSet,
    host: &HostRef<'_>,
    state: &mut PlaceState<'_>,
    diags: &mut Vec<Diagnostic>,
) -> Option<Placed> {
    if let Some(d) = too_many_requested(f) {
        diags.push(d);
        return None;
    }
    let req = request(f, facts, near);
    // After one guest did not fit, the others that do not fit are summed up, not explained.
    let planned = if state.ledger.failed == 0 {
        place::plan_with_hints(host.profile, state.topo, &state.ledger, &req)
    } else {
        place::plan(host.profile, state.topo, &state.ledger, &req)
    };
    let plan = match planned {
        Ok(p) => p,
        Err(e) => {
            if e.capacity {
                state.ledger.failed += 1;
            }
            diags.push(plan_error(f, facts, host, e));
            return None;
        }
    };
    if plan.picked {
        diags.push(
            Diagnostic::note(
                PICKED_NODES,
                format!("placed on node{} {} of host `{}`", if plan.nodes.len() > 1 { "s" } else { "" }, plan.nodes, host.name),
                f.stmt.keyword.span,
                "nodes chosen here",
            )
            .with_help(format!(
                "chosen as the fewest nodes that fit{}, then the least used, then the most free memory; write `nodeset={}` to keep it",
                wanted_words(&plan, &req),
                plan.nodes
            )),
        );
    }
    if let Some(why) = &plan.uneven {
        diags.push(
            Diagnostic::warning(UNEVEN_CELLS, why.clone(), f.stmt.keyword.span, "uneven cells")
                .with_help("every socket still sits inside one cell, but the guest topology falls back to one socket per unit; choose a vCPU count divisible by the cells for equal sockets"),
        );
    }
    if plan.cells.len() > MAX_CELLS {
        diags.push(too_many_cells(
            plan.cells.len() as u64,
            f.stmt.keyword.span,
            &format!("mirrors {} host nodes", plan.cells.len()),
        ));
        return None;
    }
    place::commit(&mut state.ledger, state.topo, &plan);
    let cells = plan
        .cells
        .iter()
        .enumerate()
        .map(|(i, c)| GuestCell {
            id: i as u32,
            vcpus: c.vcpus.clone(),
            memory_kib: c.memory_kib,
            binding: Some(c.binding.clone()),
            hugepage_kib: facts.page_kib,
            shared: None,
            discard: None,
        })
        .collect();
    // Whole cores: each dedicated CPU with its siblings, and the isolated threads' cores.
    let held: IdSet = plan
        .dedicated
        .iter()
        .flat_map(|c| std::iter::once(c).chain(host.profile.cpu(c).into_iter().flat_map(|cpu| cpu.siblings.iter())))
        .chain(plan.isolated.iter().flat_map(|(_, core)| core.iter()))
        .collect();
    Some(Placed {
        emulator_node: plan.cells.first().and_then(|c| c.nodes.first()).unwrap_or(0),
        dedicated: req.pinning == Pinning::Cpu,
        isolated: plan.isolated.clone(),
        cell_nodes: plan.cells.iter().map(|c| c.nodes.clone()).collect(),
        held,
        cells,
        pins: plan.pins,
        topology: plan.topology,
        distances: plan.distances,
    })
}

/// A guest placed by `vnuma`, with the statement that asked for it.
pub(super) struct Placement<'s> {
    placed: Placed,
    vnuma: &'s Fields<'s>,
}

/// `vnuma`: placement on the guest's host, only for a guest that is otherwise `sound`.
pub(super) fn check<'s>(
    body: &'s Body<'s>,
    facts: &GuestFacts,
    state: Option<&mut PlaceState<'_>>,
    sound: bool,
    cx: &mut Cx<'_, '_>,
) -> Option<Placement<'s>> {
    let v = body.find("vnuma")?;
    let Some(host) = cx.host else {
        cx.need_host("`vnuma`", v.stmt.keyword.span);
        return None;
    };
    if !shared_vcpus(v, facts.vcpus, cx) || !sound {
        return None;
    }
    let near = required_nodes(body, host.profile);
    let placed = place_guest(v, facts, near, host, state?, cx.diags)?;
    Some(Placement { placed, vnuma: v })
}

impl Placement<'_> {
    /// The placed cells, pins and topology in place of the (empty) written ones; what is
    /// left of the placement: the threads' and the guest's use of its host.
    pub(super) fn apply(self, cells: &mut Cells, pinning: &mut Pins, topology: &mut Option<Topology>) -> Placed {
        let (mut p, v) = (self.placed, self.vnuma);
        cells.cells = std::mem::take(&mut p.cells);
        pinning.pins = std::mem::take(&mut p.pins);
        cells.cell_spans = vec![v.span(); cells.cells.len()];
        pinning.spans = vec![v.span(); pinning.pins.len()];
        *topology = Some(p.topology);
        cells.distances = p.distances.take();
        cells.binding_spans = vec![Some(v.stmt.keyword.span); cells.cells.len()];
        p
    }
}

/// `shared-vcpus=`: vCPUs the guest has, some but not all of them, with `pinning=cpu`.
fn shared_vcpus(v: &Fields<'_>, vcpus: u32, cx: &mut Cx<'_, '_>) -> bool {
    let Some(shared) = v.set("shared-vcpus") else {
        return true;
    };
    let span = v.span_of("shared-vcpus");
    if vcpus > 0
        && let Some(out) = shared.last().filter(|&s| s >= vcpus)
    {
        cx.err(
            Diagnostic::error(
                VCPU_RANGE,
                format!("vCPU {out} does not exist"),
                span,
                format!("the guest has vCPUs 0-{}", vcpus - 1),
            )
            .with_help(format!("name vCPUs within 0-{}", vcpus - 1)),
        );
        return false;
    }
    let problem = if v.text("pinning") == Some("node") {
        Some((
            "`shared-vcpus` with `pinning=node`: every vCPU floats over its node already".to_string(),
            "remove `shared-vcpus`, or use `pinning=cpu` (the default) to dedicate the others a core each",
        ))
    } else if shared.len() as u64 >= u64::from(vcpus) {
        Some((
            "`shared-vcpus` names every vCPU, so none is dedicated".to_string(),
            "leave at least one vCPU dedicated, or write `pinning=node` for a guest whose vCPUs all float",
        ))
    } else {
        None
    };
    if let Some((message, help)) = problem {
        cx.err(Diagnostic::error(THREAD_POLICY, message, span, "shared vCPUs").with_help(help));
        return false;
    }
    true
}
