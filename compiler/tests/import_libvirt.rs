//! `vnumac import` reads every number of a domain XML as libvirt itself does.
//!
//! For each attribute (and element text) the importer reads as a number, a domain XML
//! holds it in several renderings: decimal, hexadecimal, octal, leading zeros, white
//! space, signs, junk, out of range. libvirt's own QEMU driver (`virsh domxml-to-native`
//! against libvirtd on a faked two-node host, `tests/common/libvirtd.rs`) and vnumac
//! (`import`, then the imported guest compiled to a QEMU line) must agree on each: both
//! refuse it, or both put the same value into the QEMU line. A few renderings libvirt takes
//! and vnumac cannot say are listed per case and must be refused by the import, with the
//! reason. Numbers that never reach the QEMU line (pinning, the hotplug order, numbers
//! vnumac derives itself) are checked for refusals alone.
//!
//! The rules themselves are `vnumac::numbers`; this suite is their proof against libvirt
//! 9.0. libvirt 9.0 crashes on some refusals (a sibling `value` out of range corrupts its
//! heap), so a daemon that stops answering is started again and the question asked anew.
//!
//! Skips without libvirtd, virsh, unshare, setsid or root, unless `VNUMAC_REQUIRE_ORACLES=1`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

#[path = "import_libvirt/cases.rs"]
mod cases;
#[path = "import_libvirt/domains.rs"]
mod domains;
#[path = "import_libvirt/guest_cases.rs"]
mod guest_cases;
#[path = "import_libvirt/probes.rs"]
mod probes;

use std::path::{Path, PathBuf};

use vnumac::db::{self, Database, MemLoader};
use vnumac::host::{HostNode, HostProfile, HugePages};
use vnumac::import::{ImportOptions, import_domain};
use vnumac::sets::IdSet;

use cases::Case;
use common::libvirtd::{Daemon, oracles_available, write_fake_node_tree};
use common::qemu::qemu_options;
use common::shell::shell_words;
use common::{Scratch, require_oracles};
use probes::Line;

/// The host both sides run on: two nodes, 2 MiB and 1 GiB pages.
fn host_profile() -> HostProfile {
    let node = |id: u32, cpus: &str| HostNode {
        id,
        cpus: IdSet::parse(cpus).unwrap(),
        memory_kib: 64 << 20,
        free_kib: 64 << 20,
        hugepages: vec![
            HugePages {
                size_kib: 2048,
                count: 4096,
            },
            HugePages {
                size_kib: 1 << 20,
                count: 16,
            },
        ],
        reserved_kib: 0,
    };
    HostProfile {
        name: "h".into(),
        nodes: vec![node(0, "0-7"), node(1, "8-15")],
        distances: vec![vec![10, 21], vec![21, 10]],
        ..HostProfile::default()
    }
}

/// The same host as a `.vnuma` block, listing the PCI devices `guest` passes through.
fn host_block(guest: &str) -> String {
    let mut out = String::from("host h {\n  node 0 cpus=0-7 memory=64GiB\n  node 1 cpus=8-15 memory=64GiB\n");
    for n in 0..2 {
        out.push_str(&format!("  hugepages node={n} size=2MiB count=4096\n"));
        out.push_str(&format!("  hugepages node={n} size=1GiB count=16\n"));
    }
    for line in guest.lines() {
        if let Some(addr) = line.trim().strip_prefix("hostdev ") {
            let addr = addr.split_whitespace().next().unwrap_or_default();
            out.push_str(&format!("  pci {addr} node=0\n"));
        }
    }
    out.push_str("}\n");
    out
}

const ROOT: &str = "/virtual/imported.vnuma";

/// What one side made of one rendering.
#[derive(Debug)]
enum Outcome {
    /// The QEMU line.
    Line(Line),
    /// Refused, with the reason.
    Refused(String),
    /// vnumac imported it into a guest it then refuses to compile.
    Unreadable(String),
}

/// vnumac: import, then compile on the host, then the QEMU line.
fn vnumac(xml: &str) -> Outcome {
    let opts = ImportOptions { host: Some("h".into()) };
    let imported = match import_domain(xml, &opts) {
        Ok(i) => i,
        Err(e) => return Outcome::Refused(e.message),
    };
    let text = format!("{}\n{}", host_block(&imported.text), imported.text);
    let database = Database::default();
    let program = db::load_program(&database, Path::new(ROOT), &MemLoader::new(ROOT, text.clone())).unwrap();
    let compiled = db::compile(&database, program);
    if compiled.has_errors() {
        let errors: Vec<String> = compiled
            .diagnostics
            .iter()
            .filter(|d| d.is_error())
            .map(|d| format!("{} {}", d.code, d.message))
            .collect();
        // Kept on purpose for a newer libvirt, with a note: vnumac refuses it for 9.0.
        if compiled
            .diagnostics
            .iter()
            .filter(|d| d.is_error())
            .all(|d| d.code == vnumac::codes::NEWER_LIBVIRT)
        {
            return Outcome::Refused(errors.join("\n"));
        }
        return Outcome::Unreadable(format!("{}\n{text}", errors.join("\n")));
    }
    let guest = &compiled.checked.build.guests[0];
    Outcome::Line(parse_line(&vnumac::lower::qemu::command_line(guest)))
}

fn parse_line(text: &str) -> Line {
    let words = shell_words(text).unwrap_or_else(|e| panic!("{e}: {text}"));
    let options = qemu_options(&words).unwrap_or_else(|e| panic!("{e}: {text}"));
    options.into_iter().map(|o| (o.name, o.value)).collect()
}

/// libvirtd, started again when it stops answering.
struct Libvirt {
    daemon: Option<Daemon>,
    dir: PathBuf,
    starts: usize,
}

