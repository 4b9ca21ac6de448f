//! `base=`: where a memory device sits in guest physical memory.

use super::kinds::MODULE_ALIGN_KIB;
use crate::codes::*;
use crate::diagnostics::Diagnostic;
use crate::host::target::{LIBVIRT_VIRTIO_MEMORY_ADDRESS, Version};
use crate::ir::MemoryDeviceKind;
use crate::lang::Fields;
use crate::units::human_kib;

/// The address ranges taken so far, with the statement that took each.
pub(super) type Bases<'f> = Vec<(u64, u64, &'f Fields<'f>)>;

/// A device's `base=`: aligned to its pages and clear of every earlier device's range.
/// `None` after an error that drops the device (reported); `Some(None)` without `base=`.
pub(super) fn base<'f>(
    f: &'f Fields<'f>,
    kind: &MemoryDeviceKind,
    size_kib: u64,
    bases: &mut Bases<'f>,
    libvirt: Version,
    diags: &mut Vec<Diagnostic>,
) -> Option<Option<u64>> {
    let base = f.size("base");
    let takes_address = libvirt >= LIBVIRT_VIRTIO_MEMORY_ADDRESS;
    if base.is_some() && matches!(f.keyword(), "virtio-mem" | "virtio-pmem") && !takes_address {
        diags.push(
            Diagnostic::error(
                NEWER_LIBVIRT,
                format!("libvirt {libvirt} cannot place a {} at an address", f.keyword()),
                f.span_of("base"),
                "newer libvirt only",
            )
            .with_help(
                "libvirt before 9.4 rejects <target><address base> on virtio memory devices; leave \
                 `base=` out and QEMU picks the address, or give the host `libvirt=\"9.4\"` or later \
                 when it runs that",
            ),
        );
    }
    let Some(b) = base else { return Some(None) };
    // QEMU wants a module's address aligned to its pages; 2MiB covers x86_64's
    // ordinary and 2MiB-page DIMMs, and a 1GiB-page one needs 1GiB.
    let align = match kind {
        MemoryDeviceKind::Dimm { page_kib: Some(p), .. } => (*p).max(MODULE_ALIGN_KIB) * 1024,
        // An NVDIMM's backend with `align=` asks QEMU for that alignment.
        MemoryDeviceKind::Nvdimm { align_kib: Some(a), .. } => (*a).max(MODULE_ALIGN_KIB) * 1024,
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
            .with_help(match kind {
                MemoryDeviceKind::Nvdimm { align_kib: Some(_), .. } => {
                    "QEMU places an NVDIMM at an address aligned to its backend's `align=`"
                }
                MemoryDeviceKind::VirtioMem { .. } => {
                    "QEMU places a virtio-mem device at an address aligned to its block size (and page size)"
                }
                _ => "QEMU places a memory module at an address aligned to its page size",
            }),
        );
        return None;
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
        return None;
    }
    bases.push((b, end, f));
    Some(base)
}
