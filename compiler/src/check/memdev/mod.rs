//! Memory hotplug: headroom, memory devices, their backing on the host and their slots.

mod address;
pub mod address_space;
pub mod devices;
mod headroom;
pub mod host;
mod kinds;
pub mod pci;
mod window;

pub use devices::{MemoryDevices, Target, check, statements};
