//! Checked guest → a standalone QEMU command line, as libvirt's QEMU driver would build it
//! (libvirt 9.0's `qemuBuildCommandLine` order and spelling). The target is libvirt 9.0 (Debian 12);
//! tests/libvirt_driver.rs compares every golden line with its `domxml-to-native`.

use super::qemu_args::{Opt, Syntax, Val};
use super::qemu_devices as dev;
use super::qemu_memory as mem;
use super::shell::{keyval, render_command};
use crate::ir::*;

pub const QEMU_BINARY: &str = "qemu-system-x86_64";

/// Every option, in libvirt's order.
pub fn opts(g: &Guest) -> Vec<Opt> {
    let mut o = vec![Opt::plain(
        "-name",
        format!("guest={},debug-threads=on", keyval(&g.name)),
    )];
    o.push(machine(g));
    o.push(Opt::plain(
        "-accel",
        match g.domain_type {
            DomainType::Kvm => "kvm",
            DomainType::Qemu => "tcg",
        },
    ));
    o.push(cpu(g));
    o.extend(memory(g));
    let legacy = legacy_numa(g);
    if legacy && g.backing.prealloc {
        o.push(Opt::flag("-mem-prealloc"));
    }
    o.push(Opt::plain(
        "-overcommit",
        format!("mem-lock={}", if g.locked { "on" } else { "off" }),
    ));
    o.push(smp(g));
    // I/O threads; libvirt pins them through cgroups, not here.
    for id in 1..=g.iothreads {
        o.push(Opt::props(
            "-object",
            "qom-type",
            vec![
                ("qom-type", Val::Str("iothread".into())),
                ("id", Val::Str(format!("iothread{id}"))),
            ],
        ));
    }
    o.extend(cells(g, legacy));
    if let Some(m) = &g.distances {
        for (i, row) in m.iter().enumerate() {
            for (j, v) in row.iter().enumerate() {
                o.push(Opt::plain("-numa", format!("dist,src={i},dst={j},val={v}")));
            }
        }
    }
    o.extend(hmat(g));
    o.extend(dev::controllers(g));
    o.extend(mem::memory_devices(g));
    o.extend(dev::devices(g));
    o.extend(dev::hotplug_cpus(g));
    o
}

/// `-machine`: the type, then what the guest's memory and HMAT need.
fn machine(g: &Guest) -> Opt {
    let mut machine = format!("{},usb=off,dump-guest-core=off", keyval(&g.machine));
    if g.memory_devices
        .iter()
        .any(|m| matches!(m.kind, MemoryDeviceKind::Nvdimm { .. }))
    {
        machine.push_str(",nvdimm=on");
    }
    if g.cells.is_empty() {
        machine.push_str(",memory-backend=pc.ram");
    }
    if !g.hmat.is_empty() {
        machine.push_str(",hmat=on");
    }
    machine.push_str(",acpi=on");
    Opt::plain("-machine", machine)
}

fn cpu(g: &Guest) -> Opt {
    let migratable = if g.cpu_options.migratable { "on" } else { "off" };
    let mut cpu = match &g.cpu {
        CpuMode::HostPassthrough => format!("host,migratable={migratable}"),
        // libvirt expands host-model to a named model when it starts the guest; standalone, `host` is closest.
        CpuMode::HostModel => "host".to_string(),
        CpuMode::Maximum => format!("max,migratable={migratable}"),
        CpuMode::Custom(m) => keyval(m),
    };
    // Feature names are checked identifiers (-cpu does not honour `,,`).
    for (name, on) in &g.cpu_options.features {
        cpu.push_str(&format!(",{name}={}", if *on { "on" } else { "off" }));
    }
    Opt::plain("-cpu", cpu)
}

/// `-m`, and the memory backend of a guest without cells.
fn memory(g: &Guest) -> Vec<Opt> {
    // libvirt rounds the initial memory (the sum of the cells, or `<memory>`) up to 1 MiB,
    // and libvirt 9.0 writes `-m` in MiB when memory hotplug is off.
    let written_kib: u64 = if g.cells.is_empty() {
        g.memory_kib
    } else {
        g.cells.iter().map(|c| c.memory_kib).sum()
    };
    let initial_kib = written_kib.div_ceil(1024) * 1024;
    let mut o = vec![Opt::plain(
        "-m",
        match &g.max_memory {
            // Without slots (virtio devices only) QEMU gets none, as libvirt writes it.
            Some(max) if max.slots == 0 => format!("size={initial_kib}k,maxmem={}k", max.kib.div_ceil(1024) * 1024),
            Some(max) => format!(
                "size={initial_kib}k,slots={},maxmem={}k",
                max.slots,
                max.kib.div_ceil(1024) * 1024
            ),
            None => format!("{}", initial_kib / 1024),
        },
    )];
    if g.cells.is_empty() {
        o.extend(mem::ram_backend(
            g,
            mem::GUEST_RAM_BACKEND,
            g.hugepage_kib,
            initial_kib,
            g.memory_binding.as_ref(),
            &g.backing,
        ));
    }
    o
}

/// `-smp`: libvirt counts only the vCPUs that are online and not hot-pluggable; it plugs
/// the enabled hot-pluggable ones over QMP after start (here: `-device`s at the end).
fn smp(g: &Guest) -> Opt {
    let t = g.effective_topology();
    let dies = if g.topology.is_some() {
        format!(",dies={}", t.dies)
    } else {
        String::new()
    };
    let fixed = if g.vcpu_states.is_empty() {
        g.vcpus
    } else {
        g.vcpu_states.iter().filter(|v| v.enabled && !v.hotpluggable).count() as u32
    };
    let maxcpus = if fixed == g.vcpus {
        String::new()
    } else {
        format!(",maxcpus={}", g.vcpus)
    };
    Opt::plain(
        "-smp",
        format!(
            "{fixed}{maxcpus},sockets={}{dies},cores={},threads={}",
            t.sockets, t.cores, t.threads
        ),
    )
}

