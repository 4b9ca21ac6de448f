//! `check` on a fleet whose vCPUs float over other guests' dedicated cores, with isolated
//! threads, shared vCPUs and per-cell I/O threads placed after the fleet: each floating
//! guest names eight of the guests it floats over and sums up the rest, and each distinct
//! set of floating CPUs is looked up once per host.

use std::fmt::Write as _;

use crate::harness::{LIMIT_MIB, scratch, vnumac_limited};

/// 1,000 guests with unpinned vCPUs (each floating over every host CPU) beside 1,000
/// `vnuma` guests that each hold two cores (a dedicated vCPU and an isolated emulator
/// thread), with a shared vCPU and a per-cell I/O thread placed after all of them.
#[test]
fn a_fleet_floating_over_dedicated_cores_warns_in_bounded_memory() {
    let dir = scratch("floats");
    let mut text = String::from("host h {\n");
    for n in 0..16 {
        let _ = writeln!(text, "  node {n} cpus={}-{} memory=1TiB", n * 128, n * 128 + 127);
    }
    text.push_str("}\n");
    for i in 0..1_000 {
        let _ = writeln!(
            text,
            "guest loose{i} on=h {{\n  memory 1GiB\n  vcpus 2\n}}\n\
             guest d{i} on=h {{\n  memory 1GiB\n  vcpus 2\n  vnuma mode=node shared-vcpus=1\n  \
             emulator policy=isolate\n  iothreads per-cell\n}}"
        );
    }
    std::fs::write(dir.join("fleet.vnuma"), text).unwrap();
    let run = vnumac_limited(&dir, &["check", "--message-format", "json", "fleet.vnuma"], LIMIT_MIB);
    run.assert_code(0).assert_diag("W0513");
    assert!(
        run.stderr
            .contains("float over the dedicated cores of more guests than the 8 named"),
        "{}",
        run.stderr.chars().take(2000).collect::<String>()
    );
    assert!(
        !run.stderr.contains("vnuma::E"),
        "{}",
        run.stderr.chars().take(2000).collect::<String>()
    );
}
