//! Checked guest → libvirt domain XML.

use super::xml::Element;
use crate::ir::*;
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
        d.push(Element::new("maxMemory").attr("slots", max.slots).attr("unit", "KiB").text(max.kib));
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
    devices.push(
        Element::new("controller")
            .attr("type", "pci")
            .attr("index", 0)
            .attr("model", if g.is_q35() { "pcie-root" } else { "pci-root" }),
    );
    for m in &g.memory_devices {
        devices.push(memory_device(m));
    }
    devices.push(Element::new("memballoon").attr("model", "none"));
    d.push(devices);
    d.render()
}

fn memory_backing(g: &Guest) -> Option<Element> {
    let mut mb = Element::new("memoryBacking");
    if let Some(size) = g.hugepage_kib {
        let mut page = Element::new("page").attr("size", size).attr("unit", "KiB");
        if !g.cells.is_empty() {
            let ids: IdSet = g
                .cells
                .iter()
                .filter(|c| c.hugepage_kib.is_some())
                .map(|c| c.id)
                .collect();
            page = page.attr("nodeset", ids);
        }
        mb.push(Element::new("hugepages").child(page));
    }
    if g.locked {
        mb.push(Element::new("locked"));
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
    ct.has_children().then_some(ct)
}

fn numatune(g: &Guest) -> Option<Element> {
    let mut nt = Element::new("numatune");
    if let Some(b) = &g.memory_binding {
        nt.push(
            Element::new("memory")
                .attr("mode", b.policy.libvirt())
                .attr("nodeset", &b.nodes),
        );
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
            .attr("migratable", "on"),
        CpuMode::HostModel => Element::new("cpu").attr("mode", "host-model").attr("check", "partial"),
        CpuMode::Maximum => Element::new("cpu")
            .attr("mode", "maximum")
            .attr("check", "none")
            .attr("migratable", "on"),
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
    if !g.cells.is_empty() {
        let mut numa = Element::new("numa");
        for (i, c) in g.cells.iter().enumerate() {
            let mut cell = Element::new("cell").attr("id", c.id);
            if !c.vcpus.is_empty() {
                cell = cell.attr("cpus", &c.vcpus);
            }
            cell = cell.attr("memory", c.memory_kib).attr("unit", "KiB");
            if let Some(row) = g.distances.as_ref().and_then(|m| m.get(i)) {
                let mut ds = Element::new("distances");
                for (j, v) in row.iter().enumerate() {
                    ds.push(Element::new("sibling").attr("id", j).attr("value", v));
                }
                cell.push(ds);
            }
            numa.push(cell);
        }
        cpu.push(numa);
    }
    cpu
}

fn memory_device(m: &MemoryDevice) -> Element {
    let size = Element::new("size").attr("unit", "KiB").text(m.size_kib);
    let node = Element::new("node").text(m.node);
    let address = Element::new("address").attr("type", "dimm").attr("slot", m.slot);
    match &m.kind {
        MemoryDeviceKind::Dimm => Element::new("memory")
            .attr("model", "dimm")
            .child(Element::new("target").child(size).child(node))
            .child(address),
        MemoryDeviceKind::Nvdimm { path, label_kib, align_kib, pmem, shared } => {
            let mut e = Element::new("memory").attr("model", "nvdimm");
            if let Some(sh) = shared {
                e = e.attr("access", if *sh { "shared" } else { "private" });
            }
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
            e.child(source).child(target).child(address)
        }
    }
}
