//! The attributes, their renderings, and where each number shows in a QEMU line.

use serde_json::Value;

use crate::common::qemu::{Props, qemu_size};

/// A QEMU line: (option without the dash, value).
pub type Line = Vec<(String, Option<String>)>;

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

// == The QEMU line

/// The properties of every `-OPTION`, parsed with `implied` as the key of a bare token.
fn options(line: &Line, option: &str, implied: &str) -> Vec<Props> {
    line.iter()
        .filter(|(name, _)| name == option)
        .filter_map(|(_, v)| Props::parse(v.as_deref()?, Some(implied)).ok())
        .collect()
}

fn device(line: &Line, driver: &str) -> Option<Props> {
    options(line, "device", "driver")
        .into_iter()
        .find(|p| p.get_str("driver").as_deref() == Some(driver))
}

fn object(line: &Line, id: &str) -> Option<Props> {
    options(line, "object", "qom-type")
        .into_iter()
        .find(|p| p.get_str("id").as_deref() == Some(id))
}

/// `-numa KIND,...` entries whose `key` is `value`.
fn numa(line: &Line, kind: &str, key: &str, value: &str) -> Option<Props> {
    options(line, "numa", "type")
        .into_iter()
        .find(|p| p.get_str("type").as_deref() == Some(kind) && p.get_str(key).as_deref() == Some(value))
}

/// A size in bytes, as text.
fn bytes(text: Option<String>) -> Option<String> {
    qemu_size(&text?).ok().map(|b| b.to_string())
}

/// `-m`: a bare number is MiB.
fn m(line: &Line, key: &str) -> Option<String> {
    let p = options(line, "m", "size").pop()?;
    let v = p.get_str(key)?;
    match key {
        "size" | "maxmem" if v.chars().all(|c| c.is_ascii_digit()) => bytes(Some(format!("{v}M"))),
        "size" | "maxmem" => bytes(Some(v)),
        _ => Some(v),
    }
}

fn smp(line: &Line, key: &str) -> Option<String> {
    options(line, "smp", "cpus").pop()?.get_str(key)
}

/// A list in either syntax (JSON array or keyval value) as `a,b`.
fn list(p: &Props, key: &str) -> Option<String> {
    match p.get(key)? {
        Value::Array(items) => Some(
            items
                .iter()
                .map(|v| v.to_string().trim_matches('"').to_string())
                .collect::<Vec<_>>()
                .join(","),
        ),
        _ => p.get_str(key),
    }
}

/// Which hugetlbfs a backend's `mem-path` is on: `1G`, `2M`, or `none`.
fn mount(p: &Props) -> String {
    match p.get_str("mem-path") {
        Some(path) if path.contains("hugepages1G") => "1G".into(),
        Some(path) if path.contains("hugepages") => "2M".into(),
        _ => "none".into(),
    }
}

