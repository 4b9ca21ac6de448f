//! `vnumac libvirt-facts` against a real libvirtd; URIs that cannot be reached.

use std::collections::BTreeSet;
use std::os::unix::net::UnixListener;

use serde_json::Value;

use super::common::xml::{format_set, parse_cpu_list, parse_cpu_set, parse_xml};
use super::common::{Scratch, skip_or_fail};
use super::daemon::Daemon;
use super::setup::{guest, host, oracles};
use super::{assert_libvirt_error, vnumac};

#[test]
fn unreachable_uris_are_coded_errors() {
    let scratch = Scratch::new("libvirt-unreachable").unwrap();
    let missing = format!("qemu:///system?socket={}", scratch.dir.join("none").display());
    let o = vnumac(&["--message-format", "json", "libvirt-facts", "--connect", &missing, "g"]);
    assert_libvirt_error(&o, &["cannot connect to", "none"]);
    // A socket that takes the connection and never answers: libvirt's client would wait
    // for ever; vnumac gives up after --timeout.
    let path = scratch.dir.join("silent");
    let _listener = UnixListener::bind(&path).unwrap();
    let silent = format!("qemu:///system?socket={}", path.display());
    let o = vnumac(&[
        "--message-format",
        "json",
        "libvirt-facts",
        "--connect",
        &silent,
        "g",
        "--timeout",
        "300",
    ]);
    assert_libvirt_error(&o, &["no answer from", "within 300 ms"]);
    // `verify --connect` says the same, for the guest of a file.
    let (_file_dir, file) = super::plain_guest("libvirt-unreachable-file");
    let o = vnumac(&["--message-format", "json", "verify", &file, "--connect", &missing]);
    assert_libvirt_error(&o, &["cannot connect to", "none"]);
    let o = vnumac(&[
        "--message-format",
        "json",
        "verify",
        &file,
        "--connect",
        &silent,
        "--timeout",
        "300",
    ]);
    assert_libvirt_error(&o, &["no answer from", "within 300 ms"]);
}

/// What the guest should show: per vCPU online and pin; the emulator's pin; per I/O thread
/// its pin; the memory policy and each cell's.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Expect {
    vcpus: Vec<(bool, BTreeSet<u32>)>,
    emulator: BTreeSet<u32>,
    iothreads: Vec<(u32, BTreeSet<u32>)>,
    numatune: (String, BTreeSet<u32>),
    memnodes: Vec<(u32, String, BTreeSet<u32>)>,
}

fn set_attr(e: &super::common::xml::Element, key: &str) -> BTreeSet<u32> {
    parse_cpu_set(e.attr(key).unwrap()).unwrap()
}

/// What vnumac's XML intends, read with the tests' own XML reader.
fn intended(xml: &str) -> Expect {
    let root = parse_xml(xml).unwrap();
    let tune = root.at(&["cputune"]).unwrap();
    let pin = |id: u32| {
        let p = tune
            .all("vcpupin")
            .find(|p| p.attr("vcpu") == Some(&id.to_string()))
            .unwrap();
        set_attr(p, "cpuset")
    };
    let vcpus = root
        .at(&["vcpus"])
        .unwrap()
        .all("vcpu")
        .enumerate()
        .map(|(i, v)| {
            assert_eq!(v.attr("id"), Some(i.to_string().as_str()));
            (v.attr("enabled") == Some("yes"), pin(i as u32))
        })
        .collect();
    let iothreads = tune
        .all("iothreadpin")
        .map(|p| (p.attr("iothread").unwrap().parse().unwrap(), set_attr(p, "cpuset")))
        .collect();
    let numa = root.at(&["numatune"]).unwrap();
    let memory = numa.at(&["memory"]).unwrap();
    let memnodes = numa
        .all("memnode")
        .map(|m| {
            let cell = m.attr("cellid").unwrap().parse().unwrap();
            (cell, m.attr("mode").unwrap().to_string(), set_attr(m, "nodeset"))
        })
        .collect();
    Expect {
        vcpus,
        emulator: set_attr(tune.at(&["emulatorpin"]).unwrap(), "cpuset"),
        iothreads,
        numatune: (memory.attr("mode").unwrap().to_string(), set_attr(memory, "nodeset")),
        memnodes,
    }
}

