//! Semantic checks: files → hosts and guests → the checked model (`ir::Build`).
//!
//! Each file is one pass or one statement kind; the passes of a guest share a context
//! (`cx.rs`), and `guest.rs` only sequences them.

pub mod body;
mod cell_sizes;
pub mod cells;
pub mod checked;
pub mod claims;
pub mod coverage;
pub mod cpu;
pub mod cx;
pub mod devices;
pub mod distances;
pub mod emulator;
pub mod fit;
pub mod floats;
pub mod guest;
pub mod guest_name;
pub mod hmat;
pub mod host_block;
mod host_resctrl;
mod host_target;
pub mod ledger;
pub mod load;
mod machine_type;
pub mod memdev;
pub mod memory;
pub mod neighbours;
pub mod numa;
pub mod pages;
pub mod pins;
pub mod platform;
pub mod policy;
pub mod realtime;
mod resctrl;
mod resctrl_cells;
pub mod resctrl_fit;
pub mod resolve;
pub mod sched;
pub mod shared;
pub mod step;
mod target;
mod thread_pins;
mod threads;
pub mod topology;
mod uses;
pub mod values;
pub mod vcpus;
mod versions;
pub mod vnuma;

/// The language table, also named from here as `check::schema`.
pub use checked::{Checked, HostDef};
pub use emulator::{Emulator, emulator_nodes, emulator_pin, place_emulators};
pub use ledger::{SHARERS_NAMED, record_claims, record_pins};
pub use load::{HostSources, host_name_refuses, load_host, resolve_relative};
pub use resolve::{NoHost, duplicate_names, host_index, resolve_host};
