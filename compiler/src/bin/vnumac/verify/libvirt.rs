//! Reaching a guest as the libvirt domain of its name: the vCPUs that are online, the thread
//! of each vCPU and I/O thread, and QEMU's process from what libvirt says of the domain
//! ([`DomainFacts`]); the memory questions every way asks ([`monitor`](super::monitor))
//! through libvirt's passthrough to QEMU's monitor (`virDomainQemuMonitorCommand`, QMP and
//! HMP). Each call is waited for at most the timeout.

use super::super::libvirt::{DomainFacts, Session};
use super::failure::Failure;
use super::monitor::{self as asked, Monitor};
use super::reach::Reach;
use qapi::{Command, Execute};
use serde::de::DeserializeOwned;
use std::time::Duration;
use vnumac::ir::Guest;
use vnumac::verify::{BackendFacts, Facts};

/// libvirt at `uri`: each guest is the domain of its name, found anew for every look.
pub(crate) struct Libvirt {
    pub(crate) uri: String,
    pub(crate) timeout: Duration,
}

impl Reach for Libvirt {
    fn facts(&mut self, g: &Guest) -> Result<Facts, Failure> {
        let session = Session::open(&self.uri, &g.name, self.timeout)?;
        let domain = session.facts()?;
        let mut monitor = Passthrough {
            session: &session,
            name: &g.name,
        };
        let backends = asked::backends(&mut monitor)?;
        let memory_devices = asked::memory_devices(&mut monitor)?;
        facts(&domain, backends, memory_devices)
    }

    fn by_name(&self) -> bool {
        true
    }
}

/// The facts of a domain: QEMU's process, every online vCPU and every I/O thread QEMU runs,
/// with their threads.
fn facts(d: &DomainFacts, backends: Vec<BackendFacts>, memory_devices: Vec<String>) -> Result<Facts, Failure> {
    let name = &d.name;
    let pid = d.pid.ok_or_else(|| {
        Failure::proc(format!(
            "/proc shows no thread of the QEMU of `{name}`: run vnumac verify on the host the domain runs on"
        ))
    })?;
    let mut vcpus = Vec::new();
    for v in d.vcpus.iter().filter(|v| v.online) {
        let thread = v.thread.ok_or_else(|| {
            Failure::libvirt(format!(
                "libvirt says vCPU {} of `{name}` is online, but its QEMU reports no thread for it",
                v.id
            ))
        })?;
        vcpus.push((v.id, thread));
    }
    // An I/O thread QEMU does not run is missing (a difference), not an error.
    let iothreads = d
        .iothreads
        .iter()
        .filter_map(|t| Some((format!("iothread{}", t.id), t.thread?)))
        .collect();
    Ok(Facts {
        pid: Some(pid),
        vcpus,
        iothreads,
        backends,
        memory_devices,
    })
}

/// QEMU's monitor of one domain, through libvirt.
struct Passthrough<'s> {
    session: &'s Session,
    name: &'s str,
}

impl Monitor for Passthrough<'_> {
    fn run<C: Command>(&mut self, cmd: &C) -> Result<C::Ok, Failure> {
        let what = C::NAME;
        let line = serde_json::to_string(&Execute::<&C>::from(cmd))
            .map_err(|e| Failure::libvirt(format!("cannot write `{what}` as JSON: {e}")))?;
        let answer = self.session.monitor(&line)?;
        answer_of(&answer).map_err(|e| Failure::libvirt(format!("the QEMU of `{}` {e} to `{what}`", self.name)))
    }

    fn hmp(&mut self, line: &str) -> Result<String, Failure> {
        Ok(self.session.hmp(line)?)
    }
}

