//! `vnuma mode=node` picks nodes for what a guest needs besides room: a cell on the host
//! node of each device it needs near (`node=auto policy=required`, a `hostdev` or a NIC's
//! `uplink=`), and an L3 cache with the `l3=` size still free, counting what the guests
//! before it allocate. On each host here the plain choice (the least used node, then the
//! one with the most free memory) fails the guest; the node it needs fits it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use vnumac::db::{self, Database, MemLoader};

fn compile(text: &str) -> db::Compiled {
    let db = Database::default();
    let program = db::load_program(
        &db,
        Path::new("/virtual/w.vnuma"),
        &MemLoader::new("/virtual/w.vnuma", text),
    )
    .unwrap();
    db::compile(&db, program)
}

/// The codes of every diagnostic but notes, and the host nodes each cell of guest `name`
/// is bound to (None when the build has errors).
fn outcome(text: &str, name: &str) -> (Vec<String>, Option<Vec<String>>) {
    let c = compile(text);
    let codes = c
        .diagnostics
        .iter()
        .filter(|d| !d.code.starts_with("vnuma::N"))
        .map(|d| d.code.trim_start_matches("vnuma::").to_string())
        .collect();
    if c.has_errors() {
        return (codes, None);
    }
    let g = c.checked.build.guests.iter().find(|g| g.name == name).unwrap();
    let nodes = g
        .cells
        .iter()
        .map(|cell| cell.binding.as_ref().unwrap().nodes.to_string())
        .collect();
    (codes, Some(nodes))
}

/// Two equal nodes; the devices sit on node 1, and node 0 wins every tie.
fn devices(node1_memory: &str, device: &str) -> String {
    format!(
        "host h {{
  node 0 cpus=0-7 memory=16GiB
  node 1 cpus=8-15 memory={node1_memory}
  pci 0000:3b:00.0 node=1
  pci 0000:5e:00.0 node=1
}}
guest nfv on=h {{
  memory 4GiB
  vcpus 4
  vnuma mode=node
  devices {{
    {device}
  }}
}}
"
    )
}

const HOSTDEV: &str = "hostdev 0000:3b:00.0 node=auto policy=required";
const NIC: &str = "nic data0 bridge=br0 model=virtio uplink=0000:5e:00.0 node=auto policy=required";

#[test]
fn a_required_device_puts_a_cell_on_its_node() {
    // `legacy` requires the node of a device that reports one, as `required` does.
    let legacy = HOSTDEV.replace("required", "legacy");
    for device in [HOSTDEV, NIC, &legacy] {
        let (codes, nodes) = outcome(&devices("16GiB", device), "nfv");
        assert_eq!((codes, nodes), (vec![], Some(vec!["1".to_string()])), "{device}");
    }
}

/// The note that names the picked nodes says what they were picked for.
#[test]
fn the_note_says_why_the_nodes_were_picked() {
    let help = |text: &str| {
        let c = compile(text);
        let note = c.diagnostics.iter().find(|d| d.code == "vnuma::N0601").unwrap();
        note.help.clone().unwrap()
    };
    assert_eq!(
        help(&devices("16GiB", HOSTDEV)),
        "chosen as the fewest nodes that fit with a cell on host node 1 of the devices it needs near, then the least used, then the most free memory; write `nodeset=1` to keep it"
    );
    assert!(help(&caches("l3=4MiB")).contains("fit with an L3 cache with the `l3=` size free on each, then"));
    assert!(help(&caches("")).starts_with("chosen as the fewest nodes that fit, then the least used"));
}

#[test]
fn a_required_device_takes_two_nodes_when_its_own_is_too_small() {
    // Node 1 cannot hold 4GiB alone: node 0 alone would fit, without the device's node;
    // nodes 0 and 1 together fit, the cell bound to both.
    let (codes, nodes) = outcome(&devices("2GiB", HOSTDEV), "nfv");
    assert_eq!((codes, nodes), (vec![], Some(vec!["0-1".to_string()])));
    // The device's node has no CPUs, so no placed cell runs there: placed as before, and
    // refused as before (E0357).
    let text = devices("2GiB", HOSTDEV).replace("node 1 cpus=8-15 memory=2GiB", "node 1 memory=2GiB");
    let (codes, _) = outcome(&text, "nfv");
    assert_eq!(codes, vec!["E0357".to_string()]);
}

