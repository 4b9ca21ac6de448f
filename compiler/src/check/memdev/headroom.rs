//! `memory … max= slots=`: room to plug memory into, and whether the devices fit in it.

use crate::codes::*;
use crate::diagnostics::Diagnostic;
use crate::host::target::{LIBVIRT_MAX_MEMORY_WITHOUT_SLOTS, Version};
use crate::ir::{GuestCell, MaxMemory, MemoryDevice};
use crate::lang::{Fields, MISSING};
use crate::span::Span;
use crate::units::human_kib;

/// `max=` and `slots=`: the headroom, when it is sound.
pub(super) fn max(
    memory: Option<&Fields<'_>>,
    devices: &[&Fields<'_>],
    cells: &[GuestCell],
    initial_kib: u64,
    libvirt: Version,
    diags: &mut Vec<Diagnostic>,
) -> Option<MaxMemory> {
    let m = memory?;
    let max = match (m.size("max"), m.int("slots")) {
        // Without `slots=`, only virtio devices can be plugged (checked below).
        (Some(max), slots) => limits(m, max, slots.unwrap_or(0), devices, initial_kib, libvirt, diags),
        (None, Some(_)) => {
            let (have, lack) = ("slots", "max");
            diags.push(
                Diagnostic::error(
                    MISSING,
                    format!("`{have}=` needs `{lack}=` too"),
                    m.span_of(have),
                    format!("no `{lack}=`"),
                )
                .with_help("memory hotplug takes both: `memory 64GiB max=512GiB slots=16`"),
            );
            None
        }
        (None, None) => None,
    };
    if max.is_some() && cells.is_empty() {
        diags.push(
            Diagnostic::error(
                MEMORY_HOTPLUG,
                "memory hotplug needs guest NUMA cells",
                m.span_of("max"),
                "no cells",
            )
            .with_help("QEMU on x86_64 hot-plugs memory into a NUMA node: add `numa { cell ... }` or `vnuma`"),
        );
    }
    max
}

/// `max=` a whole MiB above the initial memory, and 1 to 255 `slots=` (or none, for virtio
/// devices only).
fn limits(
    m: &Fields<'_>,
    max: u64,
    slots: u64,
    devices: &[&Fields<'_>],
    initial_kib: u64,
    libvirt: Version,
    diags: &mut Vec<Diagnostic>,
) -> Option<MaxMemory> {
    let kib = max / 1024;
    if !max.is_multiple_of(1 << 20) {
        diags.push(
            Diagnostic::error(
                MEMORY_GRANULE,
                "`max=` must be a whole number of MiB",
                m.span_of("max"),
                "not a whole MiB",
            )
            .with_help("libvirt rounds maximum memory up to 1 MiB; write it in `MiB` or `GiB`"),
        );
    } else if kib < initial_kib {
        diags.push(
            Diagnostic::error(
                MEMORY_HOTPLUG,
                format!(
                    "`max={}` is below the initial {}",
                    human_kib(kib),
                    human_kib(initial_kib)
                ),
                m.span_of("max"),
                "too small",
            )
            .with_label(m.arg_span(0), "initial memory")
            .with_help("the maximum includes the initial memory; raise `max=`"),
        );
    } else if (slots == 0 && m.has("slots")) || slots > 255 {
        diags.push(
            Diagnostic::error(
                MEMORY_HOTPLUG,
                format!("`slots={slots}` is out of range"),
                m.span_of("slots"),
                "1 to 255",
            )
            .with_help("QEMU on x86_64 takes 1 to 255 memory slots"),
        );
    } else {
        // With DIMMs or NVDIMMs, the missing slots are an error below.
        let needs_slots = libvirt < LIBVIRT_MAX_MEMORY_WITHOUT_SLOTS;
        if slots == 0 && needs_slots && !devices.iter().any(|f| matches!(f.keyword(), "dimm" | "nvdimm")) {
            diags.push(
                Diagnostic::error(
                    NEWER_LIBVIRT,
                    format!("libvirt {libvirt} needs `slots=` with `max=`"),
                    m.span_of("max"),
                    "no slots",
                )
                .with_help(
                    "libvirt before 9.5 rejects <maxMemory> without slots; add `slots=1`, which works \
                     with every version, or give the host `libvirt=\"9.5\"` or later when it runs that",
                ),
            );
        }
        return Some(MaxMemory {
            kib,
            slots: slots as u32,
        });
    }
    None
}

/// The devices against the headroom: slots for every DIMM and NVDIMM, and room under
/// `max=` for all of them; or headroom to write when there is none.
pub(super) fn totals(
    max: Option<MaxMemory>,
    memory: Option<&Fields<'_>>,
    devices: &[MemoryDevice],
    first: Span,
    initial_kib: u64,
    used: u64,
    diags: &mut Vec<Diagnostic>,
) {
    match (max, memory) {
        (None, Some(m)) if !m.has("max") => diags.push(
            Diagnostic::error(
                MEMORY_HOTPLUG,
                "memory devices need `max=` and `slots=` on `memory`",
                first,
                "a memory device",
            )
            .with_label(m.arg_span(0), "no hotplug headroom here")
            .with_help(format!(
                "write `memory {} max={} slots={}` (or more)",
                human_kib(initial_kib),
                human_kib(initial_kib + used),
                devices.len()
            )),
        ),
        (Some(max), Some(m)) => {
            let slotted = devices.iter().filter(|d| d.kind.takes_slot()).count() as u32;
            if slotted > 0 && max.slots == 0 {
                diags.push(
                    Diagnostic::error(
                        MEMORY_HOTPLUG,
                        "DIMMs and NVDIMMs need `slots=` on `memory`",
                        m.span_of("max"),
                        "no slots",
                    )
                    .with_help(format!("write `slots={slotted}` (or more) after `max=`")),
                );
            } else if slotted > max.slots {
                diags.push(
                    Diagnostic::error(
                        MEMORY_HOTPLUG,
                        format!("{slotted} DIMMs and NVDIMMs but only {} slots", max.slots),
                        m.span_of("slots"),
                        "too few slots",
                    )
                    .with_help(format!("use `slots={slotted}` or more")),
                );
            }
            if initial_kib + used > max.kib {
                diags.push(
                    Diagnostic::error(
                        MEMORY_HOTPLUG,
                        format!(
                            "initial memory and devices come to {} but `max=` is {}",
                            human_kib(initial_kib + used),
                            human_kib(max.kib)
                        ),
                        m.span_of("max"),
                        format!("short by {}", human_kib(initial_kib + used - max.kib)),
                    )
                    .with_help(format!("raise `max=` to at least {}", human_kib(initial_kib + used))),
                );
            }
        }
        _ => {}
    }
}

/// libvirt before 9.5 gives every memory device a slot, virtio ones too: its 9.0 refuses
/// "memory device count '2' exceeds slots count '1'". From 9.5 on only DIMMs and NVDIMMs
/// count ([`totals`]).
pub(super) fn every_device_slotted(
    max: Option<MaxMemory>,
    memory: Option<&Fields<'_>>,
    devices: &[MemoryDevice],
    libvirt: Version,
    diags: &mut Vec<Diagnostic>,
) {
    let (Some(max), Some(m)) = (max, memory) else { return };
    let all = devices.len();
    if libvirt >= LIBVIRT_MAX_MEMORY_WITHOUT_SLOTS || all as u64 <= u64::from(max.slots) {
        return;
    }
    diags.push(
        Diagnostic::error(
            MEMORY_HOTPLUG,
            format!(
                "{all} memory devices but only {} slot{}",
                max.slots,
                if max.slots == 1 { "" } else { "s" }
            ),
            m.span_of("slots"),
            "too few slots",
        )
        .with_help(format!(
            "libvirt {libvirt} counts every memory device against `slots=`, virtio ones too (9.5 and \
             later count DIMMs and NVDIMMs only): use `slots={all}` or more"
        )),
    );
}

/// `max=` on a machine type QEMU gives no memory hotplug: pc-i440fx-2.0 and older refuse
/// `-m …,slots=,maxmem=`, which libvirt writes for it. True when it was refused.
pub(super) fn machine_refuses_max(memory: Option<&Fields<'_>>, machine: &str, diags: &mut Vec<Diagnostic>) -> bool {
    let Some(m) = memory.filter(|m| m.has("max")) else {
        return false;
    };
    if crate::ir::memory_hotplug_supported(machine) {
        return false;
    }
    diags.push(
        Diagnostic::error(
            OLD_MACHINE_MAXMEM,
            format!("machine `{machine}` has no memory hotplug"),
            m.span_of("max"),
            "`maxmem=` refused",
        )
        .with_help(format!(
            "QEMU refuses `-m …,slots=,maxmem=` on pc-i440fx-2.0 and older (\"-memory 'slots|maxmem'\" is not \
             supported by: {machine}); use pc-i440fx-2.1 or later, or leave out `max=` and the memory devices"
        )),
    );
    true
}
