//! The file's intent held against a running guest: one [`Difference`] per fact that is not
//! as intended, each at the statement that intended it.

use super::intent::{IntendedBackend, IntendedSched, Intent, Owner, intent};
use super::observed::{Observed, Thread};
use super::proc::Mapping;
use crate::codes::*;
use crate::diagnostics::Diagnostic;
use crate::ir::Guest;
use crate::sets::IdSet;
use crate::span::Span;
use crate::units::human_kib;

/// What a difference is about.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Subject {
    Vcpu(u32),
    Emulator,
    IoThread(String),
    /// A cell's memory.
    Cell(u32),
    /// The memory of a guest without cells.
    Memory,
    MemoryDevice(String),
}

impl Subject {
    /// What a memory backend's difference is about: its owner.
    pub fn of(owner: &Owner) -> Subject {
        match owner {
            Owner::Cell(c) => Subject::Cell(*c),
            Owner::Guest => Subject::Memory,
            Owner::Device(d) => Subject::MemoryDevice(d.clone()),
        }
    }

    /// A short key for machines: `vcpu 1`, `emulator`, `iothread iothread1`, `cell 0`,
    /// `memory`, `memdev dimm0`.
    pub fn key(&self) -> String {
        match self {
            Subject::Vcpu(v) => format!("vcpu {v}"),
            Subject::Emulator => "emulator".into(),
            Subject::IoThread(t) => format!("iothread {t}"),
            Subject::Cell(c) => format!("cell {c}"),
            Subject::Memory => "memory".into(),
            Subject::MemoryDevice(d) => format!("memdev {d}"),
        }
    }
}

impl std::fmt::Display for Subject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Subject::Vcpu(v) => write!(f, "vCPU {v}"),
            Subject::Emulator => f.write_str("the emulator thread"),
            Subject::IoThread(t) => write!(f, "I/O thread {t}"),
            Subject::Cell(c) => write!(f, "cell {c}'s memory"),
            Subject::Memory => f.write_str("the guest's memory"),
            Subject::MemoryDevice(d) => write!(f, "memory device {d}"),
        }
    }
}

/// One fact of the running guest that is not what the file intends.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Difference {
    pub code: &'static str,
    pub subject: Subject,
    /// What the file intends, in a few words (`host CPUs 1`, `bind:0`, `online`).
    pub intended: String,
    /// What the guest shows, in the same words.
    pub actual: String,
    /// The statement that intended it.
    pub span: Span,
}

impl Difference {
    /// The difference as a diagnostic of the file, at the statement that intended it.
    pub fn diagnostic(&self) -> Diagnostic {
        Diagnostic::error(
            self.code,
            format!(
                "{}: {}, but the file intends {}",
                self.subject, self.actual, self.intended
            ),
            self.span,
            format!("intends {}", self.intended),
        )
    }
}

/// Every difference between what `g` intends and the running guest `o`, in the file's order
/// of things: vCPUs, the emulator, I/O threads, memory backends, memory devices.
pub fn differences(g: &Guest, o: &Observed) -> Vec<Difference> {
    let want = intent(g);
    let mut out = Vec::new();
    vcpus(&want, o, &mut out);
    if let Some((pin, span)) = &want.emulator
        && let Some((intended, actual)) = affinity(pin, &o.emulator)
    {
        out.push(Difference {
            code: EMULATOR_AFFINITY,
            subject: Subject::Emulator,
            intended,
            actual,
            span: *span,
        });
    }
    scheduling(&want.emulator_sched, &o.emulator, Subject::Emulator, &mut out);
    iothreads(&want, o, &mut out);
    for b in &want.backends {
        backend(b, o, &mut out);
    }
    devices(&want, o, &mut out);
    out
}

/// [`differences`] as diagnostics of the file.
pub fn compare(g: &Guest, o: &Observed) -> Vec<Diagnostic> {
    differences(g, o).iter().map(Difference::diagnostic).collect()
}

