//! Hover: the documentation of the statement or property under the cursor (from the
//! schema, the same text as docs/language.md), and the facts the checker resolved there:
//! where each vCPU runs, where each cell's memory lives, what is left on the host node.

use super::cursor::{At, locate, spec};
use super::resolve::{Resolved, host_named, resolve};
use crate::check::HostDef;
use crate::db::{self, ItemKey, ItemKind, Program, SourceFile};
use crate::host::HostProfile;
use crate::ir::{Guest, GuestCell};
use crate::lang::{Context, Kind, StmtSpec};
use crate::sets::IdSet;
use crate::span::Span;
use crate::syntax::ast::Statement;
use crate::units::human_kib;
use std::collections::HashMap;
use std::fmt::Write;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hover {
    /// What the hover is about.
    pub span: Span,
    /// Markdown.
    pub markdown: String,
}

pub fn hover(db: &dyn salsa::Database, program: Program, file: SourceFile, offset: u32) -> Option<Hover> {
    let parsed = db::parse(db, file);
    let cursor = locate(&parsed.ast, offset);
    let (stmt, context) = cursor.innermost()?;
    let spec = spec(stmt, context);
    let checked = &db::check_program(db, program).checked;
    let resolved = resolve(checked, cursor.top());
    let mut md = String::new();
    let span = match cursor.at {
        At::Keyword | At::Arg(..) | At::Elsewhere => {
            let spec = spec?;
            statement_doc(&mut md, spec);
            let facts = facts(db, program, stmt, &resolved);
            if !facts.is_empty() {
                md.push_str("\n---\n");
                md.push_str(&facts);
            }
            stmt.head_span()
        }
        At::Key(p) => {
            let ps = spec?.props.iter().find(|ps| ps.key == p.key.text)?;
            let _ = write!(md, "**{}=** {}\n\n{}", ps.key, ps.kind.describe(), ps.doc);
            p.key.span
        }
        At::Value(p) => {
            if p.key.text == "on" && context == Context::File {
                let host = host_named(checked, &p.value.text)?;
                let hi = checked
                    .hosts
                    .iter()
                    .position(|h| h.as_ref().is_some_and(|h| h.name == host.name));
                host_facts(&mut md, host, &node_use(db, program), hi, None);
                p.value.span
            } else {
                let ps = spec?.props.iter().find(|ps| ps.key == p.key.text)?;
                let _ = write!(md, "**{}=** {}\n\n{}", ps.key, ps.kind.describe(), ps.doc);
                if let Kind::OneOf(words) | Kind::IntOr(words) = ps.kind
                    && words.contains(&p.value.text.as_str())
                {
                    let _ = write!(md, "\n\n`{}` is one of: {}", p.value.text, words.join(", "));
                }
                p.value.span
            }
        }
    };
    (!md.is_empty()).then_some(Hover { span, markdown: md })
}

fn statement_doc(md: &mut String, spec: &StmtSpec) {
    let _ = writeln!(md, "{}", format!("**{}** {}", spec.keyword, spec.usage()).trim_end());
    let _ = writeln!(md, "\n{}", spec.doc);
    if !spec.props.is_empty() {
        md.push('\n');
        for p in spec.props {
            let req = if p.required { " (required)" } else { "" };
            let _ = writeln!(md, "- `{}=` {}{req}: {}", p.key, p.kind.describe(), p.doc);
        }
    }
}

/// KiB of host memory bound by guests, per (host index, node id).
fn node_use(db: &dyn salsa::Database, program: Program) -> HashMap<(usize, u32), u64> {
    let mut used = HashMap::new();
    for i in 0..db::items(db, program).guests.len() {
        let step = db::guest_step(db, ItemKey::new(db, program, ItemKind::Guest, i as u32));
        for c in &step.claims {
            *used.entry((c.host, c.node)).or_insert(0) += c.kib;
        }
    }
    used
}

