//! Where each device plugs in: the expanders and root ports written by hand, and the ones
//! the short forms add (`node=CELL` reuses or creates the cell's expander and adds a port on
//! it; a device with neither `on=` nor `node=` gets a root port of its own on pcie.0). On
//! the i440fx `pc` machines a "port" is a slot: a device sits on its expander's bus, or on
//! pci.0, directly.

use super::near::Near;
use super::{affinity, hostdev};
use crate::codes::*;
use crate::diagnostics::Diagnostic;
use crate::host::HostProfile;
use crate::ir::{DeviceAffinity, GuestCell};
use crate::lang::{self, Fields};
use crate::span::Span;
use std::collections::HashMap;

pub(super) struct Exp {
    pub name: String,
    pub node: u32,
    pub bus_nr: Option<(u64, Span)>,
    pub span: Span,
    pub ports: u32,
}

/// A root port (q35), or a device's slot straight on an expander's bus or pci.0 (`pc`).
pub(super) struct Port {
    pub name: String,
    /// Index into the expander list, or None for pcie.0.
    pub on: Option<usize>,
    pub used_by: Option<Span>,
    /// Where it was written, or the device whose short form made it.
    pub span: Span,
}

/// Expanders and root ports in the order they were made, and where each endpoint plugs.
#[derive(Default)]
pub(super) struct Layout {
    pub exps: Vec<Exp>,
    pub ports: Vec<Port>,
    /// For each field: `Some(port)` when it is an endpoint (`Some(None)` for a SATA disk).
    pub endpoints: Vec<Option<Option<usize>>>,
    /// For each field: how `node=auto` placed it, when it was written so.
    pub affinity: Vec<Option<DeviceAffinity>>,
    exp_names: HashMap<String, usize>,
    port_names: HashMap<String, usize>,
    /// The first expander bound to each cell.
    exp_of_cell: HashMap<u32, usize>,
    /// A q35 machine (PCIe); else `pc`, where devices plug into an expander directly.
    pub q35: bool,
}

impl Layout {
    fn add_exp(&mut self, x: Exp) -> usize {
        let i = self.exps.len();
        self.exp_names.entry(x.name.clone()).or_insert(i);
        self.exp_of_cell.entry(x.node).or_insert(i);
        self.exps.push(x);
        i
    }

    fn add_port(&mut self, p: Port) -> usize {
        let i = self.ports.len();
        if let Some(e) = p.on
            && let Some(x) = self.exps.get_mut(e)
        {
            x.ports += 1;
        }
        self.port_names.entry(p.name.clone()).or_insert(i);
        self.ports.push(p);
        i
    }
}

/// Where a device goes: a named root port, a cell (short form), or its own port on pcie.0.
enum Plug<'a> {
    Port(&'a str, Span),
    Cell(u32),
    Root,
}

pub(super) fn layout(
    fields: &[Fields<'_>],
    cells: &[GuestCell],
    host: Option<&HostProfile>,
    q35: bool,
    diags: &mut Vec<Diagnostic>,
) -> Layout {
    let mut l = Layout {
        endpoints: vec![None; fields.len()],
        affinity: vec![None; fields.len()],
        q35,
        ..Layout::default()
    };
    for f in fields {
        written_controller(f, cells, &mut l, diags);
    }
    let mut near = Near::new(host, cells);
    for (fi, f) in fields.iter().enumerate() {
        if let Some(port) = endpoint(f, cells, &mut near, &mut l, diags) {
            l.endpoints[fi] = Some(port);
            let cell = port
                .and_then(|p| l.ports.get(p)?.on)
                .and_then(|e| l.exps.get(e))
                .map(|x| x.node);
            l.affinity[fi] = affinity::record(f, &near, cell);
        }
    }
    l
}

/// The cell a device or expander is bound to, when the guest has it.
fn cell_ok(cells: &[GuestCell], node: u64, span: Span, diags: &mut Vec<Diagnostic>) -> Option<u32> {
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
}

/// `expander` and `root-port` statements.
fn written_controller(f: &Fields<'_>, cells: &[GuestCell], l: &mut Layout, diags: &mut Vec<Diagnostic>) {
    match f.keyword() {
        "expander" => {
            let Some(node) = cell_ok(cells, f.int("node").unwrap_or(u64::MAX), f.span_of("node"), diags) else {
                return;
            };
            l.add_exp(Exp {
                name: f.arg_text(0).unwrap_or_default().into(),
                node,
                bus_nr: f.int("bus-nr").map(|b| (b, f.span_of("bus-nr"))),
                span: f.arg_span(0),
                ports: 0,
            });
        }
        "root-port" => {
            let on = match f.text("on") {
                None => None,
                Some(e) => match l.exp_names.get(e) {
                    Some(&i) => Some(i),
                    None => {
                        let known = l.exps.iter().map(|x| x.name.as_str());
                        diags.push(unknown_ref(e, f.span_of("on"), "expander", known));
                        return;
                    }
                },
            };
            l.add_port(Port {
                name: f.arg_text(0).unwrap_or_default().into(),
                on,
                used_by: None,
                span: f.arg_span(0),
            });
        }
        _ => {}
    }
}

/// Where a NIC, disk or hostdev asks to go; None (with an error) when it cannot.
fn plug<'f>(
    f: &'f Fields<'_>,
    cells: &[GuestCell],
    near: &mut Near<'_>,
    diags: &mut Vec<Diagnostic>,
) -> Option<Plug<'f>> {
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
        return None;
    }
    if !affinity::form_ok(f, diags) {
        return None;
    }
    Some(match (f.text("on"), f.int("node"), f.text("node")) {
        (Some(p), _, _) => Plug::Port(p, f.span_of("on")),
        (None, Some(n), _) => Plug::Cell(cell_ok(cells, n, f.span_of("node"), diags)?),
        (None, None, Some("auto")) => match affinity::auto_cell(f, near, diags)? {
            Some(c) => Plug::Cell(c),
            None => Plug::Root,
        },
        _ => Plug::Root,
    })
}

