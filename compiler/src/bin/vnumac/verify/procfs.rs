//! Reading a running guest's process in /proc: every file read bounded (a regular file, a
//! size cap), each thread's allowed CPUs, where it ran over a sampling window, and the
//! kernel's policy and resident pages of each memory backend. [`observe`] turns a monitor's
//! [`Facts`] into [`Observed`], whichever way the guest was reached.

use super::failure::Failure;
use std::path::{Path, PathBuf};
use std::time::Duration;
use vnumac::sets::IdSet;
use vnumac::verify::proc::{self, Sample, Scheduling};
use vnumac::verify::{Backend, Facts, IoThread, Observed, Thread, Vcpu};

/// The most a thread's `status`, `stat` or `schedstat` may take.
const THREAD_FILE_CAP: u64 = 64 << 10;
/// The most `numa_maps` may take (a line per mapping).
const NUMA_MAPS_CAP: u64 = 64 << 20;
/// The most threads looked at: far more vCPUs and I/O threads than a guest can have.
const MAX_THREADS: usize = 20_000;
/// How often threads are looked at in the window.
const SAMPLE_EVERY: Duration = Duration::from_millis(10);

/// The running guest as /proc shows it: `facts` (from its monitor) looked up in the process's
/// /proc entries, threads sampled for `window_ms`.
pub(crate) fn observe(facts: &Facts, window_ms: u64) -> Result<Observed, Failure> {
    let pid = match (facts.pid, facts.vcpus.first()) {
        (Some(pid), _) => pid,
        (None, Some(&(_, tid))) => process_of(tid)?,
        (None, None) => return Err(Failure::monitor("the monitor reports no vCPU, so no process to read")),
    };
    let p = Process {
        root: PathBuf::from(format!("/proc/{pid}")),
        pid,
    };
    let threads = facts.vcpus.len() + facts.iothreads.len();
    if threads > MAX_THREADS {
        let message =
            format!("the monitor reports {threads} vCPU and I/O threads, more than the {MAX_THREADS} looked at");
        return Err(Failure::monitor(message));
    }
    let mut tids: Vec<u32> = vec![pid];
    tids.extend(facts.vcpus.iter().map(|&(_, t)| t));
    tids.extend(facts.iothreads.iter().map(|(_, t)| *t));
    let allowed: Vec<IdSet> = tids.iter().map(|&t| p.allowed(t)).collect::<Result<_, _>>()?;
    let ran = p.sample(&tids, window_ms)?;
    let mut threads = tids
        .iter()
        .zip(allowed)
        .zip(ran)
        .map(|((&tid, allowed), (ran_on, sched))| Thread {
            tid,
            allowed,
            ran_on,
            sched,
        });
    let emulator = threads.next().ok_or_else(|| Failure::proc("no main thread"))?;
    let vcpus = facts
        .vcpus
        .iter()
        .zip(threads.by_ref())
        .map(|(&(id, _), thread)| Vcpu { id, thread })
        .collect();
    let iothreads = facts
        .iothreads
        .iter()
        .zip(threads)
        .map(|((id, _), thread)| IoThread { id: id.clone(), thread })
        .collect();
    Ok(Observed {
        pid,
        vcpus,
        emulator,
        iothreads,
        backends: p.backends(facts)?,
        memory_devices: facts.memory_devices.clone(),
        window_ms,
    })
}

/// A file of /proc as text, bounded; `Err` says what could not be read.
fn read(path: &Path, cap: u64) -> Result<String, std::io::Error> {
    vnumac::source::read_bytes_capped(path, cap).map(|b| String::from_utf8_lossy(&b).into_owned())
}

/// The process a thread id belongs to (`Tgid` of /proc/TID/status).
fn process_of(tid: u32) -> Result<u32, Failure> {
    let path = PathBuf::from(format!("/proc/{tid}/status"));
    let status = read(&path, THREAD_FILE_CAP).map_err(|e| {
        Failure::proc(format!(
            "vCPU thread {tid} the monitor reports: {}: {e}",
            path.display()
        ))
    })?;
    proc::tgid(&status).ok_or_else(|| Failure::proc(format!("{} has no Tgid", path.display())))
}

/// The guest's process in /proc.
struct Process {
    root: PathBuf,
    pid: u32,
}

impl Process {
    /// A file of thread `tid` (`status`, `stat`, `schedstat`).
    fn thread_file(&self, tid: u32, name: &str) -> PathBuf {
        self.root.join(format!("task/{tid}/{name}"))
    }

    /// Why a file of the process could not be read: the process is gone, or the file.
    fn failure(&self, path: &Path, e: &std::io::Error) -> Failure {
        if !self.root.exists() {
            return Failure::proc(format!("QEMU (process {}) exited while it was read", self.pid));
        }
        Failure::proc(format!("cannot read {}: {e}", path.display()))
    }

    fn allowed(&self, tid: u32) -> Result<IdSet, Failure> {
        let path = self.thread_file(tid, "status");
        let status = read(&path, THREAD_FILE_CAP).map_err(|e| self.failure(&path, &e))?;
        proc::allowed_cpus(&status).ok_or_else(|| Failure::proc(format!("{} has no Cpus_allowed_list", path.display())))
    }

    fn sample_one(&self, tid: u32) -> Result<Sample, Failure> {
        let path = self.thread_file(tid, "stat");
        let stat = read(&path, THREAD_FILE_CAP).map_err(|e| self.failure(&path, &e))?;
        // Run time in nanoseconds when the kernel keeps it; clock ticks otherwise.
        let schedstat = read(&self.thread_file(tid, "schedstat"), THREAD_FILE_CAP).ok();
        proc::sample(&stat, schedstat.as_deref())
            .ok_or_else(|| Failure::proc(format!("{} does not read as a stat line", path.display())))
    }

    /// Where each of `tids` ran over `window_ms`, and its scheduling at the last look.
    fn sample(&self, tids: &[u32], window_ms: u64) -> Result<Vec<(IdSet, Option<Scheduling>)>, Failure> {
        let rounds = (window_ms / SAMPLE_EVERY.as_millis() as u64).max(2);
        let mut samples: Vec<Vec<Sample>> = vec![Vec::new(); tids.len()];
        for round in 0..rounds {
            if round > 0 {
                std::thread::sleep(SAMPLE_EVERY);
            }
            for (i, &tid) in tids.iter().enumerate() {
                samples[i].push(self.sample_one(tid)?);
            }
        }
        Ok(samples
            .iter()
            .map(|s| (proc::ran_on(s), s.last().and_then(|l| l.sched)))
            .collect())
    }

    /// Each backend of `facts` with the kernel's view of its memory.
    fn backends(&self, facts: &Facts) -> Result<Vec<Backend>, Failure> {
        if facts.backends.is_empty() {
            return Ok(Vec::new());
        }
        let path = self.root.join("numa_maps");
        let vmas = proc::numa_maps(&read(&path, NUMA_MAPS_CAP).map_err(|e| self.failure(&path, &e))?);
        Ok(facts
            .backends
            .iter()
            .map(|b| Backend {
                id: b.id.clone(),
                bytes: b.bytes,
                mapping: b.host_address.and_then(|at| proc::mapping(&vmas, at, b.bytes)),
            })
            .collect())
    }
}