/// Where a thread may and did run against its pin: None when both are within it and it may
/// run on all of it.
fn affinity(pin: &IdSet, t: &Thread) -> Option<(String, String)> {
    if t.allowed == *pin && t.ran_on.is_subset(pin) {
        return None;
    }
    let ran = if t.ran_on.is_empty() {
        "did not run in the window".to_string()
    } else {
        format!("ran on {}", t.ran_on)
    };
    Some((
        format!("host CPUs {pin}"),
        format!("thread {} may run on host CPUs {} and {ran}", t.tid, t.allowed),
    ))
}

/// A thread a `sched` statement sets, scheduled otherwise: another policy, or a real-time
/// policy at another priority. Threads no `sched` sets are not compared, and neither is a
/// thread whose scheduling /proc does not show.
fn scheduling(want: &Option<IntendedSched>, t: &Thread, subject: Subject, out: &mut Vec<Difference>) {
    let (Some(want), Some(seen)) = (want, t.sched) else {
        return;
    };
    let policy = want.sched.policy;
    let priority_ok = !policy.realtime() || want.sched.priority.is_none_or(|p| p == seen.priority);
    if seen.policy == policy.linux() && priority_ok {
        return;
    }
    out.push(Difference {
        code: THREAD_SCHED,
        subject,
        intended: format!("scheduling {}", want.sched.describe()),
        actual: format!("thread {} is scheduled {seen}", t.tid),
        span: want.span,
    });
}

fn vcpus(want: &Intent, o: &Observed, out: &mut Vec<Difference>) {
    for v in &want.vcpus {
        let seen = o.vcpus.iter().find(|x| x.id == v.id);
        if seen.is_some() != v.online {
            let word = |on: bool| if on { "online" } else { "offline" };
            out.push(Difference {
                code: VCPU_PRESENCE,
                subject: Subject::Vcpu(v.id),
                intended: format!("{} at boot", word(v.online)),
                actual: if v.online { "absent" } else { "present" }.to_string(),
                span: v.state_span,
            });
        }
        if let (Some(seen), Some(pin)) = (seen, &v.pin)
            && let Some((intended, actual)) = affinity(pin, &seen.thread)
        {
            out.push(Difference {
                code: VCPU_AFFINITY,
                subject: Subject::Vcpu(v.id),
                intended,
                actual,
                span: v.pin_span,
            });
        }
        if let Some(seen) = seen {
            scheduling(&v.sched, &seen.thread, Subject::Vcpu(v.id), out);
        }
    }
    let count = want.vcpus.len();
    for x in o.vcpus.iter().filter(|x| x.id as usize >= count) {
        out.push(Difference {
            code: VCPU_PRESENCE,
            subject: Subject::Vcpu(x.id),
            intended: format!("{count} vCPUs"),
            actual: "present".into(),
            span: want.vcpus.first().map_or(want.guest, |v| v.state_span),
        });
    }
}

fn iothreads(want: &Intent, o: &Observed, out: &mut Vec<Difference>) {
    let span = want.iothread_span;
    let scheds = want.iothread_scheds.iter().chain(std::iter::repeat(&None));
    for ((id, pin), sched) in want.iothreads.iter().zip(&want.iothread_pins).zip(scheds) {
        let Some(seen) = o.iothreads.iter().find(|t| t.id == *id) else {
            out.push(Difference {
                code: IOTHREAD_PRESENCE,
                subject: Subject::IoThread(id.clone()),
                intended: "present".into(),
                actual: "absent".into(),
                span,
            });
            continue;
        };
        if let Some(pin) = pin
            && let Some((intended, actual)) = affinity(pin, &seen.thread)
        {
            out.push(Difference {
                code: IOTHREAD_AFFINITY,
                subject: Subject::IoThread(id.clone()),
                intended,
                actual,
                span,
            });
        }
        scheduling(sched, &seen.thread, Subject::IoThread(id.clone()), out);
    }
    for t in o.iothreads.iter().filter(|t| !want.iothreads.contains(&t.id)) {
        out.push(Difference {
            code: IOTHREAD_PRESENCE,
            subject: Subject::IoThread(t.id.clone()),
            intended: format!("{} I/O threads", want.iothreads.len()),
            actual: "present".into(),
            span,
        });
    }
}