/// A JSON CPU set (a string), or None for null.
fn json_set(v: &Value) -> Option<BTreeSet<u32>> {
    v.as_str().map(|s| parse_cpu_set(s).unwrap())
}

fn json_u32(v: &Value) -> Option<u32> {
    v.as_u64().map(|n| u32::try_from(n).unwrap())
}

/// The facts say what `want` says.
fn facts_as_expected(facts: &Value, want: &Expect, failures: &mut Vec<String>) {
    let mut check = |what: &str, got: String, expected: String| {
        if got != expected {
            failures.push(format!("facts: {what}: {got} where {expected} was intended"));
        }
    };
    let vcpus = facts["vcpus"].as_array().unwrap();
    check("vCPU count", vcpus.len().to_string(), want.vcpus.len().to_string());
    for (i, (v, (online, pin))) in vcpus.iter().zip(&want.vcpus).enumerate() {
        check(&format!("vCPU {i} id"), v["id"].to_string(), i.to_string());
        check(&format!("vCPU {i} online"), v["online"].to_string(), online.to_string());
        let got = json_set(&v["pin"]).map(|s| format_set(&s));
        check(
            &format!("vCPU {i} pin"),
            format!("{got:?}"),
            format!("{:?}", Some(format_set(pin))),
        );
        let thread = if *online { "a thread" } else { "none" };
        let has = if v["thread"].is_u64() { "a thread" } else { "none" };
        check(&format!("vCPU {i} thread"), has.into(), thread.into());
    }
    let emulator = json_set(&facts["emulator_pin"]).map(|s| format_set(&s));
    check(
        "emulator pin",
        format!("{emulator:?}"),
        format!("{:?}", Some(format_set(&want.emulator))),
    );
    let io: Vec<(Option<u32>, Option<String>)> = facts["iothreads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (json_u32(&t["id"]), json_set(&t["pin"]).map(|s| format_set(&s))))
        .collect();
    let io_want: Vec<(Option<u32>, Option<String>)> = want
        .iothreads
        .iter()
        .map(|(id, s)| (Some(*id), Some(format_set(s))))
        .collect();
    check("I/O threads", format!("{io:?}"), format!("{io_want:?}"));
    let tune = &facts["numatune"];
    let (mode, nodes) = &want.numatune;
    check("numatune mode", tune["mode"].to_string(), format!("{mode:?}"));
    check(
        "numatune nodeset",
        format!("{:?}", json_set(&tune["nodeset"])),
        format!("{:?}", Some(nodes)),
    );
    let memnodes: Vec<(Option<u32>, String, Option<BTreeSet<u32>>)> = facts["memnodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                json_u32(&m["cell"]),
                m["mode"].as_str().unwrap_or("").to_string(),
                json_set(&m["nodeset"]),
            )
        })
        .collect();
    let memnodes_want: Vec<(Option<u32>, String, Option<BTreeSet<u32>>)> = want
        .memnodes
        .iter()
        .map(|(c, m, n)| (Some(*c), m.clone(), Some(n.clone())))
        .collect();
    check("memnodes", format!("{memnodes:?}"), format!("{memnodes_want:?}"));
}

