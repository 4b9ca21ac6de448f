//! `vnumac verify --connect` against a real libvirtd of the test's own: two guests of one file
//! (each with a DIMM), defined from vnumac's XML and started by libvirt, which applies their
//! pins and the scheduling policies of a vCPU and the I/O thread. Verified together they
//! match; after `virsh vcpupin` of one vCPU, or `virsh emulatorpin`, exactly
//! that difference of exactly that guest is named; a guest of the file that libvirt does not
//! have, or has but does not run, is a coded error for that guest and exit code 2.

use super::common::Scratch;
use super::daemon::Daemon;
use super::setup::{fleet, host, oracles};
use super::vnumac;
use serde_json::Value;
use std::path::Path;

/// What one `vnumac verify --connect --message-format json` said.
struct Verified {
    exit: i32,
    map: String,
    /// Each difference: its guest, code and subject.
    found: Vec<(String, String, String)>,
    /// Each error (a line without a subject, not a warning): its code and message.
    errors: Vec<(String, String)>,
    stderr: String,
}

impl std::fmt::Display for Verified {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "exit {}\n{}\n{}", self.exit, self.map, self.stderr)
    }
}

fn verify(d: &Daemon, file: &Path, extra: &[&str]) -> Verified {
    let mut args = vec![
        "--message-format",
        "json",
        "verify",
        file.to_str().unwrap(),
        "--connect",
        &d.uri,
        "--window",
        "200",
    ];
    args.extend(extra);
    let o = vnumac(&args);
    let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
    let lines: Vec<Value> = stderr
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not a JSON line ({e}): {l}")))
        .collect();
    let text = |v: &Value, k: &str| v[k].as_str().unwrap_or_default().to_string();
    let (found, others): (Vec<&Value>, Vec<&Value>) = lines.iter().partition(|v| v["subject"].is_string());
    // Warnings are left out: what the file's probed host says of its free memory (W0508)
    // depends on the machine's page cache at that moment.
    let errors: Vec<&Value> = others.into_iter().filter(|v| v["severity"] == "error").collect();
    Verified {
        exit: o.status.code().unwrap_or(-1),
        map: String::from_utf8_lossy(&o.stdout).into_owned(),
        found: found
            .iter()
            .map(|v| (text(v, "guest"), text(v, "code"), text(v, "subject")))
            .collect(),
        errors: errors.iter().map(|v| (text(v, "code"), text(v, "message"))).collect(),
        stderr,
    }
}

fn difference(guest: &str, code: &str, subject: &str) -> (String, String, String) {
    (guest.to_string(), code.to_string(), subject.to_string())
}

