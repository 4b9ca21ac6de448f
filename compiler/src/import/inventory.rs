//! The controllers and devices `<devices>` lists, as read, before the plan lays them out.

/// (bus, slot, function).
pub(super) type Addr = (u32, u32, u32);

#[derive(Debug)]
pub(super) struct Ctl {
    pub(super) index: u32,
    pub(super) name: String,
    /// Its own PCI address.
    pub(super) addr: Option<Addr>,
    /// `Some(node)` for an expander, `None` for a root port.
    pub(super) node: Option<u32>,
    pub(super) bus_nr: Option<u32>,
    /// A root port's (chassis, port).
    pub(super) target: (Option<u32>, Option<u32>),
}

#[derive(Debug)]
pub(super) enum Kind {
    /// Its props after the name: `bridge=br0 model=virtio mac=…`.
    Nic(String),
    Disk {
        props: String,
        virtio: bool,
    },
    Hostdev(String),
    Serial,
    Console,
}

#[derive(Debug)]
pub(super) struct Dev {
    pub(super) kind: Kind,
    /// Its PCI address (the bus is a controller index).
    pub(super) addr: Option<Addr>,
    pub(super) what: String,
}

impl Dev {
    /// The bus (controller index) of its PCI address.
    pub(super) fn bus(&self) -> Option<u32> {
        self.addr.map(|a| a.0)
    }

    pub(super) fn pci(&self) -> bool {
        matches!(
            self.kind,
            Kind::Nic(_) | Kind::Hostdev(_) | Kind::Disk { virtio: true, .. }
        )
    }
}
