//! What a file intends for a running guest, read from its checked model: where each thread
//! may run, which vCPUs are online at boot, and how each memory backend of its QEMU line is
//! bound, each with the statement that says so.

use crate::ir::{Guest, MemBinding, MemPolicy, SchedThreads, ThreadSched};
use crate::lower::qemu::legacy_numa;
use crate::lower::qemu_memory::{GUEST_RAM_BACKEND, cell_backend, device_backend};
use crate::sets::IdSet;
use crate::span::Span;

/// One vCPU: whether it is online at boot, and its pin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntendedVcpu {
    pub id: u32,
    pub cell: Option<u32>,
    pub online: bool,
    /// The host CPUs it may run on; None when nothing pins it.
    pub pin: Option<IdSet>,
    /// The statement that pins it (else the guest's `vnuma`, else the guest).
    pub pin_span: Span,
    /// The `vcpus` statement (else the guest).
    pub state_span: Span,
    /// Its scheduling, when a `sched` statement sets it.
    pub sched: Option<IntendedSched>,
}

/// A thread's scheduling policy and priority, and the `sched` statement that sets it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntendedSched {
    pub sched: ThreadSched,
    pub span: Span,
}

/// What owns a memory backend.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Owner {
    Cell(u32),
    /// The memory of a guest without cells.
    Guest,
    /// A memory device, by its id.
    Device(String),
}

/// One memory backend of the guest's QEMU line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntendedBackend {
    /// Its id on the QEMU line (`ram-node0`, `pc.ram`, `memdimm0`).
    pub id: String,
    pub owner: Owner,
    pub kib: u64,
    /// Its host binding; None when the file binds it nowhere.
    pub binding: Option<MemBinding>,
    pub span: Span,
}

impl IntendedBackend {
    /// The policy the kernel should show for its memory: QEMU's `bind`, `prefer` or
    /// `interleave` on the bound nodes, or `default` for `restrictive` (cgroups only).
    pub fn kernel_mode(&self) -> Option<&'static str> {
        Some(match self.binding.as_ref()?.policy {
            MemPolicy::Strict => "bind",
            MemPolicy::Preferred => "prefer",
            MemPolicy::Interleave => "interleave",
            MemPolicy::Restrictive => "default",
        })
    }
}

/// Everything a file intends for one running guest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Intent {
    /// The guest statement, for what no other statement intends.
    pub guest: Span,
    pub vcpus: Vec<IntendedVcpu>,
    /// The emulator threads' host CPUs and the statement that says so.
    pub emulator: Option<(IdSet, Span)>,
    /// I/O thread ids (`iothread1` …) and, in the same order, their host CPUs.
    pub iothreads: Vec<String>,
    pub iothread_pins: Vec<Option<IdSet>>,
    pub iothread_span: Span,
    /// The emulator thread's scheduling, when a `sched` sets it.
    pub emulator_sched: Option<IntendedSched>,
    /// Each I/O thread's scheduling, in the order of `iothreads`.
    pub iothread_scheds: Vec<Option<IntendedSched>>,
    pub backends: Vec<IntendedBackend>,
    /// Memory device ids (`dimm0`, `virtiomem0`, …) and their statements.
    pub memory_devices: Vec<(String, Span)>,
}

