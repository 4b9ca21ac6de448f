//! What Linux says about a process, read from the text of its /proc files: a thread's
//! allowed CPUs and process id (`status`), where and whether it ran (`stat`, `schedstat`),
//! and the memory policy and resident pages of each mapping (`numa_maps`). Reading the
//! files is the caller's; everything here is text in, facts out, linear in the text.

use crate::sets::IdSet;
use std::collections::BTreeMap;

/// The value of `key:` in a `status` file.
fn status_field<'a>(status: &'a str, key: &str) -> Option<&'a str> {
    status.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        (k == key).then(|| v.trim())
    })
}

/// `Cpus_allowed_list`: the host CPUs a thread may run on.
pub fn allowed_cpus(status: &str) -> Option<IdSet> {
    IdSet::parse(status_field(status, "Cpus_allowed_list")?).ok()
}

/// `Tgid`: the process a thread belongs to.
pub fn tgid(status: &str) -> Option<u32> {
    status_field(status, "Tgid")?.parse().ok()
}

/// One look at a thread: its state, how long it has run so far, and the CPU it last ran on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sample {
    /// `stat` field 3: `R` running or runnable, `S` sleeping, …
    pub state: char,
    /// Time it has run: `schedstat`'s nanoseconds when the kernel keeps them, else
    /// `stat`'s user and system clock ticks (fields 14 and 15).
    pub ran: u64,
    /// `stat` field 39: the CPU it last ran on.
    pub processor: u32,
    /// `stat` fields 41 and 40: its scheduling policy and real-time priority; None when the
    /// line stops before them.
    pub sched: Option<Scheduling>,
}

/// A thread's scheduling policy as Linux numbers it (`SCHED_OTHER` 0, `SCHED_FIFO` 1,
/// `SCHED_RR` 2, `SCHED_BATCH` 3, `SCHED_IDLE` 5, `SCHED_DEADLINE` 6), and its real-time
/// priority (0 unless the policy is FIFO or RR).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scheduling {
    pub policy: u32,
    pub priority: u32,
}

impl Scheduling {
    /// The policy's name as libvirt writes it (`other` for `SCHED_OTHER`).
    pub fn name(&self) -> String {
        match self.policy {
            0 => "other".into(),
            1 => "fifo".into(),
            2 => "rr".into(),
            3 => "batch".into(),
            5 => "idle".into(),
            6 => "deadline".into(),
            n => format!("policy {n}"),
        }
    }
}

impl std::fmt::Display for Scheduling {
    /// `fifo 1`, `rr 10`, `batch`, `other`: the policy, with its priority when it has one.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if matches!(self.policy, 1 | 2) {
            write!(f, "{} {}", self.name(), self.priority)
        } else {
            f.write_str(&self.name())
        }
    }
}

/// A thread's `stat` line (and its `schedstat`, when readable) as a [`Sample`]. The command
/// name (field 2) may hold spaces and parentheses: fields are counted after its last `)`.
pub fn sample(stat: &str, schedstat: Option<&str>) -> Option<Sample> {
    let after = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = after.split_whitespace().take(39).collect();
    // Field N of the line is fields[N - 3].
    let field = |n: usize| fields.get(n - 3).copied();
    let state = field(3)?.chars().next()?;
    let ticks = field(14)?
        .parse::<u64>()
        .ok()?
        .saturating_add(field(15)?.parse::<u64>().ok()?);
    let processor = field(39)?.parse().ok()?;
    let ran = schedstat
        .and_then(|s| s.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(ticks);
    let number = |n: usize| field(n).and_then(|f| f.parse::<u32>().ok());
    let sched = match (number(41), number(40)) {
        (Some(policy), Some(priority)) => Some(Scheduling { policy, priority }),
        _ => None,
    };
    Some(Sample {
        state,
        ran,
        processor,
        sched,
    })
}

/// The CPUs a thread was seen on over a window of samples: a sample counts when the thread
/// was running or runnable then, or has run since the sample before. (A thread that slept
/// through the window keeps the CPU it last ran on, perhaps before it was pinned: it did not
/// run here, so it counts nowhere.)
pub fn ran_on(samples: &[Sample]) -> IdSet {
    let mut cpus = IdSet::new();
    let mut before: Option<&Sample> = None;
    for s in samples {
        if s.state == 'R' || before.is_some_and(|b| s.ran > b.ran) {
            cpus.insert(s.processor);
        }
        before = Some(s);
    }
    cpus
}

/// A memory policy as `numa_maps` shows it: `bind:0-1`, `prefer:1`, `interleave:0,2`,
/// `default`, `local`, … (`=static` or `=relative` flags are dropped).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct KernelPolicy {
    pub mode: String,
    /// Empty for `default` and `local`.
    pub nodes: IdSet,
}

