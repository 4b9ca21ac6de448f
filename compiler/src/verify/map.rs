//! The `explain` map of a running guest: each vCPU with its pin, where its thread may run
//! and where it ran; the emulator and I/O threads; each memory backend with its binding and
//! what the kernel shows. A line with a difference starts with `!` and ends with its codes.

use super::compare::{Difference, Subject};
use super::intent::{Intent, intent};
use super::observed::{Observed, Thread};
use crate::ir::Guest;
use crate::sets::IdSet;
use crate::units::human_kib;
use std::fmt::Write;

/// The map of `g` running as `o`, with `diffs` (from [`differences`](super::compare::differences))
/// marked on their lines.
pub fn map(g: &Guest, o: &Observed, diffs: &[Difference]) -> String {
    let want = intent(g);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "guest {}: QEMU process {}, threads sampled for {} ms; `!` marks a difference\n",
        g.name, o.pid, o.window_ms
    );
    let _ = writeln!(
        out,
        "    VCPU  CELL  STATE    PIN              ALLOWED          RAN ON           THREAD"
    );
    for v in &want.vcpus {
        let seen = o.vcpus.iter().find(|x| x.id == v.id).map(|x| &x.thread);
        let (allowed, ran, tid) = columns(seen);
        let line = format!(
            "{:>6}  {:>4}  {:<7}  {:<15}  {allowed:<15}  {ran:<15}  {tid}",
            v.id,
            v.cell.map_or("-".into(), |c| c.to_string()),
            if v.online { "online" } else { "offline" },
            pin(v.pin.as_ref()),
        );
        marked(&mut out, &line, diffs, &Subject::Vcpu(v.id));
    }
    for x in o.vcpus.iter().filter(|x| x.id as usize >= want.vcpus.len()) {
        let (allowed, ran, tid) = columns(Some(&x.thread));
        let line = format!(
            "{:>6}  {:>4}  {:<7}  {:<15}  {allowed:<15}  {ran:<15}  {tid}",
            x.id, "-", "extra", "-"
        );
        marked(&mut out, &line, diffs, &Subject::Vcpu(x.id));
    }
    let _ = writeln!(out);
    threads(&mut out, &want, o, diffs);
    let _ = writeln!(out);
    memory(&mut out, &want, o, diffs);
    out
}

/// A thread's allowed CPUs, where it ran and its id, or dashes when it is not there.
fn columns(t: Option<&Thread>) -> (String, String, String) {
    match t {
        Some(t) => (t.allowed.to_string(), ran(&t.ran_on), t.tid.to_string()),
        None => ("-".into(), "-".into(), "-".into()),
    }
}

fn ran(cpus: &IdSet) -> String {
    if cpus.is_empty() {
        "(did not run)".into()
    } else {
        cpus.to_string()
    }
}

fn pin(p: Option<&IdSet>) -> String {
    p.map_or("(any)".into(), ToString::to_string)
}

/// `line`, with a `!` in front and its codes after when `subject` has differences.
fn marked(out: &mut String, line: &str, diffs: &[Difference], subject: &Subject) {
    let codes: Vec<&str> = diffs
        .iter()
        .filter(|d| d.subject == *subject)
        .map(|d| d.code.rsplit("::").next().unwrap_or(d.code))
        .collect();
    if codes.is_empty() {
        let _ = writeln!(out, "  {line}");
    } else {
        let _ = writeln!(out, "! {line}  [{}]", codes.join(", "));
    }
}

/// The emulator thread, then each I/O thread, present or intended.
fn threads(out: &mut String, want: &Intent, o: &Observed, diffs: &[Difference]) {
    let t = &o.emulator;
    let line = format!(
        "emulator thread {}: pin {}, may run on {}, ran on {}",
        t.tid,
        pin(want.emulator.as_ref().map(|(p, _)| p)),
        t.allowed,
        ran(&t.ran_on)
    );
    marked(out, &line, diffs, &Subject::Emulator);
    let mut ids: Vec<&String> = want.iothreads.iter().collect();
    ids.extend(
        o.iothreads
            .iter()
            .map(|t| &t.id)
            .filter(|id| !want.iothreads.contains(id)),
    );
    for id in ids {
        let line = match o.iothreads.iter().find(|t| t.id == *id) {
            Some(t) => format!(
                "I/O thread {id} ({}): pin {}, may run on {}, ran on {}",
                t.thread.tid,
                pin(want
                    .iothreads
                    .iter()
                    .position(|w| w == id)
                    .and_then(|i| want.iothread_pins.get(i))
                    .and_then(Option::as_ref)),
                t.thread.allowed,
                ran(&t.thread.ran_on)
            ),
            None => format!("I/O thread {id}: not there"),
        };
        marked(out, &line, diffs, &Subject::IoThread(id.clone()));
    }
}

/// Each memory backend: its owner, size and binding, then the kernel's policy and where its
/// pages are; then memory devices present that the file does not declare.
fn memory(out: &mut String, want: &Intent, o: &Observed, diffs: &[Difference]) {
    for b in &want.backends {
        let subject = Subject::of(&b.owner);
        let bound = match (&b.binding, b.kernel_mode()) {
            (Some(binding), Some("default")) => {
                format!("bound to host node {} (restrictive: default)", binding.nodes)
            }
            (Some(binding), Some(mode)) => format!(
                "bound to host node {} ({}: {mode}:{})",
                binding.nodes,
                binding.policy.libvirt(),
                binding.nodes
            ),
            _ => "not bound".into(),
        };
        let seen = match o.backends.iter().find(|x| x.id == b.id) {
            None => "not there".into(),
            Some(x) => match &x.mapping {
                None => "not mapped in guest memory".into(),
                Some(m) => {
                    let policies: Vec<String> = m.policies.iter().map(ToString::to_string).collect();
                    let pages: Vec<String> = m
                        .resident_kib
                        .iter()
                        .map(|(n, kib)| format!("{} on node {n}", human_kib(*kib)))
                        .collect();
                    let pages = if pages.is_empty() {
                        "none".into()
                    } else {
                        pages.join(", ")
                    };
                    format!("kernel policy {}, resident {pages}", policies.join(" and "))
                }
            },
        };
        let line = format!("{subject} ({}, {}): {bound}; {seen}", b.id, human_kib(b.kib));
        marked(out, &line, diffs, &subject);
    }
    for id in o
        .memory_devices
        .iter()
        .filter(|d| !want.memory_devices.iter().any(|(w, _)| w == *d))
    {
        marked(
            out,
            &format!("memory device {id}: not in the file"),
            diffs,
            &Subject::MemoryDevice(id.clone()),
        );
    }
    for (id, _) in want
        .memory_devices
        .iter()
        .filter(|(d, _)| !o.memory_devices.contains(d))
    {
        marked(
            out,
            &format!("memory device {id}: not there"),
            diffs,
            &Subject::MemoryDevice(id.clone()),
        );
    }
}
