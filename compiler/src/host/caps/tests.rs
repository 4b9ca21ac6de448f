//! Tests of the capabilities reader.

use super::*;
use crate::sets::IdSet;
use std::path::{Path, PathBuf};

fn caps_files() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/hosts");
    let mut files: Vec<PathBuf> = [root.clone(), root.join("real")]
        .iter()
        .flat_map(|d| std::fs::read_dir(d).unwrap())
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".caps.xml"))
        .collect();
    files.sort();
    files
}

fn load(name: &str) -> HostProfile {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../examples/hosts")
        .join(name);
    from_capabilities_xml("h", &std::fs::read_to_string(path).unwrap()).unwrap()
}

fn set(text: &str) -> IdSet {
    IdSet::parse(text).unwrap()
}

#[test]
fn every_example_file_loads() {
    let files = caps_files();
    assert_eq!(files.len(), 10);
    for f in files {
        let xml = std::fs::read_to_string(&f).unwrap();
        let p = from_capabilities_xml("h", &xml).unwrap_or_else(|e| panic!("{}: {e:?}", f.display()));
        assert!(!p.nodes.is_empty() && !p.cpus.is_empty(), "{}", f.display());
        assert_eq!(p.distances.len(), p.nodes.len());
    }
}

#[test]
fn peppi() {
    let p = load("peppi.caps.xml");
    assert_eq!((p.nodes.len(), p.cpus.len()), (4, 120));
    assert_eq!(p.cpu(1).unwrap().siblings, set("1,61"));
    assert_eq!(p.node(0).unwrap().cpus, set("0-14,60-74"));
    assert_eq!(p.node(0).unwrap().memory_kib, 131688448);
    assert_eq!(p.node(0).unwrap().free_kib, 131688448);
    let pools = &p.node(0).unwrap().hugepages;
    assert_eq!(
        pools.iter().map(|h| (h.size_kib, h.count)).collect::<Vec<_>>(),
        [(2048, 0), (1048576, 16)]
    );
    assert_eq!(p.distance(0, 1), Some(21));
    assert_eq!(p.distance(3, 3), Some(10));
    let c75 = p.cpu(75).unwrap();
    assert_eq!((c75.node, c75.socket, c75.core), (1, 1, 15));
}

#[test]
fn epyc_sockets_and_distances() {
    let p = load("epyc-2s-nps4.caps.xml");
    assert_eq!((p.nodes.len(), p.cpus.len()), (8, 256));
    assert_eq!(p.distance(0, 3), Some(12));
    assert_eq!(p.distance(4, 7), Some(12));
    assert_eq!(p.distance(0, 4), Some(32));
    assert_eq!(p.distance(7, 3), Some(32));
    assert_eq!(p.cpu(16).unwrap().socket, 0);
    assert_eq!(p.cpu(16).unwrap().node, 1);
    assert_eq!(p.cpu(200).unwrap().socket, 1);
    assert_eq!(p.cpu(135).unwrap().siblings, set("7,135"));
}

#[test]
fn snc_cxl_memory_only_nodes() {
    let p = load("snc-cxl.caps.xml");
    assert_eq!(p.nodes.len(), 6);
    for id in [4, 5] {
        let n = p.node(id).unwrap();
        assert!(n.cpus.is_empty());
        assert_eq!(n.memory_kib, 536870912);
    }
    assert_eq!(p.distance(0, 4), Some(14));
    assert_eq!(p.distance(0, 5), Some(26));
    assert_eq!(p.cpu(11).unwrap().siblings, set("10-11"));
    assert_eq!(p.cpu(11).unwrap().core, 5);
}

