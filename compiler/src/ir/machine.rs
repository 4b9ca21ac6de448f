//! What a guest runs as: its domain type, machine, CPU model and topology, and its vCPUs'
//! pins and hot-plug states.

use crate::sets::IdSet;

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
        if machine == "q35" || machine.starts_with("pc-q35") {
            MachineFamily::Q35
        } else {
            MachineFamily::Pc
        }
    }

    /// The root bus's QEMU id: `pcie.0` on q35, `pci.0` on the `pc` machines.
    pub fn root_bus(self) -> &'static str {
        match self {
            MachineFamily::Q35 => "pcie.0",
            MachineFamily::Pc => "pci.0",
        }
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

/// Whether the machine type takes `-m …,slots=,maxmem=`: QEMU 7.2 refuses both on
/// `pc-i440fx-2.0` and older ("-memory 'slots|maxmem'" is not supported by: pc-i440fx-2.0");
/// its oldest q35 type is 2.4, which takes them.
pub fn memory_hotplug_supported(machine: &str) -> bool {
    let Some((major, minor)) = machine.strip_prefix("pc-i440fx-").and_then(|v| v.split_once('.')) else {
        return true;
    };
    match (major.parse::<u32>(), minor.parse::<u32>()) {
        (Ok(major), Ok(minor)) => (major, minor) > (2, 0),
        _ => true,
    }
}

/// Versioned machine types up to 5.0 (`pc-i440fx-5.0`, `pc-q35-4.2`, `pc-1.3`) still take
/// `-numa node,mem=`; QEMU refuses it for 5.1 and later.
pub fn numa_mem_supported(machine: &str) -> bool {
    let version = machine
        .strip_prefix("pc-i440fx-")
        .or_else(|| machine.strip_prefix("pc-q35-"))
        .or_else(|| machine.strip_prefix("pc-"));
    let Some((major, minor)) = version.and_then(|v| v.split_once('.')) else {
        return false;
    };
    match (major.parse::<u32>(), minor.parse::<u32>()) {
        (Ok(major), Ok(minor)) => (major, minor) <= (5, 0),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::numa_mem_supported;

    #[test]
    fn machine_types_before_qemu_5_1_take_numa_mem() {
        for old in ["pc-i440fx-5.0", "pc-q35-4.2", "pc-i440fx-2.12", "pc-1.3", "pc-0.15"] {
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
