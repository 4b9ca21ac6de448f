//! The facts libvirt gives about a running domain, as plain values, and their JSON.

use serde_json::{Value, json};
use vnumac::sets::IdSet;

/// What libvirt says about one running domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DomainFacts {
    pub(crate) name: String,
    /// The live domain XML, as `virsh dumpxml` prints it.
    pub(crate) xml: String,
    /// QEMU's process: the thread group of its vCPU threads (None when /proc does not show
    /// them, as for a domain on another machine).
    pub(crate) pid: Option<u32>,
    /// Every vCPU up to the maximum, by id.
    pub(crate) vcpus: Vec<VcpuFacts>,
    /// Where libvirt pins the emulator threads: `<emulatorpin>`, else `<vcpu cpuset>`; None
    /// when it pins them nowhere (libvirt reports all host CPUs).
    pub(crate) emulator_pin: Option<IdSet>,
    /// Every I/O thread, by id.
    pub(crate) iothreads: Vec<IoThreadFacts>,
    /// The whole guest's memory policy, from `virDomainGetNumaParameters`.
    pub(crate) numatune: Option<NumaTune>,
    /// Each cell's memory policy, the live XML's `<memnode>`s.
    pub(crate) memnodes: Vec<MemNode>,
}

/// One vCPU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct VcpuFacts {
    /// libvirt's vCPU id, which is QEMU's `cpu-index`.
    pub(crate) id: u32,
    /// Online (`enabled='yes'`, or among the first `current` vCPUs).
    pub(crate) online: bool,
    /// Where libvirt pins it: `<vcpupin>`, else `<vcpu cpuset>`; None when it pins it
    /// nowhere (libvirt reports all host CPUs).
    pub(crate) pin: Option<IdSet>,
    /// Its host thread, from `query-cpus-fast`; None when offline.
    pub(crate) thread: Option<u32>,
}

/// One I/O thread.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct IoThreadFacts {
    /// libvirt's id: QEMU's object `iothreadID`.
    pub(crate) id: u32,
    /// Where libvirt pins it: `<iothreadpin>`, else `<vcpu cpuset>`; None when nowhere.
    pub(crate) pin: Option<IdSet>,
    /// Its host thread, from `query-iothreads`; None when QEMU does not report it.
    pub(crate) thread: Option<u32>,
}

/// A memory policy: `strict`, `preferred`, `interleave` or `restrictive`, and its nodes
/// (None: libvirt binds to no node set).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NumaTune {
    pub(crate) mode: String,
    pub(crate) nodeset: Option<IdSet>,
}

/// One cell's memory policy (`<memnode cellid mode nodeset>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MemNode {
    pub(crate) cell: u32,
    pub(crate) mode: String,
    pub(crate) nodeset: IdSet,
}

fn set(s: Option<&IdSet>) -> Value {
    s.map_or(Value::Null, |s| Value::String(s.to_string()))
}

impl DomainFacts {
    /// The facts as one JSON object (without the XML, which `virsh dumpxml` prints).
    pub(crate) fn to_json(&self) -> Value {
        let vcpus: Vec<Value> = self
            .vcpus
            .iter()
            .map(|v| json!({ "id": v.id, "online": v.online, "pin": set(v.pin.as_ref()), "thread": v.thread }))
            .collect();
        let iothreads: Vec<Value> = self
            .iothreads
            .iter()
            .map(|t| json!({ "id": t.id, "pin": set(t.pin.as_ref()), "thread": t.thread }))
            .collect();
        let memnodes: Vec<Value> = self
            .memnodes
            .iter()
            .map(|m| json!({ "cell": m.cell, "mode": m.mode, "nodeset": m.nodeset.to_string() }))
            .collect();
        json!({
            "name": self.name,
            "pid": self.pid,
            "vcpus": vcpus,
            "emulator_pin": set(self.emulator_pin.as_ref()),
            "iothreads": iothreads,
            "numatune": self.numatune.as_ref().map(|n| json!({ "mode": n.mode, "nodeset": set(n.nodeset.as_ref()) })),
            "memnodes": memnodes,
        })
    }
}