#[test]
fn real_machines() {
    // POWER8: SMT8, 64 KiB base pages (not a hugepage pool), core ids with gaps.
    let p = load("real/power8-smt8.caps.xml");
    assert_eq!(p.smt_width(), 8);
    assert_eq!(p.cpu(5).unwrap().siblings, set("0-7"));
    assert_eq!(p.cpu(5).unwrap().core, 32);
    assert_eq!(p.cpu(54).unwrap().core, 160);
    let sizes: Vec<u64> = p.nodes[1].hugepages.iter().map(|h| h.size_kib).collect();
    assert_eq!(sizes, [16384, 16777216]);
    assert_eq!(p.distance(0, 1), Some(20));
    // HMAT: node 1 has no CPUs, no <distances> at all, and a cluster_id attribute.
    let p = load("real/libvirt-hmat.caps.xml");
    assert!(p.node(1).unwrap().cpus.is_empty());
    assert_eq!(p.distances, vec![vec![10, 20], vec![20, 10]]);
    assert_eq!(p.cpu(23).unwrap().socket, 23);
    assert_eq!(p.node(0).unwrap().hugepages[0].count, 4096);
    // Cascade Lake: no die_id; siblings split across halves; core ids skip.
    let p = load("real/cascadelake-2s.caps.xml");
    assert_eq!(p.cpu(48).unwrap().siblings, set("0,48"));
    assert_eq!((p.cpu(7).unwrap().die, p.cpu(7).unwrap().core), (0, 9));
    assert_eq!(p.node(1).unwrap().memory_kib, 32982940);
    assert_eq!(p.l3, vec![set("0-23,48-71"), set("24-47,72-95")]);
    // Interleaved numbering: even CPUs on node 0.
    let p = load("real/haswell-interleaved.caps.xml");
    assert_eq!(p.node(0).unwrap().cpus, set("0,2,4,6,8,10,12,14"));
    assert_eq!(p.smt_width(), 1);
    assert_eq!(p.l3, vec![set("0,2,4,6,8,10,12,14"), set("1,3,5,7,9,11,13,15")]);
    let p = load("real/libvirt-4node-basic.caps.xml");
    assert!(p.l3.is_empty());
    assert_eq!(p.node(3).unwrap().memory_kib, 4194304);
    assert_eq!(p.distance(0, 3), Some(20));
}

fn minimal(cell_body: &str) -> String {
    format!(
        "<capabilities><host><topology><cells num='1'><cell id='0'>{cell_body}</cell></cells></topology></host></capabilities>"
    )
}

#[test]
fn units_and_defaults() {
    let p = from_capabilities_xml(
        "m",
        &minimal("<memory unit='GiB'>2</memory><cpus num='1'><cpu id='3'/></cpus>"),
    )
    .unwrap();
    assert_eq!(p.nodes[0].memory_kib, 2 * 1024 * 1024);
    let c = p.cpu(3).unwrap();
    assert_eq!((c.socket, c.die, c.core, c.siblings.clone()), (0, 0, 0, set("3")));
    for (unit, kib) in [
        ("bytes", 1),
        ("b", 1),
        ("KB", 1000),
        ("k", 1024),
        ("MiB", 1048576),
        ("M", 1048576),
    ] {
        let xml = minimal(&format!("<memory unit='{unit}'>1024</memory>"));
        assert_eq!(
            from_capabilities_xml("m", &xml).unwrap().nodes[0].memory_kib,
            kib,
            "{unit}"
        );
    }
    let xml = minimal("<memory>1</memory><pages unit='MiB' size='2'>3</pages><pages size='4'>9</pages>");
    let p = from_capabilities_xml("m", &xml).unwrap();
    assert_eq!(p.nodes[0].memory_kib, 1);
    assert_eq!(
        p.nodes[0].hugepages,
        vec![crate::host::HugePages {
            size_kib: 2048,
            count: 3
        }]
    );
}

#[test]
fn l3_banks() {
    let with_cache = |cache: &str| {
        minimal("<cpus num='4'><cpu id='0'/><cpu id='1'/><cpu id='2'/><cpu id='3'/></cpus>")
            .replace("</topology>", &format!("</topology><cache>{cache}</cache>"))
    };
    let xml = with_cache(
        "<bank id='0' level='2' type='both' size='1' unit='MiB' cpus='0'/>\
         <bank id='1' level='3' type='both' size='32' unit='MiB' cpus='2-3'/>\
         <bank id='0' level='3' type='both' size='32' unit='MiB' cpus='0-1'/>",
    );
    assert!(xml.contains("<cache>"), "{xml}");
    let p = from_capabilities_xml("h", &xml).unwrap();
    assert_eq!(p.l3, vec![set("0-1"), set("2-3")]);
    for bad in [
        "<bank level='3' cpus='0-1'/><bank level='3' cpus='1-2'/>",
        "<bank level='3' cpus='0-7'/>",
        "<bank level='3'/>",
        "<bank level='3' cpus='x'/>",
        "<bank level='three' cpus='0'/>",
    ] {
        let xml = with_cache(bad);
        let e = from_capabilities_xml("h", &xml).unwrap_err();
        let at = e.offset.unwrap();
        assert!(xml[at..].starts_with("<bank"), "{bad}: {e:?}");
    }
}

