//! Memory hotplug: headroom, memory devices, their backing on the host and their slots.

mod address;
pub mod devices;
mod headroom;
pub mod host;
mod kinds;
pub mod pci;

pub use devices::{MemoryDevices, check, statements};
