//! What a guest runs as: its domain type, machine, CPU model and topology, and its vCPUs'
//! pins and hot-plug states.

use crate::sets::IdSet;
use std::ops::RangeInclusive;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DomainType {
    Kvm,
    Qemu,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CpuMode {
    HostPassthrough,
    HostModel,
    /// QEMU's `max` model: the default for TCG guests, where the host CPU cannot be passed through.
    Maximum,
    Custom(String),
}

/// What the `cpu` statement adds to its mode.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CpuOptions {
    /// `migratable='off'` on host-passthrough (and QEMU's `max`): the guest may see
    /// host features that would stop it from migrating.
    pub migratable: bool,
    /// `<feature policy name>`: true for `require`, false for `disable`; in written order.
    pub features: Vec<(String, bool)>,
}

impl Default for CpuOptions {
    fn default() -> Self {
        CpuOptions {
            migratable: true,
            features: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Topology {
    pub sockets: u32,
    pub dies: u32,
    pub cores: u32,
    pub threads: u32,
}

impl Topology {
    pub fn product(&self) -> u64 {
        u64::from(self.sockets) * u64::from(self.dies) * u64::from(self.cores) * u64::from(self.threads)
    }

    /// vCPUs per socket.
    pub fn per_socket(&self) -> u32 {
        self.dies.saturating_mul(self.cores).saturating_mul(self.threads)
    }

    /// Where vCPU `id` sits: (socket, die, core, thread), socket-major as libvirt and QEMU
    /// number them.
    pub fn position(&self, id: u32) -> (u32, u32, u32, u32) {
        let thread = id % self.threads.max(1);
        let core = id / self.threads.max(1) % self.cores.max(1);
        let die = id / (self.threads.max(1) * self.cores.max(1)) % self.dies.max(1);
        let socket = id / self.per_socket().max(1);
        (socket, die, core, thread)
    }
}

/// Which of a guest's QEMU threads have host cores of their own (`policy=isolate`): no
/// vCPU, of this guest or another, runs on those cores or on their SMT siblings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Isolated {
    pub emulator: bool,
    pub iothreads: bool,
}

/// One entry of libvirt's `<vcpus>` list.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct VcpuState {
    pub id: u32,
    pub enabled: bool,
    pub hotpluggable: bool,
    /// Position in the boot-time plug order (1-based), for enabled vCPUs.
    pub order: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct VcpuPin {
    pub vcpu: u32,
    pub cpus: IdSet,
}

/// What a machine type is built on: it decides the root bus and which devices fit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum MachineFamily {
    /// `q35` and `pc-q35-X.Y`: PCI Express, with the root bus `pcie.0`.
    #[default]
    Q35,
    /// Every other machine type (`pc`, `pc-i440fx-X.Y`): conventional PCI, with `pci.0`.
    Pc,
}

impl MachineFamily {
    /// The family of a machine type.
    pub fn of(machine: &str) -> MachineFamily {
        MachineType::parse(machine).family()
    }

    /// The root bus's QEMU id: `pcie.0` on q35, `pci.0` on the `pc` machines.
    pub fn root_bus(self) -> &'static str {
        match self {
            MachineFamily::Q35 => "pcie.0",
            MachineFamily::Pc => "pci.0",
        }
    }

    /// The slots of the root bus that vnumac gives out, the one rule for where the
    /// expanders, root ports, devices on pci.0, the AHCI controller and the virtio memory
    /// devices may go: 30 slots on both families.
    ///
    /// * Slot 0 is the host bridge on both.
    /// * q35: slots 1 to 0x1e. QEMU 7.2 puts the ICH9 chipset in 0x1f (LPC 0x1f.0, SATA
    ///   0x1f.2, SMBus 0x1f.3) and refuses a device there ("slot 31 function 0 not available
    ///   …, in use by ICH9-LPC"); libvirt 9.0 reserves 0x1f.0 and 0x1f.3
    ///   (`qemuDomainValidateDevicePCISlotsQ35`) and refuses an address in that slot
    ///   ("Attempted double use of PCI Address 0000:00:1f.0"). 0x1e is free: libvirt puts a
    ///   `dmi-to-pci-bridge` written without an address there (its place on real
    ///   hardware), and nothing else; vnumac writes none. With the addresses left out,
    ///   libvirt gives controllers that must sit on pcie.0 (`pcie-expander-bus`) slots 1 to
    ///   0x1e and fails on one more ("a PCI slot is needed … but none is available, and it
    ///   cannot be automatically added"); it adds no bridge there. Endpoints go behind root
    ///   ports, which it packs eight to a slot (functions 0 to 7).
    /// * `pc`: slots 2 to 0x1f; slot 1 is the PIIX3 (ISA bridge, IDE, USB, ACPI). With the
    ///   addresses left out, libvirt keeps one slot of pci.0 free for a later bridge, so its
    ///   30th device gets a `pci-bridge` in the first free slot and goes behind it; with
    ///   every address written, as vnumac writes them, it takes all 30.
    pub fn root_slots(self) -> RangeInclusive<u32> {
        match self {
            MachineFamily::Q35 => 1..=0x1e,
            MachineFamily::Pc => 2..=0x1f,
        }
    }