/// A NIC, disk or hostdev: the root port it takes (None for a SATA disk), or None when it
/// is not an endpoint or cannot be placed (reported).
fn endpoint(
    f: &Fields<'_>,
    cells: &[GuestCell],
    near: &mut Near<'_>,
    l: &mut Layout,
    diags: &mut Vec<Diagnostic>,
) -> Option<Option<usize>> {
    if !matches!(f.keyword(), "nic" | "disk" | "hostdev") {
        return None;
    }
    let plug = plug(f, cells, near, diags)?;
    if f.keyword() == "disk" && f.text("bus") != Some("virtio") {
        if !matches!(plug, Plug::Root) {
            diags.push(
                Diagnostic::error(
                    DEVICE_CONFIG,
                    if l.q35 {
                        "a SATA disk sits on the built-in SATA controller, not on a PCIe port"
                    } else {
                        "a SATA disk sits on the SATA controller on pci.0, not on an expander"
                    },
                    f.stmt.head_span(),
                    "sata disk",
                )
                .with_help("write `bus=virtio` to place the disk on a port or a cell"),
            );
            return None;
        }
        return Some(None);
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
        return None;
    }
    if f.keyword() == "hostdev" {
        hostdev::check_host_pci(f, near, diags);
    }
    let port = port_for(f, plug, l, diags)?;
    if let Some(first) = l.ports[port].used_by {
        diags.push(
            Diagnostic::error(
                DEVICE_REF,
                format!("root port `{}` already holds a device", l.ports[port].name),
                f.stmt.head_span(),
                "second device",
            )
            .with_label(first, "first device")
            .with_help("a PCIe root port has one slot; add another `root-port`"),
        );
        return None;
    }
    l.ports[port].used_by = Some(f.stmt.head_span());
    Some(Some(port))
}

/// The root port a device takes: the one it names, or a new one its short form adds.
fn port_for(f: &Fields<'_>, plug: Plug<'_>, l: &mut Layout, diags: &mut Vec<Diagnostic>) -> Option<usize> {
    let short_name = || format!("port-{}", f.arg_text(0).unwrap_or("dev"));
    match plug {
        Plug::Port(p, span) => {
            if let (false, Some(&e)) = (l.q35, l.exp_names.get(p)) {
                return Some(l.add_port(Port {
                    name: short_name(),
                    on: Some(e),
                    used_by: None,
                    span: f.stmt.head_span(),
                }));
            }
            if l.exp_names.contains_key(p) {
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
                return None;
            }
            if !l.q35 {
                let known = l.exps.iter().map(|x| x.name.as_str());
                diags.push(unknown_ref(p, span, "expander", known));
                return None;
            }
            match l.port_names.get(p) {
                Some(&i) => Some(i),
                None => {
                    let known = l.ports.iter().map(|x| x.name.as_str());
                    diags.push(unknown_ref(p, span, "root port", known));
                    None
                }
            }
        }
        Plug::Cell(c) => {
            let e = match l.exp_of_cell.get(&c) {
                Some(&e) => e,
                None => l.add_exp(Exp {
                    name: format!("pxb-cell{c}"),
                    node: c,
                    bus_nr: None,
                    span: f.stmt.head_span(),
                    ports: 0,
                }),
            };
            Some(l.add_port(Port {
                name: short_name(),
                on: Some(e),
                used_by: None,
                span: f.stmt.head_span(),
            }))
        }
        Plug::Root => Some(l.add_port(Port {
            name: short_name(),
            on: None,
            used_by: None,
            span: f.stmt.head_span(),
        })),
    }
}

/// Names listed in a help text at most; the rest are counted.
const NAMES_SHOWN: usize = 8;

/// `on=` names no expander or root port defined before it.
fn unknown_ref<'n>(name: &str, span: Span, what: &str, known: impl Iterator<Item = &'n str> + Clone) -> Diagnostic {
    let d = Diagnostic::error(
        DEVICE_REF,
        format!("there is no {what} `{name}`"),
        span,
        format!("unknown {what}"),
    );
    let total = known.clone().count();
    match lang::suggest(name, known.clone()) {
        Some(s) => d.with_help(format!("did you mean `{s}`?")),
        None if total == 0 => d.with_help("define it first in the `devices` block"),
        None => {
            let shown: Vec<&str> = known.take(NAMES_SHOWN).collect();
            let more = total - shown.len();
            let rest = if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            };
            d.with_help(format!("{what}s defined before this line: {}{rest}", shown.join(", ")))
        }
    }
}
