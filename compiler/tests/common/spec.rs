//! What a domain XML declares and what a started QEMU reports about itself, compared
//! one difference per line: NUMA nodes, vCPUs, memory, memory devices, expander buses
//! and the other devices (`oracles`, `migrate_oracles`).

// An oracle's comparison reads as one list of checks; the 100-line rule is for the library.
#![allow(clippy::too_many_lines)]

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde_json::{Value, json};

use super::iothreads::{self, IoThreads};
use super::peripherals::{self, Counts};
use super::qmp::{QEMU_TIMEOUT, parse_info_numa, run_qmp};
use super::xml::{DomainBasics, Element, NumaCell, format_set, parse_domain, scaled_bytes};
use super::{QEMU, number};

const MIB: u64 = 1024 * 1024;

// ---------------------------------------------------------------------------
// Comparison: the XML's declarations against QEMU's answers
// ---------------------------------------------------------------------------

/// What the domain XML declares, as libvirt would start it.
#[derive(Debug)]
pub struct DomainSpec {
    memory: u64,
    max_vcpus: u32,
    present_vcpus: BTreeSet<u32>,
    /// sockets, dies, cores, threads (libvirt's default without `<topology>`: N sockets of one thread).
    topology: [u32; 4],
    cells: Vec<NumaCell>,
    memory_devices: Vec<String>,
    memory_device_bytes: u64,
    /// pcie-expander-bus controllers: (QEMU id, guest node).
    pub expanders: Vec<(String, u64)>,
    /// Disks, NICs, serial ports, passthrough, root ports and expanders.
    peripherals: Counts,
    /// I/O threads, and the one serving each virtio disk.
    pub iothreads: IoThreads,
}

/// What QEMU reported over QMP.
#[derive(Debug)]
pub struct QemuFacts {
    pub nodes: usize,
    pub node_cpus: BTreeMap<u32, BTreeSet<u32>>,
    pub node_size_mib: BTreeMap<u32, u64>,
    pub node_plugged_mib: BTreeMap<u32, u64>,
    /// Every possible vCPU in vCPU-index order (socket, die, cluster, core, thread).
    pub cpus: Vec<CpuSlot>,
    pub base_memory: u64,
    pub memory_devices: Vec<String>,
    pub memory_device_bytes: u64,
    pub warnings: String,
    /// `numa_node` of each expander bus, by QEMU id (from `qom-get`).
    pub expander_nodes: Vec<(String, Option<u64>)>,
    pub peripherals: Counts,
    pub iothreads: IoThreads,
}

#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct CpuSlot {
    /// socket, die, cluster, core, thread
    position: [u64; 5],
    node: Option<u32>,
    present: bool,
}

pub fn present_indexes(facts: &QemuFacts) -> BTreeSet<u32> {
    (0..)
        .zip(&facts.cpus)
        .filter(|(_, c)| c.present)
        .map(|(i, _)| i)
        .collect()
}

