//! Tests of the host builder.

use super::*;

fn set(text: &str) -> IdSet {
    IdSet::parse(text).unwrap()
}

fn sib(cpus: &str, core: Option<u32>) -> SiblingsDecl {
    SiblingsDecl { cpus: set(cpus), core }
}

fn group(cpus: &str, socket: Option<u32>, die: Option<u32>) -> CpuGroupDecl {
    CpuGroupDecl {
        cpus: set(cpus),
        socket,
        die,
    }
}

fn dist(from: u32, to: u32, value: u32) -> DistanceDecl {
    DistanceDecl { from, to, value }
}

fn huge(node: u32, size_kib: u64, count: u64) -> HugepagesDecl {
    HugepagesDecl { node, size_kib, count }
}

fn node(id: u32, cpus: &str, memory_kib: u64) -> NodeDecl {
    let cpus = if cpus.is_empty() { IdSet::new() } else { set(cpus) };
    NodeDecl {
        id,
        cpus,
        memory_kib,
        free_kib: None,
    }
}

/// Two sockets of four cores, two threads each, Intel numbering.
fn two_sockets() -> HostBuilder {
    HostBuilder {
        name: "two".into(),
        nodes: vec![node(1, "4-7,12-15", 2048), node(0, "0-3,8-11", 1024)],
        smt: Some(SmtRule::Split),
        ..HostBuilder::default()
    }
}

fn errors(b: &HostBuilder) -> Vec<BuildError> {
    b.build().unwrap_err()
}

#[test]
fn split_rule_pairs_halves_and_ranks_cores_per_socket() {
    let p = two_sockets().build().unwrap();
    assert_eq!(p.nodes.iter().map(|n| n.id).collect::<Vec<_>>(), [0, 1]);
    assert_eq!(p.nodes[0].free_kib, 1024);
    let c9 = p.cpu(9).unwrap();
    assert_eq!((c9.node, c9.socket, c9.die), (0, 0, 0));
    assert_eq!(c9.siblings, set("1,9"));
    assert_eq!(c9.core, 1);
    // Socket 1's cores are ranked from 0 again.
    assert_eq!(p.cpu(12).unwrap().core, 0);
    assert_eq!(p.cpu(12).unwrap().siblings, set("4,12"));
    assert_eq!(p.distances, vec![vec![10, 20], vec![20, 10]]);
}

#[test]
fn explicit_siblings_override_the_rule_and_keep_their_core() {
    let mut b = two_sockets();
    b.siblings = vec![sib("2-3", Some(40))];
    b.cpu_groups = vec![group("2-3,10-11", None, Some(1))];
    let p = b.build().unwrap();
    assert_eq!(p.cpu(3).unwrap().siblings, set("2-3"));
    assert_eq!(p.cpu(3).unwrap().core, 40);
    // 10's partner 2 is taken, so 10 is alone; 11's partner 3 likewise.
    assert_eq!(p.cpu(10).unwrap().siblings, set("10"));
    assert_eq!(p.cpu(1).unwrap().siblings, set("1,9"));
    // Die 1 of socket 0 holds 2-3,10-11; the rest of node 0 stays socket 0, die 0.
    assert_eq!((p.cpu(9).unwrap().socket, p.cpu(9).unwrap().die), (0, 0));
    assert_eq!((p.cpu(10).unwrap().socket, p.cpu(10).unwrap().die), (0, 1));
    // Ranks count every group of the (socket, die), explicit ones included.
    assert_eq!(p.cpu(0).unwrap().core, 0);
    assert_eq!(p.cpu(1).unwrap().core, 1);
    assert_eq!(p.cpu(10).unwrap().core, 1);
    assert_eq!(p.cpu(11).unwrap().core, 2);
}

#[test]
fn adjacent_and_none_rules() {
    let mut b = HostBuilder {
        nodes: vec![node(0, "0-4", 1)],
        smt: Some(SmtRule::Adjacent),
        ..HostBuilder::default()
    };
    let p = b.build().unwrap();
    assert_eq!(p.cpu(1).unwrap().siblings, set("0-1"));
    assert_eq!(p.cpu(4).unwrap().siblings, set("4"));
    assert_eq!(p.cpu(4).unwrap().core, 2);
    b.smt = Some(SmtRule::None);
    assert_eq!(b.build().unwrap().smt_width(), 1);
    b.smt = None;
    assert_eq!(b.build().unwrap().smt_width(), 1);
}

#[test]
fn smt_rule_errors() {
    let mut b = HostBuilder {
        nodes: vec![node(0, "0-2", 1)],
        smt: Some(SmtRule::Split),
        ..HostBuilder::default()
    };
    assert_eq!(errors(&b)[0].decl, DeclRef::Smt);
    b.nodes = vec![node(0, "0-1", 1), node(1, "2-3", 1)];
    let e = errors(&b);
    assert_eq!(e[0].decl, DeclRef::Smt);
    assert!(e[0].message.contains("0,2"), "{}", e[0].message);
}

