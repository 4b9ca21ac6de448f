//! What each kind of memory device holds: `dimm`, `nvdimm`, `virtio-mem`, `virtio-pmem`.

use crate::codes::*;
use crate::diagnostics::Diagnostic;
use crate::ir::{MemoryDeviceKind, PciAddress};
use crate::lang::Fields;
use crate::units::human_kib;

/// libvirt rounds memory device sizes up to this; vnumac asks for exact multiples.
pub(super) const MODULE_ALIGN_KIB: u64 = 2048;

/// The device a statement describes; `None` after an error (reported).
pub(super) fn kind(f: &Fields<'_>, size_kib: u64, diags: &mut Vec<Diagnostic>) -> Option<MemoryDeviceKind> {
    match f.keyword() {
        "nvdimm" => nvdimm(f, size_kib, diags),
        "virtio-mem" => virtio_mem(f, size_kib, diags),
        "virtio-pmem" => virtio_pmem(f, diags),
        _ => dimm(f),
    }
}

/// A label area inside the NVDIMM, a power-of-two alignment, a usable path.
fn nvdimm(f: &Fields<'_>, size_kib: u64, diags: &mut Vec<Diagnostic>) -> Option<MemoryDeviceKind> {
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
        return None;
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
        return None;
    }
    let path = f.text("path").unwrap_or_default().to_string();
    crate::check::values::path(&path, f.span_of("path"), "the NVDIMM path", diags);
    Some(MemoryDeviceKind::Nvdimm {
        path,
        label_kib,
        align_kib,
        pmem: f.bool("pmem").unwrap_or(false),
        readonly: f.bool("readonly").unwrap_or(false),
        shared: f.text("access").map(|a| a == "shared"),
    })
}

/// Blocks of a power of two, at least 2MiB; size and request in whole blocks.
fn virtio_mem(f: &Fields<'_>, size_kib: u64, diags: &mut Vec<Diagnostic>) -> Option<MemoryDeviceKind> {
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
        return None;
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
    if let Some(d) = granule("the size", size_kib, "size").or(granule("`requested=`", requested_kib, "requested")) {
        diags.push(d);
        return None;
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
        return None;
    }
    Some(MemoryDeviceKind::VirtioMem {
        block_kib,
        requested_kib,
        host_nodes: f.set("host-node").cloned(),
        page_kib: f.size("hugepages").map(|b| b / 1024),
        pci: PciAddress {
            bus: 0,
            slot: 0,
            function: 0,
        },
    })
}

fn virtio_pmem(f: &Fields<'_>, diags: &mut Vec<Diagnostic>) -> Option<MemoryDeviceKind> {
    let path = f.text("path").unwrap_or_default().to_string();
    crate::check::values::path(&path, f.span_of("path"), "the virtio-pmem path", diags);
    // libvirt maps a virtio-pmem file shared (`share=on`) whatever the guest's memory says,
    // and refuses a private one ("shared access mode required for virtio-pmem device").
    if f.text("access") == Some("private") {
        diags.push(
            Diagnostic::error(
                PMEM_PRIVATE,
                "a virtio-pmem device cannot be private",
                f.span_of("access"),
                "libvirt refuses this",
            )
            .with_help("libvirt maps a virtio-pmem file shared; leave out `access=` or write `access=shared`"),
        );
        return None;
    }
    Some(MemoryDeviceKind::VirtioPmem {
        path,
        shared: f.text("access").map(|a| a == "shared"),
        pci: PciAddress {
            bus: 0,
            slot: 0,
            function: 0,
        },
    })
}

fn dimm(f: &Fields<'_>) -> Option<MemoryDeviceKind> {
    Some(MemoryDeviceKind::Dimm {
        host_nodes: f.set("host-node").cloned(),
        page_kib: f.size("hugepages").map(|b| b / 1024),
        shared: f.text("access").map(|a| a == "shared"),
        discard: f.bool("discard"),
    })
}
