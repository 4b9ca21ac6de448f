//! Real-time vCPUs across the guests of a build: each needs a host CPU of its own
//! ([`REALTIME_NOT_ALONE`]), and its core free of other threads ([`REALTIME_NEIGHBOUR`]).
//! Runs on the final model: after `vnuma` placed its guests and their emulator threads.

use super::checked::HostDef;
use super::neighbours::{Probe, ThreadGroup, ThreadKind, probe};
use crate::codes::*;
use crate::diagnostics::Diagnostic;
use crate::host::HostProfile;
use crate::ir::{Guest, SchedThreads};
use crate::sets::IdSet;
use crate::span::{FileId, Span};
use std::collections::{BTreeMap, HashMap};

/// A guest of the build as the real-time checks see it.
pub struct RtGuest<'a> {
    pub guest: &'a Guest,
    pub host: Option<usize>,
    /// The CPUs its emulator threads run on; for a placed guest, decided after it was built.
    pub emulator: Option<&'a IdSet>,
    /// Where its relative spans belong ([`Span::relocate`]).
    pub file: FileId,
    pub at: u32,
}

impl RtGuest<'_> {
    fn span(&self, s: Span) -> Span {
        s.relocate(self.file, self.at)
    }

    /// The statement that decides where its vCPUs, emulator or I/O threads run.
    fn anchor(&self, written: Option<Span>) -> Span {
        self.span(written.or(self.guest.spans.vnuma).unwrap_or(self.guest.spans.name))
    }
}

/// One `sched` statement with real-time vCPUs, and what its vCPUs lack.
struct RtLine {
    guest: usize,
    /// Index into the guest's `sched`.
    line: usize,
    unpinned: Vec<u32>,
    /// vCPUs pinned to several CPUs, with the first one's pin.
    several: Vec<u32>,
    several_pin: Option<usize>,
    /// (vCPU, its one host CPU).
    own: Vec<(u32, u32)>,
}

