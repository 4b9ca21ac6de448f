//! Reaching a guest through its QMP socket with the typed client `qapi`: vCPU threads
//! (`query-cpus-fast`), I/O threads (`query-iothreads`), and the memory questions every way
//! asks ([`monitor`](super::monitor)). Every answer is bounded in size and time ([`Wire`]).

use super::failure::Failure;
use super::monitor::{self as asked, Monitor};
use super::reach::Reach;
use super::wire::Wire;
use qapi::qmp::{self, CpuInfoFast};
use qapi::{Command, ExecuteError, Qmp, Stream};
use std::io::ErrorKind;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;
use vnumac::ir::Guest;
use vnumac::verify::Facts;
use vnumac::verify::monitor::{self, CpuProps};

/// A QMP socket, connected anew for every look.
pub(crate) struct QmpSocket {
    pub(crate) path: PathBuf,
    pub(crate) timeout: Duration,
}

impl Reach for QmpSocket {
    fn facts(&mut self, g: &Guest) -> Result<Facts, Failure> {
        let mut client = Client::connect(&self.path, self.timeout)?;
        client.facts(g)
    }
}

/// One connection, past the greeting.
struct Client {
    qmp: Qmp<Stream<Wire, UnixStream>>,
    path: String,
    timeout: Duration,
}

impl Client {
    fn connect(path: &Path, timeout: Duration) -> Result<Client, Failure> {
        let shown = path.display().to_string();
        let socket = UnixStream::connect(path).map_err(|e| {
            Failure::monitor(match e.kind() {
                ErrorKind::NotFound => format!("no QMP socket at {shown}"),
                ErrorKind::ConnectionRefused => format!("nothing listens on {shown}: is the guest running?"),
                _ => format!("cannot connect to {shown}: {e}"),
            })
        })?;
        let wire = socket
            .set_write_timeout(Some(timeout))
            .and_then(|()| Wire::new(&socket, timeout))
            .map_err(|e| Failure::monitor(format!("cannot use {shown}: {e}")))?;
        let mut client = Client {
            qmp: Qmp::new(Stream::new(wire, socket)),
            path: shown,
            timeout,
        };
        client.qmp.inner_mut().get_mut_read().start();
        let greeting = client.qmp.handshake();
        greeting.map_err(|e| client.failure("the greeting and `qmp_capabilities`", e))?;
        Ok(client)
    }

    fn failure(&self, what: &str, e: ExecuteError) -> Failure {
        let path = &self.path;
        Failure::monitor(match e {
            ExecuteError::Qapi(e) => format!("QEMU on {path} refused {what}: {}", e.desc),
            ExecuteError::Io(e) => match e.kind() {
                ErrorKind::TimedOut => format!(
                    "no answer to {what} on {path} within {} ms (another client may hold the monitor)",
                    self.timeout.as_millis()
                ),
                ErrorKind::UnexpectedEof => format!("{path} closed while {what} was asked: did QEMU exit?"),
                ErrorKind::InvalidData => format!("{path} does not answer {what} as QEMU does: {e}"),
                _ => format!("cannot ask {what} on {path}: {e}"),
            },
        })
    }

    fn facts(&mut self, g: &Guest) -> Result<Facts, Failure> {
        let vcpus = self.vcpus(g)?;
        let iothreads = self
            .run(&qmp::query_iothreads {})?
            .into_iter()
            .map(|t| Ok((t.id, thread_id(t.thread_id)?)))
            .collect::<Result<_, Failure>>()?;
        let backends = asked::backends(self)?;
        let memory_devices = asked::memory_devices(self)?;
        Ok(Facts {
            pid: None,
            vcpus,
            iothreads,
            backends,
            memory_devices,
        })
    }

    /// Every present vCPU, numbered as the file numbers them, and its thread.
    fn vcpus(&mut self, g: &Guest) -> Result<Vec<(u32, u32)>, Failure> {
        let topology = g.effective_topology();
        let mut out = Vec::new();
        for cpu in self.run(&qmp::query_cpus_fast {})? {
            let base = match cpu {
                CpuInfoFast::x86_64(b) | CpuInfoFast::i386(b) => b,
                other => {
                    return Err(Failure::monitor(format!(
                        "{} runs a {:?} guest; vnumac builds x86-64 guests",
                        self.path,
                        other.target()
                    )));
                }
            };
            let props = base.props.map(|p| CpuProps {
                socket: p.socket_id,
                die: p.die_id,
                core: p.core_id,
                thread: p.thread_id,
            });
            let id = monitor::vcpu_id(&topology, props.unwrap_or_default(), base.cpu_index)
                .ok_or_else(|| Failure::monitor(format!("a vCPU with index {} on {}", base.cpu_index, self.path)))?;
            out.push((id, thread_id(base.thread_id)?));
        }
        Ok(out)
    }
}

impl Monitor for Client {
    fn run<C: Command>(&mut self, cmd: &C) -> Result<C::Ok, Failure> {
        self.qmp.inner_mut().get_mut_read().start();
        let answer = self.qmp.execute(cmd);
        // Events that came with the answer are not read.
        self.qmp.events().for_each(drop);
        answer.map_err(|e| self.failure(&format!("`{}`", C::NAME), e))
    }

    fn hmp(&mut self, line: &str) -> Result<String, Failure> {
        self.run(&qmp::human_monitor_command {
            command_line: line.to_string(),
            cpu_index: None,
        })
    }
}

/// A thread id as QMP gives it (a JSON integer).
fn thread_id(id: i64) -> Result<u32, Failure> {
    u32::try_from(id).map_err(|_| Failure::monitor(format!("QMP gave a thread id of {id}")))
}
