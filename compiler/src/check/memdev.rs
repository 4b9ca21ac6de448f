//! Memory hotplug: `memory … max= slots=`, `dimm`, `nvdimm`.

use super::codes::*;
use super::schema::{Fields, MISSING};
use crate::diagnostics::Diagnostic;
use crate::ir::{GuestCell, MaxMemory, MemoryDevice, MemoryDeviceKind};
use crate::units::human_kib;

/// libvirt rounds memory device sizes up to this; vnumac asks for exact multiples.
const MODULE_ALIGN_KIB: u64 = 2048;

pub struct MemoryDevices {
    pub max: Option<MaxMemory>,
    pub devices: Vec<MemoryDevice>,
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
    };
    let before = diags.len();
    if let Some(m) = memory {
        match (m.size("max"), m.int("slots")) {
            (Some(max), Some(slots)) => {
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
                } else if slots == 0 || slots > 255 {
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
                    out.max = Some(MaxMemory {
                        kib,
                        slots: slots as u32,
                    });
                }
            }
            (Some(_), None) | (None, Some(_)) => {
                let (have, lack) = if m.has("max") {
                    ("max", "slots")
                } else {
                    ("slots", "max")
                };
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
    for (slot, f) in devices.iter().enumerate() {
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
        let node = f.int("node").unwrap_or(u64::MAX);
        if !cells.iter().any(|c| u64::from(c.id) == node) {
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
                shared: f.text("access").map(|a| a == "shared"),
            }
        } else {
            MemoryDeviceKind::Dimm
        };
        used += size_kib;
        out.devices.push(MemoryDevice {
            kind,
            size_kib,
            node: node as u32,
            slot: slot as u32,
        });
    }
    if !out.devices.is_empty() && diags.len() == before {
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
                if out.devices.len() as u32 > max.slots {
                    diags.push(
                        Diagnostic::error(
                            MEMORY_HOTPLUG,
                            format!("{} memory devices but only {} slots", out.devices.len(), max.slots),
                            m.span_of("slots"),
                            "too few slots",
                        )
                        .with_help(format!("use `slots={}` or more", out.devices.len())),
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
