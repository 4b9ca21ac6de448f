//! A host profile as `.vnuma` text: the `host NAME { ... }` block that rebuilds it.
//!
//! [`to_builder`] chooses the declarations; [`to_vnuma`] only renders them, so the text
//! and the round trip `to_builder(p).build() == Ok(p)` cannot disagree.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::builder::{
    CpuGroupDecl, DistanceDecl, HostBuilder, HugepagesDecl, LOCAL_DISTANCE, NodeDecl, PciDecl, REMOTE_DISTANCE,
    SiblingsDecl, SmtRule, derived_cores, rule_groups,
};
use super::model::HostProfile;
use crate::sets::IdSet;

/// The profile as a `host` block.
pub fn to_vnuma(profile: &HostProfile) -> String {
    let b = to_builder(profile);
    let mut out = String::new();
    let _ = writeln!(out, "host {} {{", name_token(&b.name));
    let _ = writeln!(
        out,
        "  # {} nodes, {} CPUs, SMT width {}",
        profile.nodes.len(),
        profile.cpus.len(),
        profile.smt_width()
    );
    for line in statements(&b) {
        let _ = writeln!(out, "  {line}");
    }
    out.push_str("}\n");
    out
}

/// The fewest declarations (given the defaults) that rebuild `profile` exactly.
pub fn to_builder(profile: &HostProfile) -> HostBuilder {
    let (smt, siblings) = cores(profile);
    HostBuilder {
        name: profile.name.clone(),
        nodes: profile
            .nodes
            .iter()
            .map(|n| NodeDecl {
                id: n.id,
                cpus: n.cpus.clone(),
                memory_kib: n.memory_kib,
                free_kib: (n.free_kib != n.memory_kib).then_some(n.free_kib),
            })
            .collect(),
        smt,
        siblings,
        cpu_groups: cpu_groups(profile),
        distances: distances(profile),
        hugepages: profile
            .nodes
            .iter()
            .flat_map(|n| {
                n.hugepages.iter().map(|h| HugepagesDecl {
                    node: n.id,
                    size_kib: h.size_kib,
                    count: h.count,
                })
            })
            .collect(),
        reserved: profile.reserved.clone(),
        reserved_memory: profile
            .nodes
            .iter()
            .filter(|n| n.reserved_kib > 0)
            .map(|n| (Some(n.id), n.reserved_kib))
            .collect(),
        pci: profile
            .pci
            .iter()
            .map(|p| PciDecl {
                address: p.address.clone(),
                node: p.node,
                name: p.name.clone(),
            })
            .collect(),
        l3: profile.l3.clone(),
        resctrl: profile.resctrl.clone(),
    }
}

/// One `cpu SET socket=N [die=M]` per (socket, die) holding any CPU off the defaults
/// (socket = node id, die = 0); the set lists every CPU of that (socket, die).
fn cpu_groups(profile: &HostProfile) -> Vec<CpuGroupDecl> {
    let mut places: BTreeMap<(u32, u32), (Vec<u32>, bool)> = BTreeMap::new();
    for c in &profile.cpus {
        let entry = places.entry((c.socket, c.die)).or_default();
        entry.0.push(c.id);
        entry.1 |= c.socket != c.node || c.die != 0;
    }
    places
        .into_iter()
        .filter(|(_, (_, off_default))| *off_default)
        .map(|((socket, die), (ids, _))| CpuGroupDecl {
            cpus: IdSet::from_ids(ids),
            socket: Some(socket),
            die: (die != 0).then_some(die),
        })
        .collect()
}