fn facts(db: &dyn salsa::Database, program: Program, stmt: &Statement, r: &Resolved<'_>) -> String {
    let mut md = String::new();
    let kw = stmt.keyword.text.as_str();
    let host_index = |h: &HostDef| {
        r.checked
            .hosts
            .iter()
            .position(|x| x.as_ref().is_some_and(|x| x.name == h.name))
    };
    match (kw, r.guest, r.host) {
        ("guest", Some(g), host) => {
            let _ = writeln!(
                md,
                "guest `{}`: {} vCPUs, {} memory, {} cell(s){}",
                g.name,
                g.vcpus,
                human_kib(g.total_memory_kib()),
                g.cells.len(),
                host.map(|h| format!(", on host `{}`", h.name)).unwrap_or_default()
            );
            if let Some(h) = host {
                cells_table(&mut md, g, &g.cells, &h.profile, &node_use(db, program), host_index(h));
            }
        }
        ("vnuma" | "numa", Some(g), Some(h)) => {
            cells_table(&mut md, g, &g.cells, &h.profile, &node_use(db, program), host_index(h));
        }
        ("cell", Some(g), Some(h)) => {
            let id = stmt.args.first().and_then(|a| a.text.parse::<u32>().ok());
            let cells: Vec<GuestCell> = g.cells.iter().filter(|c| Some(c.id) == id).cloned().collect();
            cells_table(&mut md, g, &cells, &h.profile, &node_use(db, program), host_index(h));
        }
        ("pin", Some(g), Some(h)) => {
            let vcpus = stmt
                .prop("vcpus")
                .and_then(|p| IdSet::parse(&p.value.text).ok())
                .unwrap_or_default();
            for p in g.pins.iter().filter(|p| vcpus.contains(p.vcpu)) {
                let _ = writeln!(md, "- vCPU {} → {}", p.vcpu, cpus_facts(&h.profile, &p.cpus));
            }
        }
        ("sched", Some(g), Some(h)) => {
            // Where the vCPUs it sets run: a real-time vCPU needs a host CPU of its own.
            let vcpus = stmt
                .prop("vcpus")
                .and_then(|p| IdSet::parse(&p.value.text).ok())
                .unwrap_or_default();
            let mut pins = g.pins.iter().filter(|p| vcpus.contains(p.vcpu)).peekable();
            for v in vcpus.iter().take_while(|v| *v < g.vcpus) {
                match pins.next_if(|p| p.vcpu == v) {
                    Some(p) => {
                        let _ = writeln!(md, "- vCPU {v} → {}", cpus_facts(&h.profile, &p.cpus));
                    }
                    None => {
                        let _ = writeln!(md, "- vCPU {v} → not pinned: any host CPU");
                    }
                }
            }
        }
        ("emulator" | "iothreads" | "iothread", Some(g), Some(h)) => {
            let one = (kw == "iothread")
                .then(|| stmt.args.first().and_then(|a| a.text.parse::<u32>().ok()))
                .flatten();
            threads_facts(&mut md, g, &h.profile, kw == "emulator", one);
        }
        ("node", _, Some(h)) if r.guest.is_none() => {
            let id = stmt.args.first().and_then(|a| a.text.parse::<u32>().ok());
            host_facts(&mut md, h, &node_use(db, program), host_index(h), id);
        }
        ("host", None, Some(h)) => host_facts(&mut md, h, &node_use(db, program), host_index(h), None),
        (_, Some(g), host) => {
            if let Some(name) = stmt.args.first().map(|a| a.text.as_str()) {
                device_facts(&mut md, g, host, &stmt.keyword.text, name);
            }
        }
        _ => {}
    }
    md
}

/// Where the emulator threads (`emulator`) or the I/O threads (all, or thread `one`) run,
/// and which have a core of their own.
fn threads_facts(md: &mut String, g: &Guest, host: &HostProfile, emulator: bool, one: Option<u32>) {
    const OWN: &str = ", a core of its own (isolated)";
    if emulator {
        if let Some(e) = &g.emulator_pin {
            let own = if g.isolated.emulator { OWN } else { "" };
            let _ = writeln!(md, "- emulator threads → {}{own}", cpus_facts(host, e));
        }
        return;
    }
    for (k, pin) in (1u32..).zip(&g.iothread_pins) {
        if one.is_some_and(|o| o != k) {
            continue;
        }
        let own = if g.isolated.iothreads { OWN } else { "" };
        let at = pin
            .as_ref()
            .map_or_else(|| "not pinned".to_string(), |p| cpus_facts(host, p));
        let _ = writeln!(md, "- I/O thread {k} → {at}{own}");
    }
}

/// "CPUs 1,61 (core 0 of socket 0, node 0)".
fn cpus_facts(host: &HostProfile, cpus: &IdSet) -> String {
    let mut cores: Vec<(u32, u32)> = cpus
        .iter()
        .filter_map(|c| host.cpu(c))
        .map(|c| (c.socket, c.core))
        .collect();
    cores.sort();
    cores.dedup();
    let nodes = host.nodes_of_cpus(cpus);
    let cores_text = match cores.as_slice() {
        [(s, c)] => format!("core {c} of socket {s}"),
        many => format!("{} cores", many.len()),
    };
    let noun = if cpus.len() == 1 { "CPU" } else { "CPUs" };
    format!("{noun} {cpus} ({cores_text}, node {nodes})")
}