#[test]
fn node_and_cpu_conflicts_name_both_places() {
    let b = HostBuilder {
        nodes: vec![node(0, "0-3", 1), node(1, "3-5", 1), node(0, "8", 1)],
        ..HostBuilder::default()
    };
    let e = errors(&b);
    assert_eq!(e.len(), 2);
    assert_eq!((e[0].decl, e[0].other), (DeclRef::Node(1), Some(DeclRef::Node(0))));
    assert_eq!(e[0].message, "CPU 3 is already on node 0");
    assert_eq!((e[1].decl, e[1].other), (DeclRef::Node(2), Some(DeclRef::Node(0))));
}

#[test]
fn sibling_and_group_errors() {
    let mut b = two_sockets();
    b.siblings = vec![sib("0,8", None), sib("8,99", None), sib("1,4", None)];
    b.cpu_groups = vec![group("0,77", Some(3), None), group("0", Some(4), None)];
    let e = errors(&b);
    let decls: Vec<DeclRef> = e.iter().map(|e| e.decl).collect();
    assert_eq!(
        decls,
        [
            DeclRef::CpuGroup(0),
            DeclRef::CpuGroup(1),
            DeclRef::Siblings(1),
            DeclRef::Siblings(1),
            DeclRef::Siblings(2),
        ]
    );
    assert_eq!(e[1].other, Some(DeclRef::CpuGroup(0)));
    assert_eq!(e[3].other, Some(DeclRef::Siblings(0)));
    assert!(e[4].message.contains("spans nodes 0, 1"), "{}", e[4].message);
}

#[test]
fn distances_mirror_unless_both_directions_are_given() {
    let mut b = HostBuilder {
        nodes: vec![node(0, "0", 1), node(4, "1", 1), node(2, "", 1)],
        ..HostBuilder::default()
    };
    b.distances = vec![dist(0, 4, 21), dist(2, 4, 30), dist(4, 2, 31), dist(2, 2, 10)];
    let p = b.build().unwrap();
    assert_eq!(p.distance(4, 0), Some(21));
    assert_eq!(p.distance(2, 4), Some(30));
    assert_eq!(p.distance(4, 2), Some(31));
    assert_eq!(p.distance(0, 2), Some(20));
    assert_eq!(p.distance(2, 2), Some(10));
    assert_eq!(p.distance(4, 4), Some(10));
    // What Linux refuses is refused, never clamped: 256, 10 between two nodes, 11 to itself.
    b.distances = vec![dist(0, 4, 256), dist(0, 2, 10), dist(2, 2, 11), dist(2, 0, 255)];
    let e = errors(&b);
    let messages: Vec<&str> = e.iter().map(|e| e.message.as_str()).collect();
    assert_eq!(
        messages,
        [
            "distance 0 4 is 256, outside 11-255",
            "distance 0 2 is 10, outside 11-255",
            "distance 2 2 is 11, but a node's distance to itself is 10"
        ]
    );
    b.distances = vec![dist(0, 9, 21), dist(0, 4, 0), dist(0, 2, 21), dist(0, 2, 22)];
    let e = errors(&b);
    assert_eq!(e.len(), 3);
    assert!(e[0].message.contains('9'));
    assert_eq!(e[1].decl, DeclRef::Distance(1));
    assert_eq!(
        (e[2].decl, e[2].other),
        (DeclRef::Distance(3), Some(DeclRef::Distance(2)))
    );
}

#[test]
fn hugepages_memory_reserve_and_pci() {
    let mut b = two_sockets();
    b.nodes[0].free_kib = Some(1000);
    b.hugepages = vec![huge(1, 1048576, 1), huge(1, 2048, 8)];
    b.reserved = set("0-1");
    b.pci = vec![PciDecl {
        address: "0000:3b:00.0".into(),
        node: Some(1),
        name: Some("nic".into()),
    }];
    let p = b.build().unwrap();
    let n1 = p.node(1).unwrap();
    assert_eq!(n1.free_kib, 1000);
    let sizes: Vec<u64> = n1.hugepages.iter().map(|h| h.size_kib).collect();
    assert_eq!(sizes, [2048, 1048576]);
    assert_eq!(p.pci[0].node, Some(1));

    b.nodes[0].free_kib = Some(4096);
    b.hugepages.push(huge(1, 2048, 1));
    b.hugepages.push(huge(7, 2048, 1));
    b.reserved = set("0,100");
    b.pci[0].node = Some(5);
    let decls: Vec<DeclRef> = errors(&b).iter().map(|e| e.decl).collect();
    assert_eq!(
        decls,
        [
            DeclRef::Node(0),
            DeclRef::Hugepages(2),
            DeclRef::Hugepages(3),
            DeclRef::Reserve,
            DeclRef::Pci(0),
        ]
    );
}
