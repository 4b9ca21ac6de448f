//! libvirt's own QEMU line (`virsh domxml-to-native qemu-argv`) against vnumac's, for
//! what the XML decides, and libvirt's capabilities against a host profile
//! (`libvirt_driver`, `migrate_oracles`).
//!
//! Both lines are parsed into (option, properties) items and compared as sets, for what the
//! XML decides: `-m`, `-smp`, `-overcommit`, `-numa node|dist`, memory backends (and
//! `thread-context` objects), `iothread` objects, `pc-dimm`/`nvdimm`/`pxb-pcie`/`pxb`/`pcie-root-port`
//! and `ahci` devices, which I/O thread serves each `virtio-blk-pci` disk, the port of each
//! `ide-hd` disk and the slot of each `virtio-mem-pci`/`virtio-pmem-pci` device. Only
//! syntax is normalised: JSON vs keyval, `,,`, repeated keys and JSON arrays as sets,
//! `true`/`on`. The allowed differences are returned as notes.

// An oracle's comparison reads as one list of checks; the 100-line rule is for the library.
#![allow(clippy::too_many_lines)]

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};
use vnumac::host::HostProfile;
use vnumac::sets::IdSet;

use super::qemu::{qemu_options, split_keyval};
use super::shell::shell_words;
use super::xml::parse_xml;

/// libvirt's capabilities show exactly the host's nodes: CPUs, memory, distances, pages.
pub fn check_capabilities(profile: &HostProfile, caps_xml: &str) -> Result<(), String> {
    let caps = parse_xml(caps_xml)?;
    let cells = caps
        .at(&["host", "topology", "cells"])
        .ok_or("no <host><topology><cells> in the capabilities")?;
    let mut profile = profile.clone();
    profile.normalize_distances();
    let mut problems = Vec::new();
    let mut seen = BTreeSet::new();
    for cell in cells.all("cell") {
        let id: u32 = cell
            .attr("id")
            .and_then(|v| v.parse().ok())
            .ok_or("a cell without id")?;
        seen.insert(id);
        let Some(i) = profile.node_index(id) else {
            problems.push(format!("libvirt shows cell {id}, the host has no such node"));
            continue;
        };
        let node = &profile.nodes[i];
        let memory: Option<u64> = cell.at(&["memory"]).and_then(|m| m.text.trim().parse().ok());
        // libvirt leaves `<memory>` out for a node without memory.
        if memory.unwrap_or(0) != node.memory_kib {
            problems.push(format!(
                "cell {id} memory: libvirt {memory:?} KiB, host {} KiB",
                node.memory_kib
            ));
        }
        let cpus: IdSet = cell
            .at(&["cpus"])
            .map(|c| c.all("cpu").filter_map(|c| c.attr("id")?.parse().ok()).collect())
            .unwrap_or_default();
        if cpus != node.cpus {
            problems.push(format!("cell {id} cpus: libvirt {cpus}, host {}", node.cpus));
        }
        for sibling in cell.at(&["distances"]).into_iter().flat_map(|d| d.all("sibling")) {
            let other: Option<u32> = sibling.attr("id").and_then(|v| v.parse().ok());
            let value: Option<u32> = sibling.attr("value").and_then(|v| v.parse().ok());
            let expected = other.and_then(|o| profile.distance(id, o));
            if value.is_none() || value != expected {
                problems.push(format!(
                    "cell {id} distance to {other:?}: libvirt {value:?}, host {expected:?}"
                ));
            }
        }
        for hp in &node.hugepages {
            let shown: Option<u64> = cell
                .all("pages")
                .find(|p| p.attr("size") == Some(hp.size_kib.to_string().as_str()))
                .and_then(|p| p.text.trim().parse().ok());
            if shown != Some(hp.count) {
                problems.push(format!(
                    "cell {id} {} KiB pages: libvirt {shown:?}, host {}",
                    hp.size_kib, hp.count
                ));
            }
        }
    }
    let host_ids: BTreeSet<u32> = profile.nodes.iter().map(|n| n.id).collect();
    if seen != host_ids {
        problems.push(format!("libvirt's cells {seen:?}, the host's nodes {host_ids:?}"));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!("  {}", problems.join("\n  ")))
    }
}

#[derive(Debug, Default)]
pub struct Outcome {
    pub diffs: Vec<String>,
    pub notes: Vec<String>,
}