fn vfio_host(l: &Line) -> Option<String> {
    device(l, "vfio-pci")?.get_str("host")
}
fn dimm_addr(l: &Line) -> Option<String> {
    device(l, "pc-dimm")?.get_str("addr")
}
fn dimm_slot(l: &Line) -> Option<String> {
    device(l, "pc-dimm")?.get_str("slot")
}
fn pxb_bus_nr(l: &Line) -> Option<String> {
    device(l, "pxb-pcie")?.get_str("bus_nr")
}
fn pxb_node(l: &Line) -> Option<String> {
    device(l, "pxb-pcie")?.get_str("numa_node")
}
fn disk_bus(l: &Line) -> Option<String> {
    device(l, "virtio-blk-pci")?.get_str("bus")
}
fn vcpus(l: &Line) -> Option<String> {
    smp(l, "maxcpus").or_else(|| smp(l, "cpus"))
}
fn vcpus_online(l: &Line) -> Option<String> {
    smp(l, "cpus")
}
fn sockets(l: &Line) -> Option<String> {
    smp(l, "sockets")
}
fn dies(l: &Line) -> Option<String> {
    smp(l, "dies").or_else(|| Some("1".into()))
}
fn cores(l: &Line) -> Option<String> {
    smp(l, "cores")
}
fn threads(l: &Line) -> Option<String> {
    smp(l, "threads")
}
fn node1_cpus(l: &Line) -> Option<String> {
    list(&numa(l, "node", "nodeid", "1")?, "cpus")
}
fn node1_size(l: &Line) -> Option<String> {
    bytes(object(l, "ram-node1")?.get_str("size"))
}
fn node1_host_nodes(l: &Line) -> Option<String> {
    let backend = object(l, "ram-node1")?;
    Some(list(&backend, "host-nodes").unwrap_or_else(|| "none".into()))
}
fn memory(l: &Line) -> Option<String> {
    m(l, "size")
}
fn maxmem(l: &Line) -> Option<String> {
    m(l, "maxmem")
}
fn slots(l: &Line) -> Option<String> {
    m(l, "slots")
}
fn distance_0_1(l: &Line) -> Option<String> {
    options(l, "numa", "type")
        .into_iter()
        .find(|p| {
            p.get_str("type").as_deref() == Some("dist")
                && p.get_str("src").as_deref() == Some("0")
                && p.get_str("dst").as_deref() == Some("1")
        })?
        .get_str("val")
}
fn cache_level(l: &Line) -> Option<String> {
    options(l, "numa", "type")
        .into_iter()
        .find(|p| p.get_str("type").as_deref() == Some("hmat-cache"))?
        .get_str("level")
}
fn cache_size(l: &Line) -> Option<String> {
    bytes(
        options(l, "numa", "type")
            .into_iter()
            .find(|p| p.get_str("type").as_deref() == Some("hmat-cache"))?
            .get_str("size"),
    )
}
fn cache_line(l: &Line) -> Option<String> {
    options(l, "numa", "type")
        .into_iter()
        .find(|p| p.get_str("type").as_deref() == Some("hmat-cache"))?
        .get_str("line")
}
fn latency(l: &Line) -> Option<String> {
    numa(l, "hmat-lb", "data-type", "access-latency")?.get_str("latency")
}
fn latency_initiator(l: &Line) -> Option<String> {
    numa(l, "hmat-lb", "data-type", "access-latency")?.get_str("initiator")
}
fn bandwidth(l: &Line) -> Option<String> {
    bytes(numa(l, "hmat-lb", "data-type", "access-bandwidth")?.get_str("bandwidth"))
}
fn iothreads(l: &Line) -> Option<String> {
    let n = options(l, "object", "qom-type")
        .iter()
        .filter(|p| p.get_str("qom-type").as_deref() == Some("iothread"))
        .count();
    Some(n.to_string())
}
fn prealloc_threads(l: &Line) -> Option<String> {
    let backends = options(l, "object", "qom-type");
    let with = backends.iter().find_map(|p| p.get_str("prealloc-threads"));
    Some(with.unwrap_or_else(|| "none".into()))
}
fn pages(l: &Line) -> Option<String> {
    Some(mount(&object(l, "ram-node0")?))
}
fn dimm_node(l: &Line) -> Option<String> {
    device(l, "pc-dimm")?.get_str("node")
}
fn dimm_size(l: &Line) -> Option<String> {
    bytes(object(l, "memdimm0")?.get_str("size"))
}
fn dimm_pages(l: &Line) -> Option<String> {
    Some(mount(&object(l, "memdimm0")?))
}
fn nvdimm_label(l: &Line) -> Option<String> {
    device(l, "nvdimm")?.get_str("label-size")
}
fn nvdimm_align(l: &Line) -> Option<String> {
    bytes(object(l, "memnvdimm0")?.get_str("align"))
}
fn vmem_block(l: &Line) -> Option<String> {
    bytes(device(l, "virtio-mem-pci")?.get_str("block-size"))
}
fn vmem_requested(l: &Line) -> Option<String> {
    let requested = device(l, "virtio-mem-pci")?.get_str("requested-size");
    bytes(Some(requested.unwrap_or_else(|| "0".into())))
}