fn backend(b: &IntendedBackend, o: &Observed, out: &mut Vec<Difference>) {
    let diff = |code, intended: String, actual: String| Difference {
        code,
        subject: Subject::of(&b.owner),
        intended,
        actual,
        span: b.span,
    };
    let Some(seen) = o.backends.iter().find(|x| x.id == b.id) else {
        out.push(diff(
            MEMORY_BACKEND,
            format!("backend {}", b.id),
            format!("QEMU has no backend {}", b.id),
        ));
        return;
    };
    let Some(mapping) = &seen.mapping else {
        out.push(diff(
            MEMORY_BACKEND,
            format!("backend {} in guest memory", b.id),
            format!("backend {} is not mapped in guest memory", b.id),
        ));
        return;
    };
    let (Some(binding), Some(mode)) = (&b.binding, b.kernel_mode()) else {
        return;
    };
    let intended = if mode == "default" {
        format!("default (cgroups keep it on host node {})", binding.nodes)
    } else {
        format!("{mode}:{}", binding.nodes)
    };
    let wrong: Vec<String> = mapping
        .policies
        .iter()
        .filter(|p| !same_policy(mode, &binding.nodes, &p.mode, &p.nodes))
        .map(ToString::to_string)
        .collect();
    if !wrong.is_empty() {
        let actual = format!("backend {} has policy {}", b.id, wrong.join(" and "));
        out.push(diff(MEMORY_POLICY, intended, actual));
    }
    if let Some(off) = off_node(mapping, &binding.nodes) {
        out.push(diff(
            PAGES_OFF_NODE,
            format!("pages on host node {}", binding.nodes),
            off,
        ));
    }
}

/// Whether the kernel's `mode:nodes` is QEMU's `intended` on `nodes` (a preferred policy on
/// several nodes shows as `preferred_many`; `default` has no nodes).
fn same_policy(intended: &str, nodes: &IdSet, mode: &str, seen: &IdSet) -> bool {
    match intended {
        "default" => mode == "default",
        "prefer" => matches!(mode, "prefer" | "preferred_many") && seen == nodes,
        _ => mode == intended && seen == nodes,
    }
}

/// Resident memory on host nodes outside `nodes`, said as `6MiB on host node 1`.
fn off_node(m: &Mapping, nodes: &IdSet) -> Option<String> {
    let off: Vec<String> = m
        .resident_kib
        .iter()
        .filter(|(n, kib)| **kib > 0 && !nodes.contains(**n))
        .map(|(n, kib)| format!("{} resident on host node {n}", human_kib(*kib)))
        .collect();
    (!off.is_empty()).then(|| off.join(", "))
}

fn devices(want: &Intent, o: &Observed, out: &mut Vec<Difference>) {
    for (id, span) in &want.memory_devices {
        if !o.memory_devices.contains(id) {
            out.push(Difference {
                code: MEMORY_DEVICE_PRESENCE,
                subject: Subject::MemoryDevice(id.clone()),
                intended: "present".into(),
                actual: "absent".into(),
                span: *span,
            });
        }
    }
    let fallback = want.guest;
    for id in o
        .memory_devices
        .iter()
        .filter(|d| !want.memory_devices.iter().any(|(w, _)| w == *d))
    {
        out.push(Difference {
            code: MEMORY_DEVICE_PRESENCE,
            subject: Subject::MemoryDevice(id.clone()),
            intended: format!("{} memory devices", want.memory_devices.len()),
            actual: "present".into(),
            span: fallback,
        });
    }
}
