//! The domains the numbers are put in: q35 KVM guests that libvirt and vnumac both build.

/// A q35 KVM domain; `extra` goes after `<vcpu>`, `cpu` inside `<cpu>`.
pub fn domain(memory: &str, vcpu: &str, extra: &str, cpu: &str, devices: &str) -> String {
    format!(
        "<domain type='kvm'>\n  <name>n</name>\n  {memory}\n  {vcpu}\n  {extra}\n  \
         <os><type arch='x86_64' machine='q35'>hvm</type></os>\n  <features><acpi/><apic/></features>\n  \
         <cpu mode='host-passthrough'>{cpu}</cpu>\n  <devices>{devices}</devices>\n</domain>\n"
    )
}

pub const GIB4: &str = "<memory unit='GiB'>4</memory>";
pub const VCPU4: &str = "<vcpu>4</vcpu>";
pub const TWO_CELLS: &str =
    "<numa><cell id='0' cpus='0-1' memory='2' unit='GiB'/><cell id='1' cpus='2-3' memory='2' unit='GiB'/></numa>";

pub fn two_cells(devices: &str) -> String {
    domain(GIB4, VCPU4, "", TWO_CELLS, devices)
}

pub fn cells_with(cell0: &str, rest: &str) -> String {
    let numa = format!(
        "<numa><cell id='0' cpus='0-1' memory='2' unit='GiB'>{cell0}</cell><cell id='1' cpus='2-3' memory='2' unit='GiB'/>{rest}</numa>"
    );
    domain(GIB4, VCPU4, "", &numa, "")
}

/// HMAT on two cells: a level-1 cache on cell 0, a latency and a bandwidth from 0 to 0.
pub fn hmat(level: &str, size: &str, line: &str, latency: &str, bandwidth: &str) -> String {
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
pub fn hostdev(domain_: &str, bus: &str, slot: &str, function: &str) -> String {
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
pub fn memory_device(device: &str) -> String {
    domain(
        "<maxMemory slots='4' unit='GiB'>16</maxMemory><memory unit='GiB'>5</memory>",
        VCPU4,
        "",
        TWO_CELLS,
        device,
    )
}

pub fn dimm(size: &str, node: &str, address: &str, source: &str) -> String {
    memory_device(&format!(
        "<memory model='dimm'>{source}<target><size unit='MiB'>{size}</size><node>{node}</node></target>{address}</memory>"
    ))
}

pub fn nvdimm(label: &str, align: &str) -> String {
    memory_device(&format!(
        "<memory model='nvdimm'><source><path>/tmp/vnumac-nvdimm</path><alignsize unit='KiB'>{align}</alignsize></source>\
         <target><size unit='KiB'>1048576</size><node>0</node><label><size unit='KiB'>{label}</size></label></target></memory>"
    ))
}

pub fn virtio_mem(block: &str, requested: &str) -> String {
    memory_device(&format!(
        "<memory model='virtio-mem'><target><size unit='GiB'>1</size><node>0</node>\
         <block unit='KiB'>{block}</block><requested unit='KiB'>{requested}</requested></target></memory>"
    ))
}

pub fn expander(bus_nr: &str, node: &str) -> String {
    two_cells(&format!(
        "<controller type='pci' index='1' model='pcie-expander-bus'><target busNr='{bus_nr}'><node>{node}</node></target></controller>"
    ))
}

pub fn root_port(index: &str, chassis: &str, port: &str) -> String {
    two_cells(&format!(
        "<controller type='pci' index='{index}' model='pcie-root-port'><target chassis='{chassis}' port='{port}'/></controller>"
    ))
}

/// A virtio disk on root port `p8` or `p10` (controller indices 8 and 10), by its
/// address's bus. (`domxml-to-native` drops a NIC's address, not a disk's.)
pub fn disk_on(bus: &str) -> String {
    two_cells(&format!(
        "<controller type='pci' index='8' model='pcie-root-port'><alias name='ua-p8'/></controller>\
         <controller type='pci' index='10' model='pcie-root-port'><alias name='ua-p10'/></controller>\
         <disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='/tmp/vnumac-disk.img'/>\
         <target dev='vda' bus='virtio'/><address type='pci' domain='0' bus='{bus}' slot='0' function='0'/></disk>"
    ))
}

pub fn topology(sockets: &str, dies: &str, cores: &str, threads: &str) -> String {
    let t = format!("<topology sockets='{sockets}' dies='{dies}' cores='{cores}' threads='{threads}'/>");
    domain(GIB4, "<vcpu>8</vcpu>", "", &t, "")
}

pub fn flat(memory: &str, vcpu: &str, extra: &str) -> String {
    domain(memory, vcpu, extra, "", "")
}

/// Renderings of small ids where octal, decimal and hexadecimal differ.
pub const PCI_BUS: &[&str] = &[
    "010", "0x10", "0X1f", "10", " 010", "+9", "08", "9 ", "-0", "-1", "", "256", "0x100", "0377", "0x",
];