#[test]
fn bad_documents_are_errors_with_offsets() {
    let e = from_capabilities_xml("x", "<domain><name>x</name></domain>").unwrap_err();
    assert!(
        e.message.contains("not a `virsh capabilities` document"),
        "{}",
        e.message
    );
    let e = from_capabilities_xml("x", "<capabilities><host/></capabilities>").unwrap_err();
    assert!(e.message.contains("no <host><topology><cells>"));
    // Found by the caps fuzz target: no cells would print as a host the checker rejects.
    let xml = "<capabilities><host><topology><cells num='0'></cells></topology></host></capabilities>";
    let e = from_capabilities_xml("x", xml).unwrap_err();
    assert!(e.message.contains("no <cell>"), "{}", e.message);
    assert_eq!(e.offset, xml.find("<cells"));
    let xml = minimal("<memory unit='KiB'>12</memry>");
    let e = from_capabilities_xml("x", &xml).unwrap_err();
    assert!(e.message.starts_with("malformed XML"), "{}", e.message);
    assert!(e.offset.is_some());
    let xml = minimal("<memory unit='parsecs'>1</memory>");
    let e = from_capabilities_xml("x", &xml).unwrap_err();
    assert_eq!(e.offset, xml.find("<memory"));
    let xml = minimal("<cpus><cpu id='0' siblings='0,x'/></cpus>");
    assert_eq!(from_capabilities_xml("x", &xml).unwrap_err().offset, xml.find("<cpu "));
    let xml = minimal("<distances><sibling id='7' value='20'/></distances>");
    let e = from_capabilities_xml("x", &xml).unwrap_err();
    assert!(e.message.contains("undeclared node 7"), "{}", e.message);
    assert_eq!(e.offset, xml.find("<sibling"));
}

#[test]
fn truncated_and_garbled_input_never_panics() {
    let xml = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/hosts/laptop.caps.xml"))
        .unwrap();
    for end in (0..xml.len()).filter(|&i| xml.is_char_boundary(i)) {
        let r = from_capabilities_xml("t", &xml[..end]);
        if let Err(e) = r {
            assert!(e.offset.is_none_or(|o| o <= end), "{e:?}");
        }
    }
    let garbled = xml.replace("'", "");
    assert!(from_capabilities_xml("t", &garbled).is_err());
}

#[test]
fn an_attribute_given_twice_is_malformed() {
    // Every attribute of an element read is looked at once, the duplicate check included,
    // whichever attribute is given twice and wherever among the others.
    for cpu in [
        "<cpu id='0' id='1'/>",
        "<cpu id='0' socket_id='0' socket_id='1'/>",
        "<cpu a0='' a1='' a2='' a3='' a4='' a5='' a6='' a7='' a8='' a9='' id='0' a3=''/>",
    ] {
        let xml = minimal(&format!("<cpus>{cpu}</cpus>"));
        let e = from_capabilities_xml("x", &xml).unwrap_err();
        assert!(e.message.contains("given twice"), "{cpu}: {}", e.message);
        assert_eq!(e.offset, xml.find("<cpu "), "{cpu}");
    }
    let xml = minimal("<cpus><cpu id='0' a0='' a1='' a2='' a3='' a4='' a5='' a6='' a7='' a8='' a9=''/></cpus>");
    assert!(from_capabilities_xml("x", &xml).is_ok());
}