/// W0509 and W0510 for every guest with real-time vCPUs.
pub fn check(guests: &[RtGuest<'_>], hosts: &[Option<&HostDef>]) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let lines: Vec<RtLine> = guests
        .iter()
        .enumerate()
        .flat_map(|(i, g)| rt_lines(i, g.guest))
        .collect();
    if lines.is_empty() {
        return out;
    }
    for line in &lines {
        alone(guests, line, &mut out);
    }
    // The hosts with real-time vCPUs pinned to one CPU each, with their lines and guests.
    let mut rt_hosts: BTreeMap<usize, (Vec<&RtLine>, Vec<usize>)> = BTreeMap::new();
    for l in lines.iter().filter(|l| !l.own.is_empty()) {
        if let Some(h) = guests[l.guest].host {
            rt_hosts.entry(h).or_default().0.push(l);
        }
    }
    for (i, g) in guests.iter().enumerate() {
        if let Some((_, on_host)) = g.host.and_then(|h| rt_hosts.get_mut(&h)) {
            on_host.push(i);
        }
    }
    for (h, (here, on_host)) in rt_hosts {
        if let Some(host) = hosts.get(h).copied().flatten() {
            shared_cores(guests, &on_host, &here, &host.profile, &mut out);
        }
    }
    out
}

/// The guest's `sched` lines with real-time vCPUs, each vCPU sorted by how it is pinned.
fn rt_lines(guest: usize, g: &Guest) -> Vec<RtLine> {
    let mut out = Vec::new();
    for (line, s) in g.sched.iter().enumerate() {
        let SchedThreads::Vcpus(set) = &s.threads else { continue };
        if !s.policy.realtime() {
            continue;
        }
        let mut l = RtLine {
            guest,
            line,
            unpinned: Vec::new(),
            several: Vec::new(),
            several_pin: None,
            own: Vec::new(),
        };
        for v in set.iter() {
            let pin = g.pins.binary_search_by_key(&v, |p| p.vcpu).ok();
            match pin.map(|i| (i, g.pins[i].cpus.only())) {
                None => l.unpinned.push(v),
                Some((_, Some(cpu))) => l.own.push((v, cpu)),
                Some((i, None)) => {
                    l.several_pin.get_or_insert(i);
                    l.several.push(v);
                }
            }
        }
        out.push(l);
    }
    out
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// Real-time vCPUs that are not pinned, or pinned to several CPUs.
fn alone(guests: &[RtGuest<'_>], l: &RtLine, out: &mut Vec<Diagnostic>) {
    let rg = &guests[l.guest];
    let g = rg.guest;
    let at = rg.span(g.spans.sched.get(l.line).copied().unwrap_or(g.spans.name));
    if !l.unpinned.is_empty() {
        let set = IdSet::from_ids(l.unpinned.iter().copied());
        out.push(
            Diagnostic::warning(
                REALTIME_NOT_ALONE,
                format!(
                    "real-time vCPU{} {set} {} not pinned: the host may run {} on any of its CPUs",
                    plural(l.unpinned.len()),
                    if l.unpinned.len() == 1 { "is" } else { "are" },
                    if l.unpinned.len() == 1 { "it" } else { "them" },
                ),
                at,
                "not pinned",
            )
            .with_help(
                "give each real-time vCPU a host CPU of its own: `pin vcpus=N cpus=C`, one CPU per vCPU, or `vnuma` with `pinning=cpu`",
            ),
        );
    }
    if let (Some(&v), Some(i)) = (l.several.first(), l.several_pin) {
        let set = IdSet::from_ids(l.several.iter().copied());
        let cpus = &g.pins[i].cpus;
        let mut d = Diagnostic::warning(
            REALTIME_NOT_ALONE,
            if l.several.len() == 1 {
                format!("real-time vCPU {v} may run on several host CPUs ({cpus})")
            } else {
                format!("real-time vCPUs {set} may each run on several host CPUs (vCPU {v} on {cpus})")
            },
            at,
            "not one CPU each",
        );
        if let Some(p) = g.spans.pins.get(i) {
            d = d.with_label(rg.span(*p), format!("pinned to {cpus} here"));
        }
        out.push(d.with_help(
            "pin each real-time vCPU to one host CPU of its own (`pin vcpus=N cpus=C`, or `vnuma` with `pinning=cpu`)",
        ));
    }
}

/// The groups of threads of the guests on one host: vCPUs by CPU set and real-time or not,
/// the emulator threads, the I/O threads.
fn thread_groups<'a>(guests: &[RtGuest<'a>], on_host: &[usize]) -> Vec<ThreadGroup<'a>> {
    let mut out: Vec<ThreadGroup<'a>> = Vec::new();
    for &gi in on_host {
        let rg = &guests[gi];
        let g = rg.guest;
        let realtime = g
            .sched
            .iter()
            .filter(|s| s.policy.realtime())
            .filter_map(|s| match &s.threads {
                SchedThreads::Vcpus(set) => Some(set),
                _ => None,
            })
            .flat_map(IdSet::runs)
            .collect::<Vec<_>>();
        // One sort of every run, not a union per statement.
        let realtime = IdSet::from_runs(realtime);
        let base = out.len();
        let mut index: HashMap<(Option<&IdSet>, bool), usize> = HashMap::new();
        let mut members: Vec<Vec<u32>> = Vec::new();
        let mut pins = g.pins.iter().enumerate().peekable();
        for v in 0..g.vcpus {
            let pin = pins.next_if(|(_, p)| p.vcpu == v);
            let key = (pin.map(|(_, p)| &p.cpus), realtime.contains(v));
            let at = *index.entry(key).or_insert_with(|| {
                let span = match pin {
                    Some((i, _)) => rg.span(g.spans.pins.get(i).copied().unwrap_or(g.spans.name)),
                    None => rg.anchor(g.spans.vcpus),
                };
                out.push(ThreadGroup {
                    guest: gi,
                    kind: ThreadKind::Vcpus { realtime: key.1 },
                    members: IdSet::new(),
                    cpus: key.0,
                    span,
                });
                members.push(Vec::new());
                out.len() - 1
            });
            if let Some(m) = members.get_mut(at - base) {
                m.push(v);
            }
        }
        for (k, m) in members.into_iter().enumerate() {
            out[base + k].members = IdSet::from_ids(m);
        }
        out.push(ThreadGroup {
            guest: gi,
            kind: ThreadKind::Emulator,
            members: IdSet::new(),
            cpus: rg.emulator,
            span: rg.anchor(g.spans.emulator),
        });
        iothread_groups(rg, gi, &mut out);
    }
    out
}

