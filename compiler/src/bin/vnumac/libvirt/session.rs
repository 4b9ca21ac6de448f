//! One connection to libvirt and one running domain, on a thread of their own. libvirt's
//! calls block without a deadline of their own (a daemon that stops answering, an ssh
//! transport waiting for a password), so every call is sent to that thread and waited for
//! with one: when it does not answer in time the session is given up (the thread is left to
//! finish or to end with the process) and every later call fails at once.

use super::facts::{DomainFacts, IoThreadFacts, NumaTune, VcpuFacts};
use super::failure::Failure;
use super::{live, monitor};
use std::cell::Cell;
use std::io::Read;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::time::Duration;
use virt::connect::Connect;
use virt::domain::Domain;
use virt::sys;

/// A call for the session's thread: runs there with the domain.
type Job = Box<dyn FnOnce(&Domain) + Send>;

/// A running domain reached through libvirt.
pub(crate) struct Session {
    jobs: Sender<Job>,
    uri: String,
    name: String,
    timeout: Duration,
    /// A call did not answer in time: the thread may still be in it.
    stuck: Cell<bool>,
}

/// libvirt's message, without the code numbers `virt` appends for debugging.
fn said(e: &virt::error::Error) -> String {
    e.message().trim().to_string()
}

/// On the session's thread: connect, find the domain, check that it runs.
fn open_domain(uri: &str, name: &str) -> Result<Domain, Failure> {
    let conn =
        Connect::open(Some(uri)).map_err(|e| Failure::libvirt(format!("cannot connect to {uri}: {}", said(&e))))?;
    let domain = conn.lookup_domain_by_name(name).map_err(|e| {
        Failure::libvirt(
            if matches!(
                e.code(),
                virt::enumutil::Enum::Known(virt::error::ErrorNumber::NoDomain)
            ) {
                format!("{uri} has no domain named `{name}`")
            } else {
                format!("cannot look up the domain `{name}` on {uri}: {}", said(&e))
            },
        )
    })?;
    let active = domain
        .is_active()
        .map_err(|e| Failure::libvirt(format!("cannot ask {uri} whether `{name}` runs: {}", said(&e))))?;
    if !active {
        return Err(Failure::libvirt(format!(
            "the domain `{name}` on {uri} is not running (`virsh start {name}` starts it)"
        )));
    }
    Ok(domain)
}

impl Session {
    /// Connects to `uri` and finds the running domain `name`, each call waited for at most
    /// `timeout`.
    pub(crate) fn open(uri: &str, name: &str, timeout: Duration) -> Result<Session, Failure> {
        // libvirt's default handler prints every error on stderr; they are reported here.
        virt::error::clear_error_callback();
        let (jobs, inbox) = mpsc::channel::<Job>();
        let (opened, answer) = mpsc::channel::<Result<(), Failure>>();
        let (u, n) = (uri.to_string(), name.to_string());
        std::thread::Builder::new()
            .name("libvirt".into())
            .spawn(move || serve(&u, &n, &opened, &inbox))
            .map_err(|e| Failure::libvirt(format!("cannot start a thread for libvirt: {e}")))?;
        let session = Session {
            jobs,
            uri: uri.to_string(),
            name: name.to_string(),
            timeout,
            stuck: Cell::new(false),
        };
        session.wait(&answer, "connecting")??;
        Ok(session)
    }

    /// An answer from the session's thread within the deadline.
    fn wait<T>(&self, answer: &Receiver<T>, what: &str) -> Result<T, Failure> {
        match answer.recv_timeout(self.timeout) {
            Ok(value) => Ok(value),
            Err(RecvTimeoutError::Timeout) => {
                self.stuck.set(true);
                Err(Failure::libvirt(format!(
                    "no answer from {} within {} ms while {what}",
                    self.uri,
                    self.timeout.as_millis()
                )))
            }
            Err(RecvTimeoutError::Disconnected) => Err(Failure::libvirt(format!(
                "libvirt's client failed while {what} on {}",
                self.uri
            ))),
        }
    }

