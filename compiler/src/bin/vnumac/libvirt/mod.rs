//! What libvirt says about a running domain, read through the libvirt project's own Rust
//! bindings (`virt`, behind the `libvirt` feature): the live domain XML, every vCPU's pin and
//! state, the emulator's and every I/O thread's pin, the memory policy, and, through QEMU's
//! monitor, the thread of every vCPU and I/O thread and so QEMU's process (`facts::DomainFacts`).
//!
//! Every call runs on the thread of a `session::Session` and is waited for with a deadline, so a
//! URI that cannot be reached, a daemon that stops answering, a domain that is unknown or not
//! running is a coded `Failure` (exit code 2), never a hang. A vnumac built without the
//! feature answers every request with `Failure::unavailable`.

mod command;
#[cfg(feature = "libvirt")]
mod facts;
mod failure;
#[cfg(feature = "libvirt")]
mod live;
#[cfg(feature = "libvirt")]
mod monitor;
#[cfg(feature = "libvirt")]
mod session;

pub(crate) use command::print_facts;
#[cfg(feature = "libvirt")]
pub(crate) use facts::DomainFacts;
#[cfg(all(test, feature = "libvirt"))]
pub(crate) use facts::{IoThreadFacts, VcpuFacts};
pub(crate) use failure::Failure;
#[cfg(feature = "libvirt")]
pub(crate) use session::Session;