/// One line per difference, `what: XML … | QEMU …`.
pub fn compare(spec: &DomainSpec, facts: &QemuFacts) -> Vec<String> {
    let mut diffs = Vec::new();
    let mut differ = |what: String, xml: String, qemu: String| {
        if xml != qemu {
            diffs.push(format!("{what}: XML {xml} | QEMU {qemu}"));
        }
    };
    let present = present_indexes(facts);
    let cell_of = |vcpu: u32| spec.cells.iter().find(|c| c.cpus.contains(&vcpu)).map(|c| c.id);

    // NUMA nodes.
    differ(
        "node count".into(),
        spec.cells.len().to_string(),
        facts.nodes.to_string(),
    );
    let ids: BTreeSet<u32> = spec
        .cells
        .iter()
        .map(|c| c.id)
        .chain(facts.node_cpus.keys().copied())
        .collect();
    for id in ids {
        let cell = spec.cells.iter().find(|c| c.id == id);
        let show_cell = |f: &dyn Fn(&NumaCell) -> String| cell.map_or_else(|| "has no such cell".to_owned(), f);
        let show_node = |s: Option<String>| s.unwrap_or_else(|| "has no such node".to_owned());
        differ(
            format!("node {id} cpus (present)"),
            show_cell(&|c| format_set(&c.cpus.intersection(&present).copied().collect())),
            show_node(facts.node_cpus.get(&id).map(format_set)),
        );
        let possible: BTreeSet<u32> = (0..)
            .zip(&facts.cpus)
            .filter(|(_, c)| c.node == Some(id))
            .map(|(i, _)| i)
            .collect();
        differ(
            format!("node {id} cpus (possible, by node-id)"),
            show_cell(&|c| format_set(&c.cpus)),
            format_set(&possible),
        );
        let qemu_mib = facts
            .node_size_mib
            .get(&id)
            .map(|size| size - facts.node_plugged_mib.get(&id).copied().unwrap_or(0));
        differ(
            format!("node {id} memory"),
            show_cell(&|c| format!("{} MiB", c.memory.div_ceil(MIB))),
            show_node(qemu_mib.map(|m| format!("{m} MiB"))),
        );
    }
    if !spec.cells.is_empty() {
        let orphans: BTreeSet<u32> = (0..spec.max_vcpus).filter(|&v| cell_of(v).is_none()).collect();
        let qemu_orphans: BTreeSet<u32> = (0..)
            .zip(&facts.cpus)
            .filter(|(_, c)| c.node.is_none())
            .map(|(i, _)| i)
            .collect();
        differ(
            "vCPUs in no node".into(),
            format_set(&orphans),
            format_set(&qemu_orphans),
        );
    }
    // Cross-check of QEMU against itself: the derived vCPU indexes must be the ones `info numa` lists.
    for (id, listed) in &facts.node_cpus {
        let derived: BTreeSet<u32> = (0..)
            .zip(&facts.cpus)
            .filter(|(_, c)| c.present && c.node == Some(*id))
            .map(|(i, _)| i)
            .collect();
        if &derived != listed {
            diffs.push(format!(
                "QEMU self-check, node {id}: info numa lists {} but query-hotpluggable-cpus gives {} (vCPU index derivation is off)",
                format_set(listed),
                format_set(&derived)
            ));
        }
    }

    // vCPUs.
    let mut differ = |what: &str, xml: String, qemu: String| {
        if xml != qemu {
            diffs.push(format!("{what}: XML {xml} | QEMU {qemu}"));
        }
    };
    differ(
        "possible vCPUs (<vcpu>)",
        spec.max_vcpus.to_string(),
        facts.cpus.len().to_string(),
    );
    differ("present vCPUs", format_set(&spec.present_vcpus), format_set(&present));
    let [s, d, c, t] = spec.topology;
    differ(
        "topology",
        format!("sockets={s} dies={d} cores={c} threads={t}"),
        qemu_topology(&facts.cpus),
    );

    // Memory.
    let base = if spec.cells.is_empty() {
        spec.memory.saturating_sub(spec.memory_device_bytes).div_ceil(MIB) * MIB
    } else {
        spec.cells.iter().map(|c| c.memory.div_ceil(MIB) * MIB).sum()
    };
    differ("initial memory (-m)", show_bytes(base), show_bytes(facts.base_memory));
    let xml_total = if spec.cells.is_empty() {
        base + spec.memory_device_bytes
    } else {
        spec.memory
    };
    differ(
        "total memory (<memory> = initial + memory devices)",
        show_bytes(xml_total),
        show_bytes(facts.base_memory + facts.memory_device_bytes),
    );
    differ(
        "memory devices",
        format!("[{}]", spec.memory_devices.join("; ")),
        format!("[{}]", facts.memory_devices.join("; ")),
    );
    // Expander buses: QEMU's numa_node (qom-get) is the XML's <target><node>.
    for (id, node) in &spec.expanders {
        let got = facts.expander_nodes.iter().find(|(i, _)| i == id).and_then(|(_, n)| *n);
        differ(
            &format!("pxb-pcie {id} numa_node"),
            node.to_string(),
            got.map_or_else(|| "none".to_owned(), |n| n.to_string()),
        );
    }
    diffs.extend(peripherals::compare(&spec.peripherals, &facts.peripherals));
    diffs.extend(iothreads::compare(&spec.iothreads, &facts.iothreads));
    diffs
}

fn qemu_topology(cpus: &[CpuSlot]) -> String {
    let distinct = |i: usize| cpus.iter().map(|c| c.position[i]).collect::<BTreeSet<_>>().len();
    format!(
        "sockets={} dies={} cores={} threads={}",
        distinct(0),
        distinct(1),
        distinct(3),
        distinct(4)
    )
}

