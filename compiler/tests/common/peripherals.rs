//! The devices a domain XML declares against the devices a started QEMU holds: disks by
//! bus, NICs by model, serial ports, passthrough, root ports and expander buses, counted
//! in one vocabulary on both sides. The XML side reads the domain with [`super::xml`],
//! independently of vnumac; the QEMU side asks QMP (`qom-list` of `/machine/peripheral`
//! and `/machine/peripheral-anon`, and `query-block`).

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::xml::Element;

/// Device kind → how many.
pub type Counts = BTreeMap<String, usize>;

/// The QMP commands [`built`] reads, in its argument order.
pub fn commands() -> Vec<Value> {
    vec![
        json!({"execute": "qom-list", "arguments": {"path": "/machine/peripheral"}}),
        json!({"execute": "qom-list", "arguments": {"path": "/machine/peripheral-anon"}}),
        json!({"execute": "query-block"}),
    ]
}

/// What the domain's `<devices>` declares. A `<console>` is the first serial port's other
/// name, not a device of its own; a `<hostdev>` is counted as `passthrough`.
pub fn declared(domain: &Element) -> Counts {
    let mut counts = Counts::new();
    let Some(devices) = domain.at(&["devices"]) else {
        return counts;
    };
    let mut add = |kind: String| *counts.entry(kind).or_default() += 1;
    for d in &devices.children {
        match d.name.as_str() {
            "disk" => {
                let bus = d.at(&["target"]).and_then(|t| t.attr("bus")).unwrap_or("?");
                add(format!("disk on {bus}"));
                add("block backend attached".into());
            }
            "interface" => {
                let model = d.at(&["model"]).and_then(|m| m.attr("type")).unwrap_or("?");
                add(format!("nic {model}"));
            }
            "serial" => add("serial".into()),
            "hostdev" => add("passthrough".into()),
            "controller" => {
                if let Some(m @ ("pcie-root-port" | "pcie-expander-bus")) = d.attr("model") {
                    add(m.into());
                }
            }
            _ => {}
        }
    }
    counts
}

/// What QEMU built, from the returns of [`commands`]. A passed-through device stands in
/// as `virtio-rng-pci` once neutralised (`super::neutralise`).
pub fn built(peripheral: &Value, anonymous: &Value, blocks: &Value) -> Result<Counts, String> {
    let mut counts = Counts::new();
    for list in [peripheral, anonymous] {
        for child in list
            .as_array()
            .ok_or(format!("qom-list did not return a list: {list}"))?
        {
            let ty = child["type"].as_str().unwrap_or_default();
            let Some(ty) = ty.strip_prefix("child<").and_then(|t| t.strip_suffix('>')) else {
                continue;
            };
            let kind = match ty {
                "ide-hd" => "disk on sata",
                "virtio-blk-pci" => "disk on virtio",
                "virtio-net-pci" => "nic virtio",
                "e1000e" => "nic e1000e",
                "isa-serial" => "serial",
                "virtio-rng-pci" => "passthrough",
                "pcie-root-port" => "pcie-root-port",
                "pxb-pcie" => "pcie-expander-bus",
                _ => continue,
            };
            *counts.entry(kind.into()).or_default() += 1;
        }
    }
    for b in blocks
        .as_array()
        .ok_or(format!("query-block did not return a list: {blocks}"))?
    {
        if b.get("qdev").and_then(Value::as_str).is_some_and(|q| !q.is_empty()) && b.get("inserted").is_some() {
            *counts.entry("block backend attached".into()).or_default() += 1;
        }
    }
    Ok(counts)
}

/// One line per kind whose count differs, `devices (kind): XML n | QEMU m`.
pub fn compare(declared: &Counts, built: &Counts) -> Vec<String> {
    let kinds: std::collections::BTreeSet<&String> = declared.keys().chain(built.keys()).collect();
    kinds
        .into_iter()
        .filter_map(|k| {
            let (x, q) = (
                declared.get(k).copied().unwrap_or(0),
                built.get(k).copied().unwrap_or(0),
            );
            (x != q).then(|| format!("devices ({k}): XML {x} | QEMU {q}"))
        })
        .collect()
}