#[test]
fn verify_connect_names_exactly_what_moved() {
    if !oracles() {
        return;
    }
    let (a, b, node) = match host() {
        Ok(h) => h,
        Err(problem) => return super::common::skip_or_fail(&problem),
    };
    let scratch = Scratch::new("libvirt-verify").unwrap();
    let id = std::process::id();
    let (web, db) = (format!("vnumac-web-{id}"), format!("vnumac-db-{id}"));
    let file = scratch.dir.join("fleet.vnuma");
    std::fs::write(&file, fleet(&[&web, &db], a, b, node)).unwrap();
    let out = scratch.dir.join("out");
    let built = vnumac(&["build", file.to_str().unwrap(), "-o", out.to_str().unwrap()]);
    assert!(built.status.success(), "{}", String::from_utf8_lossy(&built.stderr));

    let d = Daemon::start(&scratch.dir.join("libvirt")).unwrap();
    for name in [&web, &db] {
        let xml = out.join(format!("{name}.xml"));
        d.virsh(&["define", xml.to_str().unwrap()]).unwrap();
        if let Err(e) = d.virsh(&["start", name]) {
            panic!("{e}\n{}\n{}", d.guest_log(name), d.log_text());
        }
    }

    // As libvirt started them, with the pins it applied: every guest of the file matches.
    let clean = verify(&d, &file, &[]);
    assert_eq!(clean.exit, 0, "{clean}\n{}", d.log_text());
    assert!(clean.found.is_empty() && clean.errors.is_empty(), "{clean}");
    for name in [&web, &db] {
        assert!(clean.map.contains(&format!("guest {name}: QEMU process ")), "{clean}");
    }
    // Each cell's and each DIMM's backend, found through libvirt's passthrough to QEMU.
    for backend in ["cell 0's memory (ram-node0, ", "memory device dimm0 (memdimm0, "] {
        let lines = clean.map.lines().filter(|l| l.trim_start().starts_with(backend));
        let bound = lines.filter(|l| l.contains(&format!("; kernel policy bind:{node}, resident ")));
        assert_eq!(bound.count(), 2, "{backend}: {clean}");
    }
    assert!(!clean.map.lines().any(|l| l.starts_with('!')), "{clean}");

    // vCPU 0 of one guest moved onto its vCPU 1's CPU.
    d.virsh(&["vcpupin", &web, "0", &a.to_string(), "--live"]).unwrap();
    let moved = verify(&d, &file, &[]);
    assert_eq!(moved.exit, 1, "{moved}");
    assert_eq!(moved.found, [difference(&web, "vnuma::V0701", "vcpu 0")], "{moved}");
    assert!(moved.errors.is_empty(), "{moved}");
    let other = verify(&d, &file, &["--guest", &db]);
    assert_eq!(other.exit, 0, "{other}");

    // A guest of the file that libvirt does not have, and one it has but does not run: a
    // coded error for each, the others verified, exit code 2 over their difference.
    let (gone, stopped) = (format!("vnumac-gone-{id}"), format!("vnumac-stopped-{id}"));
    let more = scratch.dir.join("more.vnuma");
    std::fs::write(&more, fleet(&[&web, &db, &gone, &stopped], a, b, node)).unwrap();
    let stopped_xml = std::fs::read_to_string(out.join(format!("{db}.xml")))
        .unwrap()
        .replace(&format!("<name>{db}</name>"), &format!("<name>{stopped}</name>"));
    let stopped_path = scratch.dir.join("stopped.xml");
    std::fs::write(&stopped_path, stopped_xml).unwrap();
    d.virsh(&["define", stopped_path.to_str().unwrap()]).unwrap();
    let partly = verify(&d, &more, &[]);
    assert_eq!(partly.exit, 2, "{partly}");
    assert_eq!(partly.found, [difference(&web, "vnuma::V0701", "vcpu 0")], "{partly}");
    assert_eq!(partly.errors.len(), 2, "{partly}");
    let (code, message) = &partly.errors[0];
    assert_eq!(code, vnumac::codes::LIBVIRT, "{partly}");
    assert!(message.contains(&format!("has no domain named `{gone}`")), "{partly}");
    let (code, message) = &partly.errors[1];
    assert_eq!(code, vnumac::codes::LIBVIRT, "{partly}");
    assert!(
        message.contains(&format!("`{stopped}` on")) && message.contains("is not running"),
        "{partly}"
    );
    let alone = verify(&d, &more, &["--guest", &gone]);
    assert_eq!(alone.exit, 2, "{alone}");
    assert!(alone.map.is_empty(), "{alone}");
    d.virsh(&["vcpupin", &web, "0", &b.to_string(), "--live"]).unwrap();

    // The emulator thread of the other guest moved onto its I/O thread's CPU. Without cgroups
    // libvirt moves QEMU's main thread, which is the thread verify compares.
    d.virsh(&["emulatorpin", &db, &b.to_string(), "--live"]).unwrap();
    let moved = verify(&d, &file, &[]);
    assert_eq!(moved.exit, 1, "{moved}");
    assert_eq!(moved.found, [difference(&db, "vnuma::V0703", "emulator")], "{moved}");
}
