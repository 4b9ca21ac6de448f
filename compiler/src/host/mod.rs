//! Host profiles: the model, and every way of getting one (inline block, capabilities XML, /sys).

pub mod builder;
pub mod caps;
pub mod caps_resctrl;
pub mod decl;
pub mod domcaps;
pub mod limits;
pub mod model;
pub mod print;
pub mod resctrl;
pub mod sysfs;
pub mod sysfs_resctrl;
pub mod target;
mod topology;
mod xml;

pub use model::*;
