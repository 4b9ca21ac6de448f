//! Device affinity policies of `node=auto`: for each policy and each place a host device
//! can be (on a node with a guest cell, on another node of the same package, in another
//! package, on no node), the codes reported and the cell the device lands on, read from the
//! QEMU line (the root port's bus is the cell's expander, or pcie.0); and `vnumac import`
//! reading the built XML back with the device on the same cell.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use vnumac::db::{self, Database, MemLoader};
use vnumac::import::{ImportOptions, import_domain};

/// Four nodes: 0 and 1 in package 0, 2 and 3 in package 1 (node 1 nearer to node 0 than
/// the others). Devices: `a` on node 0, `b` on node 1, `c` on node 3, `d` on none.
const HOST: &str = "host h {
  node 0 cpus=0-3 memory=16GiB
  node 1 cpus=4-7 memory=16GiB
  node 2 cpus=8-11 memory=16GiB
  node 3 cpus=12-15 memory=16GiB
  cpu 0-7 socket=0
  cpu 8-15 socket=1
  distance 0 1 12
  distance 2 3 12
  distance 0 2 30
  distance 0 3 30
  distance 1 2 30
  distance 1 3 30
  pci 0000:0a:00.0 node=0
  pci 0000:0b:00.0 node=1
  pci 0000:0c:00.0 node=3
  pci 0000:0d:00.0 node=none
}
";

/// A guest with cell 0 on host node 0 and cell 1 on host node 2, and one device line.
fn program(device: &str) -> String {
    format!(
        "{HOST}guest g on=h {{\n  memory 4GiB\n  vcpus 2\n  numa {{\n    cell 0 cpus=0 memory=2GiB host-node=0\n    \
         cell 1 cpus=1 memory=2GiB host-node=2\n  }}\n  devices {{\n    {device}\n  }}\n}}\n"
    )
}

/// The codes reported (notes left out) and, with no error, where the device's root port
/// sits: `cellN` or `root`.
fn outcome(text: &str) -> (Vec<String>, Option<String>) {
    let db = Database::default();
    let program = db::load_program(&db, Path::new("a.vnuma"), &MemLoader::new("a.vnuma", text)).unwrap();
    let compiled = db::compile(&db, program);
    let codes: Vec<String> = compiled
        .diagnostics
        .iter()
        .filter(|d| !d.code.contains("::N"))
        .map(|d| d.code.trim_start_matches("vnuma::").to_string())
        .collect();
    if compiled.has_errors() {
        return (codes, None);
    }
    let args = &db::lower(&db, program)[0].args;
    let port = args
        .split_whitespace()
        .find(|w| w.starts_with("pcie-root-port,"))
        .expect("the device's root port");
    let bus = port.split(',').find_map(|kv| kv.strip_prefix("bus=")).unwrap();
    let place = match bus.strip_prefix("ua-pxb-") {
        Some(cell) => cell.to_string(),
        None => {
            assert_eq!(bus, "pcie.0");
            "root".to_string()
        }
    };
    (codes, Some(place))
}

#[test]
fn each_policy_places_or_refuses_as_documented() {
    // (device, policy, codes, place)
    let table: &[(&str, &str, &[&str], Option<&str>)] = &[
        ("0a", "", &[], Some("cell0")),
        ("0a", "required", &[], Some("cell0")),
        ("0a", "preferred", &[], Some("cell0")),
        ("0a", "socket", &[], Some("cell0")),
        ("0a", "legacy", &[], Some("cell0")),
        ("0b", "", &["W0505"], Some("root")),
        ("0b", "preferred", &["W0505"], Some("root")),
        ("0b", "required", &["E0357"], None),
        ("0b", "legacy", &["E0357"], None),
        ("0b", "socket", &["W0519"], Some("cell0")),
        ("0c", "socket", &["W0519"], Some("cell1")),
        ("0c", "required", &["E0357"], None),
        ("0d", "", &["W0518"], Some("root")),
        ("0d", "preferred", &["W0518"], Some("root")),
        ("0d", "required", &["E0359"], None),
        ("0d", "socket", &["E0359"], None),
        ("0d", "legacy", &[], Some("root")),
    ];
    for &(dev, policy, codes, place) in table {
        let policy = if policy.is_empty() {
            String::new()
        } else {
            format!(" policy={policy}")
        };
        let line = format!("hostdev 0000:{dev}:00.0 node=auto{policy}");
        let (got, at) = outcome(&program(&line));
        assert_eq!(
            (got, at.as_deref()),
            (codes.iter().map(|c| c.to_string()).collect(), place),
            "{line}"
        );
    }
}

