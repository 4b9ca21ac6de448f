//! Checked guest → libvirt domain XML.

use super::xml::Element;
/// Re-exported for the callers that name disks as libvirt does.
use crate::ir::*;
use crate::names::{alias_safe, drive_letters};
use crate::sets::IdSet;

pub fn domain_xml(g: &Guest) -> String {
    let mut d = Element::new("domain").attr(
        "type",
        match g.domain_type {
            DomainType::Kvm => "kvm",
            DomainType::Qemu => "qemu",
        },
    );
    d.push(Element::new("name").text(&g.name));
    if let Some(max) = &g.max_memory {
        let e = Element::new("maxMemory");
        let e = if max.slots > 0 { e.attr("slots", max.slots) } else { e };
        d.push(e.attr("unit", "KiB").text(max.kib));
    }
    d.push(Element::new("memory").attr("unit", "KiB").text(g.total_memory_kib()));
    if let Some(mb) = memory_backing(g) {
        d.push(mb);
    }
    let mut vcpu = Element::new("vcpu").attr("placement", "static");
    if g.boot_vcpus() < g.vcpus {
        vcpu = vcpu.attr("current", g.boot_vcpus());
    }
    d.push(vcpu.text(g.vcpus));
    if !g.vcpu_states.is_empty() {
        let mut list = Element::new("vcpus");
        for v in &g.vcpu_states {
            let mut e = Element::new("vcpu")
                .attr("id", v.id)
                .attr("enabled", if v.enabled { "yes" } else { "no" })
                .attr("hotpluggable", if v.hotpluggable { "yes" } else { "no" });
            if let Some(o) = v.order {
                e = e.attr("order", o);
            }
            list.push(e);
        }
        d.push(list);
    }
    if g.iothreads > 0 {
        d.push(Element::new("iothreads").text(g.iothreads));
    }
    if let Some(ct) = cputune(g) {
        d.push(ct);
    }
    if let Some(nt) = numatune(g) {
        d.push(nt);
    }
    d.push(
        Element::new("os").child(
            Element::new("type")
                .attr("arch", "x86_64")
                .attr("machine", &g.machine)
                .text("hvm"),
        ),
    );
    d.push(
        Element::new("features")
            .child(Element::new("acpi"))
            .child(Element::new("apic")),
    );
    d.push(cpu(g));
    d.push(Element::new("clock").attr("offset", "utc"));
    d.push(Element::new("on_poweroff").text("destroy"));
    d.push(Element::new("on_reboot").text("restart"));
    d.push(Element::new("on_crash").text("destroy"));
    let mut devices = Element::new("devices").child(Element::new("emulator").text("/usr/bin/qemu-system-x86_64"));
    devices.push(Element::new("controller").attr("type", "pci").attr("index", 0).attr(
        "model",
        match g.family {
            MachineFamily::Q35 => "pcie-root",
            MachineFamily::Pc => "pci-root",
        },
    ));
    // No USB: the QEMU line says `usb=off`, and libvirt would otherwise add a controller and root ports.
    devices.push(Element::new("controller").attr("type", "usb").attr("model", "none"));
    for c in &g.controllers {
        devices.push(controller(c, g.family));
    }
    // A `pc` machine's SATA disks need the AHCI controller libvirt would add, at vnumac's slot.
    if let Some(a) = &g.ahci {
        devices.push(
            Element::new("controller")
                .attr("type", "sata")
                .attr("index", 0)
                .child(pci_address(a)),
        );
    }
    for d in &g.devices {
        devices.push(device(d));
    }
    for m in &g.memory_devices {
        devices.push(memory_device(m));
    }
    devices.push(Element::new("memballoon").attr("model", "none"));
    d.push(devices);
    d.render()
}