/// An smt rule when one reproduces every sibling set, else explicit `siblings` for every
/// multi-thread core; plus `core=` wherever the core id is not the derived one.
fn cores(profile: &HostProfile) -> (Option<SmtRule>, Vec<SiblingsDecl>) {
    // threads → (core, socket, die), taken from the lowest thread.
    let mut seen: BTreeMap<IdSet, (u32, u32, u32)> = BTreeMap::new();
    for c in &profile.cpus {
        let set = if c.siblings.contains(c.id) {
            c.siblings.clone()
        } else {
            IdSet::single(c.id)
        };
        seen.entry(set).or_insert((c.core, c.socket, c.die));
    }
    let mut groups: Vec<(IdSet, (u32, u32, u32))> = seen.into_iter().collect();
    groups.sort_by_key(|(set, _)| set.first());
    let sets: Vec<IdSet> = groups.iter().map(|(s, _)| s.clone()).collect();
    let all: Vec<u32> = profile.cpus.iter().map(|c| c.id).collect();
    let smt = if sets.iter().any(|s| s.len() > 1) {
        [SmtRule::Split, SmtRule::Adjacent]
            .into_iter()
            .find(|&r| rule_groups(r, &all, &IdSet::new()).is_ok_and(|g| g == sets))
    } else {
        None
    };
    let places: Vec<(u32, u32)> = groups.iter().map(|(_, (_, s, d))| (*s, *d)).collect();
    let derived = derived_cores(&places);
    let siblings = groups
        .into_iter()
        .zip(derived)
        .filter_map(|((cpus, (core, _, _)), derived)| {
            let listed = smt.is_none() && cpus.len() > 1;
            let core = (core != derived).then_some(core);
            (listed || core.is_some()).then_some(SiblingsDecl { cpus, core })
        })
        .collect();
    (smt, siblings)
}

/// Distances off the defaults: each unordered pair once when symmetric, both
/// directions when not; the diagonal where it is not 10.
fn distances(profile: &HostProfile) -> Vec<DistanceDecl> {
    let n = profile.nodes.len();
    let at = |i: usize, j: usize| profile.distances.get(i).and_then(|r| r.get(j)).copied();
    let id = |i: usize| profile.nodes.get(i).map_or(0, |n| n.id);
    let mut out = Vec::new();
    for i in 0..n {
        if let Some(v) = at(i, i).filter(|&v| v != LOCAL_DISTANCE) {
            out.push(DistanceDecl {
                from: id(i),
                to: id(i),
                value: v,
            });
        }
        for j in i + 1..n {
            let ab = at(i, j).unwrap_or(REMOTE_DISTANCE);
            let ba = at(j, i).unwrap_or(REMOTE_DISTANCE);
            if ab != ba || ab != REMOTE_DISTANCE {
                out.push(DistanceDecl {
                    from: id(i),
                    to: id(j),
                    value: ab,
                });
            }
            if ab != ba {
                out.push(DistanceDecl {
                    from: id(j),
                    to: id(i),
                    value: ba,
                });
            }
        }
    }
    out
}

/// The builder's declarations as statement lines, in a fixed order.
fn statements(b: &HostBuilder) -> Vec<String> {
    let mut out = Vec::new();
    for n in &b.nodes {
        let mut s = format!("node {}", n.id);
        if !n.cpus.is_empty() {
            let _ = write!(s, " cpus={}", n.cpus);
        }
        let _ = write!(s, " memory={}", format_size(n.memory_kib));
        if let Some(free) = n.free_kib {
            let _ = write!(s, " free={}", format_size(free));
        }
        out.push(s);
    }
    for g in &b.cpu_groups {
        let mut s = format!("cpu {}", g.cpus);
        if let Some(socket) = g.socket {
            let _ = write!(s, " socket={socket}");
        }
        if let Some(die) = g.die {
            let _ = write!(s, " die={die}");
        }
        out.push(s);
    }
    match b.smt {
        Some(SmtRule::Split) => out.push("smt split".into()),
        Some(SmtRule::Adjacent) => out.push("smt adjacent".into()),
        Some(SmtRule::None) => out.push("smt none".into()),
        None => {}
    }
    for g in &b.siblings {
        match g.core {
            Some(core) => out.push(format!("siblings {} core={core}", g.cpus)),
            None => out.push(format!("siblings {}", g.cpus)),
        }
    }
    for d in &b.l3 {
        out.push(format!("l3 {d}"));
    }
    out.extend(super::resctrl::statements(&b.resctrl));
    for d in &b.distances {
        out.push(format!("distance {} {} {}", d.from, d.to, d.value));
    }
    for h in &b.hugepages {
        out.push(format!(
            "hugepages node={} size={} count={}",
            h.node,
            format_size(h.size_kib),
            h.count
        ));
    }
    if !b.reserved.is_empty() {
        out.push(format!("reserve cpus={}", b.reserved));
    }
    for (node, kib) in &b.reserved_memory {
        let mut s = format!("reserve memory={}", format_size(*kib));
        if let Some(n) = node {
            let _ = write!(s, " node={n}");
        }
        out.push(s);
    }
    for p in &b.pci {
        let node = p.node.map_or_else(|| "none".to_string(), |n| n.to_string());
        let mut s = format!("pci {} node={node}", pci_token(&p.address));
        if let Some(name) = &p.name {
            let _ = write!(s, " name={}", quoted(name));
        }
        out.push(s);
    }
    out
}

