//! vnumac: a compiler for NUMA-aware virtual machines.
//!
//! Text → syntax tree ([`syntax`]) → checked model ([`check`], [`ir`]) → libvirt XML and
//! QEMU command lines ([`lower`]), behind incremental queries ([`db`]).

pub mod check;
pub mod codes;
pub mod db;
pub mod diagnostics;
pub mod explain;
pub mod fmt;
#[doc(hidden)]
pub mod fuzz;
pub mod host;
pub mod hotplug;
pub mod ide;
pub mod import;
pub mod ir;
pub mod lang;
pub mod lower;
pub mod migrate;
pub mod names;
pub mod numbers;
pub mod place;
pub mod project;
pub mod sets;
pub mod source;
pub mod span;
pub mod syntax;
pub mod terminal;
pub mod text;
pub mod units;
pub mod verify;
pub mod write;
