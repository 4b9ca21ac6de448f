//! What writing costs: `vnumac build -o DIR` against `vnumac check` on the same
//! 1,000-guest fleet (a 64-node, 8,192-CPU host), the binary run as a user runs it.
//! `build -o` writes 2,000 files; into an empty directory, and over the files of the
//! run before (each kept under a backup name until every rename is done).
//! `cargo bench -p vnumac --bench write`; figures go in docs/performance.md.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fmt::Write;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

fn fleet(guests: u32) -> String {
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
    s.push_str("}\n");
    for i in 0..guests {
        let _ = writeln!(
            s,
            "guest g{i} on=big {{\n  memory 4GiB\n  vcpus 4\n  vnuma mode=node\n}}"
        );
    }
    s
}

/// The median of five runs of `vnumac ARGS`, in seconds.
fn median(args: &[&str], before: &dyn Fn()) -> f64 {
    let mut times: Vec<f64> = (0..5)
        .map(|_| {
            before();
            let start = Instant::now();
            let out = Command::new(env!("CARGO_BIN_EXE_vnumac")).args(args).output().unwrap();
            let t = start.elapsed().as_secs_f64();
            assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
            t
        })
        .collect();
    times.sort_by(|a, b| a.partial_cmp(b).unwrap());
    times[2]
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let dir = std::env::temp_dir().join(format!("vnumac-bench-write-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("fleet.vnuma");
    std::fs::write(&file, fleet(1000)).unwrap();
    let out = dir.join("out");
    let (f, o) = (file.to_str().unwrap(), out.to_str().unwrap());
    let nothing = || {};
    let empty = || {
        let _ = std::fs::remove_dir_all(Path::new(o));
    };
    let check = median(&["check", f], &nothing);
    let fresh = median(&["build", f, "-o", o], &empty);
    let over = median(&["build", f, "-o", o], &nothing);
    assert_eq!(
        std::fs::read_dir(&out).unwrap().count(),
        2000,
        "no temporary or backup file left"
    );
    println!("{:<28} {:>10}", "command (1,000 guests)", "median (s)");
    println!("{:<28} {:>10.3}", "check", check);
    println!(
        "{:<28} {:>10.3}  {:.2}× check",
        "build -o (empty directory)",
        fresh,
        fresh / check
    );
    println!(
        "{:<28} {:>10.3}  {:.2}× check",
        "build -o (over the files)",
        over,
        over / check
    );
    let _ = std::fs::remove_dir_all(&dir);
}