#[test]
fn references_in_a_value_are_read_not_dropped() {
    // `&#48;` is a `0`: the node has 10 GiB, not 1.
    let xml = minimal("<memory unit='GiB'>1&#48;</memory><cpus num='1'><cpu id='0'/></cpus>");
    let p = from_capabilities_xml("r", &xml).unwrap();
    assert_eq!(p.nodes[0].memory_kib, 10 * 1024 * 1024);
    let xml = minimal("<memory unit='GiB'>1&#x30;</memory><cpus num='1'><cpu id='0'/></cpus>");
    assert_eq!(
        from_capabilities_xml("r", &xml).unwrap().nodes[0].memory_kib,
        10 * 1024 * 1024
    );
    // An entity XML does not define is malformed, at the reference.
    let xml = minimal("<memory unit='GiB'>1&zero;</memory><cpus num='1'><cpu id='0'/></cpus>");
    let e = from_capabilities_xml("r", &xml).unwrap_err();
    assert!(e.message.contains("unknown entity `&zero;`"), "{}", e.message);
    // A reference that is not a number is refused as the number it spoils.
    let xml = minimal("<memory unit='GiB'>1&amp;</memory><cpus num='1'><cpu id='0'/></cpus>");
    assert!(from_capabilities_xml("r", &xml).is_err());
}

#[test]
fn a_document_cut_short_names_the_element_left_open() {
    let xml = minimal("<memory unit='KiB'>12</memory><cpus num='1'><cpu id='0'/></cpus>");
    let cut = &xml[..xml.find("<cpu ").unwrap()];
    let e = from_capabilities_xml("x", cut).unwrap_err();
    assert_eq!(e.message, "malformed XML: the document ends inside <cpus>");
    assert_eq!(e.offset, Some(cut.len()));
}

#[test]
fn only_the_cells_of_the_host_topology_are_read() {
    // A <cell> or <cpu> anywhere else is not the host's: the places are found from the
    // parent's and the element's own name, as the full path would.
    let xml = minimal("<memory unit='KiB'>12</memory><cpus num='1'><cpu id='0'/></cpus>").replace(
        "</topology>",
        "</topology><cells><cell id='9'><cpus><cpu id='5'/></cpus></cell></cells>\
         <cache><x><bank level='3' cpus='0-7'/></x></cache>",
    );
    let p = from_capabilities_xml("x", &xml).unwrap();
    assert_eq!(p.nodes.len(), 1);
    assert_eq!(p.cpu_ids(), set("0"));
    assert!(p.l3.is_empty());
    // Nor a <cpu> directly in a <cell>, or a <memory> deeper in it.
    let xml = minimal("<cpu id='4'/><x><memory unit='GiB'>1</memory></x><memory>3</memory><cpus><cpu id='0'/></cpus>");
    let p = from_capabilities_xml("x", &xml).unwrap();
    assert_eq!(p.cpu_ids(), set("0"));
    assert_eq!(p.nodes[0].memory_kib, 3);
}

#[test]
fn attributes_read_alike_however_they_are_written() {
    let cpu = |attrs: &str| {
        let xml = minimal(&format!("<cpus><cpu {attrs}/></cpus>"));
        from_capabilities_xml("a", &xml).map(|p| {
            let c = p.cpus[0].clone();
            (c.id, c.socket, c.core, c.siblings.to_string())
        })
    };
    let want = Ok((3, 1, 2, "3".to_string()));
    for attrs in [
        "id='3' socket_id='1' core_id='2' siblings='3'",
        "id=\"3\" socket_id=\"1\" core_id='2' siblings=\"3\"",
        "id='3'socket_id='1'core_id='2'siblings='3'",
        "\n\tid='3'\r\n socket_id='1'  core_id='2' siblings='3'  ",
        "id = '3' socket_id= '1' core_id ='2' siblings='3'",
        "id='&#51;' socket_id='1' core_id='2' siblings='3'",
        "id='3' socket_id='1' core_id='2' siblings='\t3\n'",
    ] {
        assert_eq!(cpu(attrs), want, "{attrs:?}");
    }
    for attrs in [
        "id='3' socket_id=1",
        "id='3' socket_id",
        "id='3' socket_id='1",
        "id='3' ='1'",
        "id='3' id=\"3\"",
    ] {
        let e = cpu(attrs).unwrap_err();
        assert!(e.message.starts_with("malformed"), "{attrs:?}: {}", e.message);
    }
    // A line end in an id is white space to XML and no digit to libvirt.
    assert!(cpu("id='3\n' socket_id='1' core_id='2'").is_err());
}