#[test]
fn socket_needs_a_cell_in_the_package_and_nics_follow_their_uplink() {
    let one_package = program("hostdev 0000:0c:00.0 node=auto policy=socket").replace("host-node=2", "host-node=1");
    assert_eq!(outcome(&one_package), (vec!["E0358".to_string()], None));
    let nic = "nic n bridge=br0 uplink=0000:0c:00.0 node=auto policy=required";
    assert_eq!(outcome(&program(nic)), (vec!["E0357".to_string()], None));
    let nic = "nic n bridge=br0 uplink=0000:0c:00.0 node=auto policy=socket";
    assert_eq!(
        outcome(&program(nic)),
        (vec!["W0519".to_string()], Some("cell1".into()))
    );
    let unknown = "nic n bridge=br0 uplink=0000:0e:00.0 node=auto";
    assert_eq!(outcome(&program(unknown)), (vec!["E0413".to_string()], None));
    for line in [
        "nic n bridge=br0 node=auto",
        "nic n bridge=br0 uplink=0000:0a:00.0",
        "hostdev 0000:0a:00.0 policy=socket",
        "hostdev 0000:0a:00.0 node=1 policy=required",
    ] {
        assert_eq!(outcome(&program(line)), (vec!["E0360".to_string()], None), "{line}");
    }
}

#[test]
fn placed_cells_decide_and_import_reads_the_cell_back() {
    // `vnuma` on node 3 alone: its one cell is there, so `required` is met.
    let text = format!(
        "{HOST}guest g on=h {{\n  memory 4GiB\n  vcpus 2\n  vnuma mode=node nodeset=3\n  devices {{\n    \
         hostdev 0000:0c:00.0 node=auto policy=required\n  }}\n}}\n"
    );
    assert_eq!(outcome(&text), (vec![], Some("cell0".into())));
    let moved = text.replace("nodeset=3", "nodeset=2");
    assert_eq!(outcome(&moved), (vec!["E0357".to_string()], None));
    // The built XML reads back with the device on the cell `node=auto` chose.
    let built = program("hostdev 0000:0c:00.0 node=auto policy=socket");
    let db = Database::default();
    let p = db::load_program(&db, Path::new("a.vnuma"), &MemLoader::new("a.vnuma", built)).unwrap();
    let xml = db::lower(&db, p)[0].xml.clone();
    let opts = ImportOptions { host: Some("h".into()) };
    let imported = import_domain(&xml, &opts).unwrap();
    assert!(
        imported.text.contains("hostdev 0000:0c:00.0 node=1"),
        "{}",
        imported.text
    );
}

#[test]
fn explain_says_where_node_auto_put_each_device() {
    let text =
        program("nic n bridge=br0 uplink=0000:0c:00.0 node=auto policy=socket\n    hostdev 0000:0d:00.0 node=auto");
    let db = Database::default();
    let p = db::load_program(&db, Path::new("a.vnuma"), &MemLoader::new("a.vnuma", text)).unwrap();
    let explained = vnumac::explain::text(&db::compile(&db, p).checked, None);
    assert!(
        explained
            .contains("  nic n (node=auto policy=socket): uplink 0000:0c:00.0 on host node 3 → cell 1 (host node 2)\n"),
        "{explained}"
    );
    assert!(
        explained
            .contains("  hostdev 0000:0d:00.0 (node=auto): the device reports no host node → a root port of pcie.0\n"),
        "{explained}"
    );
}
