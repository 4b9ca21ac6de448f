//! Placement benchmark with fixed inputs: 1,000 (and 500) guests on a synthetic
//! 64-node, 8,192-CPU host, 600 guests on it that do not all fit (the error path), 500
//! that need a device's node and 600 that need free L3 cache, both of which run out, and
//! 100 guests on the talk's 4-node host.
//! Each scenario runs in a child process so its peak memory is its own.
//! `cargo bench -p vnumac --bench placement`; figures go in docs/performance.md.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::fmt::Write;
use std::path::Path;
use std::time::Instant;
use support::peak_rss_kib;
use vnumac::db::{self, Database, MemLoader};

/// 2 sockets × 32 nodes × 64 cores × 2 threads; cpu i and i+4096 are siblings.
fn big_host() -> String {
    let mut s = String::from("host big {\n  smt split\n");
    for n in 0..64u32 {
        let a = n * 64;
        let _ = writeln!(
            s,
            "  node {n} cpus={}-{},{}-{} memory=512GiB",
            a,
            a + 63,
            a + 4096,
            a + 4096 + 63
        );
    }
    for a in 0..64u32 {
        for b in (a + 1)..64 {
            let d = if a / 32 == b / 32 { 16 } else { 32 };
            let _ = writeln!(s, "  distance {a} {b} {d}");
        }
    }
    s.push_str("}\n");
    s
}

fn fleet(guests: u32) -> String {
    let mut s = big_host();
    for i in 0..guests {
        let dist = if i % 2 == 0 { "" } else { " distribution=siblings" };
        let _ = writeln!(
            s,
            "guest g{i} on=big {{\n  memory 4GiB\n  vcpus 4\n  vnuma mode=node{dist}\n}}"
        );
    }
    s
}

/// 600 guests of 8 dedicated vCPUs (8 cores each) on the 64-node host, which has room for 512.
fn overfull() -> String {
    let mut s = big_host();
    for i in 0..600 {
        let _ = writeln!(
            s,
            "guest g{i} on=big {{\n  memory 4GiB\n  vcpus 8\n  vnuma mode=node\n}}"
        );
    }
    s
}

/// 500 guests of 8 dedicated vCPUs that each need a device of node 0 near
/// (`policy=required`): node 0 is full after 8, and each guest after them is placed as
/// without the device and refused (E0357), as no cell can be on node 0.
fn near(guests: u32) -> String {
    let mut s = big_host().replacen("  smt split\n", "  smt split\n  pci 0000:3b:00.0 node=0\n", 1);
    for i in 0..guests {
        let _ = writeln!(
            s,
            "guest g{i} on=big {{\n  memory 4GiB\n  vcpus 8\n  vnuma mode=node\n  devices {{\n    hostdev 0000:3b:00.0 node=auto policy=required\n  }}\n}}"
        );
    }
    s
}

/// The 64-node host with a 16MiB L3 cache per node (and room for 1,023 resctrl groups),
/// and 600 guests of 4 vCPUs that each
/// take 4MiB of it (`l3=4MiB`): the caches are full after 256, and each guest after them
/// looks first for nodes with a cache that has 4MiB free, of which there are none, then is
/// placed as without `l3=` and refused (E0352).
fn l3_full(guests: u32) -> String {
    let mut s = big_host();
    s.truncate(s.len() - 2);
    for n in 0..64u32 {
        let a = n * 64;
        let cpus = format!("{}-{},{}-{}", a, a + 63, a + 4096, a + 4096 + 63);
        let _ = writeln!(
            s,
            "  cache-bank {n} level=3 size=16MiB cpus={cpus} control=both granularity=1MiB allocs=1024"
        );
    }
    s.push_str("}\n");
    for i in 0..guests {
        let _ = writeln!(
            s,
            "guest g{i} on=big {{\n  memory 4GiB\n  vcpus 4\n  vnuma mode=node l3=4MiB\n}}"
        );
    }
    s
}

