//! `vnumac verify`: a running guest held against its file. Each way to reach a guest
//! ([`reach`]: a QMP socket, [`qmp`]; libvirt, `libvirt`) gives what its monitor says, the
//! memory questions asked alike ([`monitor`]); [`procfs`] reads the rest from /proc, the
//! same for every way; the comparison and the map are the library's (`vnumac::verify`).

mod command;
mod failure;
#[cfg(feature = "libvirt")]
mod libvirt;
mod monitor;
mod procfs;
mod qmp;
mod reach;
mod run;
mod wire;

pub(crate) use command::command;
pub(crate) use run::Options;