/// The intent of `g`, as its QEMU line and its pins carry it out.
pub fn intent(g: &Guest) -> Intent {
    let s = &g.spans;
    let derived = s.vnuma.unwrap_or(s.guest);
    let mut scheds = Schedules::of(g);
    let vcpus = (0..g.vcpus)
        .map(|id| {
            let pin = g.pins.iter().position(|p| p.vcpu == id);
            IntendedVcpu {
                id,
                cell: g.cells.iter().find(|c| c.vcpus.contains(id)).map(|c| c.id),
                online: g.vcpu_states.iter().find(|v| v.id == id).is_none_or(|v| v.enabled),
                pin: pin.map(|i| g.pins[i].cpus.clone()),
                pin_span: pin.and_then(|i| s.pins.get(i).copied()).unwrap_or(derived),
                state_span: s.vcpus.unwrap_or(s.guest),
                sched: scheds.vcpus.get_mut(id as usize).and_then(Option::take),
            }
        })
        .collect();
    Intent {
        guest: s.guest,
        vcpus,
        emulator: g
            .emulator_pin
            .clone()
            .map(|p| (p, s.emulator.or(s.vnuma).unwrap_or(s.guest))),
        iothreads: (1..=g.iothreads).map(|i| format!("iothread{i}")).collect(),
        iothread_pins: g.iothread_pins.clone(),
        iothread_span: s.iothreads.unwrap_or(s.guest),
        emulator_sched: scheds.emulator,
        iothread_scheds: scheds.iothreads,
        backends: backends(g),
        memory_devices: g
            .memory_devices
            .iter()
            .enumerate()
            .map(|(i, m)| (m.alias(), s.memory_devices.get(i).copied().unwrap_or(s.guest)))
            .collect(),
    }
}

/// The memory backends of the QEMU line: one per cell (none when the machine takes the
/// legacy `-numa node,mem=`, which has no backends), or `pc.ram` for a guest without
/// cells; then one per memory device.
fn backends(g: &Guest) -> Vec<IntendedBackend> {
    let s = &g.spans;
    let mut out = Vec::new();
    if g.cells.is_empty() {
        out.push(IntendedBackend {
            id: GUEST_RAM_BACKEND.to_string(),
            owner: Owner::Guest,
            kib: g.memory_kib,
            binding: g.memory_binding.clone(),
            span: s.memory.unwrap_or(s.guest),
        });
    } else if !legacy_numa(g) {
        for (i, c) in g.cells.iter().enumerate() {
            out.push(IntendedBackend {
                id: cell_backend(c.id),
                owner: Owner::Cell(c.id),
                kib: c.memory_kib,
                binding: c.binding.clone().or_else(|| g.memory_binding.clone()),
                span: s.cells.get(i).copied().or(s.vnuma).unwrap_or(s.guest),
            });
        }
    }
    for (i, m) in g.memory_devices.iter().enumerate() {
        out.push(IntendedBackend {
            id: device_backend(m),
            owner: Owner::Device(m.alias()),
            kib: m.size_kib,
            binding: m.binding.clone(),
            span: s.memory_devices.get(i).copied().unwrap_or(s.guest),
        });
    }
    out
}

/// Which `sched` statement sets each thread of a guest. A checked guest's `vcpus=` sets do
/// not overlap, so this is linear in its vCPUs, I/O threads and statements.
struct Schedules {
    vcpus: Vec<Option<IntendedSched>>,
    iothreads: Vec<Option<IntendedSched>>,
    emulator: Option<IntendedSched>,
}

impl Schedules {
    fn of(g: &Guest) -> Schedules {
        let mut out = Schedules {
            vcpus: vec![None; g.vcpus as usize],
            iothreads: vec![None; g.iothreads as usize],
            emulator: None,
        };
        for (i, sched) in g.sched.iter().enumerate() {
            let it = IntendedSched {
                sched: sched.clone(),
                span: g.spans.sched.get(i).copied().unwrap_or(g.spans.guest),
            };
            let (slots, from, set) = match &sched.threads {
                SchedThreads::Emulator => {
                    out.emulator = Some(it);
                    continue;
                }
                SchedThreads::Vcpus(set) => (&mut out.vcpus, 0, set),
                SchedThreads::IoThreads(set) => (&mut out.iothreads, 1, set),
            };
            for (a, b) in set.runs() {
                for id in a.max(from)..=b {
                    let Some(slot) = slots.get_mut((id - from) as usize) else {
                        break;
                    };
                    *slot = Some(it.clone());
                }
            }
        }
        out
    }
}
