//! `vnumac explain` as text: one row per vCPU, then a per-node summary for each host.

use super::usage::{guests_on, node_use};
use crate::check::Checked;
use crate::host::HostProfile;
use crate::host::target::Target;
use crate::ir::{ControllerKind, DeviceKind, Guest, GuestCell, MachineFamily, SchedThreads, ThreadSched, VcpuSched};
use crate::sets::IdSet;
use crate::units::human_kib;
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write;

/// The placement map as text: one row per vCPU, then a per-node summary for each host.
pub fn text(checked: &Checked, only: Option<&str>) -> String {
    let mut out = String::new();
    for (gi, g) in checked.build.guests.iter().enumerate() {
        if only.is_some_and(|n| n != g.name) {
            continue;
        }
        let host = checked.host_of(gi).map(|h| (h.name.as_str(), &*h.profile));
        guest_text(&mut out, g, host);
    }
    for (hi, h) in checked.hosts.iter().enumerate() {
        let Some(h) = h else { continue };
        let guests = guests_on(checked, hi);
        if guests.is_empty() || only.is_some_and(|n| !guests.iter().any(|g| g.name == n)) {
            continue;
        }
        host_text(&mut out, &h.name, &h.profile, &guests);
        target_text(&mut out, &h.target);
    }
    out
}

/// One guest: its vCPUs row by row, its emulator threads, its cells.
fn guest_text(out: &mut String, g: &Guest, host: Option<(&str, &HostProfile)>) {
    let t = g.effective_topology();
    let _ = writeln!(
        out,
        "guest {}{}: {} vCPUs, {} cells, topology {}×{}×{}×{} (sockets×dies×cores×threads), {} memory",
        g.name,
        host.map(|(name, _)| format!(" on host {name}")).unwrap_or_default(),
        g.vcpus,
        g.cells.len(),
        t.sockets,
        t.dies,
        t.cores,
        t.threads,
        human_kib(g.memory_kib),
    );
    let profile = host.map(|(_, p)| p);
    let nodes: Vec<u32> = profile
        .map(|p| p.nodes.iter().map(|n| n.id).collect())
        .unwrap_or_default();
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "  VCPU  CELL  HOST CPUS        NODE  SOCKET/CORE  AFFINITY (one mark per host node: {})",
        nodes.iter().map(|n| n.to_string()).collect::<Vec<_>>().join(" ")
    );
    let sched = VcpuSched::new(&g.sched);
    for v in 0..g.vcpus {
        vcpu_row(out, g, profile, v, &sched);
    }
    threads_text(out, g, profile);
    thread_sched(out, g);
    super::resctrl::guest_tunes(out, g, profile);
    let _ = writeln!(out);
    let l3 = profile.map(|p| p.l3_map()).unwrap_or_default();
    for c in &g.cells {
        let note = cell_note(g, c, profile, &l3);
        let _ = writeln!(
            out,
            "  cell {}: vCPUs {}, {}{}{note}",
            c.id,
            if c.vcpus.is_empty() {
                "none".into()
            } else {
                c.vcpus.to_string()
            },
            human_kib(c.memory_kib),
            c.binding
                .as_ref()
                .map(|b| format!(" on host node {} ({})", b.nodes, b.policy.libvirt()))
                .unwrap_or_else(|| " (not bound)".into())
        );
    }
    expanders_text(out, g);
    devices_text(out, g);
    let _ = writeln!(out);
}

/// Each expander bus: its kind and bus number, its cell and that cell's host node, and the
/// devices behind it (on its root ports on q35, on its own bus on `pc`).
fn expanders_text(out: &mut String, g: &Guest) {
    // The expander each controller index leads to: itself, or the one a root port is on.
    let mut exp_of: HashMap<u32, u32> = HashMap::new();
    for c in &g.controllers {
        match c.kind {
            ControllerKind::Expander { .. } => {
                exp_of.insert(c.index, c.index);
            }
            ControllerKind::RootPort { .. } => {
                if let Some(&e) = exp_of.get(&c.address.bus) {
                    exp_of.insert(c.index, e);
                }
            }
        }
    }
    let mut behind: HashMap<u32, Vec<&str>> = HashMap::new();
    for d in &g.devices {
        if let Some(&e) = d.address.as_ref().and_then(|a| exp_of.get(&a.bus)) {
            behind.entry(e).or_default().push(&d.name);
        }
    }
    for c in &g.controllers {
        let ControllerKind::Expander { bus_nr, node } = c.kind else {
            continue;
        };
        let host = g
            .cells
            .iter()
            .find(|x| x.id == node)
            .and_then(|x| x.binding.as_ref())
            .map(|b| format!(" (host node {})", b.nodes))
            .unwrap_or_default();
        let devices = behind
            .get(&c.index)
            .map_or_else(|| "nothing".to_string(), |d| d.join(", "));
        let _ = writeln!(
            out,
            "  expander {} ({}, bus {bus_nr}) on cell {node}{host}: {devices}",
            c.name,
            g.family.expander().1
        );
    }
}

