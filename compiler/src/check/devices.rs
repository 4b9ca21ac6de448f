//! `devices { }`: expanders bound to guest cells, root ports, NICs, disks, passthrough
//! and consoles, with explicit PCI addresses, `pci.N` indices and bus numbers.

use super::codes::*;
use super::schema::{self, Context, Fields};
use crate::diagnostics::Diagnostic;
use crate::host::HostProfile;
use crate::ir::*;
use crate::span::Span;

/// The top bus number; expanders are numbered downwards from here.
const TOP_BUS: u32 = 255;

pub struct DeviceSet {
    pub controllers: Vec<Controller>,
    pub devices: Vec<Device>,
}

/// Where an endpoint goes: a named root port, a cell (short form), or its own port on pcie.0.
enum Plug<'a> {
    Port(&'a str, Span),
    Cell(u32),
    Root,
}

struct Exp {
    name: String,
    node: u32,
    bus_nr: Option<(u64, Span)>,
    span: Span,
    ports: u32,
}

struct Port {
    name: String,
    /// Index into the expander list, or None for pcie.0.
    on: Option<usize>,
    used_by: Option<Span>,
    /// Where it was written, or the device whose short form made it.
    span: Span,
}

pub fn check(
    block: &Fields<'_>,
    cells: &[GuestCell],
    machine_q35: bool,
    host: Option<&HostProfile>,
    diags: &mut Vec<Diagnostic>,
) -> Option<DeviceSet> {
    let body = block
        .stmt
        .block
        .as_ref()
        .map(|b| b.statements.as_slice())
        .unwrap_or(&[]);
    schema::check_repeats(body, Context::Devices, diags);
    let before = diags.len();
    let fields: Vec<Fields<'_>> = body
        .iter()
        .filter_map(|s| schema::check(s, Context::Devices, diags))
        .collect();
    if diags.len() > before {
        return None;
    }
    let needs_pcie = fields.iter().any(|f| {
        matches!(f.keyword(), "expander" | "root-port" | "nic" | "hostdev")
            || (f.keyword() == "disk" && f.text("bus") == Some("virtio"))
    });
    if needs_pcie && !machine_q35 {
        diags.push(
            Diagnostic::error(
                DEVICE_CONFIG,
                "PCIe devices need the q35 machine",
                block.stmt.keyword.span,
                "not a q35 guest",
            )
            .with_help("write `machine q35` (the default)"),
        );
        return None;
    }
    // Names are unique within the block.
    let mut names: Vec<(&str, Span)> = Vec::new();
    for f in &fields {
        let Some(n) = f
            .arg_text(0)
            .filter(|_| !matches!(f.keyword(), "serial" | "console" | "hostdev"))
        else {
            continue;
        };
        let what = format!("a {} name", f.keyword());
        if super::values::identifier(n, f.arg_span(0), &what, "", diags) && f.keyword() == "disk" {
            disk_node_names(n, f.arg_span(0), diags);
        }
        if let Some(v) = f.text("network") {
            super::values::identifier(v, f.span_of("network"), "a network name", "", diags);
        }
        if let Some(b) = f.text("bridge") {
            super::values::bridge(b, f.span_of("bridge"), diags);
        }
        if let Some(p) = f.text("path") {
            super::values::path(p, f.span_of("path"), "the disk path", diags);
        }
        if let Some((_, first)) = names.iter().find(|(x, _)| *x == n) {
            diags.push(
                Diagnostic::error(
                    DUPLICATE_NAME,
                    format!("device `{n}` is defined twice"),
                    f.arg_span(0),
                    "again here",
                )
                .with_label(*first, "first here")
                .with_help("give each device its own name"),
            );
        } else {
            names.push((n, f.arg_span(0)));
        }
    }
    let cell_ok = |node: u64, span: Span, diags: &mut Vec<Diagnostic>| -> Option<u32> {
        if cells.iter().any(|c| u64::from(c.id) == node) {
            return Some(node as u32);
        }
        diags.push(
            Diagnostic::error(
                DEVICE_NODE,
                format!("the guest has no cell {node}"),
                span,
                "no such cell",
            )
            .with_help(if cells.is_empty() {
                "a device bound to a NUMA node needs guest cells: add `numa { cell ... }` or `vnuma`".into()
            } else {
                format!("cells are 0 to {}", cells.len() - 1)
            }),
        );
        None
    };

    let mut exps: Vec<Exp> = Vec::new();
    let mut ports: Vec<Port> = Vec::new();
    // Pass 1: explicit expanders and root ports.
    for f in &fields {
        match f.keyword() {
            "expander" => {
                let Some(node) = cell_ok(f.int("node").unwrap_or(u64::MAX), f.span_of("node"), diags) else {
                    continue;
                };
                let bus_nr = f.int("bus-nr").map(|b| (b, f.span_of("bus-nr")));
                exps.push(Exp {
                    name: f.arg_text(0).unwrap_or_default().into(),
                    node,
                    bus_nr,
                    span: f.arg_span(0),
                    ports: 0,
                });
            }
            "root-port" => {
                let on = match f.text("on") {
                    None => None,
                    Some(e) => match exps.iter().position(|x| x.name == e) {
                        Some(i) => Some(i),
                        None => {
                            diags.push(unknown_ref(
                                e,
                                f.span_of("on"),
                                "expander",
                                &exps.iter().map(|x| x.name.as_str()).collect::<Vec<_>>(),
                            ));
                            continue;
                        }
                    },
                };
                if let Some(i) = on {
                    exps[i].ports += 1;
                }
                ports.push(Port {
                    name: f.arg_text(0).unwrap_or_default().into(),
                    on,
                    used_by: None,
                    span: f.arg_span(0),
                });
            }
            _ => {}
        }
    }
    // Pass 2: endpoints; short forms add expanders and ports.
    let mut endpoints: Vec<(usize, Option<usize>)> = Vec::new(); // (field index, port index)
    for (fi, f) in fields.iter().enumerate() {
        let plug = match f.keyword() {
            "nic" | "disk" | "hostdev" => {
                if f.has("on") && f.has("node") {
                    diags.push(
                        Diagnostic::error(
                            DEVICE_CONFIG,
                            "`on=` and `node=` both say where the device goes",
                            f.span_of("node"),
                            "pick one",
                        )
                        .with_label(f.span_of("on"), "and here")
                        .with_help("`on=PORT` names a root port; `node=CELL` creates one on that cell's expander"),
                    );
                    continue;
                }
                match (f.text("on"), f.int("node"), f.text("node")) {
                    (Some(p), _, _) => Plug::Port(p, f.span_of("on")),
                    (None, Some(n), _) => match cell_ok(n, f.span_of("node"), diags) {
                        Some(c) => Plug::Cell(c),
                        None => continue,
                    },
                    (None, None, Some("auto")) => match hostdev_auto(f, cells, host, diags) {
                        Some(c) => Plug::Cell(c),
                        None => Plug::Root,
                    },
                    _ => Plug::Root,
                }
            }
            _ => continue,
        };
        if f.keyword() == "disk" && f.text("bus") != Some("virtio") {
            if !matches!(plug, Plug::Root) {
                diags.push(
                    Diagnostic::error(
                        DEVICE_CONFIG,
                        "a SATA disk sits on the built-in SATA controller, not on a PCIe port",
                        f.stmt.head_span(),
                        "sata disk",
                    )
                    .with_help("write `bus=virtio` to place the disk on a port or a cell"),
                );
                continue;
            }
            endpoints.push((fi, None));
            continue;
        }
        if f.keyword() == "nic" && (f.has("bridge") == f.has("network")) {
            diags.push(
                Diagnostic::error(
                    DEVICE_CONFIG,
                    "a NIC needs exactly one of `bridge=` and `network=`",
                    f.stmt.head_span(),
                    "where does it connect?",
                )
                .with_help("write `bridge=br0` for a host bridge or `network=default` for a libvirt network"),
            );
            continue;
        }
        if f.keyword() == "hostdev" {
            check_host_pci(f, cells, host, diags);
        }
        let port = match plug {
            Plug::Port(p, span) => {
                if exps.iter().any(|x| x.name == p) {
                    diags.push(
                        Diagnostic::error(
                            DEVICE_REF,
                            format!("`{p}` is an expander; nothing plugs directly into an expander"),
                            span,
                            "an expander",
                        )
                        .with_help(format!(
                            "add `root-port NAME on={p}` and plug the device into it, or write `node=CELL`"
                        )),
                    );
                    continue;
                }
                match ports.iter().position(|x| x.name == p) {
                    Some(i) => i,
                    None => {
                        diags.push(unknown_ref(
                            p,
                            span,
                            "root port",
                            &ports.iter().map(|x| x.name.as_str()).collect::<Vec<_>>(),
                        ));
                        continue;
                    }
                }
            }
            Plug::Cell(c) => {
                let e = match exps.iter().position(|x| x.node == c) {
                    Some(e) => e,
                    None => {
                        exps.push(Exp {
                            name: format!("pxb-cell{c}"),
                            node: c,
                            bus_nr: None,
                            span: f.stmt.head_span(),
                            ports: 0,
                        });
                        exps.len() - 1
                    }
                };
                exps[e].ports += 1;
                ports.push(Port {
                    name: format!("port-{}", f.arg_text(0).unwrap_or("dev")),
                    on: Some(e),
                    used_by: None,
                    span: f.stmt.head_span(),
                });
                ports.len() - 1
            }
            Plug::Root => {
                ports.push(Port {
                    name: format!("port-{}", f.arg_text(0).unwrap_or("dev")),
                    on: None,
                    used_by: None,
                    span: f.stmt.head_span(),
                });
                ports.len() - 1
            }
        };
        if let Some(first) = ports[port].used_by {
            diags.push(
                Diagnostic::error(
                    DEVICE_REF,
                    format!("root port `{}` already holds a device", ports[port].name),
                    f.stmt.head_span(),
                    "second device",
                )
                .with_label(first, "first device")
                .with_help("a PCIe root port has one slot; add another `root-port`"),
            );
            continue;
        }
        ports[port].used_by = Some(f.stmt.head_span());
        endpoints.push((fi, Some(port)));
    }
    if diags.len() > before {
        return None;
    }

    // Bus numbers: each expander takes its own bus and one per root port behind it, from the top down.
    let mut taken: Vec<(u32, u32, Span)> = Vec::new(); // (lo, hi, span)
    let mut next_top = TOP_BUS;
    let mut bus_nrs = Vec::new();
    for x in &exps {
        let need = x.ports + 1;
        let (lo, span) = match x.bus_nr {
            Some((b, span)) => (b, span),
            None => (u64::from(next_top.saturating_sub(need - 1)), x.span),
        };
        if x.ports > 32 {
            diags.push(
                Diagnostic::error(
                    DEVICE_CONFIG,
                    format!("expander `{}` has {} root ports; it has 32 slots", x.name, x.ports),
                    x.span,
                    "too many root ports",
                )
                .with_help("spread the devices over more expanders (one per cell is made by `node=`)"),
            );
            return None;
        }
        let hi = lo.saturating_add(u64::from(need - 1));
        if lo == 0 || lo > 254 || hi > u64::from(TOP_BUS) {
            diags.push(
                Diagnostic::error(
                    BUS_NR,
                    format!("expander `{}` needs buses {lo}-{hi}, outside 1-255", x.name),
                    span,
                    "out of range",
                )
                .with_help(format!(
                    "an expander with {} root port(s) needs {need} bus numbers; `bus-nr=` must be 1 to {}",
                    x.ports,
                    TOP_BUS.saturating_sub(x.ports)
                )),
            );
            return None;
        }
        // In range now: 1..=255.
        let (lo, hi) = (lo as u32, hi as u32);
        if let Some((a, b, other)) = taken.iter().find(|(a, b, _)| lo <= *b && *a <= hi) {
            diags.push(
                Diagnostic::error(
                    BUS_NR,
                    format!(
                        "expander `{}` takes {}, which overlaps {}",
                        x.name,
                        buses(lo, hi),
                        buses(*a, *b)
                    ),
                    span,
                    "overlapping bus numbers",
                )
                .with_label(*other, "the other expander")
                .with_help("leave `bus-nr=` out to let vnumac number the buses, or move one range"),
            );
            return None;
        }
        taken.push((lo, hi, span));
        if x.bus_nr.is_none() {
            next_top = lo.saturating_sub(1);
        }
        bus_nrs.push(lo);
    }

    // Indices: expanders, then root ports, in statement order; slots on pcie.0 from 1.
    let mut controllers = Vec::new();
    let mut root_slot = 1u32;
    let mut exp_index = Vec::new();
    for (i, x) in exps.iter().enumerate() {
        let index = controllers.len() as u32 + 1;
        exp_index.push(index);
        controllers.push(Controller {
            index,
            name: x.name.clone(),
            kind: ControllerKind::Expander {
                bus_nr: bus_nrs[i],
                node: x.node,
            },
            address: PciAddress {
                bus: 0,
                slot: root_slot,
                function: 0,
            },
        });
        root_slot += 1;
    }
    let mut exp_slots = vec![0u32; exps.len()];
    let mut port_index = Vec::new();
    for p in &ports {
        let index = controllers.len() as u32 + 1;
        port_index.push(index);
        let address = match p.on {
            Some(e) => {
                let slot = exp_slots[e];
                exp_slots[e] += 1;
                PciAddress {
                    bus: exp_index[e],
                    slot,
                    function: 0,
                }
            }
            None => {
                let slot = root_slot;
                root_slot += 1;
                PciAddress {
                    bus: 0,
                    slot,
                    function: 0,
                }
            }
        };
        controllers.push(Controller {
            index,
            name: p.name.clone(),
            kind: ControllerKind::RootPort {
                chassis: index,
                port: (address.slot << 3) + address.function,
            },
            address,
        });
    }
    // libvirt and QEMU need every alias (`ua-NAME`, the QEMU id) to be unique.
    let written: Vec<Span> = exps
        .iter()
        .map(|x| x.span)
        .chain(ports.iter().map(|p| p.span))
        .collect();
    let mut aliases: Vec<(String, &str, Span)> = Vec::new();
    for (c, span) in controllers.iter().zip(written) {
        let alias = super::super::lower::libvirt::alias_safe(&c.name);
        if let Some((_, first, at)) = aliases.iter().find(|(a, _, _)| *a == alias) {
            diags.push(
                Diagnostic::error(
                    DUPLICATE_ALIAS,
                    format!("`{}` and `{first}` both become the alias `ua-{alias}`", c.name),
                    span,
                    "same alias",
                )
                .with_label(*at, "first here")
                .with_help(
                    "aliases keep letters, digits, `_` and `-` and turn anything else into `-`; \
                     short forms name their controllers `pxb-cellN` and `port-DEVICE`: rename one",
                ),
            );
            return None;
        }
        aliases.push((alias, &c.name, span));
    }
    if root_slot > 0x1e {
        diags.push(
            Diagnostic::error(
                DEVICE_CONFIG,
                "more devices than pcie.0 has slots",
                block.stmt.keyword.span,
                "too many",
            )
            .with_help("pcie.0 has 30 free slots; put devices behind expanders with `node=` or `on=`"),
        );
        return None;
    }

    // Devices.
    let mut devices = Vec::new();
    let (mut nics, mut disks_v, mut disks_s, mut hostdevs) = (0u32, 0u32, 0u32, 0u32);
    for f in &fields {
        let port = endpoints
            .iter()
            .find(|(fi, _)| std::ptr::eq(&fields[*fi], f))
            .and_then(|(_, p)| *p);
        let address = port.map(|p| PciAddress {
            bus: port_index[p],
            slot: 0,
            function: 0,
        });
        let name = f.arg_text(0).unwrap_or_default().to_string();
        let (kind, ordinal) = match f.keyword() {
            "nic" => {
                let source = match (f.text("bridge"), f.text("network")) {
                    (Some(b), _) => NetSource::Bridge(b.into()),
                    (_, Some(n)) => NetSource::Network(n.into()),
                    _ => continue,
                };
                nics += 1;
                (
                    DeviceKind::Nic {
                        source,
                        model: f.text("model").unwrap_or("virtio").into(),
                        mac: f.text("mac").map(str::to_string),
                    },
                    nics - 1,
                )
            }
            "disk" => {
                let bus = if f.text("bus") == Some("virtio") {
                    DiskBus::Virtio
                } else {
                    DiskBus::Sata
                };
                let n = match bus {
                    DiskBus::Virtio => {
                        disks_v += 1;
                        disks_v - 1
                    }
                    DiskBus::Sata => {
                        disks_s += 1;
                        disks_s - 1
                    }
                };
                (
                    DeviceKind::Disk {
                        path: f.text("path").unwrap_or_default().into(),
                        format: f.text("format").unwrap_or("qcow2").into(),
                        bus,
                    },
                    n,
                )
            }
            "hostdev" => {
                hostdevs += 1;
                (DeviceKind::Hostdev { host: name.clone() }, hostdevs - 1)
            }
            "serial" => (DeviceKind::Serial, 0),
            "console" => (DeviceKind::Console, 0),
            _ => continue,
        };
        devices.push(Device {
            name,
            kind,
            address,
            ordinal,
        });
    }
    if disks_s > 6 {
        diags.push(
            Diagnostic::error(
                DEVICE_CONFIG,
                "the built-in SATA controller has 6 ports",
                block.stmt.keyword.span,
                "too many SATA disks",
            )
            .with_help("use `bus=virtio` for the others"),
        );
        return None;
    }
    Some(DeviceSet { controllers, devices })
}