/// libvirt's own calls agree with the facts: `virsh vcpupin` (virDomainGetVcpuPinInfo),
/// `emulatorpin`, `iothreadinfo` (virDomainGetIOThreadInfo, the kernel's affinity of each
/// I/O thread on a running domain) and `numatune` (virDomainGetNumaParameters).
fn libvirt_agrees(d: &Daemon, name: &str, facts: &Value, failures: &mut Vec<String>) {
    let rows = |out: String| -> Vec<(String, BTreeSet<u32>)> {
        out.lines()
            .filter_map(|l| l.trim().split_once(char::is_whitespace))
            .map(|(id, set)| (id.trim().to_string(), parse_cpu_set(set.trim()).unwrap()))
            .collect()
    };
    let vcpupin = rows(d.virsh(&["vcpupin", name]).unwrap());
    let ours: Vec<(String, BTreeSet<u32>)> = facts["vcpus"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| (v["id"].to_string(), json_set(&v["pin"]).unwrap()))
        .collect();
    if vcpupin != ours {
        failures.push(format!("virsh vcpupin says {vcpupin:?}, the facts {ours:?}"));
    }
    let emulatorpin = parse_cpu_set(d.virsh(&["emulatorpin", name]).unwrap().trim()).unwrap();
    if Some(&emulatorpin) != json_set(&facts["emulator_pin"]).as_ref() {
        failures.push(format!(
            "virsh emulatorpin says {emulatorpin:?}, the facts {}",
            facts["emulator_pin"]
        ));
    }
    let iothreadinfo = rows(d.virsh(&["iothreadinfo", name]).unwrap());
    let ours: Vec<(String, BTreeSet<u32>)> = facts["iothreads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["id"].to_string(), json_set(&t["pin"]).unwrap()))
        .collect();
    if iothreadinfo != ours {
        failures.push(format!("virsh iothreadinfo says {iothreadinfo:?}, the facts {ours:?}"));
    }
    let numatune = d.virsh(&["numatune", name]).unwrap();
    let field = |key: &str| {
        numatune
            .lines()
            .find_map(|l| l.split_once(':').filter(|(k, _)| k.trim() == key))
            .map(|(_, v)| v.trim().to_string())
    };
    let ours = (
        facts["numatune"]["mode"].as_str().map(str::to_string),
        json_set(&facts["numatune"]["nodeset"]),
    );
    let theirs = (
        field("numa_mode"),
        field("numa_nodeset").map(|s: String| parse_cpu_set(&s).unwrap()),
    );
    if ours != theirs {
        failures.push(format!("virsh numatune says {theirs:?}, the facts {ours:?}"));
    }
}

/// One thread's `Cpus_allowed_list` and name, from /proc.
fn thread(pid: u32, tid: u32) -> (BTreeSet<u32>, String) {
    let dir = format!("/proc/{pid}/task/{tid}");
    let status = std::fs::read_to_string(format!("{dir}/status")).unwrap_or_default();
    let allowed = status
        .lines()
        .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))
        .map(|s| parse_cpu_list(s.trim()).unwrap())
        .unwrap_or_default();
    let comm = std::fs::read_to_string(format!("{dir}/comm")).unwrap_or_default();
    (allowed, comm.trim().to_string())
}

/// The kernel agrees: QEMU's process is the one in libvirt's pid file, every thread the
/// facts name is a thread of it with QEMU's name for it, and runs where the facts pin it.
fn kernel_agrees(d: &Daemon, name: &str, facts: &Value, failures: &mut Vec<String>) {
    let pid_file = std::fs::read_to_string(d.dir.join(format!("run/qemu/{name}.pid"))).unwrap();
    let pid: u32 = pid_file.trim().parse().unwrap();
    if json_u32(&facts["pid"]) != Some(pid) {
        failures.push(format!("pid {} where libvirt's pid file says {pid}", facts["pid"]));
    }
    let mut threads: Vec<(u32, String, Option<BTreeSet<u32>>)> =
        vec![(pid, "qemu-system-x86".into(), json_set(&facts["emulator_pin"]))];
    for v in facts["vcpus"].as_array().unwrap() {
        if let Some(tid) = json_u32(&v["thread"]) {
            threads.push((tid, format!("CPU {}/TCG", v["id"]), json_set(&v["pin"])));
        }
    }
    for t in facts["iothreads"].as_array().unwrap() {
        let tid = json_u32(&t["thread"]).unwrap();
        threads.push((tid, format!("IO iothread{}", t["id"]), json_set(&t["pin"])));
    }
    for (tid, comm, pin) in threads {
        let (allowed, actual) = thread(pid, tid);
        if actual != comm {
            failures.push(format!("thread {tid} of {pid} is {actual:?}, not {comm:?}"));
        }
        if Some(&allowed) != pin.as_ref() {
            failures.push(format!(
                "{comm} (thread {tid}) may run on {allowed:?}, pinned to {pin:?}"
            ));
        }
    }
}