impl KernelPolicy {
    pub fn parse(word: &str) -> Option<KernelPolicy> {
        let (head, nodes) = match word.split_once(':') {
            Some((h, n)) => (h, IdSet::parse(n).ok()?),
            None => (word, IdSet::new()),
        };
        let (mode, flags) = head.split_once('=').unwrap_or((head, ""));
        let word = |w: &str, extra: u8| w.bytes().all(|b| b.is_ascii_lowercase() || b == b'_' || b == extra);
        if mode.is_empty() || !word(mode, b'_') || !word(flags, b'|') {
            return None;
        }
        Some(KernelPolicy {
            mode: mode.to_string(),
            nodes,
        })
    }
}

impl std::fmt::Display for KernelPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.nodes.is_empty() {
            f.write_str(&self.mode)
        } else {
            write!(f, "{}:{}", self.mode, self.nodes)
        }
    }
}

/// One line of `numa_maps`: a mapping's start address, policy and resident pages per node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vma {
    pub start: u64,
    pub policy: KernelPolicy,
    /// Resident KiB per host node (`N<node>=<pages>` times `kernelpagesize_kB`).
    pub resident_kib: BTreeMap<u32, u64>,
}

/// Every line of `numa_maps` that reads as one (others are left out), by start address.
pub fn numa_maps(text: &str) -> Vec<Vma> {
    let mut vmas: Vec<Vma> = text.lines().filter_map(vma).collect();
    vmas.sort_by_key(|v| v.start);
    vmas
}

fn vma(line: &str) -> Option<Vma> {
    let mut words = line.split_whitespace();
    let start = u64::from_str_radix(words.next()?, 16).ok()?;
    let policy = KernelPolicy::parse(words.next()?)?;
    let mut pages: BTreeMap<u32, u64> = BTreeMap::new();
    let mut page_kib = 4;
    for w in words {
        let Some((k, v)) = w.split_once('=') else { continue };
        if k == "kernelpagesize_kB" {
            page_kib = v.parse().ok()?;
        } else if let Some(node) = k.strip_prefix('N').and_then(|n| n.parse::<u32>().ok()) {
            *pages.entry(node).or_default() += v.parse::<u64>().ok()?;
        }
    }
    let resident_kib = pages
        .into_iter()
        .map(|(n, p)| (n, p.saturating_mul(page_kib)))
        .collect();
    Some(Vma {
        start,
        policy,
        resident_kib,
    })
}

/// What the kernel shows of one memory backend: the mappings that start inside it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Mapping {
    /// Each policy its mappings have, once, in address order.
    pub policies: Vec<KernelPolicy>,
    /// Resident KiB per host node, over all its mappings.
    pub resident_kib: BTreeMap<u32, u64>,
}