// == The domains

/// A q35 KVM domain; `extra` goes after `<vcpu>`, `cpu` inside `<cpu>`.
fn domain(memory: &str, vcpu: &str, extra: &str, cpu: &str, devices: &str) -> String {
    format!(
        "<domain type='kvm'>\n  <name>n</name>\n  {memory}\n  {vcpu}\n  {extra}\n  \
         <os><type arch='x86_64' machine='q35'>hvm</type></os>\n  <features><acpi/><apic/></features>\n  \
         <cpu mode='host-passthrough'>{cpu}</cpu>\n  <devices>{devices}</devices>\n</domain>\n"
    )
}

const GIB4: &str = "<memory unit='GiB'>4</memory>";
const VCPU4: &str = "<vcpu>4</vcpu>";
const TWO_CELLS: &str =
    "<numa><cell id='0' cpus='0-1' memory='2' unit='GiB'/><cell id='1' cpus='2-3' memory='2' unit='GiB'/></numa>";

fn two_cells(devices: &str) -> String {
    domain(GIB4, VCPU4, "", TWO_CELLS, devices)
}

fn cells_with(cell0: &str, rest: &str) -> String {
    let numa = format!(
        "<numa><cell id='0' cpus='0-1' memory='2' unit='GiB'>{cell0}</cell><cell id='1' cpus='2-3' memory='2' unit='GiB'/>{rest}</numa>"
    );
    domain(GIB4, VCPU4, "", &numa, "")
}

/// HMAT on two cells: a level-1 cache on cell 0, a latency and a bandwidth from 0 to 0.
fn hmat(level: &str, size: &str, line: &str, latency: &str, bandwidth: &str) -> String {
    let cache = format!(
        "<cache level='{level}' associativity='direct' policy='writeback'><size {size}/><line {line}/></cache>"
    );
    let ic = format!(
        "<interconnects><latency initiator='{}' target='0' type='access' value='{}'/>\
         <bandwidth initiator='0' target='0' type='access' {bandwidth}/></interconnects>",
        latency.split('|').next().unwrap_or("0"),
        latency.split('|').nth(1).unwrap_or("5"),
    );
    cells_with(&cache, &ic)
}

/// A host device on host node 0, which backs cell 0 (so that it is local to a cell).
fn hostdev(domain_: &str, bus: &str, slot: &str, function: &str) -> String {
    let numatune = "<numatune><memnode cellid='0' mode='strict' nodeset='0'/></numatune>";
    domain(
        GIB4,
        VCPU4,
        numatune,
        TWO_CELLS,
        &format!(
            "<hostdev mode='subsystem' type='pci' managed='yes'><driver name='vfio'/>\
         <source><address domain='{domain_}' bus='{bus}' slot='{slot}' function='{function}'/></source></hostdev>"
        ),
    )
}

/// Memory hotplug room and one memory device on cell 0.
fn memory_device(device: &str) -> String {
    domain(
        "<maxMemory slots='4' unit='GiB'>16</maxMemory><memory unit='GiB'>5</memory>",
        VCPU4,
        "",
        TWO_CELLS,
        device,
    )
}

fn dimm(size: &str, node: &str, address: &str, source: &str) -> String {
    memory_device(&format!(
        "<memory model='dimm'>{source}<target><size unit='MiB'>{size}</size><node>{node}</node></target>{address}</memory>"
    ))
}

fn nvdimm(label: &str, align: &str) -> String {
    memory_device(&format!(
        "<memory model='nvdimm'><source><path>/tmp/vnumac-nvdimm</path><alignsize unit='KiB'>{align}</alignsize></source>\
         <target><size unit='KiB'>1048576</size><node>0</node><label><size unit='KiB'>{label}</size></label></target></memory>"
    ))
}

