//! Host profiles from a sysfs tree: `ROOT/devices/system/{node,cpu}`,
//! `ROOT/bus/pci/devices` and `ROOT/fs/resctrl/info`, ROOT being `/sys` or a copy of it.

use std::collections::BTreeMap;
use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use super::builder::{DistanceDecl, HostBuilder, HugepagesDecl, NodeDecl, PciDecl};
use super::model::HostProfile;
use super::topology::{CpuFacts, topology_decls};
use crate::sets::IdSet;

/// A sysfs file or directory that could not be read or understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {message}", path.display())]
pub struct ProbeError {
    pub path: PathBuf,
    pub message: String,
}

impl ProbeError {
    fn new(path: &Path, message: impl Into<String>) -> Self {
        ProbeError {
            path: path.to_path_buf(),
            message: message.into(),
        }
    }
}

/// Probe the machine described by the sysfs tree at `root` (normally `/sys`).
/// Returns the profile and warnings about what had to be assumed.
pub fn probe(name: &str, root: &Path) -> Result<(HostProfile, Vec<String>), ProbeError> {
    let mut warnings = Vec::new();
    let cpus = read_cpus(&root.join("devices/system/cpu"), &mut warnings)?;
    let online: IdSet = cpus.iter().map(|c| c.id).collect();
    let mut b = HostBuilder {
        name: name.to_string(),
        ..HostBuilder::default()
    };
    let node_dir = root.join("devices/system/node");
    if node_dir.is_dir() {
        read_nodes(&node_dir, &online, &mut b, &mut warnings)?;
    }
    // No node directories at all: a kernel without NUMA.
    if b.nodes.is_empty() {
        let dir = node_dir.display();
        warnings.push(format!(
            "no NUMA nodes in {dir}: one node 0 with every online CPU and memory 0"
        ));
        b.nodes.push(NodeDecl {
            id: 0,
            cpus: online.clone(),
            memory_kib: 0,
            free_kib: None,
        });
    }
    let placed: IdSet = b.nodes.iter().flat_map(|n| n.cpus.iter()).collect();
    let stray = online.difference(&placed);
    if !stray.is_empty() {
        warnings.push(format!("online CPUs {stray} are on no NUMA node; left out"));
    }
    let facts: Vec<CpuFacts> = cpus.into_iter().filter(|c| placed.contains(c.id)).collect();
    let (siblings, groups) = topology_decls(&facts);
    b.siblings = siblings.into_iter().map(|(d, _)| d).collect();
    b.cpu_groups = groups.into_iter().map(|(d, _)| d).collect();
    b.l3 = read_l3(&root.join("devices/system/cpu"), &placed, &mut warnings)?;
    b.resctrl =
        super::sysfs_resctrl::read(root, &placed, &mut warnings).map_err(|e| ProbeError::new(&e.path, e.message))?;
    read_pci(&root.join("bus/pci/devices"), &mut b, &mut warnings)?;
    let profile = b.build().map_err(|errors| {
        let messages: Vec<String> = errors.into_iter().map(|e| e.message).collect();
        ProbeError::new(root, format!("inconsistent topology: {}", messages.join("; ")))
    })?;
    Ok((profile, warnings))
}

