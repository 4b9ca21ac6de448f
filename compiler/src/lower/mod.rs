//! Lowering the checked model. Never re-checks, never fails.

pub mod json;
pub mod libvirt;
pub mod qemu;
pub mod qemu_args;
pub mod qemu_devices;
pub mod qemu_memory;
pub mod shell;
pub mod xml;

/// Hugepage mount point QEMU should use for a page size (KiB).
pub fn hugepage_mount(size_kib: u64) -> String {
    match size_kib {
        2048 => "/dev/hugepages".to_string(),
        1048576 => "/dev/hugepages1G".to_string(),
        other => format!("/dev/hugepages{}", crate::units::exact_kib(other).replace("iB", "")),
    }
}
