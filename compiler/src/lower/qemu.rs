//! Checked guest → a standalone QEMU command line, as libvirt's QEMU driver would build it
//! (reference: libvirt-qemu-mapping §13), in QEMU's keyval syntax.

use super::shell::{keyval, render_command};
use crate::ir::*;

pub const QEMU_BINARY: &str = "qemu-system-x86_64";

/// The options, in libvirt's order, each as (option, value).
pub fn options(g: &Guest) -> Vec<(String, Option<String>)> {
    let mut o: Vec<(String, Option<String>)> = Vec::new();
    let mut push = |opt: &str, val: String| o.push((opt.to_string(), Some(val)));
    push("-name", format!("guest={},debug-threads=on", keyval(&g.name)));
    let mut machine = format!("{},usb=off,dump-guest-core=off", keyval(&g.machine));
    if g.cells.is_empty() {
        machine.push_str(",memory-backend=pc.ram");
    }
    machine.push_str(",acpi=on");
    push("-machine", machine);
    push(
        "-accel",
        match g.domain_type {
            DomainType::Kvm => "kvm".into(),
            DomainType::Qemu => "tcg".into(),
        },
    );
    push(
        "-cpu",
        match &g.cpu {
            CpuMode::HostPassthrough => "host,migratable=on".into(),
            // libvirt expands host-model to a named model when it starts the guest; standalone, `host` is closest.
            CpuMode::HostModel => "host".into(),
            CpuMode::Maximum => "max,migratable=on".into(),
            CpuMode::Custom(m) => keyval(m),
        },
    );
    let initial_kib: u64 = if g.cells.is_empty() {
        g.memory_kib
    } else {
        g.cells.iter().map(|c| c.memory_kib).sum()
    };
    push("-m", format!("size={initial_kib}k"));
    if g.cells.is_empty() {
        push(
            "-object",
            backend("pc.ram", g.hugepage_kib, g.memory_kib, g.memory_binding.as_ref()),
        );
    }
    push(
        "-overcommit",
        format!("mem-lock={}", if g.locked { "on" } else { "off" }),
    );
    let t = g.effective_topology();
    let dies = if g.topology.is_some() {
        format!(",dies={}", t.dies)
    } else {
        String::new()
    };
    push(
        "-smp",
        format!(
            "{},sockets={}{dies},cores={},threads={}",
            g.vcpus, t.sockets, t.cores, t.threads
        ),
    );
    for c in &g.cells {
        let binding = c.binding.as_ref().or(g.memory_binding.as_ref());
        push(
            "-object",
            backend(&format!("ram-node{}", c.id), c.hugepage_kib, c.memory_kib, binding),
        );
        let mut node = format!("node,nodeid={}", c.id);
        for run in c.vcpus.run_strings() {
            node.push_str(&format!(",cpus={run}"));
        }
        node.push_str(&format!(",memdev=ram-node{}", c.id));
        push("-numa", node);
    }
    if let Some(m) = &g.distances {
        for (i, row) in m.iter().enumerate() {
            for (j, v) in row.iter().enumerate() {
                push("-numa", format!("dist,src={i},dst={j},val={v}"));
            }
        }
    }
    o
}

/// A memory backend object: type, id, then libvirt's property order.
fn backend(id: &str, page: Option<u64>, kib: u64, binding: Option<&MemBinding>) -> String {
    let mut props = vec![format!("id={}", keyval(id))];
    let kind = match page {
        Some(size) => {
            props.push(format!("mem-path={}", keyval(&super::hugepage_mount(size))));
            props.push("prealloc=on".into());
            "memory-backend-file"
        }
        None => "memory-backend-ram",
    };
    props.push(format!("size={}", kib * 1024));
    if let Some(b) = binding
        && let Some(policy) = b.policy.qemu()
    {
        props.extend(b.nodes.run_strings().iter().map(|r| format!("host-nodes={r}")));
        props.push(format!("policy={policy}"));
    }
    format!("{kind},{}", props.join(","))
}

pub fn command_line(g: &Guest) -> String {
    render_command(QEMU_BINARY, &options(g))
}