/// Reads the facts of `name` and checks them against `want`, libvirt and the kernel.
fn check(d: &Daemon, name: &str, want: &Expect, when: &str) {
    let o = vnumac(&["libvirt-facts", "--connect", &d.uri, name]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        o.status.success(),
        "{when}: libvirt-facts failed: {stderr}\n{}",
        d.log_text()
    );
    let facts: Value = serde_json::from_slice(&o.stdout).unwrap();
    eprintln!("{when}: {facts}");
    let mut failures = Vec::new();
    assert_eq!(facts["name"], name);
    facts_as_expected(&facts, want, &mut failures);
    libvirt_agrees(d, name, &facts, &mut failures);
    kernel_agrees(d, name, &facts, &mut failures);
    assert!(failures.is_empty(), "{when}:\n{}", failures.join("\n"));
}

#[test]
fn facts_follow_a_real_guest() {
    if !oracles() {
        return;
    }
    let (a, b, node) = match host() {
        Ok(h) => h,
        Err(problem) => return skip_or_fail(&problem),
    };
    let scratch = Scratch::new("libvirt-facts").unwrap();
    let name = format!("vnumac-facts-{}", std::process::id());
    let source = scratch.dir.join("guest.vnuma");
    std::fs::write(&source, guest(&name, a, b, node)).unwrap();
    let built = vnumac(&["build", source.to_str().unwrap()]);
    assert!(built.status.success(), "{}", String::from_utf8_lossy(&built.stderr));
    let xml = String::from_utf8(built.stdout).unwrap();
    let xml_path = scratch.dir.join("guest.xml");
    std::fs::write(&xml_path, &xml).unwrap();
    let mut want = intended(&xml);

    let d = Daemon::start(&scratch.dir.join("libvirt")).unwrap();
    d.virsh(&["define", xml_path.to_str().unwrap()]).unwrap();
    if let Err(e) = d.virsh(&["start", &name]) {
        panic!("{e}\n{}\n{}", d.guest_log(&name), d.log_text());
    }
    check(&d, &name, &want, "as started");

    // Move vCPU 0, the emulator and the I/O thread; plug in vCPU 2.
    d.virsh(&["vcpupin", &name, "0", &a.to_string(), "--live"]).unwrap();
    d.virsh(&["emulatorpin", &name, &b.to_string(), "--live"]).unwrap();
    d.virsh(&["iothreadpin", &name, "1", &a.to_string(), "--live"]).unwrap();
    d.virsh(&["setvcpus", &name, "3", "--live"]).unwrap();
    want.vcpus[0].1 = BTreeSet::from([a]);
    want.vcpus[2].0 = true;
    want.emulator = BTreeSet::from([b]);
    want.iothreads[0].1 = BTreeSet::from([a]);
    check(&d, &name, &want, "after vcpupin, emulatorpin, iothreadpin and setvcpus");

    let json = |args: &[&str]| {
        let mut all = vec!["--message-format", "json", "libvirt-facts", "--connect", &d.uri];
        all.extend(args);
        vnumac(&all)
    };
    assert_libvirt_error(&json(&["nobody"]), &["has no domain named `nobody`"]);
    let stopped = format!("{name}-stopped");
    let other = xml.replace(&format!("<name>{name}</name>"), &format!("<name>{stopped}</name>"));
    let other_path = scratch.dir.join("stopped.xml");
    std::fs::write(&other_path, other).unwrap();
    d.virsh(&["define", other_path.to_str().unwrap()]).unwrap();
    assert_libvirt_error(&json(&[&stopped]), &["is not running", "virsh start"]);
}
