//! Which threads of a host's guests may run on given host CPUs: one sweep over the CPU runs
//! of every group of threads, answering for each CPU asked about how many vCPUs may run
//! there and a few of the groups that may.
//!
//! The cost is the runs of the groups' CPU sets (sorted once) and the CPUs asked about, never
//! groups times CPUs: a guest pinned to a whole node is one group of a run or two.

use crate::sets::IdSet;
use crate::span::Span;
use std::collections::{BTreeSet, HashMap};

/// What a group of threads is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThreadKind {
    Vcpus { realtime: bool },
    Emulator,
    IoThreads,
}

/// Threads of one guest that may run on the same host CPUs.
#[derive(Debug, Clone)]
pub struct ThreadGroup<'a> {
    /// Index of the guest among those checked.
    pub guest: usize,
    pub kind: ThreadKind,
    /// vCPU ids, or I/O thread ids; empty for the emulator.
    pub members: IdSet,
    /// None: the threads are not pinned and may run on any host CPU.
    pub cpus: Option<&'a IdSet>,
    /// The statement their CPUs come from.
    pub span: Span,
}

impl ThreadGroup<'_> {
    fn weight(&self) -> u64 {
        match self.kind {
            ThreadKind::Vcpus { .. } => self.members.len() as u64,
            _ => 0,
        }
    }
}

/// What may run on one host CPU.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Probe {
    /// How many vCPUs may run here.
    pub vcpus: u64,
    /// The first two groups of vCPUs that may (by index).
    pub vcpu_groups: [Option<usize>; 2],
    /// The first group of vCPUs that are not real-time.
    pub other_vcpus: Option<usize>,
    /// The first group of emulator or I/O threads.
    pub service: Option<usize>,
}

/// A [`Probe`] for each CPU of `at`.
pub fn probe(groups: &[ThreadGroup<'_>], at: &IdSet) -> HashMap<u32, Probe> {
    // (position, starts, group): a run [a, b] starts at a and ends at b + 1.
    let mut events: Vec<(u64, bool, usize)> = Vec::new();
    for (i, g) in groups.iter().enumerate() {
        match g.cpus {
            Some(set) => {
                for (a, b) in set.runs() {
                    events.push((u64::from(a), true, i));
                    events.push((u64::from(b) + 1, false, i));
                }
            }
            None => events.push((0, true, i)),
        }
    }
    events.sort_unstable();
    let mut vcpus: BTreeSet<usize> = BTreeSet::new();
    let mut other_vcpus: BTreeSet<usize> = BTreeSet::new();
    let mut service: BTreeSet<usize> = BTreeSet::new();
    let mut weight = 0u64;
    let mut next = events.iter().peekable();
    let mut out = HashMap::new();
    for cpu in at.iter() {
        while let Some(&&(pos, starts, i)) = next.peek() {
            if pos > u64::from(cpu) {
                break;
            }
            next.next();
            let g = &groups[i];
            let set = match g.kind {
                ThreadKind::Vcpus { realtime } => {
                    if !realtime {
                        toggle(&mut other_vcpus, i, starts);
                    }
                    weight = if starts {
                        weight + g.weight()
                    } else {
                        weight.saturating_sub(g.weight())
                    };
                    &mut vcpus
                }
                ThreadKind::Emulator | ThreadKind::IoThreads => &mut service,
            };
            toggle(set, i, starts);
        }
        let mut first = vcpus.iter().copied();
        out.insert(
            cpu,
            Probe {
                vcpus: weight,
                vcpu_groups: [first.next(), first.next()],
                other_vcpus: other_vcpus.first().copied(),
                service: service.first().copied(),
            },
        );
    }
    out
}

fn toggle(set: &mut BTreeSet<usize>, i: usize, on: bool) {
    if on {
        set.insert(i);
    } else {
        set.remove(&i);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group<'a>(kind: ThreadKind, members: &str, cpus: Option<&'a IdSet>) -> ThreadGroup<'a> {
        ThreadGroup {
            guest: 0,
            kind,
            members: IdSet::parse(members).unwrap_or_default(),
            cpus,
            span: Span::default(),
        }
    }

    #[test]
    fn counts_vcpus_and_finds_groups_per_cpu() {
        let (a, b, c) = (
            IdSet::parse("1").unwrap_or_default(),
            IdSet::parse("0-3,8").unwrap_or_default(),
            IdSet::parse("3").unwrap_or_default(),
        );
        let rt = ThreadKind::Vcpus { realtime: true };
        let plain = ThreadKind::Vcpus { realtime: false };
        let groups = vec![
            group(rt, "0", Some(&a)),
            group(plain, "1-2", Some(&b)),
            group(ThreadKind::Emulator, "", Some(&c)),
            group(ThreadKind::IoThreads, "1", None),
        ];
        let p = probe(&groups, &IdSet::parse("1,3,5,8").unwrap_or_default());
        assert_eq!(p[&1].vcpus, 3);
        assert_eq!(p[&1].vcpu_groups, [Some(0), Some(1)]);
        assert_eq!(p[&1].other_vcpus, Some(1));
        // The I/O threads are not pinned: they may run anywhere.
        assert_eq!(p[&1].service, Some(3));
        assert_eq!(p[&3].vcpus, 2);
        assert_eq!(p[&3].service, Some(2));
        assert_eq!(p[&5].vcpus, 0);
        assert_eq!(p[&5].vcpu_groups, [None, None]);
        assert_eq!(p[&5].service, Some(3));
        assert_eq!(p[&8].vcpus, 2);
        assert_eq!(p[&8].other_vcpus, Some(1));
    }
}