/// A guest's I/O threads, a group per set of CPUs (or none).
fn iothread_groups<'a>(rg: &RtGuest<'a>, gi: usize, out: &mut Vec<ThreadGroup<'a>>) {
    let g = rg.guest;
    let mut by_pin: Vec<(Option<&'a IdSet>, Vec<u32>)> = Vec::new();
    let mut index: HashMap<Option<&'a IdSet>, usize> = HashMap::new();
    for k in 1..=g.iothreads {
        let pin = g.iothread_pins.get(k as usize - 1).and_then(Option::as_ref);
        let at = *index.entry(pin).or_insert_with(|| {
            by_pin.push((pin, Vec::new()));
            by_pin.len() - 1
        });
        if let Some((_, members)) = by_pin.get_mut(at) {
            members.push(k);
        }
    }
    out.extend(by_pin.into_iter().map(|(cpus, members)| ThreadGroup {
        guest: gi,
        kind: ThreadKind::IoThreads,
        members: IdSet::from_ids(members),
        cpus,
        span: rg.anchor(g.spans.iothreads),
    }));
}

/// The core a host CPU belongs to, by its first thread: the CPU's siblings that the host has.
fn core_key(host: &HostProfile, cpu: u32) -> (u32, bool) {
    match host.cpu(cpu) {
        Some(c) if c.siblings.contains(cpu) => (c.siblings.first().unwrap_or(cpu), true),
        _ => (cpu, false),
    }
}

fn core_cpus(host: &HostProfile, cpu: u32) -> IdSet {
    match host.cpu(cpu) {
        Some(c) if c.siblings.contains(cpu) => c.siblings.iter().filter(|t| host.cpu(*t).is_some()).collect(),
        _ => IdSet::single(cpu),
    }
}

/// Who may run on one core, besides real-time vCPUs: the first emulator or I/O thread (with
/// its CPU), and other vCPUs on up to two of its CPUs.
#[derive(Default)]
struct CoreUse {
    service: Option<(u32, usize)>,
    vcpus: Vec<(u32, usize)>,
}

/// Real-time vCPUs pinned to one CPU each: no other vCPU may run there (W0509), and no other
/// thread on that CPU or its SMT siblings (W0510).
fn shared_cores(
    guests: &[RtGuest<'_>],
    on_host: &[usize],
    lines: &[&RtLine],
    host: &HostProfile,
    out: &mut Vec<Diagnostic>,
) {
    let groups = thread_groups(guests, on_host);
    let mut cores: HashMap<(u32, bool), IdSet> = HashMap::new();
    for &(_, cpu) in lines.iter().flat_map(|l| &l.own) {
        cores.entry(core_key(host, cpu)).or_insert_with(|| core_cpus(host, cpu));
    }
    let asked = IdSet::from_runs(cores.values().flat_map(IdSet::runs));
    let probes = probe(&groups, &asked);
    let uses: HashMap<(u32, bool), CoreUse> = cores
        .iter()
        .map(|(key, cpus)| {
            let mut u = CoreUse::default();
            for x in cpus.iter() {
                let Some(p) = probes.get(&x) else { continue };
                if u.service.is_none() {
                    u.service = p.service.map(|gi| (x, gi));
                }
                if u.vcpus.len() < 2
                    && let Some(gi) = p.other_vcpus
                {
                    u.vcpus.push((x, gi));
                }
            }
            (*key, u)
        })
        .collect();
    let cx = Found {
        guests,
        groups: &groups,
        probes: &probes,
    };
    for l in lines {
        let mut shares: Vec<(u32, u32, usize, u32)> = Vec::new();
        let mut beside: Vec<(u32, u32, u32, usize)> = Vec::new();
        for &(v, cpu) in &l.own {
            if let Some((gi, who)) = cx.sharer(l.guest, v, cpu) {
                shares.push((v, cpu, gi, who));
            }
            // Another vCPU on `cpu` itself is the sharer's warning; here, its siblings.
            let near = uses
                .get(&core_key(host, cpu))
                .and_then(|u| u.service.or_else(|| u.vcpus.iter().copied().find(|(x, _)| *x != cpu)));
            if let Some((x, gi)) = near {
                beside.push((v, cpu, x, gi));
            }
        }
        out.extend(cx.shared_warning(l, &shares));
        out.extend(cx.neighbour_warning(l, &beside));
    }
}

/// What the sweep found, to name it.
struct Found<'a, 'g> {
    guests: &'a [RtGuest<'g>],
    groups: &'a [ThreadGroup<'g>],
    probes: &'a HashMap<u32, Probe>,
}

