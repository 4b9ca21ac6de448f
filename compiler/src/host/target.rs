//! The libvirt and QEMU a host runs, and what its `virsh domcapabilities` says they offer:
//! what checks and lowering follow. Without a word from the host, the target is libvirt 9.0
//! with QEMU 7.2.

use std::fmt;

/// A `MAJOR.MINOR` version (libvirt's and QEMU's micro versions change no XML or option).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Version {
    pub major: u32,
    pub minor: u32,
}

/// The largest major or minor number a version may have; no libvirt or QEMU comes near it.
pub const MAX_VERSION_PART: u32 = 9999;

impl Version {
    pub const fn new(major: u32, minor: u32) -> Self {
        Version { major, minor }
    }

    /// `MAJOR.MINOR` or `MAJOR.MINOR.MICRO`, decimal, each part at most [`MAX_VERSION_PART`].
    pub fn parse(text: &str) -> Result<Version, String> {
        let bad = || format!("`{}` is not a version like `10.0` or `8.2.1`", text.escape_debug());
        let parts: Vec<&str> = text.split('.').collect();
        if !(2..=3).contains(&parts.len()) {
            return Err(bad());
        }
        let mut nums = [0u32; 3];
        for (slot, part) in nums.iter_mut().zip(&parts) {
            if part.is_empty() || part.len() > 4 || !part.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad());
            }
            *slot = part.parse().map_err(|_| bad())?;
        }
        Ok(Version::new(nums[0], nums[1]))
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

/// The default target's libvirt: what CI validates the XML against.
pub const DEFAULT_LIBVIRT: Version = Version::new(9, 0);
/// The default target's QEMU: what CI starts the command lines in.
pub const DEFAULT_QEMU: Version = Version::new(7, 2);

/// The first libvirt whose schema takes `<target><address base>` on virtio-mem and
/// virtio-pmem devices (its 9.4.0 release notes: "Introduce `<address/>` for virtio-mem and
/// virtio-pmem").
pub const LIBVIRT_VIRTIO_MEMORY_ADDRESS: Version = Version::new(9, 4);
/// The first libvirt that takes `<maxMemory>` without `slots` when no DIMM-like device needs
/// one (its 9.5.0 release notes: "Properly handle slots for non-DIMM `<memory>` devices").
pub const LIBVIRT_MAX_MEMORY_WITHOUT_SLOTS: Version = Version::new(9, 5);

/// The first libvirt that narrows the `thread-context` of a preallocated, bound memory
/// backend to the host nodes its emulator threads may run on, and leaves the thread-context
/// out when they share none (its 9.2.0 release notes: "qemu: Fix thread-context .host-nodes
/// generation"; libvirt's `qemuBuildThreadContextProps`).
pub const LIBVIRT_THREAD_CONTEXT_EMULATOR_NODES: Version = Version::new(9, 2);

/// What `virsh domcapabilities` says of one machine type of one emulator. A list is `None`
/// when the document does not have the element at all (older libvirt): nothing is known.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct DomCaps {
    /// `<machine>`: the machine type the document is for (`pc-q35-7.2`).
    pub machine: Option<String>,
    /// `<vcpu max>`: the most vCPUs that machine takes.
    pub max_vcpus: Option<u32>,
    /// `<memoryBacking><enum name='sourceType'>`: `anonymous`, `file`, `memfd`.
    pub backing_sources: Option<Vec<String>>,
    /// `<devices><memory><enum name='model'>`: `dimm`, `nvdimm`, `virtio-mem`, `virtio-pmem`.
    pub memory_models: Option<Vec<String>>,
}

/// The libvirt and QEMU a host runs.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Target {
    pub libvirt: Version,
    pub qemu: Version,
    /// What the host's `virsh domcapabilities` says, when the profile names it.
    pub domcaps: Option<DomCaps>,
}

impl Default for Target {
    fn default() -> Self {
        Target {
            libvirt: DEFAULT_LIBVIRT,
            qemu: DEFAULT_QEMU,
            domcaps: None,
        }
    }
}

impl Target {
    /// True when this is libvirt 9.0 with QEMU 7.2 and no domcapabilities: what CI checks.
    pub fn is_default(&self) -> bool {
        *self == Target::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_read_as_libvirt_and_qemu_print_them() {
        assert_eq!(Version::parse("10.0"), Ok(Version::new(10, 0)));
        assert_eq!(Version::parse("8.2.1"), Ok(Version::new(8, 2)));
        assert_eq!(Version::parse("9.10").map(|v| v.to_string()), Ok("9.10".into()));
        assert!(Version::new(9, 10) > Version::new(9, 9));
        for bad in [
            "", "10", "10.", ".1", "1.2.3.4", "+1.0", "1.0 ", "99999.0", "a.b", "1..2",
        ] {
            assert!(Version::parse(bad).is_err(), "{bad:?} read as a version");
        }
    }
}
