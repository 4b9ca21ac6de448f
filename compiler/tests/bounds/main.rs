//! Bounded cost: inputs crafted to expand (huge id sets, many cells, many guests sharing
//! CPUs, huge tokens) are run through the real `vnumac` binary under an address-space limit
//! (`ulimit -v`), so a regression that allocates without bound fails here as an abort or a
//! kill, not as a slow test. Time is measured by `cargo bench -p vnumac --bench hostile`, never
//! asserted here. Each area has a module of its own.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod check;
mod devices;
mod fleet;
mod harness;
mod hosts;
mod import;
mod includes;
mod pc_devices;
mod resctrl;
mod sched;
mod target;
mod threads;
mod tokens;

use harness::{LIMIT_MIB, scratch, vnumac_limited};

/// The harness itself: an ordinary example checks under the limit, and the limit bites.
#[test]
fn harness_limits_address_space() {
    let dir = scratch("harness");
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/talk-manual-cells.vnuma");
    vnumac_limited(&dir, &["check", example], LIMIT_MIB).assert_code(0);
    let starved = vnumac_limited(&dir, &["check", example], 1);
    assert_ne!(
        (starved.code, starved.signal),
        (Some(0), None),
        "1 MiB is not enough to start"
    );
}
