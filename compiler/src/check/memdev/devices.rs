//! Memory devices: each statement checked and numbered, and all of them against the
//! guest's headroom.

use super::address::{Bases, base};
use super::kinds::{self, MODULE_ALIGN_KIB};
use super::window;
use crate::check::cx::errors_since;
use crate::codes::*;
use crate::diagnostics::Diagnostic;
use crate::host::target::Version;
use crate::ir::{GuestCell, MaxMemory, MemoryDevice};
use crate::lang::Fields;

pub struct MemoryDevices {
    pub max: Option<MaxMemory>,
    pub devices: Vec<MemoryDevice>,
    /// For each device, the index of its statement in the `devices` given to `check`.
    pub statements: Vec<usize>,
}

/// What the devices are checked for: the guest's machine type, and the libvirt and QEMU of
/// its host.
#[derive(Debug, Clone, Copy)]
pub struct Target<'a> {
    pub machine: &'a str,
    pub libvirt: Version,
    pub qemu: Version,
}

/// The guest's memory device statements, in order.
pub fn statements<'b, 's>(fields: &'b [Fields<'s>]) -> Vec<&'b Fields<'s>> {
    fields
        .iter()
        .filter(|f| matches!(f.keyword(), "dimm" | "nvdimm" | "virtio-mem" | "virtio-pmem"))
        .collect()
}

pub fn check(
    memory: Option<&Fields<'_>>,
    devices: &[&Fields<'_>],
    cells: &[GuestCell],
    initial_kib: u64,
    target: Target<'_>,
    diags: &mut Vec<Diagnostic>,
) -> MemoryDevices {
    let before = diags.len();
    let libvirt = target.libvirt;
    if super::headroom::machine_refuses_max(memory, target.machine, diags) {
        return MemoryDevices {
            max: None,
            devices: Vec::new(),
            statements: Vec::new(),
        };
    }
    let mut out = MemoryDevices {
        max: super::headroom::max(memory, devices, cells, initial_kib, libvirt, diags),
        devices: Vec::new(),
        statements: Vec::new(),
    };
    let mut used = 0u64;
    let mut slots = Slots::new(devices, diags);
    let mut bases: Bases<'_> = Vec::new();
    let room = out
        .max
        .and_then(|m| window::window(target.machine, target.qemu, initial_kib, m));
    for (index, f) in devices.iter().enumerate() {
        let slot = slots.next(f);
        let Ok(slot) = u32::try_from(slot) else { continue };
        let Some(d) = device(f, slot, cells, &mut bases, libvirt, diags) else {
            continue;
        };
        if let (Some(w), Some(b)) = (room, d.base)
            && window::outside(f, memory, w, b, d.size_kib * 1024, diags)
        {
            continue;
        }
        if beyond_slots(f, &d, out.max, memory, diags) {
            continue;
        }
        used += d.size_kib;
        out.devices.push(d);
        out.statements.push(index);
    }
    if !out.devices.is_empty() && !errors_since(diags, before) {
        let first = devices[0].stmt.head_span();
        super::headroom::totals(out.max, memory, &out.devices, first, initial_kib, used, diags);
        if !errors_since(diags, before) {
            super::headroom::every_device_slotted(out.max, memory, &out.devices, libvirt, diags);
        }
    }
    out
}

/// Slot numbers as libvirt gives them: written slots are taken first; the others get the
/// lowest free slots in file order. virtio devices are numbered among their own kind.
struct Slots<'f> {
    taken: Vec<(u64, &'f Fields<'f>)>,
    next_free: u64,
    virtio: [u32; 2],
}