/// Each cell: its memory backend and `-numa node`, or the legacy `-numa node,mem=`.
fn cells(g: &Guest, legacy: bool) -> Vec<Opt> {
    let mut o = Vec::new();
    for c in &g.cells {
        if legacy {
            let mut node = format!("node,nodeid={}", c.id);
            for run in c.vcpus.run_strings() {
                node.push_str(&format!(",cpus={run}"));
            }
            if let Some(i) = initiator(g, c) {
                node.push_str(&format!(",initiator={i}"));
            }
            node.push_str(&format!(",mem={}", c.memory_kib / 1024));
            o.push(Opt::plain("-numa", node));
            continue;
        }
        let binding = c.binding.as_ref().or(g.memory_binding.as_ref());
        let backend = mem::cell_backend(c.id);
        o.extend(mem::ram_backend(
            g,
            &backend,
            c.hugepage_kib,
            c.memory_kib,
            binding,
            &c.backing(&g.backing),
        ));
        let mut node = format!("node,nodeid={}", c.id);
        for run in c.vcpus.run_strings() {
            node.push_str(&format!(",cpus={run}"));
        }
        if let Some(i) = initiator(g, c) {
            node.push_str(&format!(",initiator={i}"));
        }
        node.push_str(&format!(",memdev={backend}"));
        o.push(Opt::plain("-numa", node));
    }
    o
}

/// HMAT, as libvirt writes it (qemuBuildNumaHMATCommandLine): links in the order written,
/// then each cell's caches.
fn hmat(g: &Guest) -> Vec<Opt> {
    let mut o = Vec::new();
    for l in &g.hmat.links {
        let hierarchy = match l.cache {
            None => "memory",
            Some(1) => "first-level",
            Some(2) => "second-level",
            Some(_) => "third-level",
        };
        let (what, value) = if l.bandwidth {
            ("bandwidth", format!("bandwidth={}K", l.value))
        } else {
            ("latency", format!("latency={}", l.value))
        };
        o.push(Opt::plain(
            "-numa",
            format!(
                "hmat-lb,initiator={},target={},hierarchy={hierarchy},data-type={}-{what},{value}",
                l.initiator, l.target, l.kind
            ),
        ));
    }
    for c in &g.cells {
        for cache in g.hmat.caches.iter().filter(|x| x.cell == c.id) {
            let associativity = match cache.associativity {
                "full" => "complex",
                other => other,
            };
            let policy = match cache.policy {
                "writeback" => "write-back",
                "writethrough" => "write-through",
                other => other,
            };
            o.push(Opt::plain(
                "-numa",
                format!(
                    "hmat-cache,node-id={},size={}K,level={},associativity={associativity},policy={policy},line={}",
                    c.id, cache.size_kib, cache.level, cache.line_bytes
                ),
            ));
        }
    }
    o
}

/// The options rendered, each as (option, value).
pub fn options(g: &Guest, syntax: Syntax) -> Vec<(String, Option<String>)> {
    opts(g).iter().map(|o| o.render(syntax)).collect()
}

pub fn command_line(g: &Guest) -> String {
    command_line_in(g, Syntax::Keyval)
}

pub fn command_line_in(g: &Guest, syntax: Syntax) -> String {
    render_command(QEMU_BINARY, &options(g, syntax))
}

/// A cell's HMAT initiator (`virDomainNumaGetNodeInitiator`), only when the guest has HMAT
/// data: a cell with vCPUs is its own; otherwise the initiator of the lowest latency to
/// it, else of the highest bandwidth to it, else the first cell with vCPUs.
fn initiator(g: &Guest, c: &GuestCell) -> Option<u32> {
    if g.hmat.is_empty() {
        return None;
    }
    if !c.vcpus.is_empty() {
        return Some(c.id);
    }
    let to_c = |bandwidth: bool| {
        g.hmat
            .links
            .iter()
            .filter(move |l| l.target == c.id && l.bandwidth == bandwidth)
    };
    to_c(false)
        .min_by_key(|l| l.value)
        .or_else(|| {
            // The first of the highest.
            to_c(true).fold(None, |best: Option<&HmatLink>, l| match best {
                Some(b) if b.value >= l.value => Some(b),
                _ => Some(l),
            })
        })
        .map(|l| l.initiator)
        .or_else(|| g.cells.iter().find(|x| !x.vcpus.is_empty()).map(|x| x.id))
}

/// Whether libvirt gives the cells QEMU's legacy `-numa node,mem=` instead of memory
/// backends (`qemuBuildNumaCommandLine`): only machine types older than QEMU 5.1's take
/// `mem=`, and only when no cell needs a backend, that is no hugepages, no `<memnode>`,
/// no access mode and no file or memfd source (a whole-guest nodeset is applied
/// through cgroups, and preallocation becomes `-mem-prealloc`).
pub fn legacy_numa(g: &Guest) -> bool {
    g.numa_mem
        && g.backing.shared.is_none()
        && g.backing.source == MemorySource::Anonymous
        && g.cells
            .iter()
            .all(|c| c.hugepage_kib.is_none() && c.binding.is_none() && c.shared.is_none())
}