/// Where a device or PCI controller sits: its bus and slot, the guest cell of the expander
/// it hangs from, and the host node that cell's memory is on.
fn device_facts(md: &mut String, g: &Guest, host: Option<&HostDef>, keyword: &str, name: &str) {
    match keyword {
        "serial" => {
            let _ = writeln!(md, "The serial port is not a PCI device: it has no NUMA node");
            return;
        }
        "console" => {
            let _ = writeln!(md, "The console is not a PCI device: it has no NUMA node");
            return;
        }
        _ => {}
    }
    use crate::ir::ControllerKind;
    use crate::ir::{DeviceKind, DiskBus};
    let (address, is_controller) = match (
        g.devices.iter().find(|d| d.name == name),
        g.controllers.iter().find(|c| c.name == name),
    ) {
        (Some(d), _) => {
            let no_pci = match d.kind {
                DeviceKind::Disk { bus: DiskBus::Sata, .. } => Some(match g.ahci {
                    Some(a) => format!(
                        "`{name}` sits on port {} of the AHCI controller in slot {:#04x} of pci.0, \
                         with no NUMA node of its own",
                        d.ordinal, a.slot
                    ),
                    None => {
                        format!("`{name}` sits on the built-in SATA controller (pcie.0), with no NUMA node of its own")
                    }
                }),
                _ => None,
            };
            if let Some(what) = no_pci {
                let _ = writeln!(md, "{what}");
                return;
            }
            (d.address, false)
        }
        (None, Some(c)) => (Some(c.address), true),
        (None, None) => return,
    };
    let Some(a) = address else { return };
    let mut bus = a.bus;
    let mut path = Vec::new();
    let mut cell = None;
    if is_controller
        && let Some(c) = g.controllers.iter().find(|c| c.name == name)
        && let ControllerKind::Expander { node, .. } = c.kind
    {
        cell = Some(node);
    }
    while let Some(c) = g.controllers.iter().find(|c| c.index == bus) {
        path.push(format!("`{}` (pci.{})", c.name, c.index));
        if let ControllerKind::Expander { node, .. } = c.kind {
            cell = cell.or(Some(node));
        }
        if c.address.bus == bus {
            break;
        }
        bus = c.address.bus;
    }
    path.push(g.family.root_bus().to_string());
    let _ = writeln!(
        md,
        "`{name}`: slot {:#04x}.{} on {}",
        a.slot,
        a.function,
        path.join(" on ")
    );
    match cell.and_then(|c| g.cells.iter().find(|x| x.id == c)) {
        Some(c) => {
            let nodes = match (&c.binding, host) {
                (Some(b), Some(_)) => format!(", whose memory is on host node {}", b.nodes),
                _ => String::new(),
            };
            let _ = writeln!(md, "\nNUMA: guest cell {}{nodes}", c.id);
        }
        None => {
            let _ = writeln!(md, "\nNUMA: no node of its own (on the root complex)");
        }
    }
    if let Some(DeviceKind::Disk { iothread: Some(k), .. }) = g.devices.iter().find(|d| d.name == name).map(|d| &d.kind)
    {
        let _ = writeln!(md, "\nServed by I/O thread {k}");
    }
}

fn cells_table(
    md: &mut String,
    g: &Guest,
    cells: &[GuestCell],
    host: &HostProfile,
    used: &HashMap<(usize, u32), u64>,
    host_index: Option<usize>,
) {
    if cells.is_empty() {
        return;
    }
    md.push_str("\n| cell | vCPUs | host CPUs | memory | on host node |\n|---|---|---|---|---|\n");
    for c in cells {
        let mut cpus = IdSet::new();
        for p in g.pins.iter().filter(|p| c.vcpus.contains(p.vcpu)) {
            cpus = cpus.union(&p.cpus);
        }
        let cpus = if cpus.is_empty() {
            "unpinned".to_string()
        } else {
            cpus_facts(host, &cpus)
        };
        let memory = match &c.binding {
            Some(b) => {
                let free: Vec<String> = b
                    .nodes
                    .iter()
                    .filter_map(|n| {
                        let node = host.node(n)?;
                        let taken = host_index.and_then(|h| used.get(&(h, n))).copied().unwrap_or(0);
                        Some(format!(
                            "{n} ({}, {} left)",
                            b.policy.libvirt(),
                            human_kib(node.memory_kib.saturating_sub(taken))
                        ))
                    })
                    .collect();
                free.join(", ")
            }
            None => "unbound".to_string(),
        };
        let vcpus = if c.vcpus.is_empty() {
            "none".to_string()
        } else {
            c.vcpus.to_string()
        };
        let _ = writeln!(
            md,
            "| {} | {vcpus} | {cpus} | {} | {memory} |",
            c.id,
            human_kib(c.memory_kib)
        );
    }
}

fn host_facts(
    md: &mut String,
    h: &HostDef,
    used: &HashMap<(usize, u32), u64>,
    host_index: Option<usize>,
    only: Option<u32>,
) {
    let p = &h.profile;
    if only.is_none() {
        let _ = writeln!(
            md,
            "host `{}`: {} node(s), {} CPUs, {} memory{}",
            h.name,
            p.nodes.len(),
            p.cpus.len(),
            human_kib(p.nodes.iter().map(|n| n.memory_kib).sum()),
            if p.reserved.is_empty() {
                String::new()
            } else {
                format!(", CPUs {} reserved", p.reserved)
            }
        );
    }
    let _ = writeln!(
        md,
        "\n| node | CPUs | memory | bound by guests | left |\n|---|---|---|---|---|"
    );
    for n in p.nodes.iter().filter(|n| only.is_none_or(|o| o == n.id)) {
        let taken = host_index.and_then(|h| used.get(&(h, n.id))).copied().unwrap_or(0);
        let cpus = if n.cpus.is_empty() {
            "none".to_string()
        } else {
            n.cpus.to_string()
        };
        let _ = writeln!(
            md,
            "| {} | {cpus} | {} | {} | {} |",
            n.id,
            human_kib(n.memory_kib),
            human_kib(taken),
            human_kib(n.memory_kib.saturating_sub(taken))
        );
    }
}