/// Online CPUs and their topology, sorted by id.
fn read_cpus(dir: &Path, warnings: &mut Vec<String>) -> Result<Vec<CpuFacts>, ProbeError> {
    if !dir.is_dir() {
        return Err(ProbeError::new(dir, "no such directory: not a sysfs root"));
    }
    let mut cpus = Vec::new();
    let mut offline = Vec::new();
    for (id, path) in numbered_entries(dir, "cpu")? {
        // cpu0 usually has no `online` file: it cannot be taken offline.
        if read_opt(&path.join("online"))?.is_some_and(|s| s.trim() == "0") {
            offline.push(id);
            continue;
        }
        let topo = path.join("topology");
        // Some architectures report -1 for an unknown package or core.
        let socket = read_signed(&topo.join("physical_package_id"))?.and_then(|v| u32::try_from(v).ok());
        let die = read_signed(&topo.join("die_id"))?.and_then(|v| u32::try_from(v).ok());
        let core = read_signed(&topo.join("core_id"))?.and_then(|v| u32::try_from(v).ok());
        let siblings_path = topo.join("thread_siblings_list");
        let siblings = match read_opt(&siblings_path)? {
            Some(s) if !s.trim().is_empty() => Some(parse_set(&siblings_path, &s)?),
            _ => None,
        };
        cpus.push(CpuFacts {
            id,
            socket,
            die: die.unwrap_or(0),
            core,
            siblings,
        });
    }
    if !offline.is_empty() {
        warnings.push(format!("offline CPUs {} skipped", IdSet::from_ids(offline)));
    }
    Ok(cpus)
}

/// L3 domains from `cpuN/cache/index*/{level,type,shared_cpu_list}` of the CPUs in `cpus`:
/// each distinct set of CPUs sharing a level-3 data or unified cache, limited to `cpus`.
/// Sets that overlap without being equal are contradictory: the domains are then left out.
fn read_l3(dir: &Path, cpus: &IdSet, warnings: &mut Vec<String>) -> Result<Vec<IdSet>, ProbeError> {
    let mut domains: std::collections::BTreeSet<IdSet> = std::collections::BTreeSet::new();
    for cpu in cpus.iter() {
        let cache = dir.join(format!("cpu{cpu}/cache"));
        if !cache.is_dir() {
            continue;
        }
        for (_, index) in numbered_entries(&cache, "index")? {
            let level = read_opt(&index.join("level"))?;
            let kind = read_opt(&index.join("type"))?;
            if level.as_deref().map(str::trim) != Some("3")
                || !matches!(kind.as_deref().map(str::trim), Some("Unified" | "Data"))
            {
                continue;
            }
            let list = index.join("shared_cpu_list");
            let Some(text) = read_opt(&list)? else { continue };
            let set = parse_set(&list, &text)?.intersection(cpus).union(&IdSet::single(cpu));
            domains.insert(set);
        }
    }
    let mut seen = std::collections::BTreeSet::new();
    for d in &domains {
        if !d.iter().all(|c| seen.insert(c)) {
            warnings.push(format!(
                "L3 caches shared by CPUs {d} overlap another L3 domain; cache topology left out"
            ));
            return Ok(Vec::new());
        }
    }
    Ok(domains.into_iter().collect())
}

fn read_nodes(dir: &Path, online: &IdSet, b: &mut HostBuilder, warnings: &mut Vec<String>) -> Result<(), ProbeError> {
    let nodes = numbered_entries(dir, "node")?;
    let ids: Vec<u32> = nodes.iter().map(|n| n.0).collect();
    for (id, path) in &nodes {
        let id = *id;
        let cpulist = path.join("cpulist");
        let cpus = match read_opt(&cpulist)? {
            Some(s) if s.trim().is_empty() => IdSet::new(),
            Some(s) => parse_set(&cpulist, &s)?,
            None => numbered_entries(path, "cpu")?.into_iter().map(|e| e.0).collect(),
        };
        let meminfo = path.join("meminfo");
        let (memory_kib, free_kib) = match read_opt(&meminfo)? {
            Some(text) => parse_meminfo(&meminfo, &text, warnings)?,
            None => {
                warnings.push(format!("node {id}: no meminfo; memory set to 0"));
                (0, None)
            }
        };
        b.nodes.push(NodeDecl {
            id,
            cpus: cpus.intersection(online),
            memory_kib,
            free_kib,
        });
        // One distance per node directory, in node id order.
        let distance = path.join("distance");
        if let Some(text) = read_opt(&distance)? {
            let row: Vec<u32> = text
                .split_whitespace()
                .map(|v| {
                    v.parse()
                        .map_err(|_| ProbeError::new(&distance, format!("`{v}` is not a distance")))
                })
                .collect::<Result<_, _>>()?;
            if row.len() == ids.len() {
                let decls = ids.iter().zip(row).filter(|(_, v)| *v != 0);
                b.distances
                    .extend(decls.map(|(&to, value)| DistanceDecl { from: id, to, value }));
            } else {
                warnings.push(format!(
                    "{}: {} values for {} nodes; ignored",
                    distance.display(),
                    row.len(),
                    ids.len()
                ));
            }
        }
        read_hugepages(&path.join("hugepages"), id, b)?;
    }
    Ok(())
}