fn virtio_mem(block: &str, requested: &str) -> String {
    memory_device(&format!(
        "<memory model='virtio-mem'><target><size unit='GiB'>1</size><node>0</node>\
         <block unit='KiB'>{block}</block><requested unit='KiB'>{requested}</requested></target></memory>"
    ))
}

fn expander(bus_nr: &str, node: &str) -> String {
    two_cells(&format!(
        "<controller type='pci' index='1' model='pcie-expander-bus'><target busNr='{bus_nr}'><node>{node}</node></target></controller>"
    ))
}

fn root_port(index: &str, chassis: &str, port: &str) -> String {
    two_cells(&format!(
        "<controller type='pci' index='{index}' model='pcie-root-port'><target chassis='{chassis}' port='{port}'/></controller>"
    ))
}

/// A virtio disk on root port `p8` or `p10` (controller indices 8 and 10), by its
/// address's bus. (`domxml-to-native` drops a NIC's address, not a disk's.)
fn disk_on(bus: &str) -> String {
    two_cells(&format!(
        "<controller type='pci' index='8' model='pcie-root-port'><alias name='ua-p8'/></controller>\
         <controller type='pci' index='10' model='pcie-root-port'><alias name='ua-p10'/></controller>\
         <disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='/tmp/vnumac-disk.img'/>\
         <target dev='vda' bus='virtio'/><address type='pci' domain='0' bus='{bus}' slot='0' function='0'/></disk>"
    ))
}

fn topology(sockets: &str, dies: &str, cores: &str, threads: &str) -> String {
    let t = format!("<topology sockets='{sockets}' dies='{dies}' cores='{cores}' threads='{threads}'/>");
    domain(GIB4, "<vcpu>8</vcpu>", "", &t, "")
}

fn flat(memory: &str, vcpu: &str, extra: &str) -> String {
    domain(memory, vcpu, extra, "", "")
}

/// Renderings of small ids where octal, decimal and hexadecimal differ.
const PCI_BUS: &[&str] = &[
    "010", "0x10", "0X1f", "10", " 010", "+9", "08", "9 ", "-0", "-1", "", "256", "0x100", "0377", "0x",
];

pub fn cases() -> Vec<Case> {
    let mut v = devices();
    v.extend(vcpus_and_cells());
    v.extend(sizes_and_tuning());
    v
}

fn devices() -> Vec<Case> {
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
            name: "<address type='dimm' base>",
            xml: dimm("1024", "0", "<address type='dimm' slot='0' base='@V@'/>", ""),
            values: &[
                "6553600000",
                "0x6553600000",
                "100000000",
                "0x100000000",
                "0X140000000",
                "140000000",
                " 140000000",
                "+140000000",
                "140000000 ",
                "-0",
                "0xg",
                "",
                "10000000000000000",
                "40000000",
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
        Case {
            name: "<disk><address type='pci' bus>",
            xml: disk_on("@V@"),
            values: &["010", "012", "0x0a", "0x8", "10", "8", "08", " 010", "010 "],
            probe: Some(disk_bus),
            vnumac_refuses: &[],
        },
    ]
}