/// A size in KiB in the largest IEC unit that divides it exactly (`0KiB` for zero).
pub fn format_size(kib: u64) -> String {
    const UNITS: [(&str, u32); 3] = [("TiB", 30), ("GiB", 20), ("MiB", 10)];
    if kib != 0 {
        for (unit, shift) in UNITS {
            if kib.trailing_zeros() >= shift {
                return format!("{}{unit}", kib >> shift);
            }
        }
    }
    format!("{kib}KiB")
}

/// A bare word when the name is one (`[A-Za-z][A-Za-z0-9_-]*`), else a string.
fn name_token(name: &str) -> String {
    crate::syntax::write::token(name)
}

/// A PCI address bare when it is only hex digits, `:` and `.` (one token that cannot end the
/// line or the statement), else as a string, which the `pci` statement then refuses.
fn pci_token(address: &str) -> String {
    if !address.is_empty() && address.chars().all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.') {
        address.to_string()
    } else {
        quoted(address)
    }
}

fn quoted(text: &str) -> String {
    crate::syntax::write::string(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::caps::from_capabilities_xml;
    use crate::host::sysfs::probe;
    use std::path::{Path, PathBuf};

    fn manifest() -> &'static Path {
        Path::new(env!("CARGO_MANIFEST_DIR"))
    }

    fn caps_profiles() -> Vec<(PathBuf, HostProfile)> {
        let root = manifest().join("../examples/hosts");
        let mut files: Vec<PathBuf> = [root.clone(), root.join("real")]
            .iter()
            .flat_map(|d| std::fs::read_dir(d).unwrap())
            .map(|e| e.unwrap().path())
            .filter(|p| p.to_string_lossy().ends_with(".caps.xml"))
            .collect();
        files.sort();
        files
            .into_iter()
            .map(|f| {
                let xml = std::fs::read_to_string(&f).unwrap();
                let p = from_capabilities_xml("h", &xml).unwrap();
                (f, p)
            })
            .collect()
    }

    fn caps_profile(file: &str) -> HostProfile {
        let found = caps_profiles().into_iter().find(|(f, _)| f.ends_with(file));
        found.unwrap().1
    }

    fn sysfs_profiles() -> Vec<(PathBuf, HostProfile)> {
        ["linux-test8", "linux-test4", "linux-high-ids", "linux-with-die"]
            .iter()
            .map(|d| {
                let root = manifest().join("tests/fixtures/sysfs").join(d);
                let p = probe(d, &root).unwrap().0;
                (root, p)
            })
            .collect()
    }

    fn text_of(name: &str) -> String {
        let xml = std::fs::read_to_string(manifest().join("../examples/hosts").join(name));
        to_vnuma(&from_capabilities_xml("h", &xml.unwrap()).unwrap())
    }

    #[test]
    fn every_fixture_round_trips_through_the_builder() {
        let mut all: Vec<_> = caps_profiles().into_iter().chain(sysfs_profiles()).collect();
        assert_eq!(all.len(), 14);
        let sys = Path::new("/sys");
        if sys.join("devices/system/cpu").is_dir() {
            all.push((sys.to_path_buf(), probe("self", sys).unwrap().0));
        }
        for (path, p) in all {
            assert_eq!(to_builder(&p).build().as_ref(), Ok(&p), "{}", path.display());
        }
    }

    #[test]
    fn peppi_text() {
        let text = text_of("peppi.caps.xml");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "host h {");
        assert_eq!(lines[1], "  # 4 nodes, 120 CPUs, SMT width 2");
        assert_eq!(lines[2], "  node 0 cpus=0-14,60-74 memory=128602MiB");
        assert!(lines.contains(&"  smt split"));
        assert!(lines.contains(&"  distance 0 1 21"));
        assert!(lines.contains(&"  hugepages node=0 size=1GiB count=16"));
        assert!(lines.contains(&"  hugepages node=0 size=2MiB count=0"));
        // Socket 1's core ids continue from socket 0's (15, 16, ...), off the derived ranks.
        assert!(lines.contains(&"  siblings 15,75 core=15"));
        assert!(!text.contains("siblings 0,60"));
        assert!(!text.contains("cpu "));
        assert_eq!(lines.last(), Some(&"}"));
    }

    #[test]
    fn other_shapes() {
        let text = text_of("epyc-2s-nps4.caps.xml");
        assert!(text.contains("\n  cpu 0-63,128-191 socket=0\n  cpu 64-127,192-255 socket=1\n"));
        let text = text_of("snc-cxl.caps.xml");
        assert!(text.contains("\n  node 4 memory=512GiB\n"));
        assert!(text.contains("\n  smt adjacent\n"));
        let text = text_of("real/power8-smt8.caps.xml");
        assert!(text.contains("\n  siblings 0-7 core=32\n"));
        assert!(!text.contains("smt "));
        assert!(text.contains("size=16GiB count=0"));
        let text = text_of("real/haswell-interleaved.caps.xml");
        assert!(!text.contains("siblings") && !text.contains("smt"));
        assert!(text.contains("\n  l3 0,2,4,6,8,10,12,14\n  l3 1,3,5,7,9,11,13,15\n"));
        assert!(!text_of("peppi.caps.xml").contains("l3 "));
    }

    #[test]
    fn sysfs_text() {
        let (_, p) = &sysfs_profiles()[0];
        let text = to_vnuma(p);
        assert!(text.contains("\n  node 0 cpus=0,4,8,12,16,20,24,28 memory=16742060KiB free=15971440KiB\n"));
        assert!(text.contains("\n  node 1 cpus=32,36,40,44,48,52,56,60 memory=16GiB free=16315188KiB\n"));
        assert!(text.contains("\n  siblings 0,4\n"));
        let (_, p) = &sysfs_profiles()[3];
        assert!(to_vnuma(p).contains("\n  cpu 8-9 socket=1 die=1\n"));
    }

    #[test]
    fn asymmetric_distances_reserve_and_pci() {
        let mut p = caps_profile("laptop.caps.xml");
        p.name = "my host".into();
        p.reserved = IdSet::from_ids([0, 1]);
        p.pci.push(crate::host::HostPci {
            address: "0000:3b:00.0".into(),
            node: Some(0),
            name: Some("eth \"0\"".into()),
        });
        p.pci.push(crate::host::HostPci {
            address: "0000:3c:00.0".into(),
            node: None,
            name: None,
        });
        p.nodes[0].free_kib = 1024;
        let text = to_vnuma(&p);
        assert!(text.starts_with("host \"my host\" {\n"));
        assert!(text.contains("\n  node 0 cpus=0-7 memory=32GiB free=1MiB\n"));
        assert!(!text.contains("distance"));
        assert!(text.contains("\n  reserve cpus=0-1\n"));
        assert!(text.contains("\n  pci 0000:3b:00.0 node=0 name=\"eth \\\"0\\\"\"\n"));
        assert!(text.contains("\n  pci 0000:3c:00.0 node=none\n"));
        assert_eq!(to_builder(&p).build().as_ref(), Ok(&p));

        let mut p = caps_profile("peppi.caps.xml");
        p.distances[0][1] = 30;
        p.distances[2][3] = 20;
        p.distances[3][2] = 25;
        let d = distances(&p);
        assert!(d.contains(&DistanceDecl {
            from: 0,
            to: 1,
            value: 30
        }));
        assert!(d.contains(&DistanceDecl {
            from: 1,
            to: 0,
            value: 21
        }));
        assert!(d.contains(&DistanceDecl {
            from: 2,
            to: 3,
            value: 20
        }));
        assert!(d.contains(&DistanceDecl {
            from: 3,
            to: 2,
            value: 25
        }));
        assert_eq!(to_builder(&p).build().as_ref(), Ok(&p));
    }

    #[test]
    fn sizes_and_names() {
        assert_eq!(format_size(131688448), "128602MiB");
        assert_eq!(format_size(16 * 1024 * 1024), "16GiB");
        assert_eq!(format_size(1024 * 1024 * 1024), "1TiB");
        assert_eq!(format_size(3), "3KiB");
        assert_eq!(format_size(0), "0KiB");
        assert_eq!(name_token("peppi-2_x"), "peppi-2_x");
        assert_eq!(name_token("2peppi"), "\"2peppi\"");
        assert_eq!(name_token("a\\b"), "\"a\\\\b\"");
        assert_eq!(name_token(""), "\"\"");
    }
}
