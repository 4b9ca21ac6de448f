#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::quote::{quoted, word_or_string};
use super::*;

fn import(xml: &str) -> Imported {
    import_domain(xml, &ImportOptions::default()).unwrap_or_else(|e| panic!("{e:?}\n{xml}"))
}

/// A domain that imports without notes, with `top` after `<vcpu>` and `cpu` inside `<cpu>`.
fn domain(top: &str, cpu: &str) -> String {
    format!(
        "<domain type='kvm'>\n<name>x</name>\n<memory unit='KiB'>4194304</memory>\n<vcpu placement='static'>4</vcpu>\n{top}\n\
         <os><type arch='x86_64' machine='q35'>hvm</type></os>\n<features><acpi/><apic/></features>\n\
         <cpu mode='host-passthrough' check='none' migratable='on'>{cpu}</cpu>\n<clock offset='utc'/>\n</domain>\n"
    )
}

fn cells(distances: &[&[u32]]) -> String {
    let mut out = String::from("<numa>");
    for (i, row) in distances.iter().enumerate() {
        out.push_str(&format!("<cell id='{i}' cpus='{i}' memory='1' unit='GiB'>"));
        if !row.is_empty() {
            out.push_str("<distances>");
            for (j, v) in row.iter().enumerate() {
                out.push_str(&format!("<sibling id='{j}' value='{v}'/>"));
            }
            out.push_str("</distances>");
        }
        out.push_str("</cell>");
    }
    out + "</numa>"
}

fn distance_lines(text: &str) -> Vec<&str> {
    text.lines()
        .map(str::trim)
        .filter(|l| l.starts_with("distance"))
        .collect()
}

#[test]
fn a_plain_domain_imports_to_the_shortest_guest() {
    let i = import(&domain("", ""));
    assert_eq!(i.text, "guest x {\n  memory 4GiB\n  vcpus 4\n}\n");
    assert!(i.notes.is_empty(), "{:?}", i.notes);
    let on = ImportOptions {
        host: Some("my host".into()),
    };
    let i = import_domain(&domain("", ""), &on).unwrap();
    assert!(i.text.starts_with("guest x on=\"my host\" {\n"), "{}", i.text);
}

#[test]
fn libvirt_units_scale_to_exact_iec_sizes() {
    assert_eq!(crate::numbers::unit_bytes("b"), Some(1));
    assert_eq!(crate::numbers::unit_bytes("bytes"), Some(1));
    assert_eq!(crate::numbers::unit_bytes("KiB"), Some(1024));
    assert_eq!(crate::numbers::unit_bytes("k"), Some(1024));
    assert_eq!(crate::numbers::unit_bytes("KB"), Some(1000));
    assert_eq!(crate::numbers::unit_bytes("M"), Some(1 << 20));
    assert_eq!(crate::numbers::unit_bytes("GB"), Some(1_000_000_000));
    assert_eq!(crate::numbers::unit_bytes("TiB"), Some(1 << 40));
    assert_eq!(crate::numbers::unit_bytes("furlongs"), None);
    let with = |mem: &str| import(&domain("", "").replace("<memory unit='KiB'>4194304</memory>", mem));
    assert!(with("<memory unit='GiB'>32</memory>").text.contains("  memory 32GiB\n"));
    assert!(
        with("<memory unit='M'>1536</memory>")
            .text
            .contains("  memory 1536MiB\n")
    );
    assert!(with("<memory>1048576</memory>").text.contains("  memory 1GiB\n"));
    let gb = with("<memory unit='GB'>8</memory>");
    // 7812500 KiB, rounded up to whole MiB as libvirt starts the guest.
    assert!(gb.text.contains("  memory 7630MiB\n"), "{}", gb.text);
    assert!(gb.notes[0].contains("rounded up to 7813120 KiB"), "{:?}", gb.notes);
    let odd = with("<memory unit='KB'>1000</memory>");
    assert!(odd.text.contains("  memory 1MiB\n"), "{}", odd.text);
    assert!(odd.notes[0].contains("not a whole KiB"), "{:?}", odd.notes);
    let e = import_domain(
        &domain("", "").replace("unit='KiB'", "unit='parsecs'"),
        &ImportOptions::default(),
    );
    assert!(e.unwrap_err().message.contains("knows no unit `parsecs`"));
}

