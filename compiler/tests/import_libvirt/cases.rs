//! The attributes and their renderings; those of devices here, the guest's own in
//! `guest_cases.rs`.

use crate::domains::*;
use crate::guest_cases::*;
use crate::probes::*;

/// What both QEMU lines must agree on, as text; None when the line does not show it.
pub type Probe = fn(&Line) -> Option<String>;

pub struct Case {
    /// The attribute, as a path.
    pub name: &'static str,
    /// A domain XML with `@V@` where the number goes.
    pub xml: String,
    pub values: &'static [&'static str],
    /// None: the number is not in the QEMU line (or vnumac derives it itself), so only
    /// refusals are compared.
    pub probe: Option<Probe>,
    /// Renderings libvirt takes that vnumac cannot say, and why.
    pub vnumac_refuses: &'static [(&'static str, &'static str)],
}

pub fn cases() -> Vec<Case> {
    [
        pci_addresses,
        memory_devices,
        nvdimm_and_virtio_mem,
        controllers,
        vcpu_counts,
        cells,
        hmat_caches,
        hmat_interconnects,
        memory_sizes,
        tuning,
        sched,
    ]
    .iter()
    .flat_map(|group| group())
    .collect()
}

/// PCI address parts: of host devices (their `<source>`) and of a disk.
fn pci_addresses() -> Vec<Case> {
    vec![
        Case {
            name: "<hostdev><source><address bus>",
            xml: hostdev("0", "@V@", "1", "0"),
            values: PCI_BUS,
            probe: Some(vfio_host),
            vnumac_refuses: &[],
        },
        Case {
            name: "<hostdev><source><address domain>",
            xml: hostdev("@V@", "1", "1", "0"),
            values: &["010", "0x10", "08", "0xffff", "0177777", " 1", "1 ", "-0", "0x10000"],
            probe: Some(vfio_host),
            vnumac_refuses: &[("0x10000", "vnumac writes PCI domains up to ffff")],
        },
        Case {
            name: "<hostdev><source><address slot>",
            xml: hostdev("0", "1", "@V@", "0"),
            values: &["010", "0x1f", "037", "040", "08", "31", "32", "+1"],
            probe: Some(vfio_host),
            vnumac_refuses: &[],
        },
        Case {
            name: "<hostdev><source><address function>",
            xml: hostdev("0", "1", "1", "@V@"),
            values: &["07", "010", "0x7", "7", "8", "08", " 7"],
            probe: Some(vfio_host),
            vnumac_refuses: &[],
        },
        Case {
            name: "<disk><address type='pci' bus>",
            xml: disk_on("@V@"),
            values: &["010", "012", "0x0a", "0x8", "10", "8", "08", " 010", "010 "],
            probe: Some(disk_bus),
            vnumac_refuses: &[],
        },
    ]
}

/// DIMMs: address, slot, node, size, page size.
fn memory_devices() -> Vec<Case> {
    vec![
        Case {
            name: "<address type='dimm' base>",
            xml: dimm("1024", "0", "<address type='dimm' slot='0' base='@V@'/>", ""),
            // QEMU's device-memory window of this guest is 6GiB..22GiB: every address
            // taken lies in it.
            values: &[
                "400000000",
                "0x400000000",
                "200000000",
                "0x200000000",
                "0X180000000",
                "180000000",
                " 180000000",
                "+180000000",
                "180000000 ",
                "-0",
                "0xg",
                "",
                "10000000000000000",
                "500000000",
            ],
            probe: Some(dimm_addr),
            vnumac_refuses: &[],
        },
        Case {
            name: "<address type='dimm' slot>",
            xml: dimm("1024", "0", "<address type='dimm' slot='@V@'/>", ""),
            values: &["02", "0x2", "03", " 3", "3 ", "+3", "-0", ""],
            probe: Some(dimm_slot),
            vnumac_refuses: &[],
        },
        Case {
            name: "<memory><target><node>",
            xml: dimm("1024", "@V@", "", ""),
            values: &["00", "01", "0x1", "-0", "+1", " 1", "1 ", "-1", "2"],
            probe: Some(dimm_node),
            vnumac_refuses: &[],
        },
        Case {
            name: "<memory><target><size>",
            xml: dimm("@V@", "0", "", ""),
            values: &["01024", "0x400", " 1024", "1024 ", "+1024", "-0", "2048"],
            probe: Some(dimm_size),
            vnumac_refuses: &[],
        },
        Case {
            name: "<memory><source><pagesize>",
            xml: dimm("1024", "0", "", "<source><pagesize unit='KiB'>@V@</pagesize></source>"),
            values: &["02048", "0x800", " 2048", "2048 ", "1048576", "+2048"],
            probe: Some(dimm_pages),
            vnumac_refuses: &[],
        },
    ]
}

/// NVDIMM and virtio-mem sizes.
fn nvdimm_and_virtio_mem() -> Vec<Case> {
    vec![
        Case {
            name: "<memory model='nvdimm'><target><label><size>",
            xml: nvdimm("@V@", "2048"),
            values: &["0128", "0x80", " 128", "128 ", "256"],
            probe: Some(nvdimm_label),
            vnumac_refuses: &[],
        },
        Case {
            name: "<memory model='nvdimm'><source><alignsize>",
            xml: nvdimm("128", "@V@"),
            values: &["02048", "0x800", " 2048", "2048 ", "4096"],
            probe: Some(nvdimm_align),
            vnumac_refuses: &[],
        },
        Case {
            name: "<memory model='virtio-mem'><target><block>",
            xml: virtio_mem("@V@", "0"),
            values: &["02048", "0x800", " 2048", "2048 ", "4096"],
            probe: Some(vmem_block),
            vnumac_refuses: &[],
        },
        Case {
            name: "<memory model='virtio-mem'><target><requested>",
            xml: virtio_mem("2048", "@V@"),
            values: &["0", "02048", "0x800", " 4096", "4096 ", "-0"],
            probe: Some(vmem_requested),
            vnumac_refuses: &[],
        },
    ]
}

/// Controllers: index, root port chassis and port, expander bus number and node.
fn controllers() -> Vec<Case> {
    vec![
        Case {
            name: "<controller model='pcie-expander-bus'><target busNr>",
            xml: expander("@V@", "1"),
            values: &["0376", "0xfe", "254", "0254", "08", "255", "-0", " 200", "200 ", "0x"],
            probe: Some(pxb_bus_nr),
            vnumac_refuses: &[],
        },
        Case {
            name: "<controller model='pcie-expander-bus'><target><node>",
            xml: expander("200", "@V@"),
            values: &["01", "010", "0x1", " 1", "1 ", "+1", "-0", "-1", "4294967297"],
            probe: Some(pxb_node),
            vnumac_refuses: &[],
        },
        Case {
            name: "<controller model='pcie-root-port'><target chassis>",
            xml: root_port("1", "@V@", "0x10"),
            values: &["010", "0x10", "08", "256", "-0", "-1", "9 ", " 9", "+9"],
            probe: None,
            vnumac_refuses: &[],
        },
        Case {
            name: "<controller model='pcie-root-port'><target port>",
            xml: root_port("1", "1", "@V@"),
            values: &["010", "0x10", "08", "256", "-0", "9 ", " 9"],
            probe: None,
            vnumac_refuses: &[],
        },
        Case {
            name: "<controller index>",
            xml: root_port("@V@", "1", "0x10"),
            values: &["01", "0x1", "-0", "-1", " 1", "1 ", "+1", "2147483648"],
            probe: None,
            vnumac_refuses: &[],
        },
    ]
}
