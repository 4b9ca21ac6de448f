//! A running guest as it is, however it was reached: what its monitor says ([`Facts`]) and
//! what /proc then shows of each thread and memory backend ([`Observed`]).

use super::proc::{Mapping, Scheduling};
use crate::sets::IdSet;

/// What a guest's monitor (QMP, or libvirt in front of it) says about the running guest:
/// which threads and memory backends to look at. Reading /proc turns it into [`Observed`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facts {
    /// The QEMU process, when the monitor says it; else it is the process of a vCPU thread.
    pub pid: Option<u32>,
    /// Every present vCPU: its id (as the file numbers them) and its thread id.
    pub vcpus: Vec<(u32, u32)>,
    /// Every I/O thread: its id (`iothread1`, …) and its thread id.
    pub iothreads: Vec<(String, u32)>,
    pub backends: Vec<BackendFacts>,
    /// The ids of the memory devices present (`dimm0`, `virtiomem0`, …).
    pub memory_devices: Vec<String>,
}

/// One memory backend: its id, its size and where QEMU mapped it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackendFacts {
    pub id: String,
    pub bytes: u64,
    /// The host virtual address of its first byte; None when it is in no guest memory.
    pub host_address: Option<u64>,
}

/// One thread of the guest's process, as /proc shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Thread {
    pub tid: u32,
    /// `Cpus_allowed_list`: where it may run.
    pub allowed: IdSet,
    /// Where it was seen running in the sampling window; empty when it did not run.
    pub ran_on: IdSet,
    /// Its scheduling policy and priority at the window's end; None when /proc does not say.
    pub sched: Option<Scheduling>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vcpu {
    pub id: u32,
    pub thread: Thread,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IoThread {
    pub id: String,
    pub thread: Thread,
}

/// A memory backend, with the kernel's view of its memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backend {
    pub id: String,
    pub bytes: u64,
    /// Its mappings' policies and resident pages; None when it is not mapped in the guest.
    pub mapping: Option<Mapping>,
}

/// A running guest as it is: every fact `compare` holds against the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observed {
    pub pid: u32,
    /// Present vCPUs, by id.
    pub vcpus: Vec<Vcpu>,
    /// QEMU's main thread, where the emulator's work runs.
    pub emulator: Thread,
    pub iothreads: Vec<IoThread>,
    pub backends: Vec<Backend>,
    /// The ids of the memory devices present.
    pub memory_devices: Vec<String>,
    /// How long threads were sampled, in milliseconds.
    pub window_ms: u64,
}