fn memory_backing(g: &Guest) -> Option<Element> {
    let mut mb = Element::new("memoryBacking");
    if g.cells.is_empty() {
        if let Some(size) = g.hugepage_kib {
            let page = Element::new("page").attr("size", size).attr("unit", "KiB");
            mb.push(Element::new("hugepages").child(page));
        }
    } else {
        // One <page> per size, naming its cells; a cell in none has ordinary memory.
        let mut sizes: Vec<u64> = Vec::new();
        for size in g.cells.iter().filter_map(|c| c.hugepage_kib) {
            if !sizes.contains(&size) {
                sizes.push(size);
            }
        }
        if !sizes.is_empty() {
            let mut hp = Element::new("hugepages");
            for size in sizes {
                let ids: IdSet = g
                    .cells
                    .iter()
                    .filter(|c| c.hugepage_kib == Some(size))
                    .map(|c| c.id)
                    .collect();
                hp.push(
                    Element::new("page")
                        .attr("size", size)
                        .attr("unit", "KiB")
                        .attr("nodeset", ids),
                );
            }
            mb.push(hp);
        }
    }
    if g.locked {
        mb.push(Element::new("locked"));
    }
    let b = &g.backing;
    match b.source {
        MemorySource::Anonymous => {}
        MemorySource::File => mb.push(Element::new("source").attr("type", "file")),
        MemorySource::Memfd => mb.push(Element::new("source").attr("type", "memfd")),
    }
    if let Some(shared) = b.shared {
        mb.push(Element::new("access").attr("mode", if shared { "shared" } else { "private" }));
    }
    match (b.prealloc, b.prealloc_threads) {
        (true, None) => mb.push(Element::new("allocation").attr("mode", "immediate")),
        (true, Some(t)) => mb.push(Element::new("allocation").attr("mode", "immediate").attr("threads", t)),
        (false, Some(t)) => mb.push(Element::new("allocation").attr("threads", t)),
        (false, None) => {}
    }
    if b.discard == Some(true) {
        mb.push(Element::new("discard"));
    }
    mb.has_children().then_some(mb)
}

fn cputune(g: &Guest) -> Option<Element> {
    let mut ct = Element::new("cputune");
    for p in &g.pins {
        ct.push(Element::new("vcpupin").attr("vcpu", p.vcpu).attr("cpuset", &p.cpus));
    }
    if let Some(e) = &g.emulator_pin {
        ct.push(Element::new("emulatorpin").attr("cpuset", e));
    }
    for (id, cpus) in (1u32..).zip(&g.iothread_pins) {
        if let Some(cpus) = cpus {
            ct.push(Element::new("iothreadpin").attr("iothread", id).attr("cpuset", cpus));
        }
    }
    sched(g, &mut ct);
    resctrl(g, &mut ct);
    ct.has_children().then_some(ct)
}

/// `<emulatorsched>`, then `<vcpusched>`s and `<iothreadsched>`s in the order written, as
/// libvirt formats them.
fn sched(g: &Guest, ct: &mut Element) {
    let with_policy = |e: Element, s: &ThreadSched| {
        let e = e.attr("scheduler", s.policy.libvirt());
        match s.priority {
            Some(p) => e.attr("priority", p),
            None => e,
        }
    };
    for s in g.sched.iter().filter(|s| s.threads == SchedThreads::Emulator) {
        ct.push(with_policy(Element::new("emulatorsched"), s));
    }
    for s in &g.sched {
        if let SchedThreads::Vcpus(set) = &s.threads {
            ct.push(with_policy(Element::new("vcpusched").attr("vcpus", set), s));
        }
    }
    for s in &g.sched {
        if let SchedThreads::IoThreads(set) = &s.threads {
            ct.push(with_policy(Element::new("iothreadsched").attr("iothreads", set), s));
        }
    }
}

/// `<cachetune>`s then `<memorytune>`s, as libvirt formats them; sizes in the largest unit
/// that divides them, as libvirt writes them.
fn resctrl(g: &Guest, ct: &mut Element) {
    for t in &g.cachetunes {
        let mut e = Element::new("cachetune").attr("vcpus", &t.vcpus);
        for c in &t.caches {
            let (size, unit) = scaled(c.size);
            e.push(
                Element::new("cache")
                    .attr("id", c.id)
                    .attr("level", c.level)
                    .attr("type", c.kind.word())
                    .attr("size", size)
                    .attr("unit", unit),
            );
        }
        for m in &t.monitors {
            e.push(Element::new("monitor").attr("level", MONITOR_LEVEL).attr("vcpus", m));
        }
        ct.push(e);
    }
    for t in &g.memorytunes {
        let mut e = Element::new("memorytune").attr("vcpus", &t.vcpus);
        for &(id, bandwidth) in &t.nodes {
            e.push(Element::new("node").attr("id", id).attr("bandwidth", bandwidth));
        }
        ct.push(e);
    }
}

