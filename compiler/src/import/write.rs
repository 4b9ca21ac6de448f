//! The draft as .vnuma text, laid out like the examples: two-space indent, props as
//! `key=value`, libvirt set syntax, exact IEC sizes, cell and pin columns aligned.

use super::draft::Draft;
use super::quote::word_or_string;
use crate::units::exact_kib;

/// The notes as comment lines, then the `guest` block (`on=host` when given).
pub(super) fn render(d: &Draft, host: Option<&str>, notes: &[String]) -> String {
    let mut out = String::new();
    for n in notes {
        out.push_str(&format!("# {}\n", crate::syntax::write::comment(n)));
    }
    let on = host.map(|h| format!(" on={}", word_or_string(h))).unwrap_or_default();
    out.push_str(&format!("guest {}{on} {{\n", word_or_string(&d.name)));
    for line in &head(d) {
        out.push_str(&format!("  {line}\n"));
    }
    numa(d, &mut out);
    tuning(d, &mut out);
    for m in &d.memdevs {
        out.push_str(&format!("  {m}\n"));
    }
    if !d.devices.is_empty() {
        out.push_str("  devices {\n");
        for l in &d.devices {
            out.push_str(&format!("    {l}\n"));
        }
        out.push_str("  }\n");
    }
    out.push_str("}\n");
    out
}

/// The statements before the cells: type, machine, cpu, memory, vcpus, topology.
fn head(d: &Draft) -> Vec<String> {
    let mut body: Vec<String> = Vec::new();
    if d.qemu {
        body.push("type qemu".into());
    }
    if let Some(m) = &d.machine {
        body.push(format!("machine {}", word_or_string(m)));
    }
    if let Some(c) = &d.cpu {
        body.push(format!("cpu {c}"));
    }
    body.push(memory(d));
    body.push(vcpus(d));
    if let Some(t) = d.topology {
        let dies = if t.dies == 1 {
            String::new()
        } else {
            format!(" dies={}", t.dies)
        };
        body.push(format!(
            "topology sockets={}{dies} cores={} threads={}",
            t.sockets, t.cores, t.threads
        ));
    }
    body
}

/// The `memory` statement.
fn memory(d: &Draft) -> String {
    let mut memory = format!("memory {}", exact_kib(d.initial_kib));
    if let Some((max, slots)) = d.max {
        memory.push_str(&format!(" max={}", exact_kib(max)));
        if slots > 0 {
            memory.push_str(&format!(" slots={slots}"));
        }
    }
    if d.locked {
        memory.push_str(" locked=true");
    }
    if let Some(p) = d.hugepage_kib {
        memory.push_str(&format!(" hugepages={}", exact_kib(p)));
    }
    for b in &d.backing {
        memory.push_str(&format!(" {b}"));
    }
    memory
}

/// The `vcpus` statement.
fn vcpus(d: &Draft) -> String {
    let mut vcpus = format!("vcpus {}", d.vcpus);
    if let Some(c) = d.current {
        vcpus.push_str(&format!(" current={c}"));
    } else if let Some(b) = d.boot {
        vcpus.push_str(&format!(" boot={b}"));
    } else if d.hotpluggable {
        vcpus.push_str(" hotpluggable=true");
    }
    vcpus
}

/// The `numa` block: cells with their memory column aligned, distances, HMAT lines.
fn numa(d: &Draft, out: &mut String) {
    if d.cells.is_empty() {
        return;
    }
    out.push_str("  numa {\n");
    let heads: Vec<String> = d
        .cells
        .iter()
        .map(|c| match &c.cpus {
            Some(s) => format!("cell {} cpus={s}", c.id),
            None => format!("cell {}", c.id),
        })
        .collect();
    let width = heads.iter().map(String::len).max().unwrap_or(0);
    for (c, head) in d.cells.iter().zip(&heads) {
        let mut line = format!("{head:width$} memory={}", exact_kib(c.memory_kib));
        if let Some(n) = &c.host_node {
            line.push_str(&format!(" host-node={n}"));
        }
        if let Some(p) = &c.policy {
            line.push_str(&format!(" policy={p}"));
        }
        if let Some(a) = &c.access {
            line.push_str(&format!(" access={a}"));
        }
        if let Some((_, page)) = d.cell_pages.iter().find(|(id, _)| *id == c.id) {
            line.push_str(&format!(" hugepages={}", exact_kib(*page)));
        }
        if let Some(d) = c.discard {
            line.push_str(&format!(" discard={d}"));
        }
        out.push_str(&format!("    {line}\n"));
    }
    for (a, b, v) in &d.distances {
        out.push_str(&format!("    distance {a} {b} {v}\n"));
    }
    for l in &d.hmat {
        out.push_str(&format!("    {l}\n"));
    }
    out.push_str("  }\n");
}

/// `pin` lines with their CPU column aligned, `emulator`, `iothreads`, `sched` lines with
/// their policy column aligned, `memory-policy`.
fn tuning(d: &Draft, out: &mut String) {
    let heads: Vec<String> = d.pins.iter().map(|(v, _)| format!("pin vcpus={v}")).collect();
    let width = heads.iter().map(String::len).max().unwrap_or(0);
    for ((_, cpus), head) in d.pins.iter().zip(&heads) {
        out.push_str(&format!("  {head:width$} cpus={cpus}\n"));
    }
    if let Some(e) = &d.emulator {
        out.push_str(&format!("  emulator cpus={e}\n"));
    }
    if let Some((n, pins)) = &d.iothreads {
        // One set for every thread is one line; otherwise each pinned thread has its own.
        let first = pins.values().next();
        match first {
            Some(cpus) if pins.len() as u32 == *n && pins.values().all(|p| p == cpus) => {
                out.push_str(&format!("  iothreads {n} cpus={cpus}\n"));
            }
            _ => {
                out.push_str(&format!("  iothreads {n}\n"));
                for (k, cpus) in pins {
                    out.push_str(&format!("  iothread {k} cpus={cpus}\n"));
                }
            }
        }
    }
    let width = d.sched.iter().map(|(head, _)| head.len()).max().unwrap_or(0);
    for (head, policy) in &d.sched {
        out.push_str(&format!("  {head:width$} {policy}\n"));
    }
    for line in &d.tunes {
        out.push_str(&format!("  {line}\n"));
    }
    match &d.memory_policy {
        Some((mode, Some(set))) => out.push_str(&format!("  memory-policy mode={mode} nodeset={set}\n")),
        Some((mode, None)) => out.push_str(&format!("  memory-policy mode={mode} placement=auto\n")),
        None => {}
    }
}