/// QEMU node names (`disk-NAME-storage`, `disk-NAME-format`) are at most 31 characters.
fn disk_node_names(name: &str, span: Span, diags: &mut Vec<Diagnostic>) {
    let longest = format!("disk-{name}-storage");
    if longest.len() <= super::values::MAX_NODE_NAME {
        return;
    }
    let room = super::values::MAX_NODE_NAME - "disk--storage".len();
    diags.push(
        Diagnostic::error(
            NODE_NAME,
            format!("disk name `{name}` is too long for QEMU"),
            span,
            format!("{} characters; at most {room}", name.len()),
        )
        .with_help(format!(
            "QEMU names the disk's block nodes `{longest}`, and node names have at most {} characters: \
             use a name of at most {room}",
            super::values::MAX_NODE_NAME
        )),
    );
}

fn unknown_ref(name: &str, span: Span, what: &str, known: &[&str]) -> Diagnostic {
    let d = Diagnostic::error(
        DEVICE_REF,
        format!("there is no {what} `{name}`"),
        span,
        format!("unknown {what}"),
    );
    match schema::suggest(name, known.iter().copied()) {
        Some(s) => d.with_help(format!("did you mean `{s}`?")),
        None if known.is_empty() => d.with_help("define it first in the `devices` block"),
        None => d.with_help(format!("{what}s defined before this line: {}", known.join(", "))),
    }
}

