//! What writing costs: `vnumac build -o DIR` against `vnumac check` on the same
//! 1,000-guest fleet (a 64-node, 8,192-CPU host), the binary run as a user runs it.
//! `build -o` writes 2,000 files; into an empty directory, and over the files of the
//! run before (each kept under a backup name until every rename is done); to tell
//! vnumac's cost from the filesystem's, the same into tmpfs (/dev/shm) when there is one,
//! and the floor: the same 2,000 files created by a plain `fs::write` each (on tmpfs too).
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
    let on_disk = floor(&out, &dir.join("floor"));
    let row = |what: &str, t: f64| println!("{what:<30} {t:>10.3}  {:.2}× check", t / check);
    println!("{:<30} {:>10}", "(1,000 guests)", "median (s)");
    println!("{:<30} {:>10.3}", "check", check);
    row("build -o (empty directory)", fresh);
    row("build -o (over the files)", over);
    row("floor: 2,000 plain fs::write", on_disk);
    let shm = Path::new("/dev/shm");
    if shm.is_dir() {
        let to = shm.join(format!("vnumac-bench-write-{}", std::process::id()));
        let empty = || {
            let _ = std::fs::remove_dir_all(&to);
        };
        row(
            "build -o on tmpfs",
            median(&["build", f, "-o", to.to_str().unwrap()], &empty),
        );
        empty();
        // What creating the same files costs on tmpfs: the part of `build -o` there that
        // is neither checking nor lowering.
        let floor_to = shm.join(format!("vnumac-bench-floor-{}", std::process::id()));
        row("floor on tmpfs", floor(&out, &floor_to));
        let _ = std::fs::remove_dir_all(&floor_to);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// The median of five creations of `out`'s files, each a plain `fs::write` into a fresh
/// directory `to`: what creating the files costs on this filesystem, whoever writes them.
fn floor(out: &Path, to: &Path) -> f64 {
    let files: Vec<(std::ffi::OsString, Vec<u8>)> = std::fs::read_dir(out)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (e.file_name(), std::fs::read(e.path()).unwrap())
        })
        .collect();
    let mut times: Vec<f64> = (0..5)
        .map(|_| {
            let _ = std::fs::remove_dir_all(to);
            std::fs::create_dir_all(to).unwrap();
            let start = Instant::now();
            for (name, bytes) in &files {
                std::fs::write(to.join(name), bytes).unwrap();
            }
            start.elapsed().as_secs_f64()
        })
        .collect();
    times.sort_by(|a, b| a.partial_cmp(b).unwrap());
    times[2]
}
