//! Host profiles: the model, and every way of getting one (inline block, capabilities XML, /sys).

pub mod builder;
pub mod caps;
pub mod decl;
pub mod domcaps;
pub mod limits;
pub mod model;
pub mod print;
pub mod sysfs;
pub mod target;

pub use model::*;
