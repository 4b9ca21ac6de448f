//! How the host schedules a guest's threads: libvirt's `<vcpusched>`, `<iothreadsched>` and
//! `<emulatorsched>`, which it applies with `sched_setscheduler` after QEMU starts.

use crate::sets::IdSet;
use std::collections::BTreeMap;

/// A Linux scheduling policy libvirt can set (`SCHED_OTHER`, the default, has no element).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SchedPolicy {
    Batch,
    Idle,
    Fifo,
    Rr,
}

impl SchedPolicy {
    pub fn from_word(word: &str) -> Option<SchedPolicy> {
        match word {
            "batch" => Some(SchedPolicy::Batch),
            "idle" => Some(SchedPolicy::Idle),
            "fifo" => Some(SchedPolicy::Fifo),
            "rr" => Some(SchedPolicy::Rr),
            _ => None,
        }
    }

    /// libvirt's `scheduler` attribute.
    pub fn libvirt(self) -> &'static str {
        match self {
            SchedPolicy::Batch => "batch",
            SchedPolicy::Idle => "idle",
            SchedPolicy::Fifo => "fifo",
            SchedPolicy::Rr => "rr",
        }
    }

    /// The policy's number in Linux (`SCHED_FIFO` is 1, `SCHED_RR` 2, `SCHED_BATCH` 3,
    /// `SCHED_IDLE` 5), as /proc shows it.
    pub fn linux(self) -> u32 {
        match self {
            SchedPolicy::Fifo => 1,
            SchedPolicy::Rr => 2,
            SchedPolicy::Batch => 3,
            SchedPolicy::Idle => 5,
        }
    }

    /// `SCHED_FIFO` and `SCHED_RR`: real-time policies, which take a priority.
    pub fn realtime(self) -> bool {
        matches!(self, SchedPolicy::Fifo | SchedPolicy::Rr)
    }
}

/// The priorities Linux takes for the real-time policies (`sched_get_priority_min/max`).
pub const REALTIME_PRIORITIES: (u32, u32) = (1, 99);

/// Which of a guest's threads one `sched` statement sets.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SchedThreads {
    Vcpus(IdSet),
    /// I/O thread ids, from 1.
    IoThreads(IdSet),
    Emulator,
}

/// One scheduling setting, as written.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ThreadSched {
    pub threads: SchedThreads,
    pub policy: SchedPolicy,
    /// Only for the real-time policies, 1 to 99.
    pub priority: Option<u32>,
}

impl ThreadSched {
    /// `fifo 1`, `rr 10`, `batch`: the policy with its priority.
    pub fn describe(&self) -> String {
        match self.priority {
            Some(p) => format!("{} {p}", self.policy.libvirt()),
            None => self.policy.libvirt().to_string(),
        }
    }
}

/// The `sched` setting of each vCPU, found through the runs of the `vcpus=` sets: linear
/// in the runs to build, logarithmic to ask.
pub struct VcpuSched<'a> {
    runs: BTreeMap<u32, (u32, &'a ThreadSched)>,
}

impl<'a> VcpuSched<'a> {
    pub fn new(sched: &'a [ThreadSched]) -> VcpuSched<'a> {
        let mut runs = BTreeMap::new();
        for s in sched {
            if let SchedThreads::Vcpus(set) = &s.threads {
                for (a, b) in set.runs() {
                    runs.insert(a, (b, s));
                }
            }
        }
        VcpuSched { runs }
    }

    /// The setting of vCPU `v`, if a `sched` names it.
    pub fn get(&self, v: u32) -> Option<&'a ThreadSched> {
        let (_, &(end, s)) = self.runs.range(..=v).next_back()?;
        (end >= v).then_some(s)
    }

    /// Whether any vCPU is real-time.
    pub fn any_realtime(&self) -> bool {
        self.runs.values().any(|(_, s)| s.policy.realtime())
    }
}