/// The QEMU ids of the XML's `<controller type='pci'>` elements: the user alias
/// (`<alias name='ua-…'/>`) when given, else libvirt's `pci.<index>`.
pub fn declared_pci_ids(xml: &str) -> Result<BTreeSet<String>, String> {
    let domain = parse_xml(xml)?;
    Ok(domain
        .at(&["devices"])
        .into_iter()
        .flat_map(|d| d.all("controller"))
        .filter(|c| c.attr("type") == Some("pci"))
        .filter_map(|c| match c.at(&["alias"]).and_then(|a| a.attr("name")) {
            Some(alias) => Some(alias.to_owned()),
            None => c.attr("index").map(|i| format!("pci.{i}")),
        })
        .collect())
}

// ---------------------------------------------------------------------------
// Parsing both lines into comparable items
// ---------------------------------------------------------------------------

/// A normalised property value.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Val {
    Text(String),
    /// A set of ids (`cpus`, `host-nodes`, `node-affinity`), from ranges, repeats or arrays.
    Set(BTreeSet<u64>),
    /// A key given more than once that is not a set.
    List(Vec<String>),
}

impl std::fmt::Display for Val {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Val::Text(t) => f.write_str(t),
            Val::Set(s) => {
                let ids: IdSet = s.iter().map(|&v| u32::try_from(v).unwrap_or(u32::MAX)).collect();
                write!(f, "{{{ids}}}")
            }
            Val::List(l) => write!(f, "[{}]", l.join("|")),
        }
    }
}

/// One QEMU option: `-object memory-backend-ram` with its properties.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Item {
    option: String,
    /// `type`/`qom-type`/`driver`, taken out of the properties.
    kind: Option<String>,
    props: BTreeMap<String, Val>,
}

impl Item {
    /// What pairs an item with its counterpart on the other line.
    fn key(&self) -> String {
        let prop = |k: &str| self.props.get(k).map(Val::to_string).unwrap_or_default();
        match (self.option.as_str(), self.kind.as_deref()) {
            ("-numa", Some("node")) => format!("-numa node {}", prop("nodeid")),
            ("-numa", Some("dist")) => format!("-numa dist {}->{}", prop("src"), prop("dst")),
            ("-object" | "-device", _) if self.props.contains_key("id") => {
                format!("{} {}", self.option, prop("id"))
            }
            ("-m" | "-smp" | "-overcommit", _) => self.option.clone(),
            _ => self.render(),
        }
    }

    /// Canonical form: kind first, then the properties sorted.
    fn render(&self) -> String {
        let mut parts: Vec<String> = self.kind.iter().cloned().collect();
        parts.extend(self.props.iter().map(|(k, v)| format!("{k}={v}")));
        format!("{} {}", self.option, parts.join(","))
    }

    fn text(&self, key: &str) -> Option<&str> {
        match self.props.get(key) {
            Some(Val::Text(t)) => Some(t),
            _ => None,
        }
    }
}

