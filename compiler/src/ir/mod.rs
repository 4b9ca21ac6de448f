//! The checked model: everything the backends need, already validated and resolved.
//! Lowering reads only this, so libvirt XML and the QEMU line cannot disagree.

mod cells;
mod devices;
mod guest;
mod machine;
mod machine_types;
mod memory;
mod resctrl;
mod sched;

pub use cells::*;
pub use devices::*;
pub use guest::*;
pub use machine::*;
pub use machine_types::*;
pub use memory::*;
pub use resctrl::*;
pub use sched::*;
