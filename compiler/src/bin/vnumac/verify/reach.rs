//! How a running guest is reached: each way says what the guest's monitor says, as
//! [`Facts`]; reading /proc from there is the same for every way.

use super::failure::Failure;
use vnumac::ir::Guest;
use vnumac::verify::Facts;

/// A way to reach a running guest (a QMP socket; libvirt).
pub(crate) trait Reach {
    /// The monitor's facts about the running guest `g`: its threads, memory backends and
    /// memory devices.
    fn facts(&mut self, g: &Guest) -> Result<Facts, Failure>;

    /// Whether each guest of a file is found by its name (libvirt's domains), so that every
    /// guest of a file can be verified in one run. A QMP socket is one guest's.
    fn by_name(&self) -> bool {
        false
    }
}
