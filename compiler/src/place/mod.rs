//! Automatic partitioning (`vnuma`): host nodes → guest cells, vCPUs → cells by a
//! distribution, SMT-aware exclusive pinning, memory split and binding, distances; and the
//! order in which hot-plugged vCPUs come and go.

pub mod cow;
mod guest;
mod hints;
pub mod hotplug;
mod isolate;
mod l3;
mod memory;
mod on_nodes;
mod outcome;
mod pick;
mod pin;
mod request;
mod shape;
pub mod spread;
pub mod topo;

pub use guest::plan;
pub use hints::plan_with_hints;
pub use isolate::shared_cpus;
pub use memory::memory_home;
pub use outcome::{Field, Plan, PlanError, PlannedCell, commit};
pub use request::{Distribution, Isolation, Mode, Pinning, Request};
