//! `vnumac verify`: a running guest held against what its file intends. The intent is read
//! from the checked model ([`intent`]); what the guest shows ([`Observed`]) is gathered by
//! the command line from QEMU's monitor ([`Facts`], [`monitor`]) and /proc ([`proc`]); then
//! [`differences`] says what differs, each at the statement that intended it, and [`map`]
//! draws the `explain` map with every difference marked. Nothing here does I/O.

mod compare;
mod intent;
mod map;
pub mod monitor;
mod observed;
pub mod proc;
#[cfg(test)]
mod tests;

pub use compare::{Difference, Subject, compare, differences};
pub use intent::{IntendedBackend, IntendedVcpu, Intent, Owner, intent};
pub use map::map;
pub use observed::{Backend, BackendFacts, Facts, IoThread, Observed, Thread, Vcpu};
