//! Bus numbers, controller indices, slots and aliases of the expanders and root ports.

use super::plug::{Exp, Layout};
use crate::codes::*;
use crate::diagnostics::Diagnostic;
use crate::ir::{Controller, ControllerKind, MachineFamily, PciAddress};
use crate::span::Span;
use std::collections::HashMap;

/// The last bus number; expanders are numbered downwards from here.
const TOP_BUS: u32 = 255;
/// The highest bus number of an expander itself (libvirt: "busNr … must be 1-254"); the
/// buses of its root ports may go up to [`TOP_BUS`].
const TOP_EXPANDER_BUS: u32 = 254;
/// Root ports one expander takes (its slots 0 to 31).
const EXPANDER_SLOTS: u32 = 32;

/// The controllers of a `devices` block and where its PCI devices sit.
pub(super) struct Buses {
    /// Every PCI controller with its index.
    pub controllers: Vec<Controller>,
    /// The address of the device each port holds (a root port's slot 0 on q35; on `pc`,
    /// the slot itself).
    pub slots: Vec<PciAddress>,
    /// On `pc` with SATA disks: the AHCI controller's slot of pci.0.
    pub ahci: Option<PciAddress>,
}

/// Every controller with its index, the address of the device each port holds, and on `pc`
/// the slot of the AHCI controller its SATA disks need; None after an error.
pub(super) fn controllers(l: &Layout, block: Span, q35: bool, diags: &mut Vec<Diagnostic>) -> Option<Buses> {
    let bus_nrs = number_buses(&l.exps, q35, diags)?;
    // Indices: expanders, then root ports, in statement order; slots on the root bus from
    // its first free one (`MachineFamily::root_slots`).
    let mut controllers = Vec::new();
    let mut root_slot = *MachineFamily::from_q35(q35).root_slots().start();
    let mut exp_index = Vec::new();
    for (x, &bus_nr) in l.exps.iter().zip(&bus_nrs) {
        let index = controllers.len() as u32 + 1;
        exp_index.push(index);
        controllers.push(Controller {
            index,
            name: x.name.clone(),
            kind: ControllerKind::Expander { bus_nr, node: x.node },
            address: PciAddress {
                bus: 0,
                slot: root_slot,
                function: 0,
            },
        });
        root_slot += 1;
    }
    let mut exp_slots = vec![0u32; l.exps.len()];
    let mut slots = Vec::new();
    for p in &l.ports {
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
                root_slot += 1;
                PciAddress {
                    bus: 0,
                    slot: root_slot - 1,
                    function: 0,
                }
            }
        };
        if !q35 {
            slots.push(address);
            continue;
        }
        let index = controllers.len() as u32 + 1;
        slots.push(PciAddress {
            bus: index,
            slot: 0,
            function: 0,
        });
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
    // libvirt adds `<controller type='sata' index='0'>` for the SATA disks of a `pc`
    // machine and gives it the first free slot of pci.0 once the devices with addresses
    // have theirs: the slot after them (virtio memory devices come after it).
    let sata = l.endpoints.iter().any(|e| matches!(e, Some(None)));
    let ahci = (!q35 && sata).then(|| {
        root_slot += 1;
        PciAddress {
            bus: 0,
            slot: root_slot - 1,
            function: 0,
        }
    });
    let written: Vec<Span> = l
        .exps
        .iter()
        .map(|x| x.span)
        .chain(l.ports.iter().map(|p| p.span))
        .collect();
    unique_aliases(&controllers, &written, diags)?;
    if root_full(root_slot, q35, ahci.is_some(), block, diags) {
        return None;
    }
    Some(Buses {
        controllers,
        slots,
        ahci,
    })
}

/// True (reported) when the root bus has no slot left for what took the slots before
/// `next_slot`: past the last of `MachineFamily::root_slots` (q35's chipset holds pcie.0's
/// 0x1f, so 0x1e is its last; pci.0 ends at 0x1f).
fn root_full(next_slot: u32, q35: bool, ahci: bool, block: Span, diags: &mut Vec<Diagnostic>) -> bool {
    let family = MachineFamily::from_q35(q35);
    let slots = family.root_slots();
    if next_slot <= slots.end() + 1 {
        return false;
    }
    let root = family.root_bus();
    diags.push(
        Diagnostic::error(
            DEVICE_CONFIG,
            format!("more devices than {root} has slots"),
            block,
            "too many",
        )
        .with_help(format!(
            "{root} has {} free slots{}; put devices behind expanders with `node=` or `on=`",
            slots.count(),
            if ahci {
                ", and the SATA disks' controller takes one"
            } else {
                ""
            }
        )),
    );
    true
}