/// `Node N MemTotal: X kB` and `Node N MemFree: Y kB` → (total, free) in KiB.
fn parse_meminfo(path: &Path, text: &str, warnings: &mut Vec<String>) -> Result<(u64, Option<u64>), ProbeError> {
    let mut fields: BTreeMap<&str, u64> = BTreeMap::new();
    for line in text.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        if let [_node, _id, key @ ("MemTotal:" | "MemFree:"), value, ..] = words.as_slice() {
            let v = value
                .parse()
                .map_err(|_| ProbeError::new(path, format!("`{line}`: not a number of kB")))?;
            fields.insert(key, v);
        }
    }
    let total = fields.get("MemTotal:").copied().unwrap_or_else(|| {
        warnings.push(format!("{}: no MemTotal; memory set to 0", path.display()));
        0
    });
    // A free figure above the total is a race between the two reads; clamp it.
    let free = fields.get("MemFree:").map(|&f| f.min(total));
    Ok((total, free))
}

/// `hugepages/hugepages-<size>kB/free_hugepages` of one node.
fn read_hugepages(dir: &Path, node: u32, b: &mut HostBuilder) -> Result<(), ProbeError> {
    if !dir.is_dir() {
        return Ok(());
    }
    let mut pools = Vec::new();
    for entry in fs::read_dir(dir).map_err(|e| ProbeError::new(dir, e.to_string()))? {
        let entry = entry.map_err(|e| ProbeError::new(dir, e.to_string()))?;
        let name = entry.file_name();
        let size = name
            .to_str()
            .and_then(|n| n.strip_prefix("hugepages-"))
            .and_then(|n| n.strip_suffix("kB"))
            .and_then(|n| n.parse::<u64>().ok());
        if let Some(size_kib) = size {
            let file = entry.path().join("free_hugepages");
            if let Some(text) = read_opt(&file)? {
                let count = text
                    .trim()
                    .parse()
                    .map_err(|_| ProbeError::new(&file, "not a page count"))?;
                pools.push(HugepagesDecl { node, size_kib, count });
            }
        }
    }
    pools.sort_by_key(|p| p.size_kib);
    b.hugepages.extend(pools);
    Ok(())
}

/// PCI devices and their NUMA node (`numa_node` of -1: the device reports none).
fn read_pci(dir: &Path, b: &mut HostBuilder, warnings: &mut Vec<String>) -> Result<(), ProbeError> {
    if !dir.is_dir() {
        return Ok(());
    }
    let nodes: IdSet = b.nodes.iter().map(|n| n.id).collect();
    let mut devices = Vec::new();
    for entry in fs::read_dir(dir).map_err(|e| ProbeError::new(dir, e.to_string()))? {
        let entry = entry.map_err(|e| ProbeError::new(dir, e.to_string()))?;
        let Some(address) = entry.file_name().to_str().map(str::to_string) else {
            continue;
        };
        if !is_pci_address(&address) {
            warnings.push(format!(
                "{} is not a PCI address (`dddd:bb:ss.f`); left out",
                crate::syntax::write::string(&address)
            ));
            continue;
        }
        let Some(node) = read_signed(&entry.path().join("numa_node"))? else {
            continue;
        };
        let Ok(node) = u32::try_from(node) else {
            devices.push(PciDecl {
                address,
                node: None,
                name: None,
            });
            continue;
        };
        if nodes.contains(node) {
            devices.push(PciDecl {
                address,
                node: Some(node),
                name: None,
            });
        } else {
            warnings.push(format!("PCI device {address} is on unknown node {node}; left out"));
        }
    }
    devices.sort_by(|a, b| a.address.cmp(&b.address));
    b.pci = devices;
    Ok(())
}

