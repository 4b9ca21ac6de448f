//! Sizes rounded up as libvirt aligns them when it starts the guest.

use super::notes::Notes;

pub(super) const MIB: u64 = 1024;

/// `kib` rounded up to a multiple of `granule` KiB, as `qemuDomainAlignMemorySizes` does
/// when the guest starts; a note when that changes it.
pub(super) fn round_up(kib: u64, granule: u64, what: &str, notes: &mut Notes) -> u64 {
    let up = kib.div_ceil(granule).saturating_mul(granule);
    if up != kib {
        notes.change(format!(
            "{what} of {kib} KiB is rounded up to {up} KiB, a multiple of {} MiB, as libvirt does when it starts the guest",
            granule / MIB
        ));
    }
    up
}