impl<'f> Slots<'f> {
    /// The written slots of DIMMs and NVDIMMs, each once.
    fn new(devices: &[&'f Fields<'f>], diags: &mut Vec<Diagnostic>) -> Slots<'f> {
        let mut taken: Vec<(u64, &Fields<'_>)> = Vec::new();
        let takes_slot = |f: &Fields<'_>| matches!(f.keyword(), "dimm" | "nvdimm");
        for f in devices.iter().filter(|f| takes_slot(f)) {
            let Some(slot) = f.int("slot") else { continue };
            if let Some((_, other)) = taken.iter().find(|(s, _)| *s == slot) {
                diags.push(
                    Diagnostic::error(
                        MEMORY_HOTPLUG,
                        format!("slot {slot} is given twice"),
                        f.span_of("slot"),
                        "again here",
                    )
                    .with_label(other.span_of("slot"), "first here")
                    .with_help("every memory device needs a slot of its own"),
                );
            } else {
                taken.push((slot, f));
            }
        }
        Slots {
            taken,
            next_free: 0,
            virtio: [0; 2],
        }
    }

    fn next(&mut self, f: &Fields<'_>) -> u64 {
        match f.int("slot") {
            _ if f.keyword() == "virtio-mem" => {
                self.virtio[0] += 1;
                u64::from(self.virtio[0] - 1)
            }
            _ if f.keyword() == "virtio-pmem" => {
                self.virtio[1] += 1;
                u64::from(self.virtio[1] - 1)
            }
            Some(s) => s,
            None => {
                while self.taken.iter().any(|(s, _)| *s == self.next_free) {
                    self.next_free += 1;
                }
                self.next_free += 1;
                self.next_free - 1
            }
        }
    }
}

/// One device statement: its size, its cell and what its kind holds; `None` after an error
/// (reported).
fn device<'f>(
    f: &'f Fields<'f>,
    slot: u32,
    cells: &[GuestCell],
    bases: &mut Bases<'f>,
    libvirt: Version,
    diags: &mut Vec<Diagnostic>,
) -> Option<MemoryDevice> {
    let size_kib = f.size("size").unwrap_or(0) / 1024;
    if size_kib == 0 || !size_kib.is_multiple_of(MODULE_ALIGN_KIB) {
        diags.push(
            Diagnostic::error(
                MEMORY_GRANULE,
                format!("a {} must be a positive multiple of 2MiB", f.keyword()),
                f.span_of("size"),
                "not a multiple of 2MiB",
            )
            .with_help("libvirt rounds memory modules up to 2MiB, which would change the total; round the size"),
        );
        return None;
    }
    // A virtio-pmem device belongs to no cell.
    let node = if f.keyword() == "virtio-pmem" {
        0
    } else {
        f.int("node").unwrap_or(u64::MAX)
    };
    if f.keyword() != "virtio-pmem" && !cells.iter().any(|c| u64::from(c.id) == node) {
        diags.push(
            Diagnostic::error(
                MEMDEV_NODE,
                format!("the guest has no cell {node}"),
                f.span_of("node"),
                "no such cell",
            )
            .with_help(if cells.is_empty() {
                "memory devices belong to a guest NUMA cell: add cells first".to_string()
            } else {
                format!("cells are 0 to {}", cells.len() - 1)
            }),
        );
        return None;
    }
    let kind = kinds::kind(f, size_kib, diags)?;
    let base = base(f, &kind, size_kib, bases, libvirt, diags)?;
    Some(MemoryDevice {
        kind,
        size_kib,
        node: node as u32,
        slot,
        base,
        hugepage_kib: None,
        binding: None,
    })
}

/// A DIMM or NVDIMM whose slot is past `slots=`.
fn beyond_slots(
    f: &Fields<'_>,
    d: &MemoryDevice,
    max: Option<MaxMemory>,
    memory: Option<&Fields<'_>>,
    diags: &mut Vec<Diagnostic>,
) -> bool {
    let (kind, slot) = (&d.kind, d.slot);
    if let Some(max) = max
        && kind.takes_slot()
        && slot >= max.slots
        && max.slots > 0
        && let Some(m) = memory
    {
        diags.push(
            Diagnostic::error(
                MEMORY_HOTPLUG,
                format!("slot {slot} is beyond the {} slots", max.slots),
                if f.has("slot") {
                    f.span_of("slot")
                } else {
                    f.stmt.head_span()
                },
                "no such slot",
            )
            .with_label(m.span_of("slots"), "the slots")
            .with_help(format!("slots are 0 to {}", max.slots.saturating_sub(1))),
        );
        return true;
    }
    false
}
