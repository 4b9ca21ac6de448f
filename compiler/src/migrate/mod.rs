//! `vnumac migrate`: a guest moved to another host without changing what it sees. What
//! the guest sees (vCPUs, topology, cells, distances, HMAT, memory and its devices, every
//! device and address) stays as built on the source; its host side (vCPU, emulator and
//! I/O thread pins, memory bindings) is planned again on the destination, after the
//! guests the destination already carries.
//!
//! `usage` reads what the guest uses of its source host, node by node; `assign` finds a
//! destination node for each source node; `repin`, `threads` and `bind` make the pins and
//! bindings there; `refuse` says why a guest cannot move; `plan` sequences them;
//! `program` finds the guest and both hosts in a checked program; `diff` prints what moves.

mod assign;
mod bind;
mod dest;
mod diff;
mod distances;
mod plan;
mod program;
mod realtime;
mod refuse;
mod repin;
mod threads;
mod usage;

pub use dest::Dest;
pub use diff::diff;
pub use plan::{Moved, Refused, move_guest};
pub use program::{Failure, Migration, To, migrate};

#[cfg(test)]
mod tests;