/// `hostdev ADDR` must be a device the host profile lists.
fn host_device<'h>(f: &Fields<'_>, host: Option<&'h HostProfile>) -> Option<&'h crate::host::HostPci> {
    let addr = f.arg_text(0)?;
    host?.pci.iter().find(|p| p.address == addr)
}

fn check_host_pci(f: &Fields<'_>, cells: &[GuestCell], host: Option<&HostProfile>, diags: &mut Vec<Diagnostic>) {
    let Some(h) = host else {
        diags.push(
            Diagnostic::error(
                HOST_NEEDED,
                "`hostdev` needs a host",
                f.stmt.head_span(),
                "host-dependent",
            )
            .with_help("give the guest `on=HOST` with the device in the host's `pci` list"),
        );
        return;
    };
    let Some(dev) = host_device(f, Some(h)) else {
        let known: Vec<String> = h.pci.iter().map(|p| p.address.clone()).collect();
        diags.push(
            Diagnostic::error(
                HOST_PCI,
                format!("the host lists no PCI device {}", f.arg_text(0).unwrap_or_default()),
                f.arg_span(0),
                "unknown device",
            )
            .with_help(if known.is_empty() {
                "add it to the host: `pci 0000:3b:00.0 node=1` (for a host from `from=`, in a block after it)"
                    .to_string()
            } else {
                format!("the host lists {}", known.join(", "))
            }),
        );
        return;
    };
    let backing: Vec<u32> = cells
        .iter()
        .filter(|c| c.binding.as_ref().is_some_and(|b| b.nodes.contains(dev.node)))
        .map(|c| c.id)
        .collect();
    let explicit = f.int("node").map(|n| n as u32);
    let far = match explicit {
        Some(c) => !backing.contains(&c),
        None => backing.is_empty(),
    };
    if far {
        diags.push(
            Diagnostic::warning(
                HOSTDEV_FAR,
                format!(
                    "host device {} sits on host node {}, which {}",
                    dev.address,
                    dev.node,
                    match explicit {
                        Some(c) => format!("does not back guest cell {c}"),
                        None => "backs no guest cell".to_string(),
                    }
                ),
                f.arg_span(0),
                format!("on host node {}", dev.node),
            )
            .with_help(if backing.is_empty() {
                format!(
                    "bind a cell to host node {} and put the device on it, so its DMA stays local",
                    dev.node
                )
            } else {
                format!("`node={}` is the cell on host node {}", backing[0], dev.node)
            }),
        );
    }
}

/// `node=auto`: the cell bound to the host device's node.
fn hostdev_auto(
    f: &Fields<'_>,
    cells: &[GuestCell],
    host: Option<&HostProfile>,
    _diags: &mut [Diagnostic],
) -> Option<u32> {
    let dev = host_device(f, host)?;
    cells
        .iter()
        .find(|c| c.binding.as_ref().is_some_and(|b| b.nodes.contains(dev.node)))
        .map(|c| c.id)
}

fn buses(lo: u32, hi: u32) -> String {
    if lo == hi {
        format!("bus {lo}")
    } else {
        format!("buses {lo}-{hi}")
    }
}
