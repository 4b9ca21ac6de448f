//! `vnumac verify`: a running guest held against its file. Each way to reach a guest
//! ([`reach`]) gives what its monitor says; [`procfs`] reads the rest from /proc, the same
//! for every way; the comparison and the map are the library's (`vnumac::verify`).

mod failure;
mod monitor;
mod procfs;
mod qmp;
mod reach;
mod run;
mod wire;

pub(crate) use qmp::QmpSocket;
pub(crate) use run::{Options, verify};