fn show_bytes(bytes: u64) -> String {
    if bytes.is_multiple_of(MIB) {
        format!("{} MiB", bytes / MIB)
    } else if bytes.is_multiple_of(1024) {
        format!("{} KiB", bytes / 1024)
    } else {
        format!("{bytes} bytes")
    }
}

/// One memory device, rendered the same way on both sides.
fn memory_device_line(model: &str, slot: Option<u64>, node: Option<u64>, bytes: u64) -> String {
    let slot = slot.map_or_else(String::new, |s| format!(" slot {s}"));
    let node = node.map_or_else(String::new, |n| format!(" node {n}"));
    format!("{model}{slot}{node} {}", show_bytes(bytes))
}

// ---------------------------------------------------------------------------
// The XML side (common::xml, independent of vnumac)
// ---------------------------------------------------------------------------

/// Reads what libvirt would start from a domain XML.
pub fn domain_spec(xml: &str) -> Result<DomainSpec, String> {
    let (domain, basics) = parse_domain(xml)?;
    let DomainBasics {
        memory,
        max_vcpus,
        present_vcpus,
        topology,
        cells,
    } = basics;

    // Memory devices; dimm/nvdimm without an address get libvirt's lowest free slot.
    let devices: Vec<&Element> = domain
        .at(&["devices"])
        .into_iter()
        .flat_map(|d| d.all("memory"))
        .collect();
    let explicit_slot = |d: &Element| {
        d.at(&["address"])
            .filter(|a| a.attr("type") == Some("dimm"))
            .and_then(|a| a.attr("slot"))
            .map(|s| number::<u64>(s, "slot"))
    };
    let mut taken: BTreeSet<u64> = devices
        .iter()
        .filter_map(|d| explicit_slot(d))
        .collect::<Result<_, _>>()?;
    let mut memory_devices = Vec::new();
    let mut memory_device_bytes = 0;
    for dev in devices {
        let model = dev.attr("model").unwrap_or("?");
        let size_el = dev
            .at(&["target", "size"])
            .ok_or(format!("<memory model='{model}'> without <target><size>"))?;
        let bytes = scaled_bytes(&size_el.text, size_el.attr("unit"))?.div_ceil(2 * MIB) * (2 * MIB);
        let node = dev
            .at(&["target", "node"])
            .map(|n| number::<u64>(&n.text, "<target><node>"))
            .transpose()?;
        let slot = match (model, explicit_slot(dev).transpose()?) {
            ("dimm" | "nvdimm", None) => {
                let free = (0..).find(|s| !taken.contains(s)).unwrap_or(0);
                taken.insert(free);
                Some(free)
            }
            (_, slot) => slot,
        };
        memory_devices.push(memory_device_line(model, slot, node, bytes));
        memory_device_bytes += bytes;
    }
    memory_devices.sort();
    // Expander buses: libvirt's QEMU id is the user alias, else `pci.<index>`.
    let mut expanders = Vec::new();
    for c in domain.at(&["devices"]).into_iter().flat_map(|d| d.all("controller")) {
        if c.attr("model") != Some("pcie-expander-bus") {
            continue;
        }
        let id = match c.at(&["alias"]).and_then(|a| a.attr("name")) {
            Some(alias) => alias.to_owned(),
            None => format!("pci.{}", c.attr("index").unwrap_or("?")),
        };
        if let Some(node) = c.at(&["target", "node"]) {
            expanders.push((id, number::<u64>(&node.text, "<target><node>")?));
        }
    }
    Ok(DomainSpec {
        memory,
        max_vcpus,
        present_vcpus,
        topology,
        cells,
        memory_devices,
        memory_device_bytes,
        expanders,
        peripherals: peripherals::declared(&domain),
        iothreads: iothreads::declared(&domain)?,
    })
}

// ---------------------------------------------------------------------------
// Asking QEMU what it built (common::qmp)
// ---------------------------------------------------------------------------

