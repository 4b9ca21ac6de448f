//! Memory hotplug: headroom, memory devices, their backing on the host and their slots.

pub mod devices;
pub mod host;
pub mod pci;

pub use devices::{MemoryDevices, check};