/// A canonical PCI address as sysfs names its devices: `dddd:bb:ss.f`, lower-case hex.
fn is_pci_address(name: &str) -> bool {
    let value = crate::syntax::ast::Value {
        text: name.to_string(),
        quoted: false,
        span: crate::span::Span::default(),
    };
    crate::syntax::value::pci_address(&value).is_ok_and(|canonical| canonical == name)
}

/// Entries `PREFIXN` of a directory, as (N, path), sorted by N; more than a host may have
/// (16,384 CPUs, 4,096 nodes, 64 cache indexes per CPU) is an error.
fn numbered_entries(dir: &Path, prefix: &str) -> Result<Vec<(u32, PathBuf)>, ProbeError> {
    let limit = match prefix {
        "node" => super::builder::MAX_NODES as usize,
        "index" => 64,
        _ => super::builder::MAX_CPUS,
    };
    let mut found = Vec::new();
    for entry in fs::read_dir(dir).map_err(|e| ProbeError::new(dir, e.to_string()))? {
        let entry = entry.map_err(|e| ProbeError::new(dir, e.to_string()))?;
        let name = entry.file_name();
        let id = name
            .to_str()
            .and_then(|n| n.strip_prefix(prefix))
            .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|n| n.parse::<u32>().ok());
        if let Some(id) = id {
            if found.len() == limit {
                return Err(ProbeError::new(dir, format!("more than {limit} `{prefix}N` entries")));
            }
            found.push((id, entry.path()));
        }
    }
    found.sort();
    Ok(found)
}

/// The most a sysfs attribute may hold. The kernel writes at most a page into most of them;
/// a CPU list of 16,384 CPUs in the worst order is under 100 KB.
pub const MAX_ATTRIBUTE_BYTES: u64 = 256 << 10;

/// A file's text, or None when it does not exist. Only a regular file of at most
/// [`MAX_ATTRIBUTE_BYTES`] is read (never a FIFO or device, which could block or never end).
fn read_opt(path: &Path) -> Result<Option<String>, ProbeError> {
    match crate::source::read_input_capped(path, MAX_ATTRIBUTE_BYTES) {
        Ok(s) => Ok(Some(s)),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(ProbeError::new(path, e.to_string())),
    }
}

fn read_signed(path: &Path) -> Result<Option<i64>, ProbeError> {
    match read_opt(path)? {
        None => Ok(None),
        Some(s) => s
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| ProbeError::new(path, format!("`{}` is not a number", s.trim()))),
    }
}

