//! PCI controllers and the devices of the `devices` block.

/// A PCI address on bus `bus` (a controller index; 0 is pcie.0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PciAddress {
    pub bus: u32,
    pub slot: u32,
    pub function: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ControllerKind {
    /// An expander bus bound to a guest cell: pcie-expander-bus (pxb-pcie) on q35,
    /// pci-expander-bus (pxb) on the `pc` machines (`Guest::family` says which).
    Expander { bus_nr: u32, node: u32 },
    /// pcie-root-port.
    RootPort { chassis: u32, port: u32 },
}

/// A PCI controller beyond the implicit pcie.0; its QEMU id is `pci.<index>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Controller {
    pub index: u32,
    pub name: String,
    pub kind: ControllerKind,
    pub address: PciAddress,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum NetSource {
    Bridge(String),
    Network(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DiskBus {
    Sata,
    Virtio,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum DeviceKind {
    Nic {
        source: NetSource,
        model: String,
        mac: Option<String>,
    },
    Disk {
        path: String,
        format: String,
        bus: DiskBus,
        /// The I/O thread serving it (`<driver iothread>`), 1-based; virtio only.
        iothread: Option<u32>,
    },
    /// PCI passthrough of a host device (`dddd:bb:ss.f`).
    Hostdev {
        host: String,
    },
    Serial,
    Console,
}

/// A guest device; `ordinal` numbers devices of one kind (net0, hostdev0, vda/sda …).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Device {
    pub name: String,
    pub kind: DeviceKind,
    pub address: Option<PciAddress>,
    pub ordinal: u32,
    /// How `node=auto` placed it, for a device written so.
    pub affinity: Option<DeviceAffinity>,
}

/// `node=auto`: the host device whose node decided (a hostdev's own address, a NIC's
/// `uplink=`), that node (None when it reports none), the policy written, and the cell the
/// device went on (None: a root port of pcie.0).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DeviceAffinity {
    pub host_device: String,
    pub host_node: Option<u32>,
    pub policy: Option<String>,
    pub cell: Option<u32>,
}
