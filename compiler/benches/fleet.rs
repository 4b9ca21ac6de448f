//! Fleet scale: 10 synthetic 64-node, 8,192-CPU hosts carrying 1,000 and 10,000 automatic
//! guests (`vnuma mode=node`, 4 vCPUs each, half of them `distribution=siblings`), checked
//! as `vnumac check` checks them: the program loaded, every guest checked and placed, the
//! diagnostics gathered. Each scenario runs in a child process so its peak memory is its
//! own; each time is the median of 3 runs in that process.
//! `cargo bench -p vnumac --bench fleet`; figures go in docs/performance.md.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::fmt::Write;
use std::path::Path;
use std::time::Instant;
use support::peak_rss_kib;
use vnumac::db::{self, Database, MemLoader};

/// 2 sockets × 32 nodes × 64 cores × 2 threads; cpu i and i+4096 are siblings.
fn host(s: &mut String, name: &str) {
    let _ = writeln!(s, "host {name} {{\n  smt split");
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
}

/// `guests` guests over 10 hosts, one host after another in turn.
fn fleet(guests: u32) -> String {
    let mut s = String::new();
    for h in 0..10 {
        host(&mut s, &format!("h{h}"));
    }
    for i in 0..guests {
        let dist = if i % 2 == 0 { "" } else { " distribution=siblings" };
        let _ = writeln!(
            s,
            "guest g{i} on=h{} {{\n  memory 4GiB\n  vcpus 4\n  vnuma mode=node{dist}\n}}",
            i % 10
        );
    }
    s
}

fn run(source: &str) -> f64 {
    let db = Database::default();
    let start = Instant::now();
    let program = db::load_program(&db, Path::new("fleet.vnuma"), &MemLoader::new("fleet.vnuma", source)).unwrap();
    let compiled = db::compile(&db, program);
    let t = start.elapsed().as_secs_f64();
    assert!(!compiled.has_errors(), "{:?}", compiled.diagnostics.first());
    t
}

fn scenario(guests: u32) {
    let source = fleet(guests);
    let mut times: Vec<f64> = (0..3).map(|_| run(&source)).collect();
    times.sort_by(|a, b| a.partial_cmp(b).unwrap());
    println!("{guests} {:.4} {:.4} {}", times[1], times[0], peak_rss_kib());
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--scenario") {
        scenario(args[i + 1].parse().unwrap());
        return;
    }
    if args.iter().any(|a| a == "--list") {
        return;
    }
    let exe = std::env::current_exe().unwrap();
    println!(
        "{:<14} {:>12} {:>10} {:>14}",
        "10 hosts", "median (s)", "best (s)", "peak RSS (MiB)"
    );
    let mut medians = Vec::new();
    for guests in [1000, 10000] {
        let out = std::process::Command::new(&exe)
            .args(["--scenario", &guests.to_string()])
            .output()
            .unwrap();
        let line = String::from_utf8_lossy(&out.stdout).to_string();
        let f: Vec<&str> = line.split_whitespace().collect();
        assert!(
            f.len() == 4,
            "{guests}: {line} {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let rss: f64 = f[3].parse::<f64>().unwrap() / 1024.0;
        println!(
            "{:<14} {:>12} {:>10} {:>14.1}",
            format!("{guests} guests"),
            f[1],
            f[2],
            rss
        );
        medians.push(f[1].parse::<f64>().unwrap());
    }
    println!("growth 1,000 → 10,000 guests: {:.2}×", medians[1] / medians[0]);
}