/// Bytes as (number, unit) in the largest of B, KiB, MiB, GiB that divides them.
fn scaled(bytes: u64) -> (u64, &'static str) {
    const UNITS: [(&str, u32); 3] = [("GiB", 30), ("MiB", 20), ("KiB", 10)];
    UNITS
        .iter()
        .find(|(_, shift)| bytes != 0 && bytes.trailing_zeros() >= *shift)
        .map_or((bytes, "B"), |&(unit, shift)| (bytes >> shift, unit))
}

fn numatune(g: &Guest) -> Option<Element> {
    let mut nt = Element::new("numatune");
    if let Some(b) = &g.memory_binding {
        let memory = Element::new("memory").attr("mode", b.policy.libvirt());
        nt.push(if b.auto {
            memory.attr("placement", "auto")
        } else {
            memory.attr("nodeset", &b.nodes)
        });
    }
    for c in &g.cells {
        if let Some(b) = &c.binding {
            nt.push(
                Element::new("memnode")
                    .attr("cellid", c.id)
                    .attr("mode", b.policy.libvirt())
                    .attr("nodeset", &b.nodes),
            );
        }
    }
    nt.has_children().then_some(nt)
}

fn cpu(g: &Guest) -> Element {
    let mut cpu = match &g.cpu {
        CpuMode::HostPassthrough => Element::new("cpu")
            .attr("mode", "host-passthrough")
            .attr("check", "none")
            .attr("migratable", if g.cpu_options.migratable { "on" } else { "off" }),
        CpuMode::HostModel => Element::new("cpu").attr("mode", "host-model").attr("check", "partial"),
        CpuMode::Maximum => Element::new("cpu")
            .attr("mode", "maximum")
            .attr("check", "none")
            .attr("migratable", if g.cpu_options.migratable { "on" } else { "off" }),
        CpuMode::Custom(model) => Element::new("cpu")
            .attr("mode", "custom")
            .attr("match", "exact")
            .attr("check", "none")
            .child(Element::new("model").attr("fallback", "forbid").text(model)),
    };
    if let Some(t) = &g.topology {
        cpu.push(
            Element::new("topology")
                .attr("sockets", t.sockets)
                .attr("dies", t.dies)
                .attr("cores", t.cores)
                .attr("threads", t.threads),
        );
    }
    for (name, required) in &g.cpu_options.features {
        cpu.push(
            Element::new("feature")
                .attr("policy", if *required { "require" } else { "disable" })
                .attr("name", name),
        );
    }
    if !g.cells.is_empty() {
        let mut numa = Element::new("numa");
        for (i, c) in g.cells.iter().enumerate() {
            let mut cell = Element::new("cell").attr("id", c.id);
            if !c.vcpus.is_empty() {
                cell = cell.attr("cpus", &c.vcpus);
            }
            cell = cell.attr("memory", c.memory_kib).attr("unit", "KiB");
            if let Some(shared) = c.shared {
                cell = cell.attr("memAccess", if shared { "shared" } else { "private" });
            }
            if let Some(discard) = c.discard {
                cell = cell.attr("discard", if discard { "yes" } else { "no" });
            }
            if let Some(row) = g.distances.as_ref().and_then(|m| m.get(i)) {
                let mut ds = Element::new("distances");
                for (j, v) in row.iter().enumerate() {
                    ds.push(Element::new("sibling").attr("id", j).attr("value", v));
                }
                cell.push(ds);
            }
            for cache in g.hmat.caches.iter().filter(|x| x.cell == c.id) {
                cell.push(
                    Element::new("cache")
                        .attr("level", cache.level)
                        .attr("associativity", cache.associativity)
                        .attr("policy", cache.policy)
                        .child(Element::new("size").attr("value", cache.size_kib).attr("unit", "KiB"))
                        .child(Element::new("line").attr("value", cache.line_bytes).attr("unit", "B")),
                );
            }
            numa.push(cell);
        }
        if !g.hmat.links.is_empty() {
            let mut ic = Element::new("interconnects");
            for l in &g.hmat.links {
                let mut e = Element::new(if l.bandwidth { "bandwidth" } else { "latency" })
                    .attr("initiator", l.initiator)
                    .attr("target", l.target);
                if let Some(cache) = l.cache {
                    e = e.attr("cache", cache);
                }
                e = e.attr("type", l.kind).attr("value", l.value);
                if l.bandwidth {
                    e = e.attr("unit", "KiB");
                }
                ic.push(e);
            }
            numa.push(ic);
        }
        cpu.push(numa);
    }
    cpu
}