fn vcpus_and_cells() -> Vec<Case> {
    vec![
        Case {
            name: "<vcpu>",
            xml: flat(GIB4, "<vcpu>@V@</vcpu>", ""),
            values: &["010", "0x10", "08", " 8", "8 ", "+8", "-0", "0009", "", "0"],
            probe: Some(vcpus),
            vnumac_refuses: &[],
        },
        Case {
            name: "<vcpu current>",
            xml: flat(GIB4, "<vcpu current='@V@'>8</vcpu>", ""),
            values: &["02", "0x2", "-0", "2 ", " 2", "+2", "0", "9", ""],
            probe: Some(vcpus_online),
            vnumac_refuses: &[],
        },
        Case {
            name: "<vcpus><vcpu id>",
            xml: flat(
                GIB4,
                "<vcpu current='1'>4</vcpu><vcpus><vcpu id='0' enabled='yes' hotpluggable='no'/>\
                 <vcpu id='@V@' enabled='no' hotpluggable='yes'/></vcpus>",
                "",
            ),
            values: &["01", "0x1", "-0", " 1", "1 ", "+1", "4"],
            probe: None,
            vnumac_refuses: &[],
        },
        Case {
            name: "<topology sockets>",
            xml: topology("@V@", "1", "4", "1"),
            values: &["02", "0x2", "2 ", " 2", "+2", "-0", "0"],
            probe: Some(sockets),
            vnumac_refuses: &[],
        },
        Case {
            name: "<topology dies>",
            xml: topology("1", "@V@", "4", "1"),
            values: &["02", "0x2", "2 ", " 2", "+2", "-0", "0"],
            probe: Some(dies),
            vnumac_refuses: &[],
        },
        Case {
            name: "<topology cores>",
            xml: topology("2", "1", "@V@", "1"),
            values: &["04", "0x4", "4 ", " 4", "+4", "-0", "0"],
            probe: Some(cores),
            vnumac_refuses: &[],
        },
        Case {
            name: "<topology threads>",
            xml: topology("4", "1", "1", "@V@"),
            values: &["02", "0x2", "2 ", " 2", "+2", "-0", "0"],
            probe: Some(threads),
            vnumac_refuses: &[],
        },
        Case {
            name: "<cell id>",
            xml: domain(
                GIB4,
                VCPU4,
                "",
                "<numa><cell id='0' cpus='0-1' memory='2' unit='GiB'/><cell id='@V@' cpus='2-3' memory='2' unit='GiB'/></numa>",
                "",
            ),
            values: &["1", "01", "0x1", " 1", "+1", "1 ", "2", "-0"],
            probe: Some(node1_cpus),
            vnumac_refuses: &[],
        },
        Case {
            name: "<cell memory>",
            xml: domain(
                GIB4,
                VCPU4,
                "",
                "<numa><cell id='0' cpus='0-1' memory='2048' unit='MiB'/><cell id='1' cpus='2-3' memory='@V@' unit='MiB'/></numa>",
                "",
            ),
            values: &["01024", "0x400", " 1024", "1024 ", "+1024", "-0", "2048"],
            probe: Some(node1_size),
            vnumac_refuses: &[],
        },
        Case {
            name: "<cell unit>",
            xml: domain(
                GIB4,
                VCPU4,
                "",
                "<numa><cell id='0' cpus='0-1' memory='2' unit='GiB'/><cell id='1' cpus='2-3' memory='1' unit='@V@'/></numa>",
                "",
            ),
            values: &["GiB", "G", "gib", "GB", "byte", "bytes", " GiB", "GiB ", "Ki", "e"],
            probe: Some(node1_size),
            vnumac_refuses: &[("e", "vnumac takes sizes up to 1 PiB")],
        },
        Case {
            name: "<sibling value>",
            xml: cells_with(
                "<distances><sibling id='0' value='10'/><sibling id='1' value='@V@'/></distances>",
                "",
            ),
            values: &["021", "0x15", "+21", " 21", "21 ", "9", "10", "255", "256", "-0"],
            probe: Some(distance_0_1),
            vnumac_refuses: &[],
        },
        Case {
            name: "<sibling id>",
            xml: cells_with(
                "<distances><sibling id='0' value='10'/><sibling id='@V@' value='31'/></distances>",
                "",
            ),
            values: &["1", "01", "0x1", "2", " 1", "1 "],
            probe: Some(distance_0_1),
            vnumac_refuses: &[],
        },
        Case {
            name: "<cache level>",
            xml: hmat(
                "@V@",
                "value='256' unit='KiB'",
                "value='64' unit='B'",
                "0|5",
                "value='200' unit='GiB'",
            ),
            values: &["01", "0x1", "0", "4", " 1", "1 ", "+1"],
            probe: Some(cache_level),
            vnumac_refuses: &[],
        },
        Case {
            name: "<cache><size value>",
            xml: hmat(
                "1",
                "value='@V@' unit='KiB'",
                "value='64' unit='B'",
                "0|5",
                "value='200' unit='GiB'",
            ),
            values: &["0256", "0x100", " 256", "256 ", "+256", "-0", "512"],
            probe: Some(cache_size),
            vnumac_refuses: &[],
        },
        Case {
            name: "<cache><size unit>",
            xml: hmat(
                "1",
                "value='256' unit='@V@'",
                "value='64' unit='B'",
                "0|5",
                "value='200' unit='GiB'",
            ),
            values: &["KiB", "MiB", "B", "bytes", "x", ""],
            probe: Some(cache_size),
            vnumac_refuses: &[],
        },
        Case {
            name: "<cache><line value>",
            xml: hmat(
                "1",
                "value='256' unit='KiB'",
                "value='@V@' unit='B'",
                "0|5",
                "value='200' unit='GiB'",
            ),
            values: &["064", "0x40", " 64", "64 ", "+64", "-0", "128"],
            probe: Some(cache_line),
            vnumac_refuses: &[],
        },
        Case {
            name: "<cache><line unit>",
            xml: hmat(
                "1",
                "value='256' unit='KiB'",
                "value='64' unit='@V@'",
                "0|5",
                "value='200' unit='GiB'",
            ),
            values: &["B", "KiB", "x", ""],
            probe: Some(cache_line),
            vnumac_refuses: &[],
        },
        Case {
            name: "<latency value>",
            xml: hmat(
                "1",
                "value='256' unit='KiB'",
                "value='64' unit='B'",
                "0|@V@",
                "value='200' unit='GiB'",
            ),
            values: &["010", "0x10", " 10", "10 ", "+10", "-0", "-1"],
            probe: Some(latency),
            vnumac_refuses: &[],
        },
        Case {
            name: "<latency initiator>",
            xml: hmat(
                "1",
                "value='256' unit='KiB'",
                "value='64' unit='B'",
                "@V@|5",
                "value='200' unit='GiB'",
            ),
            values: &["00", "01", "0x1", " 1", "1 ", "2", "-0"],
            probe: Some(latency_initiator),
            vnumac_refuses: &[],
        },
        Case {
            name: "<bandwidth value unit>",
            xml: hmat(
                "1",
                "value='256' unit='KiB'",
                "value='64' unit='B'",
                "0|5",
                "value='@V@' unit='GiB'",
            ),
            values: &["0200", "0xc8", " 200", "200 ", "+200", "-0"],
            probe: Some(bandwidth),
            vnumac_refuses: &[],
        },
        Case {
            name: "<bandwidth unit>",
            xml: hmat(
                "1",
                "value='256' unit='KiB'",
                "value='64' unit='B'",
                "0|5",
                "value='200' unit='@V@'",
            ),
            values: &["GiB", "G", "gib", "MiB", " GiB", "x", ""],
            probe: Some(bandwidth),
            vnumac_refuses: &[],
        },
    ]
}

