//! What a small build costs above starting the process: `vnumac build` of the talk's guest
//! (`examples/talk-manual-cells.vnuma`, its host read from capabilities XML) against
//! `vnumac --version`, the binary run as a user runs it, output to a pipe. The two are run
//! in turn, 300 times each, so that a busy machine slows both alike; each time is the
//! median. Instructions are counted with callgrind (see docs/performance.md).
//! `cargo bench -p vnumac --bench startup`; figures go in docs/performance.md.
//! `VNUMAC_BENCH_BIN=PATH` times another build of the binary (an older one, to compare).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::Command;
use std::time::Instant;

const RUNS: usize = 300;

/// One run of `vnumac ARGS`, in seconds.
fn run(args: &[&str]) -> f64 {
    let bin = std::env::var_os("VNUMAC_BENCH_BIN").unwrap_or_else(|| env!("CARGO_BIN_EXE_vnumac").into());
    let start = Instant::now();
    let out = Command::new(bin).args(args).output().unwrap();
    let t = start.elapsed().as_secs_f64();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(!out.stdout.is_empty());
    t
}

fn median(mut times: Vec<f64>) -> f64 {
    times.sort_by(|a, b| a.partial_cmp(b).unwrap());
    times[times.len() / 2]
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let talk = root.join("examples/talk-manual-cells.vnuma");
    let talk = talk.to_str().unwrap();
    let (mut version, mut build) = (Vec::new(), Vec::new());
    for _ in 0..RUNS {
        version.push(run(&["--version"]));
        build.push(run(&["build", talk]));
    }
    let (v, b) = (median(version), median(build));
    println!("{:<28} {:>12}", "command", "median (ms)");
    println!("{:<28} {:>12.3}", "vnumac --version", v * 1e3);
    println!("{:<28} {:>12.3}", "vnumac build (talk's guest)", b * 1e3);
    println!("build / --version: {:.2}×", b / v);
}