fn parse_set(path: &Path, text: &str) -> Result<IdSet, ProbeError> {
    IdSet::parse(text.trim()).map_err(|e| ProbeError::new(path, e.message))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/sysfs")
            .join(name)
    }

    fn set(text: &str) -> IdSet {
        IdSet::parse(text).unwrap()
    }

    #[test]
    fn linux_test8_eight_nodes_of_eight_cpus() {
        let (p, warnings) = probe("t8", &fixture("linux-test8")).unwrap();
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(p.nodes.len(), 8);
        assert!(p.nodes.iter().all(|n| n.cpus.len() == 8));
        assert_eq!(p.node(0).unwrap().cpus, set("0,4,8,12,16,20,24,28"));
        assert_eq!(p.node(6).unwrap().cpus, set("35,39,43,47,51,55,59,63"));
        let n0 = p.node(0).unwrap();
        assert_eq!((n0.memory_kib, n0.free_kib), (16742060, 15971440));
        // Packages do not follow nodes: node 1 sits in package 0.
        assert_eq!((p.cpu(32).unwrap().node, p.cpu(32).unwrap().socket), (1, 0));
        assert_eq!(p.cpu(5).unwrap().siblings, set("1,5"));
        // Threads 0 and 4 report core ids 0 and 1; the core takes its lowest thread's.
        assert_eq!(p.cpu(4).unwrap().core, 0);
        assert_eq!(p.distance(0, 7), Some(20));
    }

    #[test]
    fn linux_test4_without_thread_siblings() {
        let (p, warnings) = probe("t4", &fixture("linux-test4")).unwrap();
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(p.smt_width(), 1);
        assert_eq!(p.node(1).unwrap().cpus, set("8-15"));
        assert_eq!(p.node(1).unwrap().memory_kib, 67108864);
        assert_eq!(p.node(1).unwrap().free_kib, 61752192);
        let c = p.cpu(15).unwrap();
        assert_eq!((c.socket, c.core), (1, 25));
    }

    #[test]
    fn high_ids_and_dies_without_meminfo() {
        let (p, warnings) = probe("hi", &fixture("linux-high-ids")).unwrap();
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        assert!(warnings[0].contains("meminfo"));
        assert_eq!(p.node(1).unwrap().memory_kib, 0);
        let c = p.cpu(13).unwrap();
        assert_eq!(
            (c.node, c.socket, c.core, c.siblings.clone()),
            (1, 8191, 6143, set("12-13"))
        );

        let (p, _) = probe("die", &fixture("linux-with-die")).unwrap();
        assert_eq!(p.nodes.len(), 1);
        assert_eq!(p.cpus.len(), 12);
        let c = p.cpu(9).unwrap();
        assert_eq!((c.socket, c.die, c.core), (1, 1, 1));
        assert_eq!(p.cpu(4).unwrap().die, 2);
    }

    #[test]
    fn missing_root_names_the_path() {
        let e = probe("x", Path::new("/nonexistent/sysfs")).unwrap_err();
        assert_eq!(e.path, Path::new("/nonexistent/sysfs/devices/system/cpu"));
        assert!(e.to_string().starts_with("/nonexistent/sysfs/devices/system/cpu: "));
    }

    #[test]
    fn this_machine() {
        let root = Path::new("/sys");
        if !root.join("devices/system/cpu").is_dir() {
            return;
        }
        let (p, _) = probe("self", root).unwrap();
        assert!(!p.nodes.is_empty() && !p.cpus.is_empty());
    }

    /// A hand-made tree: offline CPU, no node directory, hugepages, distances, PCI.
    #[test]
    fn synthetic_tree() {
        let dir = std::env::temp_dir().join(format!("vnumac-sysfs-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let write = |rel: &str, text: &str| {
            let p = dir.join(rel);
            fs::create_dir_all(p.parent().unwrap()).unwrap();
            fs::write(p, text).unwrap();
        };
        for c in 0..4 {
            write(
                &format!("devices/system/cpu/cpu{c}/topology/core_id"),
                &format!("{}\n", c / 2),
            );
            write(
                &format!("devices/system/cpu/cpu{c}/topology/physical_package_id"),
                "-1\n",
            );
        }
        write("devices/system/cpu/cpu3/online", "0\n");
        let (p, warnings) = probe("syn", &dir).unwrap();
        assert_eq!(p.node(0).unwrap().cpus, set("0-2"));
        assert_eq!(warnings.len(), 2, "{warnings:?}");

        write("devices/system/node/node0/cpulist", "0-1\n");
        write("devices/system/node/node0/distance", "10 31 20\n");
        write(
            "devices/system/node/node0/meminfo",
            "Node 0 MemTotal: 2048 kB\nNode 0 MemFree: 1024 kB\n",
        );
        write(
            "devices/system/node/node0/hugepages/hugepages-2048kB/free_hugepages",
            "5\n",
        );
        write(
            "devices/system/node/node0/hugepages/hugepages-1048576kB/free_hugepages",
            "0\n",
        );
        write("devices/system/node/node1/cpulist", "2\n");
        write("devices/system/node/node1/distance", "31 10\n");
        write("devices/system/node/node1/meminfo", "Node 1 MemTotal: 4096 kB\n");
        write("devices/system/node/node2/cpulist", "\n");
        write("bus/pci/devices/0000:00:01.0/numa_node", "1\n");
        write("bus/pci/devices/0000:00:02.0/numa_node", "-1\n");
        let (p, warnings) = probe("syn", &dir).unwrap();
        // Offline cpu3, node1's short distance row, node2 without meminfo.
        assert_eq!(warnings.len(), 3, "{warnings:?}");
        assert_eq!(p.distance(1, 0), Some(31));
        assert_eq!(p.distance(2, 0), Some(20));
        assert!(p.node(2).unwrap().cpus.is_empty());
        assert_eq!(p.node(0).unwrap().free_kib, 1024);
        assert_eq!(p.node(1).unwrap().free_kib, 4096);
        let pools: Vec<(u64, u64)> = p.nodes[0].hugepages.iter().map(|h| (h.size_kib, h.count)).collect();
        assert_eq!(pools, [(2048, 5), (1048576, 0)]);
        // numa_node -1: the device reports no affinity, and is kept as such.
        let pci: Vec<(&str, Option<u32>)> = p.pci.iter().map(|d| (d.address.as_str(), d.node)).collect();
        assert_eq!(pci, [("0000:00:01.0", Some(1)), ("0000:00:02.0", None)]);
        // Package -1 means unknown: socket falls back to the node.
        assert_eq!(p.cpu(2).unwrap().socket, 1);

        write("devices/system/node/node0/cpulist", "0-x\n");
        let e = probe("syn", &dir).unwrap_err();
        assert!(e.path.ends_with("node0/cpulist"), "{e}");
        let _ = fs::remove_dir_all(&dir);
    }

    /// A copy of linux-test4 (nodes 0-7 and 8-15) with L3 caches: CPUs 0-3 and 4-7 each
    /// share one, node 1's CPUs share one list that also names an offline CPU 16, and L2
    /// and instruction caches are skipped.
    #[test]
    fn l3_domains_from_cache_directories() {
        fn copy(from: &Path, to: &Path) {
            fs::create_dir_all(to).unwrap();
            for e in fs::read_dir(from).unwrap() {
                let e = e.unwrap();
                if e.file_type().unwrap().is_dir() {
                    copy(&e.path(), &to.join(e.file_name()));
                } else {
                    fs::copy(e.path(), to.join(e.file_name())).unwrap();
                }
            }
        }
        let root = std::env::temp_dir().join(format!("vnumac-l3-{}", std::process::id()));
        let _ = fs::remove_dir_all(&root);
        copy(&fixture("linux-test4"), &root);
        let write = |cpu: u32, index: u32, level: &str, kind: &str, list: &str| {
            let dir = root.join(format!("devices/system/cpu/cpu{cpu}/cache/index{index}"));
            fs::create_dir_all(&dir).unwrap();
            fs::write(dir.join("level"), format!("{level}\n")).unwrap();
            fs::write(dir.join("type"), format!("{kind}\n")).unwrap();
            fs::write(dir.join("shared_cpu_list"), format!("{list}\n")).unwrap();
        };
        for cpu in 0..16 {
            write(cpu, 0, "1", "Instruction", &cpu.to_string());
            write(cpu, 2, "2", "Unified", &cpu.to_string());
            let l3 = match cpu {
                0..=3 => "0-3",
                4..=7 => "4-7",
                _ => "8-16",
            };
            write(cpu, 3, "3", "Unified", l3);
        }
        let (p, warnings) = probe("l3", &root).unwrap();
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(p.l3, vec![set("0-3"), set("4-7"), set("8-15")]);

        // Lists that contradict each other: the domains are left out, with a warning.
        write(5, 3, "3", "Unified", "2-7");
        let (p, warnings) = probe("l3", &root).unwrap();
        assert!(p.l3.is_empty());
        assert!(warnings.iter().any(|w| w.contains("overlap")), "{warnings:?}");
        let _ = fs::remove_dir_all(&root);
    }
}
