//! Machine types: a guest's `machine` is one the host's QEMU has (QEMU 7.2 by default, or
//! the host's `qemu=`), held to the list the installed QEMU prints.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::process::Command;
use vnumac::db::{self, Database, MemLoader};
use vnumac::diagnostics::Diagnostic;

fn program(host_attrs: &str, machine: &str) -> String {
    format!(
        "host h{host_attrs} {{\n  node 0 cpus=0-3 memory=16GiB\n}}\n\
         guest g on=h {{\n  machine \"{machine}\"\n  memory 2GiB\n  vcpus 2\n}}\n"
    )
}

fn diagnostics(text: &str) -> Vec<Diagnostic> {
    let db = Database::default();
    let program = db::load_program(&db, Path::new("t.vnuma"), &MemLoader::new("t.vnuma", text.to_string())).unwrap();
    db::compile(&db, program).diagnostics.clone()
}

/// The machine-type codes a guest on `machine` gets.
fn machine_codes(host_attrs: &str, machine: &str) -> Vec<String> {
    diagnostics(&program(host_attrs, machine))
        .iter()
        .map(|d| d.code.trim_start_matches("vnuma::").to_string())
        .filter(|c| ["E0373", "E0374", "W0524"].contains(&c.as_str()))
        .collect()
}

#[test]
fn the_default_target_refuses_what_qemu_7_2_lacks_on_the_machine_value() {
    for machine in ["pc-1.0", "pc-q35-2.3", "pc-q35-7.3", "pc-q35-8.0", "foo", "pc-q35-x.y"] {
        let text = program("", machine);
        let d = diagnostics(&text);
        let e = d
            .iter()
            .find(|d| d.code == "vnuma::E0373")
            .unwrap_or_else(|| panic!("{machine}: {d:?}"));
        let at = text.find(&format!("\"{machine}\"")).unwrap();
        let span = &e.labels[0].span;
        let (start, end) = (span.start as usize, span.end as usize);
        // The machine's value, with or without its quotes.
        assert!(
            (at..=at + 1).contains(&start) && (at + 1 + machine.len()..=at + 2 + machine.len()).contains(&end),
            "{machine}: {start}..{end}, the value at {at}"
        );
        assert!(e.message.contains("QEMU 7.2"), "{machine}: {}", e.message);
    }
    let help = |machine: &str| {
        diagnostics(&program("", machine))
            .into_iter()
            .find(|d| d.code == "vnuma::E0373")
            .and_then(|d| d.help)
            .unwrap()
    };
    assert!(help("pc-q35-8.0").contains("`pc-q35-7.2`"), "{}", help("pc-q35-8.0"));
    assert!(help("pc-q35-8.0").contains("qemu=\"8.0\""), "{}", help("pc-q35-8.0"));
    assert!(help("pc-i440fx-9.0").contains("`pc-i440fx-7.2`"));
    assert!(help("pc-q35-2.3").contains("`pc-q35-2.4`"), "{}", help("pc-q35-2.3"));
    assert!(
        help("pc-q35-7.3").contains("nearest QEMU 7.2 has is `pc-q35-7.2`"),
        "{}",
        help("pc-q35-7.3")
    );
    assert!(
        help("foo").contains("`pc-q35-2.4` to `pc-q35-7.2`, `pc`, and `pc-i440fx-1.4` to `pc-i440fx-7.2`"),
        "{}",
        help("foo")
    );
    assert_eq!(machine_codes("", "microvm"), ["E0374"]);
    assert_eq!(machine_codes("", "pc-i440fx-1.7"), ["W0524"]);
    for ok in ["q35", "pc", "pc-q35-7.2", "pc-q35-4.0.1", "pc-i440fx-2.0"] {
        assert!(machine_codes("", ok).is_empty(), "{ok}");
    }
}

/// A host that says a newer QEMU takes that QEMU's types, and refuses what it removed.
#[test]
fn a_newer_qemu_on_the_host_takes_its_own_types() {
    assert!(machine_codes(" qemu=\"8.2\"", "pc-q35-8.2").is_empty());
    assert!(machine_codes(" qemu=\"8.2\"", "pc-i440fx-8.1").is_empty());
    assert_eq!(machine_codes(" qemu=\"8.2\"", "pc-q35-9.0"), ["E0373"]);
    assert_eq!(machine_codes(" qemu=\"8.2\"", "pc-i440fx-1.7"), ["E0373"]);
    assert!(machine_codes(" qemu=\"10.1\"", "pc-q35-10.1").is_empty());
    assert_eq!(machine_codes(" qemu=\"10.1\"", "pc-i440fx-2.3"), ["E0373"]);
    assert_eq!(machine_codes(" qemu=\"6.2\"", "pc-q35-7.0"), ["E0373"]);
}