/// The value of a QMP answer as libvirt passes it on (`{"return": …, "id": …}`), or what is
/// wrong with it.
fn answer_of<T: DeserializeOwned>(answer: &str) -> Result<T, String> {
    let mut reply: serde_json::Value =
        serde_json::from_str(answer).map_err(|e| format!("answered {answer:.200} ({e})"))?;
    if let Some(error) = reply.get("error") {
        let desc = error["desc"].as_str().unwrap_or("no reason given");
        return Err(format!("said no ({desc})"));
    }
    let Some(value) = reply.get_mut("return").map(serde_json::Value::take) else {
        return Err(format!("answered {answer:.200}, without a `return`"));
    };
    serde_json::from_value(value).map_err(|e| format!("answered otherwise than QEMU does ({e})"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use qapi::qmp::{self, Memdev};

    #[test]
    fn answers_are_read_as_qapi_types() {
        let memdevs = r#"{"return":[{"id":"ram-node0","size":134217728,"merge":true,"dump":true,"prealloc":false,"share":false,"host-nodes":[0],"policy":"bind","type":"memory-backend-ram"}],"id":"libvirt-20"}"#;
        let read: Vec<Memdev> = answer_of(memdevs).unwrap();
        assert_eq!(read.len(), 1);
        assert_eq!(read[0].id.as_deref(), Some("ram-node0"));
        assert_eq!(read[0].size, 128 << 20);
        let none: Vec<qmp::MemoryDeviceInfo> = answer_of(r#"{"return":[],"id":"libvirt-21"}"#).unwrap();
        assert!(none.is_empty());
    }

    #[test]
    fn answers_that_are_not_qemus_are_errors() {
        let refused = r#"{"id":"libvirt-3","error":{"class":"CommandNotFound","desc":"The command query-memdev has not been found"}}"#;
        let e = answer_of::<Vec<Memdev>>(refused).unwrap_err();
        assert!(e.contains("has not been found"), "{e}");
        for bad in ["", "{}", "[1]", r#"{"return":{"id":"x"}}"#, r#"{"return":[{"id":3}]}"#] {
            assert!(answer_of::<Vec<Memdev>>(bad).is_err(), "{bad:?} was read");
        }
    }

    #[test]
    fn commands_are_written_as_qmp() {
        let line = serde_json::to_string(&Execute::<&qmp::query_memdev>::from(&qmp::query_memdev {})).unwrap();
        assert_eq!(line, r#"{"execute":"query-memdev","arguments":{}}"#);
    }

    fn domain(pid: Option<u32>, vcpus: &[(bool, Option<u32>)]) -> DomainFacts {
        use super::super::super::libvirt::{IoThreadFacts, VcpuFacts};
        DomainFacts {
            name: "web".into(),
            xml: String::new(),
            pid,
            vcpus: (0u32..)
                .zip(vcpus)
                .map(|(id, &(online, thread))| VcpuFacts {
                    id,
                    online,
                    pin: None,
                    thread,
                })
                .collect(),
            emulator_pin: None,
            iothreads: vec![
                IoThreadFacts {
                    id: 1,
                    pin: None,
                    thread: Some(30),
                },
                IoThreadFacts {
                    id: 2,
                    pin: None,
                    thread: None,
                },
            ],
            numatune: None,
            memnodes: Vec::new(),
        }
    }

    #[test]
    fn online_vcpus_and_running_io_threads_are_looked_at() {
        let d = domain(Some(10), &[(true, Some(11)), (false, None), (true, Some(13))]);
        let f = facts(&d, Vec::new(), vec!["dimm0".into()]).unwrap();
        assert_eq!(f.pid, Some(10));
        assert_eq!(f.vcpus, [(0, 11), (2, 13)]);
        // I/O thread 2 is not running in QEMU: missing, which compare reports.
        assert_eq!(f.iothreads, [("iothread1".to_string(), 30)]);
        assert_eq!(f.memory_devices, ["dimm0"]);
    }

    #[test]
    fn a_domain_that_cannot_be_read_here_is_an_error() {
        let remote = facts(&domain(None, &[(true, Some(11))]), Vec::new(), Vec::new()).unwrap_err();
        assert_eq!(remote.code, vnumac::codes::PROC);
        assert!(
            remote.message.contains("no thread of the QEMU of `web`"),
            "{}",
            remote.message
        );
        let odd = facts(&domain(Some(10), &[(true, None)]), Vec::new(), Vec::new()).unwrap_err();
        assert_eq!(odd.code, vnumac::codes::LIBVIRT);
        assert!(odd.message.contains("vCPU 0 of `web` is online"), "{}", odd.message);
    }
}