impl Libvirt {
    fn start(&mut self) -> Result<(), String> {
        self.starts += 1;
        let dir = self.dir.join(format!("run{}", self.starts));
        write_fake_node_tree(&host_profile(), &dir.join("node")).map_err(|e| e.to_string())?;
        if let Some(old) = self.daemon.take() {
            let _ = old.stop();
        }
        self.daemon = Some(Daemon::start(&dir, &self.dir.join("cache"))?);
        Ok(())
    }

    /// `virsh domxml-to-native` on `xml`: the line, or libvirt's refusal.
    fn native(&mut self, xml: &str) -> Outcome {
        let path = self.dir.join("domain.xml");
        std::fs::write(&path, xml).unwrap();
        let path = path.to_string_lossy().into_owned();
        for _ in 0..3 {
            let answer = match &self.daemon {
                Some(d) => d.virsh(&["domxml-to-native", "qemu-argv", &path]),
                None => Err("no daemon".into()),
            };
            match answer {
                Ok(line) => return Outcome::Line(parse_line(&line)),
                Err(e) if refusal(&e) => return Outcome::Refused(e),
                Err(e) => {
                    eprintln!("libvirtd stopped answering ({e}); starting it again");
                    if let Err(e) = self.start() {
                        panic!("libvirtd does not start again: {e}");
                    }
                }
            }
        }
        panic!("libvirtd does not answer about\n{xml}");
    }
}

/// A refusal of the XML, not a daemon that died or hung.
fn refusal(message: &str) -> bool {
    let broken = [
        "Failed to connect",
        "failed to connect",
        "End of file",
        "Disconnected",
        "Cannot recv",
        "Cannot write",
        "Connection reset",
        "Broken pipe",
        "did not finish within",
        "cannot run",
        "no daemon",
    ];
    message.contains("error:") && !broken.iter().any(|m| message.contains(m))
}

/// Every rendering of `case`: agreement, or a line of what went wrong.
fn check_case(libvirt: &mut Libvirt, case: &Case) -> Vec<String> {
    let mut failures = Vec::new();
    let mut accepted = 0;
    for value in case.values {
        let xml = case.xml.replace("@V@", value);
        let theirs = libvirt.native(&xml);
        let ours = vnumac(&xml);
        let label = format!("{} = {value:?}", case.name);
        let limit = case.vnumac_refuses.iter().find(|(v, _)| v == value);
        match (&theirs, &ours, limit) {
            (Outcome::Line(_), Outcome::Refused(_), Some(_)) => accepted += 1,
            (_, _, Some((_, why))) => failures.push(format!(
                "{label}: libvirt should take it and vnumac refuse it ({why}); libvirt: {theirs:?}; vnumac: {ours:?}"
            )),
            (Outcome::Refused(_), Outcome::Refused(_), None) => {}
            (Outcome::Line(a), Outcome::Line(b), None) => {
                accepted += 1;
                let Some(probe) = case.probe else { continue };
                let (x, y) = (probe(a), probe(b));
                if x.is_none() {
                    failures.push(format!("{label}: the probe finds nothing in libvirt's line {a:?}"));
                } else if x != y {
                    failures.push(format!("{label}: libvirt reads {x:?}, vnumac {y:?}"));
                }
            }
            (Outcome::Refused(e), Outcome::Line(_), None) => {
                failures.push(format!("{label}: libvirt refuses it ({e}), vnumac imports it"));
            }
            (Outcome::Line(_), Outcome::Refused(e), None) => {
                failures.push(format!("{label}: libvirt takes it, vnumac refuses it: {e}"));
            }
            (_, Outcome::Unreadable(e), None) => {
                failures.push(format!("{label}: vnumac imports a guest it cannot compile:\n{e}"));
            }
            (Outcome::Unreadable(_), _, None) => unreachable!("libvirt's side is a line or a refusal"),
        }
    }
    if accepted == 0 {
        failures.push(format!("{}: no rendering is taken, so nothing is compared", case.name));
    }
    failures
}

#[test]
fn import_reads_every_number_as_libvirt_does() {
    if !oracles_available() {
        return;
    }
    let scratch = Scratch::new("import-libvirt").expect("scratch dir");
    let mut libvirt = Libvirt {
        daemon: None,
        dir: scratch.dir.clone(),
        starts: 0,
    };
    libvirt
        .start()
        .unwrap_or_else(|e| panic!("libvirtd does not start: {e}"));
    let all = cases::cases();
    let mut failures = Vec::new();
    for case in &all {
        failures.extend(check_case(&mut libvirt, case));
    }
    let renderings: usize = all.iter().map(|c| c.values.len()).sum();
    eprintln!(
        "{} attributes, {renderings} renderings, libvirtd started {} time(s)",
        all.len(),
        libvirt.starts
    );
    if let Some(d) = libvirt.daemon.take() {
        let _ = d.stop();
    }
    assert!(
        failures.is_empty(),
        "{} disagreement(s):\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

/// The comparison can fail: a DIMM placed elsewhere, and a refusal on one side only.
#[test]
fn disagreements_are_reported() {
    let line = |addr: &str| -> Line {
        vec![(
            "device".into(),
            Some(format!("{{\"driver\":\"pc-dimm\",\"addr\":{addr}}}")),
        )]
    };
    let probe = cases::cases()
        .into_iter()
        .find(|c| c.name.contains("base"))
        .and_then(|c| c.probe)
        .expect("a probe for the DIMM base");
    assert_eq!(probe(&line("435190497280")), Some("435190497280".into()));
    assert_ne!(probe(&line("435190497280")), probe(&line("6553600000")));
    assert!(refusal("error: XML error: Invalid value for attribute 'bus'"));
    assert!(!refusal("error: Failed to connect socket"));
    let _ = require_oracles();
}