/// What the installed QEMU lists: its `MAJOR.MINOR`, its pc and q35 types with whether it
/// marks each deprecated, and its other types.
struct Listed {
    release: String,
    ours: Vec<(String, bool)>,
    others: Vec<String>,
}

/// A machine the host's domcapabilities name is taken as they say, whatever vnumac's list.
#[test]
fn a_machine_the_hosts_domcapabilities_name_is_taken() {
    let domcaps = "<domainCapabilities><machine>pc-q35-rhel9.2.0</machine><vcpu max='710'/></domainCapabilities>";
    let text = program(" domcaps=\"h.domcaps.xml\"", "pc-q35-rhel9.2.0");
    let db = Database::default();
    let loader = MemLoader::new("t.vnuma", text.clone()).with("h.domcaps.xml", domcaps);
    let program = db::load_program(&db, Path::new("t.vnuma"), &loader).unwrap();
    let compiled = db::compile(&db, program);
    assert!(compiled.diagnostics.is_empty(), "{:?}", compiled.diagnostics);
    // Without the file, the same name is no QEMU's.
    assert_eq!(machine_codes("", "pc-q35-rhel9.2.0"), ["E0373"]);
}

/// The pc and q35 types `qemu-system-x86_64 -machine help` lists, and which it marks
/// deprecated; the other names apart.
fn qemu_machines() -> Option<Listed> {
    if !common::oracle_available(common::QEMU) {
        return None;
    }
    let version = common::tool_version(common::QEMU, Command::new(common::QEMU)).unwrap();
    let release = version
        .split_whitespace()
        .find_map(|w| {
            let mut parts = w.split('.');
            let (a, b) = (parts.next()?, parts.next()?);
            (a.parse::<u32>().is_ok() && b.parse::<u32>().is_ok()).then(|| format!("{a}.{b}"))
        })
        .unwrap();
    let out = Command::new(common::QEMU).args(["-machine", "help"]).output().unwrap();
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    let (mut ours, mut others) = (Vec::new(), Vec::new());
    for line in text.lines().skip(1) {
        let Some(name) = line.split_whitespace().next() else {
            continue;
        };
        if ["q35", "pc"].contains(&name) || name.starts_with("pc-q35-") || name.starts_with("pc-i440fx-") {
            ours.push((name.to_string(), line.ends_with("(deprecated)")));
        } else {
            others.push(name.to_string());
        }
    }
    Some(Listed { release, ours, others })
}

/// Every pc and q35 type the installed QEMU lists is taken for a host of that QEMU (with
/// W0524 exactly where QEMU says deprecated), every other type is E0374, and the types
/// just past its newest are refused. For QEMU 7.2, the default target, vnumac takes no
/// versioned type QEMU does not list.
#[test]
fn the_installed_qemus_machine_list_is_vnumacs() {
    let Some(Listed { release, ours, others }) = qemu_machines() else {
        return;
    };
    let host = format!(" qemu=\"{release}\"");
    assert!(ours.len() > 50, "{ours:?}");
    for (machine, deprecated) in &ours {
        let want: &[&str] = if *deprecated { &["W0524"] } else { &[] };
        assert_eq!(machine_codes(&host, machine), want, "QEMU {release} lists `{machine}`");
    }
    for machine in &others {
        assert_eq!(
            machine_codes(&host, machine),
            ["E0374"],
            "QEMU {release} lists `{machine}`"
        );
    }
    let (major, minor) = release.split_once('.').unwrap();
    let (major, minor): (u32, u32) = (major.parse().unwrap(), minor.parse().unwrap());
    for family in ["pc-q35", "pc-i440fx"] {
        let newest = format!("{family}-{release}");
        assert!(
            ours.iter().any(|(m, _)| *m == newest),
            "QEMU {release} lists no {newest}"
        );
        for past in [
            format!("{family}-{major}.{}", minor + 1),
            format!("{family}-{}.0", major + 1),
        ] {
            assert_eq!(machine_codes(&host, &past), ["E0373"], "{past} after QEMU {release}");
        }
    }
    if release != "7.2" {
        return;
    }
    for family in ["pc-q35", "pc-i440fx", "pc"] {
        for a in 0..=major {
            // Each version also written with a leading zero, which QEMU never lists.
            let names = (0..=15).flat_map(|b| {
                [
                    format!("{family}-{a}.{b}"),
                    format!("{family}-0{a}.{b}"),
                    format!("{family}-{a}.0{b}"),
                ]
            });
            for machine in names {
                let listed = ours.iter().any(|(m, _)| *m == machine);
                let codes = machine_codes("", &machine);
                assert_eq!(
                    !codes.iter().any(|c| c.starts_with('E')),
                    listed,
                    "`{machine}`: QEMU 7.2 lists it: {listed}; vnumac says {codes:?}"
                );
            }
        }
    }
}
