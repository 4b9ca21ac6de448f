//! `vnumac migrate` benchmark with fixed inputs, on two synthetic 64-node, 8,192-CPU hosts
//! (the source carries 900 guests, the destination 500): a 64-cell guest that fits the
//! destination; the same guest onto a destination with a free core on no more than 32
//! nodes, which does not fit and spends the search's whole budget over every grouping
//! (the expensive case); and a 128-cell guest whose cells share nodes.
//! Each scenario runs in a child process so its peak memory is its own.
//! `cargo bench -p vnumac --bench migrate`; figures go in docs/performance.md.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::fmt::Write;
use std::path::Path;
use std::time::Instant;
use support::peak_rss_kib;
use vnumac::db::{self, Database, MemLoader};
use vnumac::migrate::{Failure, To};

/// 2 sockets × 32 nodes × 64 cores × 2 threads; cpu i and i+4096 are siblings.
fn big_host(name: &str, reserve: Option<u32>) -> String {
    let mut s = format!("host {name} {{\n  smt split\n");
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
    if let Some(n) = reserve {
        // Every core of the first `n` nodes reserved: no free core there.
        let cpus: Vec<String> = (0..n).map(|k| format!("{}-{}", k * 64, k * 64 + 63)).collect();
        let _ = writeln!(s, "  reserve cpus={}", cpus.join(","));
    }
    s.push_str("}\n");
    s
}

fn guests(s: &mut String, host: &str, count: u32) {
    for i in 0..count {
        let _ = writeln!(
            s,
            "guest {host}{i} on={host} {{\n  memory 4GiB\n  vcpus 4\n  vnuma mode=node\n}}"
        );
    }
}

fn program(dest_reserved: Option<u32>, cells: u32) -> String {
    let mut s = big_host("src", None);
    s.push_str(&big_host("dst", dest_reserved));
    let _ = writeln!(
        s,
        "guest mover on=src {{\n  memory 256GiB\n  vcpus 256\n  vnuma mode=host cells={cells} distribution=siblings\n}}"
    );
    guests(&mut s, "src", 900);
    guests(&mut s, "dst", 500);
    s
}

/// Seconds to move (the program already checked), and whether it moved.
fn run(source: &str) -> (f64, bool) {
    let db = Database::default();
    let program = db::load_program(&db, Path::new("bench.vnuma"), &MemLoader::new("bench.vnuma", source)).unwrap();
    let checked = db::check_program(&db, program);
    assert!(
        !checked.has_errors(),
        "{:?}",
        checked.diagnostics.iter().find(|d| d.is_error())
    );
    let start = Instant::now();
    let moved = match vnumac::migrate::migrate(&db, program, "mover", To::Host("dst")) {
        Ok(_) => true,
        Err(Failure::Refused(r)) => {
            assert!(r.no_room, "{:?}", r.errors);
            false
        }
        Err(other) => panic!("{other:?}"),
    };
    (start.elapsed().as_secs_f64(), moved)
}

fn scenario(name: &str) {
    let source = match name {
        "fits-64" => program(None, 64),
        "refused-64" => program(Some(32), 64),
        "shared-128" => program(None, 128),
        other => panic!("unknown scenario {other}"),
    };
    let mut times = Vec::new();
    let mut moved = false;
    for _ in 0..5 {
        let (t, m) = run(&source);
        moved = m;
        times.push(t);
    }
    times.sort_by(|a, b| a.partial_cmp(b).unwrap());
    println!("{name} {moved} {:.4} {:.4} {}", times[2], times[0], peak_rss_kib());
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
        "{:<12} {:>6} {:>12} {:>10} {:>14}",
        "scenario", "moved", "median (s)", "best (s)", "peak RSS (MiB)"
    );
    for name in ["fits-64", "shared-128", "refused-64"] {
        let out = std::process::Command::new(&exe)
            .args(["--scenario", name])
            .output()
            .unwrap();
        let line = String::from_utf8_lossy(&out.stdout).to_string();
        let f: Vec<&str> = line.split_whitespace().collect();
        assert!(f.len() == 5, "{name}: {line} {}", String::from_utf8_lossy(&out.stderr));
        let rss: f64 = f[4].parse::<f64>().unwrap() / 1024.0;
        println!("{:<12} {:>6} {:>12} {:>10} {:>14.1}", f[0], f[1], f[2], f[3], rss);
    }
}