fn talk(guests: u32) -> String {
    let mut s = String::from("host peppi from=\"peppi.caps.xml\"\n");
    for i in 0..guests {
        let _ = writeln!(
            s,
            "guest t{i} on=peppi {{\n  memory 2GiB\n  vcpus 2\n  vnuma mode=node pinning=node\n}}"
        );
    }
    s
}

fn run(source: &str, caps: &str) -> (usize, f64) {
    let db = Database::default();
    let start = Instant::now();
    let program = db::load_program(
        &db,
        Path::new("bench.vnuma"),
        &MemLoader::new("bench.vnuma", source).with("peppi.caps.xml", caps),
    )
    .unwrap();
    let compiled = db::compile(&db, program);
    if compiled.has_errors() {
        // The overfull fleet: every guest that fits is placed, 88 do not. The fleet that
        // needs node 0 near: 492 guests find no cell there.
        let errors: Vec<&str> = compiled
            .diagnostics
            .iter()
            .filter(|d| d.is_error())
            .map(|d| d.code)
            .collect();
        let near = errors.len() == 492 && errors.iter().all(|c| *c == "vnuma::E0357");
        let full = errors.iter().all(|c| *c == "vnuma::E0352");
        assert!(
            errors.len() == 2 || near || full,
            "one full error and one summary, or what the scenario expects: {} errors, the first {:?}",
            errors.len(),
            compiled.diagnostics.iter().find(|d| d.is_error())
        );
        return (compiled.checked.build.guests.len(), start.elapsed().as_secs_f64());
    }
    let outputs = db::lower(&db, program);
    (outputs.len(), start.elapsed().as_secs_f64())
}

fn scenario(name: &str) {
    let caps = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/hosts/peppi.caps.xml"))
        .unwrap();
    let source = match name {
        "fleet-500" => fleet(500),
        "fleet-1000" => fleet(1000),
        "overfull-600" => overfull(),
        "talk-100" => talk(100),
        "near-500" => near(500),
        "l3-full-600" => l3_full(600),
        other => panic!("unknown scenario {other}"),
    };
    let mut times = Vec::new();
    let mut guests = 0;
    for _ in 0..5 {
        let (n, t) = run(&source, &caps);
        guests = n;
        times.push(t);
    }
    times.sort_by(|a, b| a.partial_cmp(b).unwrap());
    println!("{name} {guests} {:.4} {:.4} {}", times[2], times[0], peak_rss_kib());
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--scenario") {
        scenario(&args[i + 1]);
        return;
    }
    if args.iter().any(|a| a == "--list") {
        return;
    }
    let exe = std::env::current_exe().unwrap();
    println!(
        "{:<12} {:>7} {:>12} {:>10} {:>14}",
        "scenario", "guests", "median (s)", "best (s)", "peak RSS (MiB)"
    );
    let mut medians = Vec::new();
    for name in [
        "talk-100",
        "fleet-500",
        "fleet-1000",
        "overfull-600",
        "near-500",
        "l3-full-600",
    ] {
        let out = std::process::Command::new(&exe)
            .args(["--scenario", name])
            .output()
            .unwrap();
        let line = String::from_utf8_lossy(&out.stdout).to_string();
        let f: Vec<&str> = line.split_whitespace().collect();
        assert!(f.len() == 5, "{name}: {line} {}", String::from_utf8_lossy(&out.stderr));
        let rss: f64 = f[4].parse::<f64>().unwrap() / 1024.0;
        println!("{:<12} {:>7} {:>12} {:>10} {:>14.1}", f[0], f[1], f[2], f[3], rss);
        medians.push(f[2].parse::<f64>().unwrap());
    }
    println!("growth 500 → 1,000 guests: {:.2}×", medians[2] / medians[1]);
    println!("overfull-600 / fleet-1000: {:.2}×", medians[3] / medians[2]);
    println!("near-500 / fleet-500: {:.2}×", medians[4] / medians[1]);
    println!("l3-full-600 / overfull-600: {:.2}×", medians[5] / medians[3]);
}