/// The devices `node=auto` placed: the host node that decided and the cell it gave.
fn devices_text(out: &mut String, g: &Guest) {
    for d in &g.devices {
        let Some(a) = &d.affinity else { continue };
        let (kind, source) = match d.kind {
            DeviceKind::Nic { .. } => ("nic", format!("uplink {}", a.host_device)),
            _ => ("hostdev", "the device".to_string()),
        };
        let policy = a.policy.as_deref().map(|p| format!(" policy={p}")).unwrap_or_default();
        let from = match a.host_node {
            Some(n) => format!("{source} on host node {n}"),
            None => format!("{source} reports no host node"),
        };
        // Cell ids run 0 to n-1, in order.
        let to = match a.cell.and_then(|c| g.cells.get(c as usize).filter(|x| x.id == c)) {
            Some(c) => format!(
                "cell {}{}",
                c.id,
                c.binding
                    .as_ref()
                    .map(|b| format!(" (host node {})", b.nodes))
                    .unwrap_or_default()
            ),
            None if g.family == MachineFamily::Pc => "pci.0".to_string(),
            None => "a root port of pcie.0".to_string(),
        };
        let _ = writeln!(out, "  {kind} {} (node=auto{policy}): {from} → {to}", d.name);
    }
}

/// How the emulator and I/O threads are scheduled, when a `sched` says.
fn thread_sched(out: &mut String, g: &Guest) {
    for s in &g.sched {
        let what = match &s.threads {
            SchedThreads::Vcpus(_) => continue,
            SchedThreads::Emulator => "emulator threads".to_string(),
            SchedThreads::IoThreads(ids) => format!("I/O threads {ids}"),
        };
        let _ = writeln!(out, "  {what} scheduled {}", sched_note(s));
    }
}

/// `fifo 1, real-time` or `batch`.
fn sched_note(s: &ThreadSched) -> String {
    if s.policy.realtime() {
        format!("{}, real-time", s.describe())
    } else {
        s.describe()
    }
}

/// Shared vCPUs, the emulator threads and each I/O thread: where they run, which have a
/// core of their own, and the disks each I/O thread serves.
fn threads_text(out: &mut String, g: &Guest, host: Option<&HostProfile>) {
    let on = |cpus: &IdSet| {
        let node = host
            .map(|p| p.nodes_of_cpus(cpus).to_string())
            .unwrap_or_else(|| "-".into());
        format!("host CPUs {cpus} (node {node})")
    };
    const OWN: &str = ", a core of its own (isolated)";
    if !g.shared_vcpus.is_empty() {
        let _ = writeln!(
            out,
            "  shared vCPUs {}: no core of their own, they float over their cell's CPUs that no guest has as dedicated",
            g.shared_vcpus
        );
    }
    if let Some(e) = &g.emulator_pin {
        let own = if g.isolated.emulator { OWN } else { "" };
        let _ = writeln!(out, "  emulator threads: {}{own}", on(e));
    }
    if let Some(nodes) = &g.emulator_nodes {
        let _ = writeln!(
            out,
            "  memory preallocation: from threads on the bound host nodes among {nodes}, the emulator's (libvirt 9.2 and later)"
        );
    }
    for (k, pin) in (1u32..).zip(&g.iothread_pins) {
        let disks: Vec<&str> = g
            .devices
            .iter()
            .filter(|d| matches!(d.kind, crate::ir::DeviceKind::Disk { iothread: Some(t), .. } if t == k))
            .map(|d| d.name.as_str())
            .collect();
        let serves = if disks.is_empty() {
            String::new()
        } else {
            format!(
                "; serves disk{} {}",
                if disks.len() > 1 { "s" } else { "" },
                disks.join(", ")
            )
        };
        let (where_, own) = match pin {
            Some(p) => (on(p), if g.isolated.iothreads { OWN } else { "" }),
            None => ("not pinned".to_string(), ""),
        };
        let _ = writeln!(out, "  I/O thread {k}: {where_}{own}{serves}");
    }
}