impl Found<'_, '_> {
    /// Another vCPU that may run on `cpu`, where real-time vCPU `v` of guest `guest` runs:
    /// (its group, a vCPU of it).
    fn sharer(&self, guest: usize, v: u32, cpu: u32) -> Option<(usize, u32)> {
        let p = self.probes.get(&cpu)?;
        if p.vcpus < 2 {
            return None;
        }
        p.vcpu_groups.iter().flatten().find_map(|&gi| {
            let g = &self.groups[gi];
            let who = g.members.iter().find(|&u| g.guest != guest || u != v)?;
            Some((gi, who))
        })
    }

    /// How a group's thread is called in a message about guest `me`.
    fn name(&self, gi: usize, who: u32, me: usize) -> String {
        let g = &self.groups[gi];
        let whose = if g.guest == me {
            String::new()
        } else {
            format!(" of guest `{}`", self.guests[g.guest].guest.name)
        };
        let of = if whose.is_empty() {
            " of this guest"
        } else {
            whose.as_str()
        };
        match g.kind {
            ThreadKind::Vcpus { realtime: true } => format!("real-time vCPU {who}{whose}"),
            ThreadKind::Vcpus { realtime: false } => format!("vCPU {who}{whose}"),
            ThreadKind::Emulator => format!("the emulator threads{of}"),
            ThreadKind::IoThreads => format!("I/O threads {}{of}", g.members),
        }
    }

    /// Where a group may run, for the label at its statement.
    fn label(&self, gi: usize, cpu: u32) -> String {
        match self.groups[gi].cpus {
            Some(_) => format!("may run on host CPU {cpu}"),
            None => "not pinned: may run on any host CPU".to_string(),
        }
    }

    fn line_span(&self, l: &RtLine) -> Span {
        let rg = &self.guests[l.guest];
        rg.span(rg.guest.spans.sched.get(l.line).copied().unwrap_or(rg.guest.spans.name))
    }

    fn shared_warning(&self, l: &RtLine, shares: &[(u32, u32, usize, u32)]) -> Option<Diagnostic> {
        let &(v, cpu, gi, who) = shares.first()?;
        let other = self.name(gi, who, l.guest);
        let more = if shares.len() > 1 {
            let all = IdSet::from_ids(shares.iter().map(|s| s.0));
            format!("; real-time vCPUs {all} share theirs")
        } else {
            String::new()
        };
        Some(
            Diagnostic::warning(
                REALTIME_NOT_ALONE,
                format!("real-time vCPU {v} shares host CPU {cpu} with {other}{more}"),
                self.line_span(l),
                "shares its CPU",
            )
            .with_label(self.groups[gi].span, self.label(gi, cpu))
            .with_help(
                "a real-time vCPU that shares its CPU starves the other thread or waits behind it; give each real-time vCPU a host CPU no other vCPU may run on",
            ),
        )
    }

    /// `beside`: (real-time vCPU, its CPU, the CPU of the thread beside it, the thread's group).
    fn neighbour_warning(&self, l: &RtLine, beside: &[(u32, u32, u32, usize)]) -> Option<Diagnostic> {
        let &(v, cpu, x, gi) = beside.first()?;
        let thread = self.name(gi, self.groups[gi].members.first().unwrap_or(0), l.guest);
        let place = if x == cpu {
            format!("host CPU {cpu}, where real-time vCPU {v} runs")
        } else {
            format!("host CPU {x}, an SMT sibling of CPU {cpu} where real-time vCPU {v} runs")
        };
        let more = if beside.len() > 1 {
            let all = IdSet::from_ids(beside.iter().map(|s| s.0));
            format!("; real-time vCPUs {all} have such neighbours")
        } else {
            String::new()
        };
        Some(
            Diagnostic::warning(
                REALTIME_NEIGHBOUR,
                format!("{thread} may run on {place}{more}"),
                self.line_span(l),
                "real-time",
            )
            .with_label(self.groups[gi].span, self.label(gi, x))
            .with_help(
                "keep other threads off a real-time vCPU's core: pin the emulator and I/O threads to other cores (`emulator cpus=…`, `iothreads N cpus=…`; for a `vnuma` guest, `reserve cpus=…` on the host), and leave the core's other threads to real-time vCPUs or idle",
            ),
        )
    }
}