    /// The family whose root bus is PCI Express when `q35`, else the `pc` family.
    pub fn from_q35(q35: bool) -> MachineFamily {
        if q35 { MachineFamily::Q35 } else { MachineFamily::Pc }
    }

    /// An expander bus as libvirt's controller model and QEMU's device: a PCIe
    /// `pcie-expander-bus` (`pxb-pcie`) on q35, a conventional `pci-expander-bus` (`pxb`) on `pc`.
    pub fn expander(self) -> (&'static str, &'static str) {
        match self {
            MachineFamily::Q35 => ("pcie-expander-bus", "pxb-pcie"),
            MachineFamily::Pc => ("pci-expander-bus", "pxb"),
        }
    }
}

/// The line of machine types a name belongs to, read from its prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MachineLine {
    /// `q35` and `pc-q35-…`.
    Q35,
    /// `pc` and `pc-i440fx-…`.
    I440fx,
    /// `pc-X.Y`: the i440fx types of QEMU 0.10 to 1.3, before they took the `pc-i440fx-` name.
    OldPc,
    /// Any other name (`microvm`, `isapc`, `foo`).
    Other,
}

/// A machine type's name read once: its line, whether it is the line's alias (`q35`, `pc`),
/// and the QEMU version a versioned type names. Every check that depends on a machine
/// type's version reads it here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MachineType {
    pub line: MachineLine,
    /// `q35` or `pc`: QEMU's alias of the line's newest type.
    pub alias: bool,
    /// `(major, minor)` of a versioned type; `None` for the aliases and for a name whose
    /// version part is not `X.Y` or `X.Y.Z` in decimal (`pc-q35-x.y`). QEMU's one `X.Y.Z`
    /// type, `pc-q35-4.0.1`, sits between 4.0 and 4.1 and behaves as 4.0 in everything
    /// vnumac reads of it (288 vCPUs, `-numa node,mem=`), so the checks read its `X.Y`.
    pub version: Option<(u32, u32)>,
    /// The third part of `X.Y.Z` (`pc-q35-4.0.1`).
    pub micro: Option<u32>,
}

impl MachineType {
    pub fn parse(name: &str) -> MachineType {
        let (line, alias, rest) = if name == "q35" {
            (MachineLine::Q35, true, None)
        } else if name == "pc" {
            (MachineLine::I440fx, true, None)
        } else if name.starts_with("pc-q35") {
            (MachineLine::Q35, false, name.strip_prefix("pc-q35-"))
        } else if let Some(rest) = name.strip_prefix("pc-i440fx-") {
            (MachineLine::I440fx, false, Some(rest))
        } else if let Some(rest) = name.strip_prefix("pc-").filter(|r| version_parts(r).is_some()) {
            (MachineLine::OldPc, false, Some(rest))
        } else {
            (MachineLine::Other, false, None)
        };
        let parts = rest.and_then(version_parts);
        MachineType {
            line,
            alias,
            version: parts.map(|(major, minor, _)| (major, minor)),
            micro: parts.and_then(|(_, _, micro)| micro),
        }
    }

    /// The machine family: q35's PCI Express, or conventional PCI for every other type.
    pub fn family(&self) -> MachineFamily {
        match self.line {
            MachineLine::Q35 => MachineFamily::Q35,
            _ => MachineFamily::Pc,
        }
    }
}