/// The key a bare leading token stands for, and the set-valued keys, per option.
fn option_syntax(option: &str) -> Option<(Option<&'static str>, &'static [&'static str])> {
    match option {
        "-m" => Some((Some("size"), &[])),
        "-smp" => Some((Some("cpus"), &[])),
        "-overcommit" => Some((None, &[])),
        "-numa" => Some((Some("type"), &["cpus"])),
        "-object" => Some((Some("qom-type"), &["host-nodes", "node-affinity"])),
        "-device" => Some((Some("driver"), &[])),
        _ => None,
    }
}

/// The options of a line (libvirt's or vnumac's) that this test compares, as items.
fn line_items(text: &str) -> Result<Vec<Item>, String> {
    let words = shell_words(text)?;
    let mut items = Vec::new();
    for opt in qemu_options(&words)? {
        let option = format!("-{}", opt.name);
        let Some((implied, sets)) = option_syntax(&option) else {
            continue;
        };
        let value = opt.value.unwrap_or_default();
        let mut props = if value.trim_start().starts_with('{') {
            json_props(&value)?
        } else {
            keyval_props(&value, implied, sets)?
        };
        let kind = match (option.as_str(), implied) {
            ("-numa" | "-object" | "-device", Some(k)) => match props.remove(k) {
                Some(Val::Text(t)) => Some(t),
                Some(other) => return Err(format!("{option}: {k} is {other}")),
                None => return Err(format!("{option} {value}: no {k}")),
            },
            _ => None,
        };
        items.push(Item { option, kind, props });
    }
    Ok(items)
}

/// `on`/`off` for every boolean spelling (`true`, `yes`, ...).
fn norm_scalar(v: &str) -> String {
    match v {
        "true" | "yes" | "on" => "on".into(),
        "false" | "no" | "off" => "off".into(),
        other => other.into(),
    }
}

fn json_props(text: &str) -> Result<BTreeMap<String, Val>, String> {
    let map: Map<String, Value> = serde_json::from_str(text).map_err(|e| format!("bad JSON option {text}: {e}"))?;
    let mut props = BTreeMap::new();
    for (k, v) in map {
        let val = match v {
            Value::String(s) => Val::Text(norm_scalar(&s)),
            Value::Bool(b) => Val::Text(if b { "on" } else { "off" }.into()),
            Value::Number(n) => Val::Text(n.to_string()),
            Value::Array(items) => {
                let ids: Option<BTreeSet<u64>> = items.iter().map(Value::as_u64).collect();
                match ids {
                    Some(ids) => Val::Set(ids),
                    None => Val::List(items.iter().map(Value::to_string).collect()),
                }
            }
            other => Val::Text(other.to_string()),
        };
        props.insert(k, val);
    }
    Ok(props)
}

fn keyval_props(text: &str, implied: Option<&str>, sets: &[&str]) -> Result<BTreeMap<String, Val>, String> {
    let kv = split_keyval(text);
    let mut pairs = kv.pairs;
    match (kv.bare, implied) {
        (Some(bare), Some(key)) => pairs.insert(0, (key.to_owned(), bare)),
        (Some(bare), None) => return Err(format!("unexpected bare {bare:?} in {text}")),
        (None, _) => {}
    }
    let mut grouped: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (k, v) in pairs {
        grouped.entry(k).or_default().push(v);
    }
    let mut props = BTreeMap::new();
    for (k, values) in grouped {
        let val = if sets.contains(&k.as_str()) {
            let mut ids = BTreeSet::new();
            for v in &values {
                let set = IdSet::parse(v).map_err(|e| format!("{k}={v} in {text}: {}", e.message))?;
                ids.extend(set.iter().map(u64::from));
            }
            Val::Set(ids)
        } else if values.len() == 1 {
            Val::Text(norm_scalar(&values[0]))
        } else {
            Val::List(values.iter().map(|v| norm_scalar(v)).collect())
        };
        props.insert(k, val);
    }
    Ok(props)
}

// ---------------------------------------------------------------------------
// The comparison
// ---------------------------------------------------------------------------

const COMPARED_DEVICES: &[&str] = &[
    "pc-dimm",
    "nvdimm",
    "pxb-pcie",
    "pxb",
    "pcie-root-port",
    "ahci",
    "ide-hd",
    "virtio-mem-pci",
    "virtio-pmem-pci",
];

fn compared(item: &Item) -> bool {
    let kind = item.kind.as_deref().unwrap_or("");
    match item.option.as_str() {
        "-object" => kind.starts_with("memory-backend-") || kind == "thread-context" || kind == "iothread",
        "-device" => COMPARED_DEVICES.contains(&kind) || is_vcpu_device(item) || kind == "virtio-blk-pci",
        _ => true,
    }
}

fn is_vcpu_device(item: &Item) -> bool {
    item.option == "-device" && item.kind.as_deref().is_some_and(|k| k.ends_with("-x86_64-cpu"))
}

/// Compares libvirt's `domxml-to-native` output with vnumac's `.args`; `declared` holds the
/// ids of the XML's PCI controllers (libvirt's other buses are its own).
pub fn compare_lines(libvirt: &str, vnumac: &str, declared: &BTreeSet<String>) -> Result<Outcome, String> {
    let mut outcome = Outcome::default();
    let mut lv: Vec<Item> = line_items(libvirt)
        .map_err(|e| format!("cannot parse libvirt's line: {e}\n{libvirt}"))?
        .into_iter()
        .filter(compared)
        .collect();
    let mut vn: Vec<Item> = line_items(vnumac)
        .map_err(|e| format!("cannot parse vnumac's .args: {e}"))?
        .into_iter()
        .filter(compared)
        .collect();

    // A virtio disk is compared by the I/O thread serving it: its bus, address and block
    // node names are libvirt's own. A SATA disk by the controller port it sits on (its block
    // node names and boot index are libvirt's own), and a virtio memory device by its slot
    // (its backend is compared as an -object).
    for item in lv.iter_mut().chain(vn.iter_mut()) {
        match item.kind.as_deref() {
            Some("virtio-blk-pci") => item.props.retain(|k, _| k == "id" || k == "iothread"),
            Some("ide-hd") => item.props.retain(|k, _| k == "id" || k == "bus"),
            Some("virtio-mem-pci" | "virtio-pmem-pci") => {
                item.props
                    .retain(|k, _| matches!(k.as_str(), "id" | "bus" | "addr" | "memdev" | "node"));
            }
            _ => {}
        }
    }

    // Enabled hot-pluggable vCPUs: libvirt adds them over QMP, after start.
    vn.retain(|item| {
        if is_vcpu_device(item) {
            outcome.notes.push(format!(
                "vnumac's hot-pluggable vCPU {} is not on libvirt's line (allowed: libvirt adds it over QMP)",
                item.text("id").unwrap_or("?")
            ));
            return false;
        }
        true
    });
    lv.retain(|item| !is_vcpu_device(item));

    // PCI buses libvirt adds for its own default devices.
    lv.retain(|item| {
        let kind = item.kind.as_deref().unwrap_or("");
        if item.option != "-device" || !matches!(kind, "pcie-root-port" | "pxb-pcie" | "pxb") {
            return true;
        }
        if item.text("id").is_some_and(|id| declared.contains(id)) {
            return true;
        }
        outcome.notes.push(format!(
            "libvirt's own {kind} {} (no such controller in the XML) is not compared",
            item.text("id").unwrap_or("?")
        ));
        false
    });

    // libvirt's per-domain hugepage dir below the mount point vnumac names.
    for item in &mut lv {
        if !item.kind.as_deref().is_some_and(|k| k.starts_with("memory-backend-")) {
            continue;
        }
        let Some(Val::Text(path)) = item.props.get_mut("mem-path") else {
            continue;
        };
        if !path.contains("/libvirt/qemu/ram/")
            && let Some(at) = path.find("/libvirt/qemu/")
        {
            let mount = path[..at].to_owned();
            outcome.notes.push(format!(
                "libvirt's mem-path {path} is compared as its mount point {mount} (vnumac uses the mount point)"
            ));
            *path = mount;
        }
    }

    // Files under libvirt's memory_backing_dir (`<dir>/<id>-<name>/<alias>`): the domain id
    // exists only once the domain runs, so both sides compare as the directory itself.
    for item in lv.iter_mut().chain(vn.iter_mut()) {
        if item.kind.as_deref().is_none_or(|k| k != "memory-backend-file") {
            continue;
        }
        if let Some(Val::Text(path)) = item.props.get_mut("mem-path")
            && let Some(at) = path.find("/libvirt/qemu/ram/")
        {
            *path = path[..at + "/libvirt/qemu/ram".len()].to_owned();
        }
    }

    // Pair by key and compare.
    let group = |items: Vec<Item>| {
        let mut map: BTreeMap<String, Vec<Item>> = BTreeMap::new();
        for item in items {
            map.entry(item.key()).or_default().push(item);
        }
        map
    };
    let lv = group(lv);
    let vn = group(vn);
    let keys: BTreeSet<&String> = lv.keys().chain(vn.keys()).collect();
    for key in keys {
        let l = lv.get(key).map(Vec::as_slice).unwrap_or_default();
        let v = vn.get(key).map(Vec::as_slice).unwrap_or_default();
        match (l, v) {
            ([], v) => {
                for item in v {
                    outcome
                        .diffs
                        .push(format!("  only in vnumac's line:  {}", item.render()));
                }
            }
            (l, []) => {
                for item in l {
                    outcome
                        .diffs
                        .push(format!("  only in libvirt's line: {}", item.render()));
                }
            }
            ([l], [v]) => {
                if l != v {
                    let mut differ: Vec<String> = l.props.keys().chain(v.props.keys()).cloned().collect();
                    differ.sort();
                    differ.dedup();
                    differ.retain(|k| l.props.get(k) != v.props.get(k));
                    if l.kind != v.kind {
                        differ.insert(0, "type".into());
                    }
                    outcome.diffs.push(format!(
                        "  {key}: differ in: {}\n    libvirt: {}\n    vnumac:  {}",
                        differ.join(", "),
                        l.render(),
                        v.render()
                    ));
                }
            }
            (l, v) => {
                if l != v {
                    let show = |items: &[Item]| {
                        items
                            .iter()
                            .map(Item::render)
                            .collect::<Vec<_>>()
                            .join("\n             ")
                    };
                    outcome.diffs.push(format!(
                        "  {key}: given {} times by libvirt, {} by vnumac\n    libvirt: {}\n    vnumac:  {}",
                        l.len(),
                        v.len(),
                        show(l),
                        show(v)
                    ));
                }
            }
        }
    }
    Ok(outcome)
}