#[test]
fn names_and_strings_are_quoted_when_not_words() {
    assert_eq!(word_or_string("OL8-vnuma"), "OL8-vnuma");
    assert_eq!(word_or_string("pc-q35-7.2"), "\"pc-q35-7.2\"");
    assert_eq!(word_or_string("8-ball"), "\"8-ball\"");
    assert_eq!(quoted("a\"b\\c\nd\te\u{1}"), r#""a\"b\\c\nd\te\u{1}""#);
    let i = import(&domain("", "").replace("<name>x</name>", "<name>web &amp; <![CDATA[db]]>&#x21;</name>"));
    assert!(i.text.starts_with("guest \"web & db!\" {"), "{}", i.text);
}

#[test]
fn distances_keep_only_what_differs_from_the_default() {
    let sym = import(&domain("", &cells(&[&[10, 21, 20], &[21, 10, 20], &[20, 20, 10]])));
    assert_eq!(distance_lines(&sym.text), ["distance 0 1 21"]);
    let asym = import(&domain("", &cells(&[&[10, 16, 22], &[16, 10, 16], &[28, 16, 10]])));
    assert_eq!(
        distance_lines(&asym.text),
        [
            "distance 0 1 16",
            "distance 0 2 22",
            "distance 1 2 16",
            "distance 2 0 28"
        ]
    );
    // All default: one line still says there is a table.
    let all20 = import(&domain("", &cells(&[&[10, 20], &[20, 10]])));
    assert_eq!(distance_lines(&all20.text), ["distance 0 1 20"]);
    let one = import(&domain("", &cells(&[&[10]])));
    assert_eq!(distance_lines(&one.text), ["distance 0 0 10"]);
    // Only one direction given: libvirt and vnumac both mirror it.
    let half = import(&domain("", &cells(&[&[10, 30], &[]])));
    assert_eq!(distance_lines(&half.text), ["distance 0 1 30"]);
    let none = import(&domain("", &cells(&[&[], &[]])));
    assert!(distance_lines(&none.text).is_empty());
    // What libvirt refuses: 10 between two cells, anything but 10 to itself, a cell the
    // guest does not have, a value outside 10 to 255.
    for (row0, what) in [
        ("<sibling id='1' value='10'/>", "libvirt takes 10 for a cell to itself"),
        ("<sibling id='0' value='20'/>", "libvirt takes 10 for a cell to itself"),
        ("<sibling id='2' value='20'/>", "the guest has cells 0 to 1"),
        (
            "<sibling id='1' value='256'/>",
            "256 is out of range; libvirt takes 10 to 255",
        ),
        (
            "<sibling id='1' value='0x15'/>",
            "libvirt reads `value` as a decimal number",
        ),
    ] {
        let xml =
            domain("", &cells(&[&[], &[]])).replacen("</cell>", &format!("<distances>{row0}</distances></cell>"), 1);
        let e = import_domain(&xml, &ImportOptions::default()).unwrap_err();
        assert!(e.message.contains(what), "{row0}: {}", e.message);
        assert!(xml[e.offset.unwrap()..].starts_with("<sibling"), "{row0}");
    }
}

#[test]
fn cells_pins_and_memory_binding() {
    let top = "<cputune><vcpupin vcpu='0' cpuset='1'/><vcpupin vcpu='1' cpuset='0-14, 60-74'/>\
               <vcpupin vcpu='3' cpuset='1'/><emulatorpin cpuset='0'/></cputune>\
               <numatune><memory mode='preferred' nodeset='1'/>\
               <memnode cellid='0' mode='strict' nodeset='0'/><memnode cellid='1' mode='interleave' nodeset='0-1'/></numatune>";
    let cpu = "<topology sockets='1' dies='2' cores='2' threads='1'/><numa>\
               <cell id='0' cpus='0-1' memory='2048' unit='MiB'/><cell id='1' cpus='2-3' memory='2' unit='GiB'/></numa>";
    let i = import(&domain(top, cpu));
    assert!(i.notes.is_empty(), "{:?}", i.notes);
    let body = i.text.split_once("  vcpus 4\n").unwrap().1;
    assert_eq!(
        body,
        "  topology sockets=1 dies=2 cores=2 threads=1\n  numa {\n\
         \x20   cell 0 cpus=0-1 memory=2GiB host-node=0\n\
         \x20   cell 1 cpus=2-3 memory=2GiB host-node=0-1 policy=interleave\n  }\n\
         \x20 pin vcpus=0,3 cpus=1\n\
         \x20 pin vcpus=1   cpus=0-14,60-74\n\
         \x20 emulator cpus=0\n\
         \x20 memory-policy mode=preferred nodeset=1\n}\n"
    );
}

#[test]
fn cpu_modes_follow_the_domain_type() {
    let qemu = |mode: &str| {
        let xml = domain("", "")
            .replace("<domain type='kvm'>", "<domain type='qemu'>")
            .replace("mode='host-passthrough'", mode);
        import(&xml)
    };
    let max = qemu("mode='maximum'");
    assert!(
        max.text.contains("  type qemu\n") && !max.text.contains("  cpu "),
        "{}",
        max.text
    );
    assert!(
        qemu("mode='host-passthrough'")
            .text
            .contains("  cpu host-passthrough\n")
    );
    assert!(qemu("mode='host-model'").text.contains("  cpu host-model\n"));
    let kvm_max = import(&domain("", "").replace("mode='host-passthrough'", "mode='maximum'"));
    assert!(!kvm_max.text.contains("  cpu "));
    assert!(
        kvm_max.notes[0].contains("<cpu mode='maximum'> on a kvm guest"),
        "{:?}",
        kvm_max.notes
    );
    let custom =
        import(&domain("", "<model fallback='forbid'>EPYC-v4</model>").replace(" mode='host-passthrough'", ""));
    assert!(custom.text.contains("  cpu custom model=EPYC-v4\n"), "{}", custom.text);
    let machine = import(&domain("", "").replace("machine='q35'", "machine='pc-q35-9.0'"));
    assert!(machine.text.contains("  machine \"pc-q35-9.0\"\n"));
}

/// A machine type QEMU 7.2 lacks is kept as written, with a note on what it needs.
#[test]
fn machine_types_qemu_7_2_lacks_are_kept_with_a_note() {
    for (machine, note) in [
        (
            "pc-q35-9.0",
            "(E0373): machine `pc-q35-9.0` is QEMU 9.0's: give its host `qemu=\"9.0\"` or newer",
        ),
        (
            "pc-q35-2.3",
            "(E0373): machine `pc-q35-2.3` is gone from QEMU 7.2: use `pc-q35-2.4` or newer",
        ),
        ("pc-q35-7.3", "(E0373): machine `pc-q35-7.3` is no QEMU's"),
        ("microvm", "(E0374): machine `microvm`: vnumac writes pc and q35 guests"),
    ] {
        let imported = import(&domain("", "").replace("machine='q35'", &format!("machine='{machine}'")));
        assert!(
            imported
                .text
                .contains(&format!("  machine {}\n", word_or_string(machine))),
            "{}",
            imported.text
        );
        assert!(
            imported.notes.iter().any(|n| n.ends_with(note)),
            "{machine}: {:?}",
            imported.notes
        );
    }
    for kept in ["pc-q35-7.2", "pc-i440fx-1.4", "pc"] {
        let imported = import(&domain("", "").replace("machine='q35'", &format!("machine='{kept}'")));
        assert!(imported.notes.is_empty(), "{kept}: {:?}", imported.notes);
    }
}

#[test]
fn vcpu_hotplug_maps_to_boot_and_hotpluggable() {
    let cpu = "<topology sockets='2' cores='2' threads='1'/><numa>\
               <cell id='0' cpus='0-1' memory='2' unit='GiB'/><cell id='1' cpus='2-3' memory='2' unit='GiB'/></numa>";
    let list = |states: [(&str, &str, &str); 4]| {
        let mut s = String::from("<vcpus>");
        for (i, (en, hp, order)) in states.iter().enumerate() {
            s.push_str(&format!("<vcpu id='{i}' enabled='{en}' hotpluggable='{hp}'{order}/>"));
        }
        s + "</vcpus>"
    };
    let balanced = list([
        ("yes", "no", " order='1'"),
        ("no", "yes", ""),
        ("yes", "yes", " order='2'"),
        ("no", "yes", ""),
    ]);
    let i = import(&domain(&balanced, cpu).replace("static'>4", "static' current='2'>4"));
    assert!(i.text.contains("  vcpus 4 boot=2\n"), "{}", i.text);
    assert!(i.notes.is_empty(), "{:?}", i.notes);
    let all = list([
        ("yes", "no", " order='1'"),
        ("yes", "yes", " order='3'"),
        ("yes", "yes", " order='2'"),
        ("yes", "yes", " order='4'"),
    ]);
    let i = import(&domain(&all, cpu));
    assert!(i.text.contains("  vcpus 4 hotpluggable=true\n"), "{}", i.text);
    assert!(i.notes.is_empty(), "{:?}", i.notes);
    let reordered = all.replace("order='3'", "order='9'");
    assert!(import(&domain(&reordered, cpu)).notes[0].contains("order= values"));
    let current_only = import(&domain("", cpu).replace("static'>4", "static' current='3'>4"));
    // libvirt's own meaning: vCPUs 0-2 online and fixed, vCPU 3 offline.
    assert!(
        current_only.text.contains("  vcpus 4 current=3\n"),
        "{}",
        current_only.text
    );
    assert!(current_only.notes.is_empty(), "{:?}", current_only.notes);
    let leading = list([
        ("yes", "no", ""),
        ("yes", "no", ""),
        ("no", "yes", ""),
        ("no", "yes", ""),
    ]);
    assert!(import(&domain(&leading, cpu)).text.contains("  vcpus 4 current=2\n"));
    // A list with nothing hot-pluggable is no hotplug at all.
    let fixed = list([
        ("yes", "no", ""),
        ("yes", "no", ""),
        ("yes", "no", ""),
        ("yes", "no", ""),
    ]);
    assert!(import(&domain(&fixed, cpu)).text.contains("  vcpus 4\n"));
}

#[test]
fn memory_backing_and_hotplug_headroom() {
    let cpu =
        "<numa><cell id='0' cpus='0-1' memory='2' unit='GiB'/><cell id='1' cpus='2-3' memory='2' unit='GiB'/></numa>";
    let backing = "<maxMemory slots='4' unit='GiB'>16</maxMemory>\
                   <memoryBacking><hugepages><page size='2' unit='M' nodeset='0-1'/></hugepages><locked/></memoryBacking>";
    let i = import(&domain(backing, cpu));
    assert!(
        i.text
            .contains("  memory 4GiB max=16GiB slots=4 locked=true hugepages=2MiB\n"),
        "{}",
        i.text
    );
    assert!(!i.notes.iter().any(|n| n.contains("hugepages")), "{:?}", i.notes);
    // Cells take the sizes their <page>s give them; a cell named by none has ordinary memory.
    let partial = backing.replace("nodeset='0-1'", "nodeset='1'");
    let i = import(&domain(&partial, cpu));
    assert!(
        i.text.contains("  memory 4GiB max=16GiB slots=4 locked=true\n"),
        "{}",
        i.text
    );
    assert!(
        i.text.contains("cell 1 cpus=2-3 memory=2GiB hugepages=2MiB\n"),
        "{}",
        i.text
    );
    assert!(i.notes.is_empty(), "{:?}", i.notes);
    let two = backing.replace("nodeset='0-1'/>", "nodeset='0'/><page size='1' unit='G' nodeset='1'/>");
    let i = import(&domain(&two, cpu));
    assert!(i.text.contains("locked=true hugepages=2MiB\n"), "{}", i.text);
    assert!(
        i.text.contains("cell 1 cpus=2-3 memory=2GiB hugepages=1GiB\n"),
        "{}",
        i.text
    );
    // libvirt rejects a nodeset naming a cell the guest lacks, and a cell named twice.
    for bad in [
        "nodeset='0-2'/>",
        "nodeset='0-1'/><page size='1' unit='G' nodeset='1'/>",
    ] {
        let xml = domain(&backing.replace("nodeset='0-1'/>", bad), cpu);
        assert!(import_domain(&xml, &ImportOptions::default()).is_err(), "{bad}");
    }
}

#[test]
fn bad_documents_are_errors_with_offsets() {
    let err = |xml: &str| import_domain(xml, &ImportOptions::default()).unwrap_err();
    let e = err("<?xml version='1.0'?>\n<capabilities/>");
    assert_eq!(e.offset, Some(22));
    assert!(e.message.contains("root element is <capabilities>"), "{e:?}");
    let e = err("<domain><name>x</name><memory>1</memory><vcpu>four</vcpu></domain>");
    assert_eq!(e.offset, Some(40));
    assert!(e.message.contains("`four`"), "{e:?}");
    let e = err("<domain><memory>1</memory><vcpu>1</vcpu></domain>");
    assert!(e.message.contains("no <name>"), "{e:?}");
    let e = err(&domain("<cputune><vcpupin vcpu='0' cpuset='3-1'/></cputune>", ""));
    assert!(e.message.contains("cpuset='3-1'"), "{e:?}");
    assert!(e.offset.is_some());
    let deep = format!("<domain>{}", "<a>".repeat(100));
    assert!(err(&deep).message.contains("nested deeper"));
    assert!(
        err("<domain>text</domain>trailing")
            .message
            .contains("outside the root")
    );
}

#[test]
fn controllers_keep_their_user_aliases_and_unique_names() {
    let devices = "<devices>\
        <controller type='pci' index='1' model='pcie-expander-bus'><target busNr='200'><node>0</node></target>\
          <alias name='ua-fast'/><address type='pci' bus='0x00' slot='0x01' function='0x0'/></controller>\
        <controller type='pci' index='2' model='pcie-root-port'><target chassis='2' port='0x0'/><alias name='ua-fast'/>\
          <address type='pci' bus='0x01' slot='0x00' function='0x0'/></controller>\
        <controller type='pci' index='3' model='pcie-root-port'><target chassis='3' port='0x10'/>\
          <address type='pci' bus='0x00' slot='0x02' function='0x0'/></controller>\
        <interface type='bridge'><source bridge='br0.100'/><model type='virtio'/>\
          <address type='pci' bus='0x02' slot='0x00' function='0x0'/></interface>\
        <disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='/i/a b.img'/>\
          <target dev='vda' bus='virtio'/><address type='pci' bus='0x03' slot='0x00' function='0x0'/></disk>\
        </devices>";
    let cpu = "<numa><cell id='0' cpus='0-3' memory='4' unit='GiB'/></numa>";
    let i = import(&domain(devices, cpu));
    let block = i.text.split_once("  devices {\n").unwrap().1;
    assert_eq!(
        block,
        "    expander fast node=0 bus-nr=200\n\
         \x20   root-port fast-2 on=fast\n\
         \x20   root-port pci3\n\
         \x20   nic nic0 bridge=\"br0.100\" model=virtio on=fast-2\n\
         \x20   disk disk0 path=\"/i/a b.img\" format=raw bus=virtio on=pci3\n  }\n}\n"
    );
    assert!(
        i.notes.iter().any(|n| n.contains("a second controller `fast`")),
        "{:?}",
        i.notes
    );
}

#[test]
fn expanders_off_the_root_or_on_a_missing_cell_are_errors() {
    let cpu = "<numa><cell id='0' cpus='0-3' memory='4' unit='GiB'/></numa>";
    let with = |ctl: &str| domain("", cpu).replace("</domain>", &format!("<devices>{ctl}</devices></domain>"));
    let ok = "<controller type='pci' index='1' model='pcie-expander-bus'><target busNr='254'><node>0</node></target>\
              <address type='pci' bus='0x00' slot='0x02'/></controller>";
    assert!(import_domain(&with(ok), &ImportOptions::default()).is_ok());
    for bad in [
        ok.replace("<node>0</node>", "<node>1</node>"),
        ok.replace("bus='0x00'", "bus='0x01'"),
    ] {
        let e = import_domain(&with(&bad), &ImportOptions::default()).unwrap_err();
        assert!(e.message.contains("libvirt"), "{e:?}");
    }
}

#[test]
fn an_expander_of_the_other_machine_family_is_an_error() {
    let cpu = "<numa><cell id='0' cpus='0-3' memory='4' unit='GiB'/></numa>";
    let with = |machine: &str, model: &str| {
        domain("", cpu)
            .replace("machine='q35'", &format!("machine='{machine}'"))
            .replace(
                "</domain>",
                &format!("<devices><controller type='pci' index='1' model='{model}'/></devices></domain>"),
            )
    };
    // Each root bus takes its own kind: pxb on i440fx, pxb-pcie on q35.
    for (machine, model) in [
        ("pc-q35-2.5", "pci-expander-bus"),
        ("q35", "pci-expander-bus"),
        ("pc", "pcie-expander-bus"),
    ] {
        let e = import_domain(&with(machine, model), &ImportOptions::default()).unwrap_err();
        assert!(
            e.message
                .contains(&format!("{model} with index='1' cannot plug into machine `{machine}`")),
            "{e:?}"
        );
    }
    assert!(import_domain(&with("q35", "pcie-expander-bus"), &ImportOptions::default()).is_ok());
    assert!(import_domain(&with("pc-i440fx-2.5", "pci-expander-bus"), &ImportOptions::default()).is_ok());
}

#[test]
fn iothreadids_are_read_as_libvirt_numbers_them() {
    let with = |top: &str| import_domain(&domain(top, ""), &ImportOptions::default());
    // Listed ids, filled up to `<iothreads>` with the lowest ids not listed: 2, then 1 and 3.
    let i = with(
        "<iothreads>3</iothreads><iothreadids><iothread id='2'/></iothreadids>\
                  <cputune><iothreadpin iothread='3' cpuset='1'/></cputune>",
    )
    .unwrap();
    assert!(i.text.contains("  iothreads 3\n  iothread 3 cpus=1\n"), "{}", i.text);
    let i = with("<iothreadids><iothread id='2'/><iothread id='1'/></iothreadids>").unwrap();
    assert!(i.text.contains("  iothreads 2\n"), "{}", i.text);
    for (top, says) in [
        (
            "<iothreadids><iothread id='1'/><iothread id='3'/></iothreadids>",
            "lists I/O thread 3, but the guest has 2",
        ),
        (
            "<iothreadids><iothread id='1'/><iothread id='1'/></iothreadids>",
            "listed twice",
        ),
        ("<iothreadids><iothread/></iothreadids>", "needs `id`"),
    ] {
        let e = with(top).unwrap_err();
        assert!(e.message.contains(says), "{top}: {e:?}");
    }
}

#[test]
fn uncovered_vcpus_go_to_cell_0_and_numad_vcpus_place_memory() {
    let cpu = "<numa><cell id='0' cpus='0' memory='2' unit='GiB'/><cell id='1' cpus='2' memory='2' unit='GiB'/></numa>";
    let i = import(&domain("", cpu));
    assert!(i.text.contains("cell 0 cpus=0-1,3 memory=2GiB\n"), "{}", i.text);
    assert!(
        i.notes.iter().any(|n| n.contains("vCPUs 1,3 are in no cell")),
        "{:?}",
        i.notes
    );
    let auto = domain("", "").replace("<vcpu placement='static'>", "<vcpu placement='auto'>");
    let i = import(&auto);
    assert!(
        i.text.contains("  memory-policy mode=strict placement=auto\n"),
        "{}",
        i.text
    );
    let interleave = auto.replace("<os>", "<numatune><memory mode='interleave'/></numatune><os>");
    let i = import(&interleave);
    assert!(
        i.text.contains("  memory-policy mode=interleave placement=auto\n"),
        "{}",
        i.text
    );
}

/// What libvirt refuses is refused, at the element that says it.
#[test]
fn libvirt_refusals_are_errors_at_their_element() {
    let two =
        "<numa><cell id='0' cpus='0-1' memory='1' unit='GiB'/><cell id='1' cpus='2-3' memory='1' unit='GiB'/></numa>";
    for (top, cpu, at, what) in [
        ("", &two.replace("id='1'", "id='2'")[..], "<cell id='2'", "ids 0 to 1"),
        (
            "",
            &two.replace("id='1'", "id='0'")[..],
            "<cell id='0' cpus='2-3'",
            "given twice",
        ),
        (
            "",
            &two.replace("cpus='2-3'", "cpus='1-3'")[..],
            "<cell id='1'",
            "vCPU 1 is in cells 0 and 1",
        ),
        (
            "",
            &two.replace("cpus='2-3'", "cpus='2-4'")[..],
            "<cell id='1'",
            "names vCPU 4",
        ),
        (
            "",
            "<topology sockets='2' cores='1' threads='1'/>",
            "<topology",
            "makes 2 vCPUs",
        ),
        ("", "<topology sockets='4' cores='1'/>", "<topology", "no `threads`"),
        (
            "<numatune><memnode cellid='0' nodeset='0'/><memnode cellid='0' nodeset='1'/></numatune>",
            two,
            "<memnode cellid='0' nodeset='1'",
            "given twice",
        ),
        (
            "<vcpus><vcpu id='4' enabled='yes'/></vcpus>",
            "",
            "<vcpu id='4'",
            "vCPUs 0 to 3",
        ),
    ] {
        let xml = domain(top, cpu);
        let e = import_domain(&xml, &ImportOptions::default()).unwrap_err();
        assert!(e.message.contains(what), "{what}: {}", e.message);
        assert!(
            xml[e.offset.unwrap()..].starts_with(at),
            "{what}: at {}",
            &xml[e.offset.unwrap()..]
        );
    }
    // A pin for a vCPU the guest lacks: libvirt ignores it, so the import drops it.
    let i = import(&domain("<cputune><vcpupin vcpu='9' cpuset='0x1'/></cputune>", ""));
    assert!(!i.text.contains("  pin vcpus"), "{}", i.text);
    assert!(i.notes.iter().any(|n| n.contains("no vCPU 9")), "{:?}", i.notes);
}

/// More cells than QEMU's 128 NUMA nodes: refused, not written as a guest the checker refuses.
#[test]
fn more_cells_than_qemu_takes_are_refused() {
    let many: String = (0..129)
        .map(|i| format!("<cell id='{i}' memory='1' unit='GiB'/>"))
        .collect();
    let xml = domain("", &format!("<numa>{many}</numa>"));
    let e = import_domain(&xml, &ImportOptions::default()).unwrap_err();
    assert!(e.message.contains("129 cells: QEMU takes at most 128"), "{}", e.message);
}