/// The mappings of `vmas` (sorted by start, as [`numa_maps`] gives them) that start in
/// `[base, base + bytes)`, or None when none does.
pub fn mapping(vmas: &[Vma], base: u64, bytes: u64) -> Option<Mapping> {
    let end = base.saturating_add(bytes);
    let first = vmas.partition_point(|v| v.start < base);
    let mut m = Mapping::default();
    let mut any = false;
    for v in vmas[first..].iter().take_while(|v| v.start < end) {
        any = true;
        if !m.policies.contains(&v.policy) {
            m.policies.push(v.policy.clone());
        }
        for (n, kib) in &v.resident_kib {
            *m.resident_kib.entry(*n).or_default() += kib;
        }
    }
    any.then_some(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_gives_allowed_cpus_and_the_process() {
        let status = "Name:\tCPU 0/TCG\nTgid:\t4242\nPid:\t4250\nCpus_allowed:\t3\nCpus_allowed_list:\t0-1,4\n";
        assert_eq!(allowed_cpus(status), Some(IdSet::parse("0-1,4").unwrap()));
        assert_eq!(tgid(status), Some(4242));
        assert_eq!(allowed_cpus("Name:\tx\n"), None);
        assert_eq!(allowed_cpus("Cpus_allowed_list:\tgarbage\n"), None);
    }

    #[test]
    fn stat_fields_are_counted_after_the_command_name() {
        // A command name with spaces and a parenthesis, as QEMU names its vCPU threads.
        let mut fields = vec!["0"; 50];
        fields[0] = "R";
        fields[11] = "7";
        fields[12] = "5";
        fields[36] = "3";
        fields[37] = "10";
        fields[38] = "1";
        let stat = format!("4250 (CPU 0/TCG) x) {}", fields.join(" "));
        let s = sample(&stat, None).unwrap();
        assert_eq!((s.state, s.ran, s.processor), ('R', 12, 3));
        let sched = s.sched.unwrap();
        assert_eq!((sched.policy, sched.priority), (1, 10));
        assert_eq!(sched.to_string(), "fifo 10");
        // A line that stops after the processor has no scheduling.
        let short = format!("4250 (CPU 0/TCG) {}", fields[..37].join(" "));
        assert_eq!(sample(&short, None).unwrap().sched, None);
        let s = sample(&stat, Some("123456 99 4\n")).unwrap();
        assert_eq!(s.ran, 123_456);
        assert_eq!(sample("4250 (short) S 1 2", None), None);
        assert_eq!(sample("no parenthesis", None), None);
    }

    #[test]
    fn a_thread_ran_where_it_was_running_or_had_run_since_the_last_look() {
        let s = |state, ran, processor| Sample {
            state,
            ran,
            processor,
            sched: None,
        };
        // Asleep throughout on a CPU it ran on before: nowhere.
        assert!(ran_on(&[s('S', 5, 3), s('S', 5, 3)]).is_empty());
        // Ran between the first two looks (on 1), was running at the third (on 0).
        let cpus = ran_on(&[s('S', 5, 3), s('S', 9, 1), s('R', 9, 0)]);
        assert_eq!(cpus, IdSet::parse("0-1").unwrap());
    }

    #[test]
    fn policies_read_as_numa_maps_writes_them() {
        for (word, mode, nodes) in [
            ("bind:0", "bind", "0"),
            ("bind=static:0-1", "bind", "0-1"),
            ("prefer:1", "prefer", "1"),
            ("interleave:0,2", "interleave", "0,2"),
            ("preferred_many:0-1", "preferred_many", "0-1"),
        ] {
            let p = KernelPolicy::parse(word).unwrap();
            assert_eq!(p.mode, mode);
            assert_eq!(p.nodes, IdSet::parse(nodes).unwrap());
        }
        assert_eq!(KernelPolicy::parse("default").unwrap().to_string(), "default");
        assert_eq!(KernelPolicy::parse("bind=static:0").unwrap().to_string(), "bind:0");
        assert!(KernelPolicy::parse("file=/usr/bin/x").is_none());
        assert!(KernelPolicy::parse("bind:x").is_none());
    }

    #[test]
    fn a_backend_is_the_mappings_that_start_inside_it() {
        let text = "\
55ca5d524000 default heap anon=1120 dirty=1120 N0=1120 kernelpagesize_kB=4
7f30efe00000 bind:0 anon=1536 dirty=1536 active=0 N0=1536 kernelpagesize_kB=4
7f30f0000000 bind:0 anon=2 N0=1 N1=1 kernelpagesize_kB=2048
7f30ffe00000 default
not a line
";
        let vmas = numa_maps(text);
        assert_eq!(vmas.len(), 4);
        let m = mapping(&vmas, 0x7f30efe00000, 0x10000000).unwrap();
        assert_eq!(m.policies, vec![KernelPolicy::parse("bind:0").unwrap()]);
        assert_eq!(m.resident_kib, BTreeMap::from([(0, 1536 * 4 + 2048), (1, 2048)]));
        assert_eq!(mapping(&vmas, 0x1000, 0x1000), None);
    }
}