    /// Runs `call` with the domain on the session's thread; `what` names it in errors.
    fn call<T: Send + 'static>(
        &self,
        what: &str,
        call: impl FnOnce(&Domain) -> Result<T, virt::error::Error> + Send + 'static,
    ) -> Result<T, Failure> {
        if self.stuck.get() {
            return Err(Failure::libvirt(format!(
                "{} stopped answering; not asking for {what}",
                self.uri
            )));
        }
        let (tx, answer) = mpsc::channel();
        let job: Job = Box::new(move |d: &Domain| {
            let _ = tx.send(call(d));
        });
        self.jobs
            .send(job)
            .map_err(|_| Failure::libvirt(format!("libvirt's client has stopped; cannot ask for {what}")))?;
        let name = &self.name;
        self.wait(&answer, &format!("asking for {what} of `{name}`"))?
            .map_err(|e| Failure::libvirt(format!("{} refused {what} of `{name}`: {}", self.uri, said(&e))))
    }

    /// The live domain XML.
    pub(crate) fn live_xml(&self) -> Result<String, Failure> {
        self.call("the live XML", |d| d.xml_desc(0))
    }

    /// A QMP command's answer (the whole JSON object), through libvirt.
    pub(crate) fn monitor(&self, command: &str) -> Result<String, Failure> {
        let cmd = command.to_string();
        self.call(&format!("`{command}`"), move |d| d.qemu_monitor_command(&cmd, 0))
    }

    /// A human monitor command's text answer, through libvirt (`info mtree -f`, `gpa2hva`:
    /// where a memory backend is mapped).
    pub(crate) fn hmp(&self, line: &str) -> Result<String, Failure> {
        let cmd = line.to_string();
        self.call(&format!("`{line}`"), move |d| {
            d.qemu_monitor_command(&cmd, sys::VIR_DOMAIN_QEMU_MONITOR_COMMAND_HMP)
        })
    }

    /// The whole guest's memory policy (`virDomainGetNumaParameters` on the live domain).
    pub(crate) fn numatune(&self) -> Result<Option<NumaTune>, Failure> {
        let params = self.call("the memory policy", |d| d.numa_parameters(sys::VIR_DOMAIN_AFFECT_LIVE))?;
        let nodeset = match params.node_set.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(text) => Some(
                vnumac::sets::IdSet::parse(text)
                    .map_err(|e| Failure::libvirt(format!("libvirt gave a node set `{text}`: {}", e.message)))?,
            ),
        };
        let mode = match params.mode.map(|m| m as sys::virDomainNumatuneMemMode) {
            None => return Ok(None),
            Some(sys::VIR_DOMAIN_NUMATUNE_MEM_STRICT) => "strict",
            Some(sys::VIR_DOMAIN_NUMATUNE_MEM_PREFERRED) => "preferred",
            Some(sys::VIR_DOMAIN_NUMATUNE_MEM_INTERLEAVE) => "interleave",
            Some(sys::VIR_DOMAIN_NUMATUNE_MEM_RESTRICTIVE) => "restrictive",
            Some(other) => return Err(Failure::libvirt(format!("libvirt gave a memory mode {other}"))),
        };
        Ok(Some(NumaTune {
            mode: mode.to_string(),
            nodeset,
        }))
    }

    /// Everything libvirt says about the domain ([`DomainFacts`]).
    pub(crate) fn facts(&self) -> Result<DomainFacts, Failure> {
        let xml = self.live_xml()?;
        let live = live::read(&xml).map_err(|e| Failure::libvirt(format!("the live XML of `{}`: {e}", self.name)))?;
        let numatune = self.numatune()?;
        let name = &self.name;
        let odd = |e: String| Failure::libvirt(format!("the monitor of `{name}`: {e}"));
        let cpus = monitor::cpu_threads(&self.monitor(monitor::CPUS)?).map_err(odd)?;
        let io = monitor::iothread_threads(&self.monitor(monitor::IOTHREADS)?).map_err(odd)?;
        let vcpus: Vec<VcpuFacts> = (0..live.max_vcpus)
            .map(|id| VcpuFacts {
                id,
                online: live.online(id),
                pin: live.vcpupin.get(&id).or(live.cpuset.as_ref()).cloned(),
                thread: cpus.get(&id).copied(),
            })
            .collect();
        let iothreads = live
            .iothread_ids()
            .into_iter()
            .map(|id| IoThreadFacts {
                id,
                pin: live.iothreadpin.get(&id).or(live.cpuset.as_ref()).cloned(),
                thread: io.get(&id).copied(),
            })
            .collect();
        Ok(DomainFacts {
            name: self.name.clone(),
            pid: cpus.values().next().and_then(|&tid| process_of(tid)),
            emulator_pin: live.emulatorpin.clone().or(live.cpuset.clone()),
            vcpus,
            iothreads,
            numatune,
            memnodes: live.memnodes,
            xml,
        })
    }
}

/// The session's thread: opens the domain, says whether it could, then runs calls until the
/// session is dropped.
fn serve(uri: &str, name: &str, opened: &Sender<Result<(), Failure>>, inbox: &Receiver<Job>) {
    let domain = match open_domain(uri, name) {
        Ok(d) => d,
        Err(f) => {
            let _ = opened.send(Err(f));
            return;
        }
    };
    if opened.send(Ok(())).is_err() {
        return;
    }
    for job in inbox {
        job(&domain);
    }
}

/// The process a thread belongs to (`Tgid:` in /proc/TID/status), when /proc shows it.
fn process_of(tid: u32) -> Option<u32> {
    let file = std::fs::File::open(format!("/proc/{tid}/status")).ok()?;
    let mut text = String::new();
    file.take(64 << 10).read_to_string(&mut text).ok()?;
    let line = text.lines().find_map(|l| l.strip_prefix("Tgid:"))?;
    line.trim().parse().ok()
}
