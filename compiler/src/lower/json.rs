//! The checked model as JSON (`--emit json`), for scripts and tests.

use crate::ir::*;
use serde_json::{Value, json};

pub fn guest_json(g: &Guest) -> Value {
    let mut v = json!({
        "name": g.name,
        "type": match g.domain_type { DomainType::Kvm => "kvm", DomainType::Qemu => "qemu" },
        "machine": g.machine,
        "cpu": match &g.cpu {
            CpuMode::HostPassthrough => "host-passthrough".to_string(),
            CpuMode::HostModel => "host-model".to_string(),
            CpuMode::Maximum => "maximum".to_string(),
            CpuMode::Custom(m) => format!("custom:{m}"),
        },
        "cpu_migratable": g.cpu_options.migratable,
        "cpu_features": g.cpu_options.features.iter().map(|(name, on)| json!({"name": name, "policy": if *on { "require" } else { "disable" }})).collect::<Vec<_>>(),
        "memory_kib": g.memory_kib,
        "locked": g.locked,
        "hugepage_kib": g.hugepage_kib,
        "memory_backing": json!({
            "source": match g.backing.source {
                MemorySource::Anonymous => "anonymous",
                MemorySource::File => "file",
                MemorySource::Memfd => "memfd",
            },
            "shared": g.backing.shared,
            "prealloc": g.backing.prealloc,
            "prealloc_threads": g.backing.prealloc_threads,
            "discard": g.backing.discard == Some(true),
        }),
        "vcpus": g.vcpus,
        "topology": g.topology.map(|t| json!({
            "sockets": t.sockets, "dies": t.dies, "cores": t.cores, "threads": t.threads,
        })),
        "cells": g.cells.iter().map(|c| json!({
            "id": c.id,
            "vcpus": c.vcpus.to_string(),
            "memory_kib": c.memory_kib,
            "host_nodes": c.binding.as_ref().map(|b| b.nodes.to_string()),
            "policy": c.binding.as_ref().map(|b| b.policy.libvirt()),
            "hugepage_kib": c.hugepage_kib,
            "shared": c.shared,
            "discard": c.discard,
        })).collect::<Vec<_>>(),
        "hmat": json!({
            "caches": g.hmat.caches.iter().map(|c| json!({
                "cell": c.cell, "level": c.level, "size_kib": c.size_kib, "line_bytes": c.line_bytes,
                "associativity": c.associativity, "policy": c.policy,
            })).collect::<Vec<_>>(),
            "links": g.hmat.links.iter().map(|l| json!({
                "initiator": l.initiator, "target": l.target, "cache": l.cache, "type": l.kind,
                "bandwidth_kib": l.bandwidth.then_some(l.value), "latency_ns": (!l.bandwidth).then_some(l.value),
            })).collect::<Vec<_>>(),
        }),
        "distances": g.distances,
        "pins": g.pins.iter().map(|p| json!({"vcpu": p.vcpu, "cpus": p.cpus.to_string()})).collect::<Vec<_>>(),
        "emulator_pin": g.emulator_pin.as_ref().map(|s| s.to_string()),
        "iothreads": g.iothreads,
        "iothread_pins": g.iothread_pins.iter().map(|s| s.as_ref().map(|s| s.to_string())).collect::<Vec<_>>(),
        "isolated": json!({"emulator": g.isolated.emulator, "iothreads": g.isolated.iothreads}),
        "shared_vcpus": g.shared_vcpus.to_string(),
        "sched": g.sched.iter().map(|s| json!({
            "vcpus": match &s.threads { SchedThreads::Vcpus(v) => Some(v.to_string()), _ => None },
            "iothreads": match &s.threads { SchedThreads::IoThreads(v) => Some(v.to_string()), _ => None },
            "emulator": s.threads == SchedThreads::Emulator,
            "policy": s.policy.libvirt(),
            "priority": s.priority,
        })).collect::<Vec<_>>(),
        "cachetunes": g.cachetunes.iter().map(|t| json!({
            "vcpus": t.vcpus.to_string(),
            "caches": t.caches.iter().map(|c| json!({"id": c.id, "level": c.level, "type": c.kind.word(), "bytes": c.size})).collect::<Vec<_>>(),
            "monitors": t.monitors.iter().map(ToString::to_string).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "memorytunes": g.memorytunes.iter().map(|t| json!({
            "vcpus": t.vcpus.to_string(),
            "nodes": t.nodes.iter().map(|&(id, pct)| json!({"id": id, "bandwidth": pct})).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "memory_policy": g.memory_binding.as_ref().map(|b| json!({"mode": b.policy.libvirt(), "nodeset": b.nodes.to_string(), "placement": if b.auto { "auto" } else { "static" }})),
        "boot_vcpus": g.boot_vcpus(),
        "vcpu_states": g.vcpu_states.iter().map(|v| json!({
            "id": v.id, "enabled": v.enabled, "hotpluggable": v.hotpluggable, "order": v.order,
        })).collect::<Vec<_>>(),
    });
    if let (Value::Object(all), Value::Object(more)) = (&mut v, hardware(g)) {
        all.extend(more);
    }
    v
}

/// Memory hotplug headroom, memory devices, controllers (and apart, a `pc` machine's AHCI
/// controller) and devices (the keys are sorted, so where they are added does not show).
fn hardware(g: &Guest) -> Value {
    json!({
        "max_memory": g.max_memory.map(|m| json!({"kib": m.kib, "slots": m.slots})),
        "memory_devices": g.memory_devices.iter().map(|m| json!({
            "alias": m.alias(),
            "model": m.kind.model(),
            "size_kib": m.size_kib,
            "cell": (!matches!(m.kind, MemoryDeviceKind::VirtioPmem { .. })).then_some(m.node),
            "slot": m.kind.takes_slot().then_some(m.slot),
            "base": m.base,
        })).collect::<Vec<_>>(),
        // A `pc` machine's AHCI controller for its SATA disks, on pci.0.
        "ahci": g.ahci.map(|a| json!({"bus": a.bus, "slot": a.slot})),
        "controllers": g.controllers.iter().map(|c| match &c.kind {
            ControllerKind::Expander { bus_nr, node } => json!({"index": c.index, "name": c.name, "model": g.family.expander().0, "bus_nr": bus_nr, "cell": node, "bus": c.address.bus, "slot": c.address.slot}),
            ControllerKind::RootPort { chassis, port } => json!({"index": c.index, "name": c.name, "model": "pcie-root-port", "chassis": chassis, "port": port, "bus": c.address.bus, "slot": c.address.slot}),
        }).collect::<Vec<_>>(),
        "devices": g.devices.iter().map(|d| json!({
            "name": d.name,
            "kind": match &d.kind {
                DeviceKind::Nic { .. } => "nic",
                DeviceKind::Disk { .. } => "disk",
                DeviceKind::Hostdev { .. } => "hostdev",
                DeviceKind::Serial => "serial",
                DeviceKind::Console => "console",
            },
            "bus": d.address.map(|a| a.bus),
            "slot": d.address.map(|a| a.slot),
            "iothread": match &d.kind {
                DeviceKind::Disk { iothread, .. } => *iothread,
                _ => None,
            },
        })).collect::<Vec<_>>(),
    })
}