/// vCPU `v`: its cell, its host CPUs, their node and core, one mark per host node, and its
/// scheduling when a `sched` sets it.
fn vcpu_row(out: &mut String, g: &Guest, host: Option<&HostProfile>, v: u32, sched: &VcpuSched<'_>) {
    let cell = g
        .cells
        .iter()
        .find(|c| c.vcpus.contains(v))
        .map(|c| c.id.to_string())
        .unwrap_or_else(|| "-".into());
    let pin = g.pins.iter().find(|p| p.vcpu == v).map(|p| p.cpus.clone());
    let (cpus, node, core, marks) = match (&pin, host) {
        (Some(p), Some(h)) => {
            let on = h.nodes_of_cpus(p);
            let core = match p.only() {
                Some(one) => h
                    .cpu(one)
                    .map(|c| format!("{}/{}", c.socket, c.core))
                    .unwrap_or_default(),
                _ => "-".into(),
            };
            let marks: String = h
                .nodes
                .iter()
                .map(|n| if on.contains(n.id) { 'X' } else { '-' })
                .collect::<Vec<char>>()
                .iter()
                .map(|c| format!("{c} "))
                .collect();
            (p.to_string(), on.to_string(), core, marks.trim_end().to_string())
        }
        (Some(p), None) => (p.to_string(), "-".into(), "-".into(), String::new()),
        _ => ("(any)".into(), "-".into(), "-".into(), String::new()),
    };
    let row = format!("  {v:>4}  {cell:>4}  {cpus:<15}  {node:>4}  {core:>11}  {marks}");
    match sched.get(v) {
        Some(s) => {
            let _ = writeln!(out, "{row}  [{}]", sched_note(s));
        }
        None => {
            let _ = writeln!(out, "{row}");
        }
    }
}

/// What a cell's line adds: CPUs on nodes without memory, dedicated vCPUs over several L3
/// caches (`l3`: host CPU → its L3 domain).
fn cell_note(g: &Guest, c: &GuestCell, host: Option<&HostProfile>, l3: &BTreeMap<u32, usize>) -> String {
    // CPUs on nodes without memory: say where the memory comes from instead.
    let memoryless = host
        .map(|h| {
            let cpus = g
                .pins
                .iter()
                .filter(|p| c.vcpus.contains(p.vcpu))
                .fold(crate::sets::IdSet::new(), |a, p| a.union(&p.cpus));
            h.nodes_of_cpus(&cpus)
                .iter()
                .filter(|n| h.node(*n).is_some_and(|n| n.memory_kib == 0))
                .collect::<crate::sets::IdSet>()
        })
        .unwrap_or_default();
    let mut note = if memoryless.is_empty() {
        String::new()
    } else {
        format!("; its CPUs are on node {memoryless}, which has no memory, so it takes the nearest node's")
    };
    // Dedicated vCPUs over several L3 caches: say so (vnuma does this only when no
    // single domain had room).
    if !l3.is_empty() {
        let pins: Vec<&crate::ir::VcpuPin> = g.pins.iter().filter(|p| c.vcpus.contains(p.vcpu)).collect();
        if !pins.is_empty() && pins.iter().all(|p| p.cpus.len() == 1) {
            let domains: IdSet = pins
                .iter()
                .flat_map(|p| p.cpus.iter())
                .filter_map(|cpu| l3.get(&cpu).and_then(|&d| u32::try_from(d).ok()))
                .collect();
            if domains.len() > 1 {
                let _ = write!(note, "; its vCPUs share no single L3: they span L3 domains {domains}");
            }
        }
    }
    note
}