fn sizes_and_tuning() -> Vec<Case> {
    let numatune = |memnode: &str| {
        domain(
            GIB4,
            VCPU4,
            &format!("<numatune><memnode cellid='0' mode='strict' nodeset='0'/>{memnode}</numatune>"),
            TWO_CELLS,
            "",
        )
    };
    vec![
        Case {
            name: "<memory>",
            xml: flat("<memory unit='MiB'>@V@</memory>", VCPU4, ""),
            values: &["01024", "0x400", " 1024", "1024 ", "+1024", "-0", "2048"],
            probe: Some(memory),
            vnumac_refuses: &[],
        },
        Case {
            name: "<memory unit>",
            xml: flat("<memory unit='@V@'>2</memory>", VCPU4, ""),
            values: &["GiB", "G", "gb", "byte", "bytes", " GiB", "GiB ", "Ki", "m", ""],
            probe: Some(memory),
            vnumac_refuses: &[],
        },
        Case {
            name: "<maxMemory slots>",
            xml: domain(
                "<maxMemory slots='@V@' unit='GiB'>16</maxMemory><memory unit='GiB'>4</memory>",
                VCPU4,
                "",
                TWO_CELLS,
                "",
            ),
            values: &["010", "0x10", "-0", "+2", " 2", "2 ", "0", "08"],
            probe: Some(slots),
            vnumac_refuses: &[],
        },
        Case {
            name: "<maxMemory>",
            xml: domain(
                "<maxMemory slots='4' unit='GiB'>@V@</maxMemory><memory unit='GiB'>4</memory>",
                VCPU4,
                "",
                TWO_CELLS,
                "",
            ),
            values: &["016", "0x10", " 16", "16 ", "+16", "-0"],
            probe: Some(maxmem),
            vnumac_refuses: &[],
        },
        Case {
            name: "<currentMemory>",
            xml: flat(
                "<memory unit='KiB'>4194304</memory><currentMemory unit='KiB'>@V@</currentMemory>",
                VCPU4,
                "",
            ),
            values: &["04194304", "0x10", " 4194304", "4194304 ", "", "-0"],
            probe: Some(memory),
            vnumac_refuses: &[],
        },
        Case {
            name: "<allocation threads>",
            xml: flat(
                GIB4,
                VCPU4,
                "<memoryBacking><allocation mode='immediate' threads='@V@'/></memoryBacking>",
            ),
            values: &["010", "0x10", "+2", " 2", "2 ", "", "0", "-0"],
            probe: Some(prealloc_threads),
            vnumac_refuses: &[],
        },
        Case {
            name: "<hugepages><page size>",
            xml: domain(
                GIB4,
                VCPU4,
                "<memoryBacking><hugepages><page size='@V@' unit='KiB'/></hugepages></memoryBacking>",
                TWO_CELLS,
                "",
            ),
            values: &["02048", "0x800", " 2048", "2048 ", "+2048", "1048576", "-0"],
            probe: Some(pages),
            vnumac_refuses: &[],
        },
        Case {
            name: "<hugepages><page unit>",
            xml: domain(
                GIB4,
                VCPU4,
                "<memoryBacking><hugepages><page size='2' unit='@V@'/></hugepages></memoryBacking>",
                TWO_CELLS,
                "",
            ),
            values: &["M", "MiB", "mib", " M", "M ", "mb"],
            probe: Some(pages),
            vnumac_refuses: &[],
        },
        Case {
            name: "<iothreads>",
            xml: flat(GIB4, VCPU4, "<iothreads>@V@</iothreads>"),
            values: &["02", "0x2", "-0", "+2", " 2", "2 ", "", "0"],
            probe: Some(iothreads),
            vnumac_refuses: &[],
        },
        Case {
            name: "<iothreadpin iothread>",
            xml: flat(
                GIB4,
                VCPU4,
                "<iothreads>2</iothreads><cputune><iothreadpin iothread='1' cpuset='1'/><iothreadpin iothread='@V@' cpuset='1'/></cputune>",
            ),
            values: &["02", "0x2", "-0", "+2", " 2", "2 ", "0", "3"],
            probe: None,
            vnumac_refuses: &[],
        },
        Case {
            name: "<vcpupin vcpu>",
            xml: flat(GIB4, VCPU4, "<cputune><vcpupin vcpu='@V@' cpuset='1'/></cputune>"),
            values: &["01", "0x1", "-0", "+1", " 1", "1 ", "010", "4"],
            probe: None,
            vnumac_refuses: &[],
        },
        Case {
            name: "<memnode cellid>",
            xml: numatune("<memnode cellid='@V@' mode='strict' nodeset='1'/>"),
            values: &["01", "0x1", "-0", "+1", " 1", "1 ", "2"],
            probe: Some(node1_host_nodes),
            vnumac_refuses: &[],
        },
    ]
}
