//! Memory hotplug: `memory … max= slots=`, `dimm`, `nvdimm`.

use super::codes::*;
use super::schema::{Fields, MISSING};
use crate::diagnostics::Diagnostic;
use crate::ir::{GuestCell, MaxMemory, MemoryDevice, MemoryDeviceKind, PciAddress};
use crate::units::human_kib;

/// libvirt rounds memory device sizes up to this; vnumac asks for exact multiples.
const MODULE_ALIGN_KIB: u64 = 2048;

pub struct MemoryDevices {
    pub max: Option<MaxMemory>,
    pub devices: Vec<MemoryDevice>,
    /// For each device, the index of its statement in the `devices` given to `check`.
    pub statements: Vec<usize>,
}

pub fn check(
    memory: Option<&Fields<'_>>,
    devices: &[&Fields<'_>],
    cells: &[GuestCell],
    initial_kib: u64,
    diags: &mut Vec<Diagnostic>,
) -> MemoryDevices {
    let mut out = MemoryDevices {
        max: None,
        devices: Vec::new(),
        statements: Vec::new(),
    };
    let before = diags.len();
    if let Some(m) = memory {
        match (m.size("max"), m.int("slots")) {
            // Without `slots=`, only virtio devices can be plugged (checked below).
            (Some(max), slots @ (Some(_) | None)) => {
                let slots = slots.unwrap_or(0);
                let kib = max / 1024;
                if max % (1 << 20) != 0 {
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
                    if slots == 0 && !devices.iter().any(|f| matches!(f.keyword(), "dimm" | "nvdimm")) {
                        diags.push(
                            Diagnostic::error(
                                NEWER_LIBVIRT,
                                "libvirt 9.0 needs `slots=` with `max=`",
                                m.span_of("max"),
                                "no slots",
                            )
                            .with_help(
                                "libvirt 9.0's schema rejects <maxMemory> without slots (later versions take it for \
                                 virtio-mem and virtio-pmem); add `slots=1`, which works with every version",
                            ),
                        );
                    }
                    out.max = Some(MaxMemory {
                        kib,
                        slots: slots as u32,
                    });
                }
            }
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
            }
            (None, None) => {}
        }
        if out.max.is_some() && cells.is_empty() {
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
    }
    let mut used = 0u64;
    // Written slots are taken first; the others get the lowest free slots in file order,
    // as libvirt gives them.
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
    let mut next_free = 0u64;
    let mut bases: Vec<(u64, u64, &Fields<'_>)> = Vec::new();
    let mut virtio_count = [0u32; 2];
    for (index, f) in devices.iter().enumerate() {
        let slot = match f.int("slot") {
            _ if f.keyword() == "virtio-mem" => {
                virtio_count[0] += 1;
                u64::from(virtio_count[0] - 1)
            }
            _ if f.keyword() == "virtio-pmem" => {
                virtio_count[1] += 1;
                u64::from(virtio_count[1] - 1)
            }
            Some(s) => s,
            None => {
                while taken.iter().any(|(s, _)| *s == next_free) {
                    next_free += 1;
                }
                next_free += 1;
                next_free - 1
            }
        };
        let Ok(slot) = u32::try_from(slot) else { continue };
        let size_kib = f.size("size").unwrap_or(0) / 1024;
        if size_kib == 0 || size_kib % MODULE_ALIGN_KIB != 0 {
            diags.push(
                Diagnostic::error(
                    MEMORY_GRANULE,
                    format!("a {} must be a positive multiple of 2MiB", f.keyword()),
                    f.span_of("size"),
                    "not a multiple of 2MiB",
                )
                .with_help("libvirt rounds memory modules up to 2MiB, which would change the total; round the size"),
            );
            continue;
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
            continue;
        }
        let kind = if f.keyword() == "nvdimm" {
            let label_kib = f.size("label").map(|b| b / 1024);
            let align_kib = f.size("align").map(|b| b / 1024);
            if label_kib.is_some_and(|l| l >= size_kib || l < 128) {
                diags.push(
                    Diagnostic::error(
                        MEMORY_HOTPLUG,
                        "the label must be at least 128KiB and smaller than the NVDIMM",
                        f.span_of("label"),
                        "bad label size",
                    )
                    .with_help("QEMU needs a label area of at least 128KiB, leaving room for data"),
                );
                continue;
            }
            if align_kib.is_some_and(|a| a == 0 || !a.is_power_of_two()) {
                diags.push(
                    Diagnostic::error(
                        MEMORY_GRANULE,
                        "`align=` must be a power of two",
                        f.span_of("align"),
                        "not a power of two",
                    )
                    .with_help("typical values are `2MiB` and `1GiB`"),
                );
                continue;
            }
            let path = f.text("path").unwrap_or_default().to_string();
            super::values::path(&path, f.span_of("path"), "the NVDIMM path", diags);
            MemoryDeviceKind::Nvdimm {
                path,
                label_kib,
                align_kib,
                pmem: f.bool("pmem").unwrap_or(false),
                readonly: f.bool("readonly").unwrap_or(false),
                shared: f.text("access").map(|a| a == "shared"),
            }
        } else if f.keyword() == "virtio-mem" {
            let block_kib = f.size("block").unwrap_or(0) / 1024;
            let requested_kib = f.size("requested").unwrap_or(0) / 1024;
            if block_kib < MODULE_ALIGN_KIB || !block_kib.is_power_of_two() {
                diags.push(
                    Diagnostic::error(
                        MEMORY_GRANULE,
                        "`block=` must be a power of two of at least 2MiB",
                        f.span_of("block"),
                        "bad block size",
                    )
                    .with_help("QEMU's virtio-mem plugs memory in blocks of 2MiB or more (`2MiB`, `1GiB`)"),
                );
                continue;
            }
            let granule = |what: &str, kib: u64, key: &str| {
                (!kib.is_multiple_of(block_kib)).then(|| {
                    Diagnostic::error(
                        MEMORY_GRANULE,
                        format!("{what} is not a whole number of {} blocks", human_kib(block_kib)),
                        f.span_of(key),
                        "not whole blocks",
                    )
                    .with_help("virtio-mem plugs and unplugs whole blocks")
                })
            };
            if let Some(d) =
                granule("the size", size_kib, "size").or(granule("`requested=`", requested_kib, "requested"))
            {
                diags.push(d);
                continue;
            }
            if requested_kib > size_kib {
                diags.push(
                    Diagnostic::error(
                        MEMORY_HOTPLUG,
                        "`requested=` is more than the device's size",
                        f.span_of("requested"),
                        "too much",
                    )
                    .with_label(f.span_of("size"), "the most it can give")
                    .with_help("request at most `size=`; raise `size=` for more"),
                );
                continue;
            }
            MemoryDeviceKind::VirtioMem {
                block_kib,
                requested_kib,
                host_nodes: f.set("host-node").cloned(),
                page_kib: f.size("hugepages").map(|b| b / 1024),
                pci: PciAddress {
                    bus: 0,
                    slot: 0,
                    function: 0,
                },
            }
        } else if f.keyword() == "virtio-pmem" {
            let path = f.text("path").unwrap_or_default().to_string();
            super::values::path(&path, f.span_of("path"), "the virtio-pmem path", diags);
            MemoryDeviceKind::VirtioPmem {
                path,
                shared: f.text("access").map(|a| a == "shared"),
                pci: PciAddress {
                    bus: 0,
                    slot: 0,
                    function: 0,
                },
            }
        } else {
            MemoryDeviceKind::Dimm {
                host_nodes: f.set("host-node").cloned(),
                page_kib: f.size("hugepages").map(|b| b / 1024),
                shared: f.text("access").map(|a| a == "shared"),
                discard: f.bool("discard"),
            }
        };
        let base = f.size("base");
        if base.is_some() && matches!(f.keyword(), "virtio-mem" | "virtio-pmem") {
            diags.push(
                Diagnostic::error(
                    NEWER_LIBVIRT,
                    format!("libvirt 9.0 cannot place a {} at an address", f.keyword()),
                    f.span_of("base"),
                    "newer libvirt only",
                )
                .with_help(
                    "libvirt 9.0's schema rejects <target><address base> on virtio memory devices (later \
                     versions take it); leave `base=` out and QEMU picks the address",
                ),
            );
        }
        if let Some(b) = base {
            // QEMU wants a module's address aligned to its pages; 2MiB covers x86_64's
            // ordinary and 2MiB-page DIMMs, and a 1GiB-page one needs 1GiB.
            let align = match &kind {
                MemoryDeviceKind::Dimm { page_kib: Some(p), .. } => (*p).max(MODULE_ALIGN_KIB) * 1024,
                // virtio-mem's memory region is aligned to its block size.
                MemoryDeviceKind::VirtioMem {
                    block_kib, page_kib, ..
                } => (*block_kib).max(page_kib.unwrap_or(0)) * 1024,
                _ => MODULE_ALIGN_KIB * 1024,
            };
            if b == 0 || b % align != 0 {
                diags.push(
                    Diagnostic::error(
                        MEMORY_GRANULE,
                        format!("`base=` must be a positive multiple of {}", human_kib(align / 1024)),
                        f.span_of("base"),
                        "misaligned",
                    )
                    .with_help("QEMU places a memory module at an address aligned to its page size"),
                );
                continue;
            }
            let end = b.saturating_add(size_kib * 1024);
            if let Some((_, _, other)) = bases.iter().find(|(s, e, _)| b < *e && *s < end) {
                diags.push(
                    Diagnostic::error(
                        MEMORY_HOTPLUG,
                        "two memory devices overlap",
                        f.span_of("base"),
                        "overlaps",
                    )
                    .with_label(other.span_of("base"), "this one")
                    .with_help("give each module its own address range, or leave `base=` to QEMU"),
                );
                continue;
            }
            bases.push((b, end, f));
        }
        if let Some(max) = out.max
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
            continue;
        }
        used += size_kib;
        out.devices.push(MemoryDevice {
            kind,
            size_kib,
            node: node as u32,
            slot,
            base,
            hugepage_kib: None,
            binding: None,
        });
        out.statements.push(index);
    }
    if !out.devices.is_empty() && !super::errors_since(diags, before) {
        let first = devices[0].stmt.head_span();
        match (out.max, memory) {
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
                    out.devices.len()
                )),
            ),
            (Some(max), Some(m)) => {
                let slotted = out.devices.iter().filter(|d| d.kind.takes_slot()).count() as u32;
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
    out
}