fn memory_device(m: &MemoryDevice) -> Element {
    let size = Element::new("size").attr("unit", "KiB").text(m.size_kib);
    let node = Element::new("node").text(m.node);
    let base = m.base.map(|b| Element::new("address").attr("base", format!("0x{b:x}")));
    match &m.kind {
        MemoryDeviceKind::VirtioMem {
            block_kib,
            requested_kib,
            host_nodes,
            page_kib,
            pci,
        } => {
            let mut e = Element::new("memory").attr("model", "virtio-mem");
            if let Some(source) = ram_source(host_nodes.as_ref(), *page_kib) {
                e.push(source);
            }
            let mut target = Element::new("target")
                .child(size)
                .child(node)
                .child(Element::new("block").attr("unit", "KiB").text(block_kib))
                .child(Element::new("requested").attr("unit", "KiB").text(requested_kib));
            if let Some(b) = base {
                target.push(b);
            }
            e.child(target).child(pci_address(pci))
        }
        MemoryDeviceKind::VirtioPmem { path, shared, pci } => {
            let e = with_access(Element::new("memory").attr("model", "virtio-pmem"), *shared);
            let mut target = Element::new("target").child(size);
            if let Some(b) = base {
                target.push(b);
            }
            e.child(Element::new("source").child(Element::new("path").text(path)))
                .child(target)
                .child(pci_address(pci))
        }
        MemoryDeviceKind::Dimm {
            host_nodes,
            page_kib,
            shared,
            discard,
        } => {
            let mut e = with_access(Element::new("memory").attr("model", "dimm"), *shared);
            if let Some(d) = discard {
                e = e.attr("discard", if *d { "yes" } else { "no" });
            }
            if let Some(source) = ram_source(host_nodes.as_ref(), *page_kib) {
                e.push(source);
            }
            e.child(Element::new("target").child(size).child(node))
                .child(dimm_address(m))
        }
        MemoryDeviceKind::Nvdimm {
            path,
            label_kib,
            align_kib,
            pmem,
            shared,
            readonly,
        } => {
            let e = with_access(Element::new("memory").attr("model", "nvdimm"), *shared);
            let mut source = Element::new("source").child(Element::new("path").text(path));
            if let Some(a) = align_kib {
                source.push(Element::new("alignsize").attr("unit", "KiB").text(a));
            }
            if *pmem {
                source.push(Element::new("pmem"));
            }
            let mut target = Element::new("target").child(size).child(node);
            if let Some(l) = label_kib {
                target.push(Element::new("label").child(Element::new("size").attr("unit", "KiB").text(l)));
            }
            if *readonly {
                target.push(Element::new("readonly"));
            }
            e.child(source).child(target).child(dimm_address(m))
        }
    }
}

/// `access='shared'` or `'private'` when the device says.
fn with_access(e: Element, shared: Option<bool>) -> Element {
    match shared {
        Some(sh) => e.attr("access", if sh { "shared" } else { "private" }),
        None => e,
    }
}

/// A RAM device's `<source>`: its own nodes and page size, when it has either.
fn ram_source(host_nodes: Option<&IdSet>, page_kib: Option<u64>) -> Option<Element> {
    let mut source = Element::new("source");
    if let Some(nodes) = host_nodes {
        source.push(Element::new("nodemask").text(nodes));
    }
    if let Some(p) = page_kib {
        source.push(Element::new("pagesize").attr("unit", "KiB").text(p));
    }
    source.has_children().then_some(source)
}

/// A DIMM's or NVDIMM's slot, and its base address when it has one.
fn dimm_address(m: &MemoryDevice) -> Element {
    let address = Element::new("address").attr("type", "dimm").attr("slot", m.slot);
    match m.base {
        Some(base) => address.attr("base", format!("0x{base:x}")),
        None => address,
    }
}