/// Starts QEMU (no shell) on `argv` and asks it over QMP what machine it built; `disks`
/// are the QEMU ids of the virtio disks whose I/O thread is asked for.
pub fn run_qemu(argv: &[String], expanders: &[String], disks: &[String]) -> Result<QemuFacts, String> {
    let mut commands = vec![
        json!({"execute": "qmp_capabilities"}),
        json!({"execute": "human-monitor-command", "arguments": {"command-line": "info numa"}}),
        json!({"execute": "query-hotpluggable-cpus"}),
        json!({"execute": "query-memory-devices"}),
        json!({"execute": "query-memdev"}),
        json!({"execute": "query-memory-size-summary"}),
    ];
    commands.extend(peripherals::commands());
    for id in expanders {
        commands.push(json!({"execute": "qom-get", "arguments": {"path": format!("/machine/peripheral/{id}"), "property": "numa_node"}}));
    }
    commands.extend(iothreads::commands(disks));
    commands.push(json!({"execute": "quit"}));
    let (returns, stderr, transcript) = run_qmp(QEMU, argv, &commands, QEMU_TIMEOUT)?;
    let mut facts = qemu_facts(&returns, stderr)
        .map_err(|e| format!("  unexpected QMP answer: {e}\n  QMP transcript:\n{transcript}"))?;
    facts.peripherals = peripherals::built(&returns[6], &returns[7], &returns[8])
        .map_err(|e| format!("  unexpected QMP answer: {e}\n  QMP transcript:\n{transcript}"))?;
    facts.expander_nodes = expanders
        .iter()
        .zip(&returns[9..])
        .map(|(id, v)| (id.clone(), v.as_u64()))
        .collect();
    facts.iothreads = iothreads::built(&returns[9 + expanders.len()..], disks)
        .map_err(|e| format!("  unexpected QMP answer: {e}\n  QMP transcript:\n{transcript}"))?;
    Ok(facts)
}

/// Turns the QMP returns (in `run_qemu`'s command order) into facts.
fn qemu_facts(returns: &[Value], warnings: String) -> Result<QemuFacts, String> {
    let info_numa = parse_info_numa(returns[1].as_str().ok_or("info numa did not return text")?)?;

    let as_u64 = |v: &Value, what: &str| v.as_u64().ok_or(format!("{what} is not a number: {v}"));
    let mut cpus = Vec::new();
    for entry in returns[2]
        .as_array()
        .ok_or("query-hotpluggable-cpus did not return a list")?
    {
        let props = &entry["props"];
        let id = |k: &str| props.get(k).map_or(Ok(0), |v| as_u64(v, k));
        let node = props.get("node-id").map(|v| as_u64(v, "node-id")).transpose()?;
        cpus.push(CpuSlot {
            position: [
                id("socket-id")?,
                id("die-id")?,
                id("cluster-id")?,
                id("core-id")?,
                id("thread-id")?,
            ],
            node: node.map(|n| n as u32),
            present: entry.get("qom-path").is_some(),
        });
    }
    cpus.sort();

    let backends: HashMap<String, u64> = returns[4]
        .as_array()
        .ok_or("query-memdev did not return a list")?
        .iter()
        .filter_map(|m| Some((m.get("id")?.as_str()?.to_owned(), m.get("size")?.as_u64()?)))
        .collect();
    let mut memory_devices = Vec::new();
    let mut memory_device_bytes = 0;
    for dev in returns[3]
        .as_array()
        .ok_or("query-memory-devices did not return a list")?
    {
        let kind = dev["type"].as_str().ok_or("memory device without type")?;
        let data = &dev["data"];
        let memdev = data["memdev"].as_str().ok_or(format!("{kind} without memdev"))?;
        let backend = memdev.rsplit('/').next().unwrap_or(memdev);
        let bytes = *backends
            .get(backend)
            .ok_or(format!("{kind} uses {memdev}, which query-memdev does not list"))?;
        let slot = data.get("slot").and_then(Value::as_u64);
        let node = data.get("node").and_then(Value::as_u64);
        memory_devices.push(memory_device_line(kind, slot, node, bytes));
        memory_device_bytes += bytes;
    }
    memory_devices.sort();

    Ok(QemuFacts {
        nodes: info_numa.nodes,
        node_cpus: info_numa.cpus,
        node_size_mib: info_numa.size_mib,
        node_plugged_mib: info_numa.plugged_mib,
        cpus,
        base_memory: as_u64(&returns[5]["base-memory"], "base-memory")?,
        memory_devices,
        memory_device_bytes,
        warnings,
        expander_nodes: Vec::new(),
        peripherals: Counts::new(),
        iothreads: IoThreads::default(),
    })
}
