//! Where each number shows in a QEMU line (libvirt's and vnumac's, in either syntax).

use serde_json::Value;

use crate::common::qemu::{Props, qemu_size};

/// A QEMU line: (option without the dash, value).
pub type Line = Vec<(String, Option<String>)>;

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

pub fn vfio_host(l: &Line) -> Option<String> {
    device(l, "vfio-pci")?.get_str("host")
}
pub fn dimm_addr(l: &Line) -> Option<String> {
    device(l, "pc-dimm")?.get_str("addr")
}
pub fn dimm_slot(l: &Line) -> Option<String> {
    device(l, "pc-dimm")?.get_str("slot")
}
pub fn pxb_bus_nr(l: &Line) -> Option<String> {
    device(l, "pxb-pcie")?.get_str("bus_nr")
}
pub fn pxb_node(l: &Line) -> Option<String> {
    device(l, "pxb-pcie")?.get_str("numa_node")
}
pub fn disk_bus(l: &Line) -> Option<String> {
    device(l, "virtio-blk-pci")?.get_str("bus")
}
pub fn vcpus(l: &Line) -> Option<String> {
    smp(l, "maxcpus").or_else(|| smp(l, "cpus"))
}
pub fn vcpus_online(l: &Line) -> Option<String> {
    smp(l, "cpus")
}
pub fn sockets(l: &Line) -> Option<String> {
    smp(l, "sockets")
}
pub fn dies(l: &Line) -> Option<String> {
    smp(l, "dies").or_else(|| Some("1".into()))
}
pub fn cores(l: &Line) -> Option<String> {
    smp(l, "cores")
}
pub fn threads(l: &Line) -> Option<String> {
    smp(l, "threads")
}
pub fn node1_cpus(l: &Line) -> Option<String> {
    list(&numa(l, "node", "nodeid", "1")?, "cpus")
}
pub fn node1_size(l: &Line) -> Option<String> {
    bytes(object(l, "ram-node1")?.get_str("size"))
}
pub fn node1_host_nodes(l: &Line) -> Option<String> {
    let backend = object(l, "ram-node1")?;
    Some(list(&backend, "host-nodes").unwrap_or_else(|| "none".into()))
}
pub fn memory(l: &Line) -> Option<String> {
    m(l, "size")
}
pub fn maxmem(l: &Line) -> Option<String> {
    m(l, "maxmem")
}
pub fn slots(l: &Line) -> Option<String> {
    m(l, "slots")
}
pub fn distance_0_1(l: &Line) -> Option<String> {
    options(l, "numa", "type")
        .into_iter()
        .find(|p| {
            p.get_str("type").as_deref() == Some("dist")
                && p.get_str("src").as_deref() == Some("0")
                && p.get_str("dst").as_deref() == Some("1")
        })?
        .get_str("val")
}
pub fn cache_level(l: &Line) -> Option<String> {
    options(l, "numa", "type")
        .into_iter()
        .find(|p| p.get_str("type").as_deref() == Some("hmat-cache"))?
        .get_str("level")
}
pub fn cache_size(l: &Line) -> Option<String> {
    bytes(
        options(l, "numa", "type")
            .into_iter()
            .find(|p| p.get_str("type").as_deref() == Some("hmat-cache"))?
            .get_str("size"),
    )
}
pub fn cache_line(l: &Line) -> Option<String> {
    options(l, "numa", "type")
        .into_iter()
        .find(|p| p.get_str("type").as_deref() == Some("hmat-cache"))?
        .get_str("line")
}
pub fn latency(l: &Line) -> Option<String> {
    numa(l, "hmat-lb", "data-type", "access-latency")?.get_str("latency")
}
pub fn latency_initiator(l: &Line) -> Option<String> {
    numa(l, "hmat-lb", "data-type", "access-latency")?.get_str("initiator")
}
pub fn bandwidth(l: &Line) -> Option<String> {
    bytes(numa(l, "hmat-lb", "data-type", "access-bandwidth")?.get_str("bandwidth"))
}
pub fn iothreads(l: &Line) -> Option<String> {
    let n = options(l, "object", "qom-type")
        .iter()
        .filter(|p| p.get_str("qom-type").as_deref() == Some("iothread"))
        .count();
    Some(n.to_string())
}
pub fn prealloc_threads(l: &Line) -> Option<String> {
    let backends = options(l, "object", "qom-type");
    let with = backends.iter().find_map(|p| p.get_str("prealloc-threads"));
    Some(with.unwrap_or_else(|| "none".into()))
}
pub fn pages(l: &Line) -> Option<String> {
    Some(mount(&object(l, "ram-node0")?))
}
pub fn dimm_node(l: &Line) -> Option<String> {
    device(l, "pc-dimm")?.get_str("node")
}
pub fn dimm_size(l: &Line) -> Option<String> {
    bytes(object(l, "memdimm0")?.get_str("size"))
}
pub fn dimm_pages(l: &Line) -> Option<String> {
    Some(mount(&object(l, "memdimm0")?))
}
pub fn nvdimm_label(l: &Line) -> Option<String> {
    device(l, "nvdimm")?.get_str("label-size")
}
pub fn nvdimm_align(l: &Line) -> Option<String> {
    bytes(object(l, "memnvdimm0")?.get_str("align"))
}
pub fn vmem_block(l: &Line) -> Option<String> {
    bytes(device(l, "virtio-mem-pci")?.get_str("block-size"))
}
pub fn vmem_requested(l: &Line) -> Option<String> {
    let requested = device(l, "virtio-mem-pci")?.get_str("requested-size");
    bytes(Some(requested.unwrap_or_else(|| "0".into())))
}