fn pci_address(a: &PciAddress) -> Element {
    Element::new("address")
        .attr("type", "pci")
        .attr("domain", "0x0000")
        .attr("bus", format!("0x{:02x}", a.bus))
        .attr("slot", format!("0x{:02x}", a.slot))
        .attr("function", format!("0x{:x}", a.function))
}

fn controller(c: &Controller, family: MachineFamily) -> Element {
    let e = Element::new("controller").attr("type", "pci").attr("index", c.index);
    let e = match &c.kind {
        ControllerKind::Expander { bus_nr, node } => e
            .attr("model", family.expander().0)
            .child(Element::new("model").attr("name", family.expander().1))
            .child(
                Element::new("target")
                    .attr("busNr", bus_nr)
                    .child(Element::new("node").text(node)),
            ),
        ControllerKind::RootPort { chassis, port } => e
            .attr("model", "pcie-root-port")
            .child(Element::new("model").attr("name", "pcie-root-port"))
            .child(
                Element::new("target")
                    .attr("chassis", chassis)
                    .attr("port", format!("0x{port:x}")),
            ),
    };
    e.child(Element::new("alias").attr("name", format!("ua-{}", alias_safe(&c.name))))
        .child(pci_address(&c.address))
}

fn device(d: &Device) -> Element {
    let mut e = match &d.kind {
        DeviceKind::Nic { source, model, mac } => {
            let (ty, src) = match source {
                NetSource::Bridge(b) => ("bridge", Element::new("source").attr("bridge", b)),
                NetSource::Network(n) => ("network", Element::new("source").attr("network", n)),
            };
            let mut e = Element::new("interface").attr("type", ty);
            if let Some(m) = mac {
                e.push(Element::new("mac").attr("address", m));
            }
            e.child(src).child(Element::new("model").attr("type", model))
        }
        DeviceKind::Disk {
            path,
            format,
            bus,
            iothread,
        } => {
            let (dev, bus_name) = match bus {
                DiskBus::Virtio => (format!("vd{}", drive_letters(d.ordinal)), "virtio"),
                DiskBus::Sata => (format!("sd{}", drive_letters(d.ordinal)), "sata"),
            };
            let driver = Element::new("driver").attr("name", "qemu").attr("type", format);
            let driver = match iothread {
                Some(t) => driver.attr("iothread", t),
                None => driver,
            };
            let mut e = Element::new("disk")
                .attr("type", "file")
                .attr("device", "disk")
                .child(driver)
                .child(Element::new("source").attr("file", path))
                .child(Element::new("target").attr("dev", dev).attr("bus", bus_name));
            if *bus == DiskBus::Sata {
                e.push(
                    Element::new("address")
                        .attr("type", "drive")
                        .attr("controller", 0)
                        .attr("bus", 0)
                        .attr("target", 0)
                        .attr("unit", d.ordinal),
                );
            }
            e
        }
        DeviceKind::Hostdev { host } => {
            let parts = host_address(host);
            Element::new("hostdev")
                .attr("mode", "subsystem")
                .attr("type", "pci")
                .attr("managed", "yes")
                .child(Element::new("driver").attr("name", "vfio"))
                .child(
                    Element::new("source").child(
                        Element::new("address")
                            .attr("domain", format!("0x{}", parts.0))
                            .attr("bus", format!("0x{}", parts.1))
                            .attr("slot", format!("0x{}", parts.2))
                            .attr("function", format!("0x{}", parts.3)),
                    ),
                )
        }
        DeviceKind::Serial => Element::new("serial")
            .attr("type", "pty")
            .child(Element::new("target").attr("port", 0)),
        DeviceKind::Console => Element::new("console")
            .attr("type", "pty")
            .child(Element::new("target").attr("type", "serial").attr("port", 0)),
    };
    if let Some(a) = &d.address {
        e.push(pci_address(a));
    }
    e
}

/// `dddd:bb:ss.f` → its four hex parts.
fn host_address(addr: &str) -> (String, String, String, String) {
    let (head, func) = addr.rsplit_once('.').unwrap_or((addr, "0"));
    let mut it = head.split(':');
    let dom = it.next().unwrap_or("0000").to_string();
    let bus = it.next().unwrap_or("00").to_string();
    let slot = it.next().unwrap_or("00").to_string();
    (dom, bus, slot, func.to_string())
}
