//! Target versions: a host's `domcaps=` decides the vCPU maximum of the machine it
//! describes, and what it does not list is refused; without it nothing changes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use vnumac::db::{self, Database, MemLoader};

/// The .vnuma text as `t.vnuma` beside the domcapabilities its host names.
fn codes(vnuma: String, domcaps: String) -> Vec<String> {
    let db = Database::default();
    let program = db::load_program(
        &db,
        Path::new("t.vnuma"),
        &MemLoader::new("t.vnuma", vnuma).with("h.domcaps.xml", domcaps),
    )
    .unwrap();
    db::compile(&db, program)
        .diagnostics
        .iter()
        .map(|d| d.code.trim_start_matches("vnuma::").to_string())
        .collect()
}

fn program(host_attrs: &str, guest: &str) -> String {
    format!(
        "host h domcaps=\"h.domcaps.xml\"{host_attrs} {{\n  node 0 cpus=0-511 memory=64GiB\n}}\n\
         guest g on=h {{\n{guest}\n}}\n"
    )
}

/// QEMU 10.0's q35 as libvirt reports it: 4096 vCPUs, every backing source, no memory list.
fn qemu_10() -> String {
    "<domainCapabilities><machine>pc-q35-10.0</machine><vcpu max='4096'/>\
     <memoryBacking supported='yes'><enum name='sourceType'><value>file</value>\
     <value>anonymous</value><value>memfd</value></enum></memoryBacking></domainCapabilities>"
        .into()
}

fn this_machine() -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/hosts/domcaps/libvirt-9.0-qemu-7.2-q35.xml"),
    )
    .unwrap()
}

#[test]
fn a_newer_qemus_q35_takes_what_its_domcapabilities_say() {
    let guest = "  memory 4GiB\n  vcpus 300";
    // QEMU 7.2's table refuses 300 vCPUs on q35; a QEMU 10.0 host's domcapabilities take them.
    assert_eq!(
        codes(program("", guest).replace(" domcaps=\"h.domcaps.xml\"", ""), qemu_10()),
        ["E0314"]
    );
    assert!(codes(program(" libvirt=\"11.0\" qemu=\"10.0\"", guest), qemu_10()).is_empty());
}

#[test]
fn this_machines_domcapabilities_take_the_default_guests() {
    for guest in [
        "  memory 4GiB source=memfd\n  vcpus 288",
        "  memory 4GiB source=file\n  vcpus 2",
    ] {
        assert!(codes(program("", guest), this_machine()).is_empty(), "{guest}");
    }
    assert_eq!(
        codes(program("", "  memory 4GiB\n  vcpus 289"), this_machine()),
        ["E0361"]
    );
}

/// libvirt 9.4 takes a virtio memory device's address, 9.5 also `<maxMemory>` without slots;
/// before, each is E0339. Without `domcaps=`, the versions alone decide.
#[test]
fn settings_libvirt_9_0_refuses_follow_the_target_libvirt() {
    let host = |libvirt: &str| format!("host h{libvirt} {{\n  node 0 cpus=0-3 memory=16GiB\n}}\n");
    let guest = "guest g on=h {\n  memory 2GiB max=4GiB\n  vcpus 2\n  numa {\n    cell 0 cpus=0-1 memory=2GiB\n  }\n  \
                 virtio-mem size=1GiB node=0 block=2MiB requested=512MiB base=4GiB\n}\n";
    for (libvirt, want) in [
        ("", vec!["E0339", "E0339"]),
        (" libvirt=\"9.3\"", vec!["E0339", "E0339"]),
        (" libvirt=\"9.4\"", vec!["E0339"]),
        (" libvirt=\"9.5\"", vec![]),
        (" libvirt=\"10.0\"", vec![]),
    ] {
        assert_eq!(codes(host(libvirt) + guest, String::new()), want, "{libvirt:?}");
    }
}

/// `explain` shows the target under the host's table, with the file's words made safe for a
/// terminal; the default target shows nothing.
#[test]
fn explain_shows_the_target_and_escapes_the_files_words() {
    let explain = |vnuma: String, domcaps: String| {
        let db = Database::default();
        let program = db::load_program(
            &db,
            Path::new("t.vnuma"),
            &MemLoader::new("t.vnuma", vnuma).with("h.domcaps.xml", domcaps),
        )
        .unwrap();
        vnumac::explain::text(&db::compile(&db, program).checked, None)
    };
    let domcaps = "<domainCapabilities><machine>pc-q35-7.2\u{202E}x</machine><vcpu max='288'/>\
                   <memoryBacking><enum name='sourceType'><value>memfd</value></enum></memoryBacking>\
                   </domainCapabilities>";
    let guest = "  memory 4GiB\n  vcpus 2\n  pin vcpus=0-1 cpus=0-1";
    let out = explain(program(" libvirt=\"10.0\"", guest), domcaps.into());
    assert!(out.contains("  target: libvirt 10.0, QEMU 7.2\n"), "{out}");
    assert!(
        out.contains("at most 288 vCPUs; memory backing memfd; memory devices not listed"),
        "{out}"
    );
    assert!(!out.contains('\u{202E}'), "{out}");
    let default = program("", guest).replace(" domcaps=\"h.domcaps.xml\"", "");
    assert!(!explain(default, String::new()).contains("target:"));
}
