//! `check` on a fleet of 10,000 automatic guests over 10 hosts of 64 nodes and 8,192 CPUs:
//! every guest keeps the ledger its host had after it, so what a ledger costs is paid
//! 10,000 times. Its cores taken are a bit each and it is held once per guest.

use std::fmt::Write as _;

use crate::harness::{scratch, vnumac_limited};

/// Above what the fleet needs (it checks in 176 MiB of address space), below what it took
/// when each guest held two copies of a ledger with a byte per host core (more than 256).
const FLEET_LIMIT_MIB: u64 = 256;

#[test]
fn ten_thousand_guests_check_in_bounded_memory() {
    let dir = scratch("fleet");
    let mut text = String::new();
    for h in 0..10 {
        let _ = writeln!(text, "host h{h} {{\n  smt split");
        for n in 0..64u32 {
            let a = n * 64;
            let _ = writeln!(
                text,
                "  node {n} cpus={a}-{},{}-{} memory=512GiB",
                a + 63,
                a + 4096,
                a + 4096 + 63
            );
        }
        text.push_str("}\n");
    }
    for i in 0..10_000 {
        let dist = if i % 2 == 0 { "" } else { " distribution=siblings" };
        let _ = writeln!(
            text,
            "guest g{i} on=h{} {{\n  memory 4GiB\n  vcpus 4\n  vnuma mode=node{dist}\n}}",
            i % 10
        );
    }
    std::fs::write(dir.join("fleet.vnuma"), text).unwrap();
    let run = vnumac_limited(&dir, &["check", "fleet.vnuma"], FLEET_LIMIT_MIB);
    run.assert_code(0);
    assert!(
        run.stderr.is_empty(),
        "{}",
        run.stderr.chars().take(2000).collect::<String>()
    );
}