/// One host: every node with what the build's guests use of it, then its L3 domains.
fn host_text(out: &mut String, name: &str, host: &HostProfile, guests: &[&Guest]) {
    let uses = node_use(host, guests);
    let _ = writeln!(out, "host {name}: every guest of this build");
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "  NODE  CPUS  DEDICATED  MEMORY BOUND / FREE   HUGEPAGES BOUND  GUESTS"
    );
    for (n, u) in host.nodes.iter().zip(&uses) {
        let _ = writeln!(
            out,
            "  {:>4}  {:>4}  {:>9}  {:>20}  {:>15}  {}",
            n.id,
            n.cpus.len(),
            u.dedicated.len(),
            format!("{} / {}", human_kib(u.memory_kib), human_kib(n.ordinary_kib())),
            human_kib(u.pages_kib),
            u.guests.join(", ")
        );
    }
    let _ = writeln!(out);
    l3_text(out, host, guests);
    super::resctrl::host_caches(out, host, guests);
}

/// The libvirt and QEMU the host runs and what its domcapabilities offer; nothing for the
/// default target (libvirt 9.0, QEMU 7.2, no domcapabilities).
fn target_text(out: &mut String, t: &Target) {
    if t.is_default() {
        return;
    }
    let _ = writeln!(out, "  target: libvirt {}, QEMU {}", t.libvirt, t.qemu);
    if let Some(c) = &t.domcaps {
        // The file's words are shown on a terminal: control characters written out.
        let list = |l: &Option<Vec<String>>| match l {
            Some(v) if v.is_empty() => "none".to_string(),
            Some(v) => crate::terminal::escape(&v.join(", ")).into_owned(),
            None => "not listed".to_string(),
        };
        let _ = writeln!(
            out,
            "  domcapabilities: machine {}, at most {} vCPUs; memory backing {}; memory devices {}",
            c.machine.as_deref().map_or("not named".into(), crate::terminal::escape),
            c.max_vcpus
                .map_or("an unknown number of".to_string(), |m| m.to_string()),
            list(&c.backing_sources),
            list(&c.memory_models),
        );
    }
    let _ = writeln!(out);
}

/// The host's L3 domains per node, with the cores dedicated vCPUs hold in each and whose
/// they are; nothing for a host without L3 domains.
fn l3_text(out: &mut String, host: &HostProfile, guests: &[&Guest]) {
    if host.l3.is_empty() {
        return;
    }
    // Host CPU → the guest whose vCPU has it alone.
    let mut owner: std::collections::BTreeMap<u32, &str> = std::collections::BTreeMap::new();
    for g in guests {
        for p in g.pins.iter().filter(|p| p.cpus.len() == 1) {
            for c in p.cpus.iter() {
                owner.entry(c).or_insert(g.name.as_str());
            }
        }
    }
    // (node id, domain index, the domain's CPUs on that node)
    let mut parts: Vec<(u32, usize, IdSet)> = Vec::new();
    for (i, d) in host.l3.iter().enumerate() {
        for node in host.nodes_of_cpus(d).iter() {
            let cpus: IdSet = d
                .iter()
                .filter(|&c| host.cpu(c).is_some_and(|c| c.node == node))
                .collect();
            parts.push((node, i, cpus));
        }
    }
    parts.sort_by_key(|(node, i, _)| (*node, *i));
    let _ = writeln!(
        out,
        "  L3 domains (CPUs sharing one last-level cache), numbered by lowest CPU:"
    );
    for (node, i, cpus) in parts {
        // Cores by their sibling sets; a core is dedicated when a vCPU has one of its threads alone.
        let mut cores: Vec<IdSet> = Vec::new();
        for c in cpus.iter().filter_map(|c| host.cpu(c)) {
            if c.siblings.first().is_none_or(|f| f == c.id) || !c.siblings.contains(c.id) {
                cores.push(if c.siblings.contains(c.id) {
                    c.siblings.clone()
                } else {
                    IdSet::single(c.id)
                });
            }
        }
        let mut names: Vec<&str> = Vec::new();
        let mut used = 0;
        for core in &cores {
            let mut any = false;
            for name in core.iter().filter_map(|c| owner.get(&c)) {
                any = true;
                if !names.contains(name) {
                    names.push(name);
                }
            }
            used += usize::from(any);
        }
        let who = if names.is_empty() {
            String::new()
        } else {
            format!(" ({})", names.join(", "))
        };
        let _ = writeln!(
            out,
            "  node {node} L3 {i}: {used} of {} cores dedicated{who}; CPUs {cpus}",
            cores.len()
        );
    }
    let _ = writeln!(out);
}