#[test]
fn other_policies_do_not_steer_the_placement() {
    // `preferred` takes the device wherever the cells are: node 0, with W0505.
    let preferred = HOSTDEV.replace("required", "preferred");
    let (codes, nodes) = outcome(&devices("16GiB", &preferred), "nfv");
    assert_eq!((codes, nodes), (vec!["W0505".to_string()], Some(vec!["0".to_string()])));
}

/// Node 0 has more free memory, and its cache is nearly all taken by `hog`; `other` makes
/// both nodes equally used.
fn caches(l3: &str) -> String {
    format!(
        "host h {{
  node 0 cpus=0-7 memory=32GiB
  node 1 cpus=8-15 memory=16GiB
  l3 0-7
  l3 8-15
  cache-bank 0 level=3 size=16MiB cpus=0-7 control=both granularity=1MiB allocs=16
  cache-bank 1 level=3 size=16MiB cpus=8-15 control=both granularity=1MiB allocs=16
}}
guest hog on=h {{
  memory 1GiB
  vcpus 1
  vnuma mode=node nodeset=0 l3=14MiB
}}
guest other on=h {{
  memory 1GiB
  vcpus 1
  vnuma mode=node nodeset=1
}}
guest db on=h {{
  memory 4GiB
  vcpus 2
  vnuma mode=node {l3}
}}
"
    )
}

#[test]
fn l3_picks_a_node_whose_cache_has_room() {
    let (codes, nodes) = outcome(&caches("l3=4MiB"), "db");
    assert_eq!((codes, nodes), (vec![], Some(vec!["1".to_string()])));
    // Without `l3=`, the node with the most free memory, as before.
    let (codes, nodes) = outcome(&caches(""), "db");
    assert_eq!((codes, nodes), (vec![], Some(vec!["0".to_string()])));
    // 2MiB is still free on node 0's cache: node 0 stays the choice.
    let (codes, nodes) = outcome(&caches("l3=2MiB"), "db");
    assert_eq!((codes, nodes), (vec![], Some(vec!["0".to_string()])));
}

#[test]
fn a_hand_written_guest_later_in_the_file_counts_too() {
    // The hog written by hand after db: hand-written guests take their share first.
    let text = caches("l3=4MiB").replace(
        "guest hog on=h {\n  memory 1GiB\n  vcpus 1\n  vnuma mode=node nodeset=0 l3=14MiB\n}\n",
        "",
    ) + "guest hog on=h {\n  memory 1GiB\n  vcpus 1\n  pin vcpus=0 cpus=7\n  cachetune vcpus=0 cache=0 size=14MiB\n}\n";
    let (codes, nodes) = outcome(&text, "db");
    assert_eq!((codes, nodes), (vec![], Some(vec!["1".to_string()])));
}

/// Within a node, the cores of a cell with `l3=` go to an L3 domain whose cache has the
/// size free: `hog` holds 6MiB of cache 1 and a core of its domain, which the plain rule
/// fills first (a domain in use before a fresh one); db goes on domain 0 instead.
#[test]
fn l3_picks_a_domain_whose_cache_has_room() {
    let text = |l3: &str| {
        format!(
            "host h {{
  node 0 cpus=0-7 memory=16GiB
  l3 0-3
  l3 4-7
  cache-bank 0 level=3 size=8MiB cpus=0-3 control=both granularity=1MiB allocs=16
  cache-bank 1 level=3 size=8MiB cpus=4-7 control=both granularity=1MiB allocs=16
}}
guest hog on=h {{
  memory 1GiB
  vcpus 1
  pin vcpus=0 cpus=7
  cachetune vcpus=0 cache=1 size=6MiB
}}
guest db on=h {{
  memory 1GiB
  vcpus 2
  vnuma mode=node {l3}
}}
"
        )
    };
    let cpus = |text: &str| {
        let c = compile(text);
        assert!(!c.has_errors(), "{:?}", c.diagnostics);
        let g = c.checked.build.guests.iter().find(|g| g.name == "db").unwrap();
        g.pins.iter().map(|p| p.cpus.to_string()).collect::<Vec<_>>()
    };
    assert_eq!(cpus(&text("l3=4MiB")), vec!["0", "1"]);
    // Without `l3=`, the domain in use first, as before.
    assert_eq!(cpus(&text("")), vec!["4", "5"]);
}