/// `X.Y` or `X.Y.Z`, each part one to four decimal digits with no leading zero.
fn version_parts(text: &str) -> Option<(u32, u32, Option<u32>)> {
    let mut parts = text.split('.');
    let mut next = || {
        parts
            .next()
            .filter(|p| (1..=4).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit()))
            // QEMU names no type with a leading zero (`pc-q35-04.2` is not `pc-q35-4.2`).
            .filter(|p| p.len() == 1 || !p.starts_with('0'))
            .and_then(|p| p.parse::<u32>().ok())
    };
    let (major, minor) = (next()?, next()?);
    let micro = match text.matches('.').count() {
        1 => None,
        2 => Some(next()?),
        _ => return None,
    };
    Some((major, minor, micro))
}

/// Whether the machine type takes `-m …,slots=,maxmem=`: QEMU 7.2 refuses both on
/// `pc-i440fx-2.0` and older ("-memory 'slots|maxmem'" is not supported by: pc-i440fx-2.0");
/// its oldest q35 type is 2.4, which takes them.
pub fn memory_hotplug_supported(machine: &str) -> bool {
    let t = MachineType::parse(machine);
    !(t.line == MachineLine::I440fx && t.version.is_some_and(|v| v <= (2, 0)))
}

/// Versioned machine types up to 5.0 (`pc-i440fx-5.0`, `pc-q35-4.2`, `pc-1.3`) still take
/// `-numa node,mem=`; QEMU refuses it for 5.1 and later.
pub fn numa_mem_supported(machine: &str) -> bool {
    let t = MachineType::parse(machine);
    t.line != MachineLine::Other && t.version.is_some_and(|v| v <= (5, 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn machine_names_read_as_line_alias_and_version() {
        let t = |line, alias, version, micro| MachineType {
            line,
            alias,
            version,
            micro,
        };
        for (name, want) in [
            ("q35", t(MachineLine::Q35, true, None, None)),
            ("pc", t(MachineLine::I440fx, true, None, None)),
            ("pc-q35-7.2", t(MachineLine::Q35, false, Some((7, 2)), None)),
            ("pc-q35-4.0.1", t(MachineLine::Q35, false, Some((4, 0)), Some(1))),
            ("pc-i440fx-2.12", t(MachineLine::I440fx, false, Some((2, 12)), None)),
            ("pc-1.3", t(MachineLine::OldPc, false, Some((1, 3)), None)),
            ("pc-0.15", t(MachineLine::OldPc, false, Some((0, 15)), None)),
            ("pc-q35-x.y", t(MachineLine::Q35, false, None, None)),
            ("pc-q35-rhel9.2.0", t(MachineLine::Q35, false, None, None)),
            ("pc-i440fx-+5.0", t(MachineLine::I440fx, false, None, None)),
            ("pc-i440fx-99999.0", t(MachineLine::I440fx, false, None, None)),
            ("pc-i440fx-1.2.3.4", t(MachineLine::I440fx, false, None, None)),
            ("pc-foo", t(MachineLine::Other, false, None, None)),
            ("microvm", t(MachineLine::Other, false, None, None)),
            ("", t(MachineLine::Other, false, None, None)),
        ] {
            assert_eq!(MachineType::parse(name), want, "{name}");
        }
        assert_eq!(MachineFamily::of("pc-q35-9.0"), MachineFamily::Q35);
        assert_eq!(MachineFamily::of("pc-1.3"), MachineFamily::Pc);
        // 30 slots on both root buses: q35's chipset holds 0x1f, the PIIX3 holds pc's slot 1.
        assert_eq!(MachineFamily::Q35.root_slots(), 1..=0x1e);
        assert_eq!(MachineFamily::Pc.root_slots(), 2..=0x1f);
        assert_eq!(MachineFamily::from_q35(true), MachineFamily::Q35);
        assert_eq!(MachineFamily::from_q35(false), MachineFamily::Pc);
        assert!(!memory_hotplug_supported("pc-i440fx-2.0"));
        assert!(memory_hotplug_supported("pc-i440fx-2.1"));
        assert!(memory_hotplug_supported("pc-q35-2.0"));
    }

    #[test]
    fn machine_types_before_qemu_5_1_take_numa_mem() {
        for old in [
            "pc-i440fx-5.0",
            "pc-q35-4.2",
            "pc-q35-4.0.1",
            "pc-i440fx-2.12",
            "pc-1.3",
            "pc-0.15",
        ] {
            assert!(numa_mem_supported(old), "{old}");
        }
        for new in [
            "pc",
            "q35",
            "pc-i440fx-5.1",
            "pc-q35-7.2",
            "pc-q35-10.0",
            "pc-q35-x.y",
            "microvm",
        ] {
            assert!(!numa_mem_supported(new), "{new}");
        }
    }
}