/// Each expander takes its own bus and one per root port behind it (q35), or its own and its
/// bridge's (`pc`): written with `bus-nr=`, or numbered from the top down. None after an error.
fn number_buses(exps: &[Exp], q35: bool, diags: &mut Vec<Diagnostic>) -> Option<Vec<u32>> {
    let mut taken: Vec<(u32, u32, Span)> = Vec::new(); // (lo, hi, span)
    let mut next_top = TOP_BUS;
    let mut bus_nrs = Vec::new();
    for x in exps {
        if x.ports > EXPANDER_SLOTS {
            let what = if q35 { "root ports" } else { "devices" };
            diags.push(
                Diagnostic::error(
                    DEVICE_CONFIG,
                    format!(
                        "expander `{}` has {} {what}; it has {EXPANDER_SLOTS} slots",
                        x.name, x.ports
                    ),
                    x.span,
                    format!("too many {what}"),
                )
                .with_help("spread the devices over more expanders (one per cell is made by `node=`)"),
            );
            return None;
        }
        let need = needs(x, q35);
        let (lo, span) = match x.bus_nr {
            Some((b, span)) => (written_bus(x, b, span, q35, diags)?, span),
            None => (free_bus(x, next_top, q35, diags)?, x.span),
        };
        let hi = lo + need - 1;
        if hi > TOP_BUS {
            diags.push(
                Diagnostic::error(
                    BUS_NR,
                    format!(
                        "expander `{}` needs buses {lo}-{hi}, its own and {}, but the last bus is {TOP_BUS}",
                        x.name,
                        if q35 {
                            format!("one for each of its {}", root_ports(x.ports))
                        } else {
                            "its bridge's".to_string()
                        }
                    ),
                    span,
                    "past the last bus",
                )
                .with_help(format!(
                    "with {} behind it, `bus-nr=` may be 1 to {}",
                    behind(x, q35),
                    TOP_BUS + 1 - need
                )),
            );
            return None;
        }
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
            next_top = lo - 1;
        }
        bus_nrs.push(lo);
    }
    Some(bus_nrs)
}

/// A written `bus-nr=`: the expander's own bus, 1 to 254.
fn written_bus(x: &Exp, b: u64, span: Span, q35: bool, diags: &mut Vec<Diagnostic>) -> Option<u32> {
    match u32::try_from(b) {
        Ok(b) if (1..=TOP_EXPANDER_BUS).contains(&b) => Some(b),
        _ => {
            diags.push(
                Diagnostic::error(
                    BUS_NR,
                    format!(
                        "`bus-nr={b}` is out of range: an expander's own bus is 1 to {TOP_EXPANDER_BUS}"
                    ),
                    span,
                    format!("1 to {TOP_EXPANDER_BUS}"),
                )
                .with_help(format!(
                    "libvirt refuses a `busNr` outside 1-{TOP_EXPANDER_BUS}; with {} behind it, expander `{}` may take `bus-nr=` 1 to {}",
                    behind(x, q35),
                    x.name,
                    (TOP_BUS + 1).saturating_sub(needs(x, q35)).min(TOP_EXPANDER_BUS)
                )),
            );
            None
        }
    }
}

/// The bus an expander numbered by vnumac gets: the highest that leaves room for its root
/// ports below `top`, and never above 254.
fn free_bus(x: &Exp, top: u32, q35: bool, diags: &mut Vec<Diagnostic>) -> Option<u32> {
    let need = needs(x, q35);
    if top < need {
        let left = if top == 0 {
            "no bus numbers are left".to_string()
        } else {
            format!("only {} are left", buses(1, top))
        };
        diags.push(
            Diagnostic::error(
                BUS_NR,
                format!(
                    "expander `{}` needs {need} bus numbers (its own and {}), but {left}",
                    x.name,
                    if q35 { "one per root port" } else { "its bridge's" }
                ),
                x.span,
                "out of bus numbers",
            )
            .with_help("the expanders before it took the others; use fewer expanders or root ports"),
        );
        return None;
    }
    Some((top - (need - 1)).min(TOP_EXPANDER_BUS))
}

/// libvirt and QEMU need every alias (`ua-NAME`, the QEMU id) to be unique.
fn unique_aliases(controllers: &[Controller], written: &[Span], diags: &mut Vec<Diagnostic>) -> Option<()> {
    let mut aliases: HashMap<String, (&str, Span)> = HashMap::new();
    for (c, &span) in controllers.iter().zip(written) {
        let alias = crate::names::alias_safe(&c.name);
        if let Some((first, at)) = aliases.get(&alias) {
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
        aliases.insert(alias, (&c.name, span));
    }
    Some(())
}

/// The bus numbers an expander takes: its own and one per root port behind it on q35; on
/// `pc`, its own and its bridge's (QEMU's `pxb` puts its slots behind a PCI bridge of its
/// own, the bus the guest sees the devices on), however many devices it holds.
fn needs(x: &Exp, q35: bool) -> u32 {
    if q35 { x.ports + 1 } else { 2 }
}

/// What takes the buses after an expander's own, for a help text.
fn behind(x: &Exp, q35: bool) -> String {
    if q35 {
        root_ports(x.ports)
    } else {
        "its bridge".to_string()
    }
}

fn root_ports(n: u32) -> String {
    if n == 1 {
        "1 root port".into()
    } else {
        format!("{n} root ports")
    }
}

fn buses(lo: u32, hi: u32) -> String {
    if lo == hi {
        format!("bus {lo}")
    } else {
        format!("buses {lo}-{hi}")
    }
}
