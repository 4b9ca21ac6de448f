//! QEMU's answers, through libvirt's monitor passthrough, to the two questions libvirt has no
//! call for: which host thread runs each vCPU (`query-cpus-fast`) and each I/O thread
//! (`query-iothreads`).

use serde::Deserialize;
use std::collections::BTreeMap;

/// `query-cpus-fast`.
pub(crate) const CPUS: &str = r#"{"execute":"query-cpus-fast"}"#;
/// `query-iothreads`.
pub(crate) const IOTHREADS: &str = r#"{"execute":"query-iothreads"}"#;

#[derive(Deserialize)]
struct Answer<T> {
    #[serde(rename = "return")]
    value: T,
}

#[derive(Deserialize)]
struct Cpu {
    #[serde(rename = "cpu-index")]
    index: i64,
    #[serde(rename = "thread-id")]
    thread: i64,
}

#[derive(Deserialize)]
struct IoThread {
    id: String,
    #[serde(rename = "thread-id")]
    thread: i64,
}

fn whole(n: i64, what: &str) -> Result<u32, String> {
    u32::try_from(n).map_err(|_| format!("QEMU gave {what} {n}"))
}

/// Each present vCPU's thread, by QEMU's `cpu-index` (libvirt's vCPU id).
pub(crate) fn cpu_threads(answer: &str) -> Result<BTreeMap<u32, u32>, String> {
    let cpus: Answer<Vec<Cpu>> =
        serde_json::from_str(answer).map_err(|e| format!("`query-cpus-fast` answered {answer:.200}: {e}"))?;
    cpus.value
        .into_iter()
        .map(|c| Ok((whole(c.index, "a cpu-index of")?, whole(c.thread, "a thread id of")?)))
        .collect()
}

/// Each I/O thread's host thread, by libvirt's id (QEMU's object `iothreadN`).
pub(crate) fn iothread_threads(answer: &str) -> Result<BTreeMap<u32, u32>, String> {
    let threads: Answer<Vec<IoThread>> =
        serde_json::from_str(answer).map_err(|e| format!("`query-iothreads` answered {answer:.200}: {e}"))?;
    let mut out = BTreeMap::new();
    for t in threads.value {
        // Objects libvirt did not create (not `iothreadN`) are no I/O thread of the domain.
        if let Some(id) = t.id.strip_prefix("iothread").and_then(|n| n.parse().ok()) {
            out.insert(id, whole(t.thread, "a thread id of")?);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn threads_are_read_by_id() {
        let cpus = r#"{"return":[{"thread-id":18690,"props":{"core-id":0,"thread-id":0,"node-id":0,"socket-id":0},"qom-path":"/machine/unattached/device[0]","cpu-index":0,"target":"x86_64"},{"thread-id":18691,"props":{"core-id":0,"thread-id":0,"node-id":0,"socket-id":1},"qom-path":"/machine/unattached/device[2]","cpu-index":2,"target":"x86_64"}],"id":"libvirt-412"}"#;
        assert_eq!(cpu_threads(cpus).unwrap(), BTreeMap::from([(0, 18690), (2, 18691)]));
        let io = r#"{"return":[{"poll-shrink":0,"thread-id":18688,"aio-max-batch":0,"poll-grow":0,"poll-max-ns":32768,"id":"iothread1"},{"id":"mine","thread-id":5}],"id":"libvirt-413"}"#;
        assert_eq!(iothread_threads(io).unwrap(), BTreeMap::from([(1, 18688)]));
    }

    #[test]
    fn answers_that_are_not_qemus_are_errors() {
        for bad in [
            "",
            "{}",
            r#"{"error":{"class":"GenericError","desc":"no"}}"#,
            r#"{"return":[{"cpu-index":-1,"thread-id":3}]}"#,
            r#"{"return":[{"cpu-index":0,"thread-id":99999999999}]}"#,
        ] {
            assert!(cpu_threads(bad).is_err(), "{bad:?} was read");
        }
        assert!(iothread_threads(r#"{"return":[{"id":"iothread1","thread-id":-4}]}"#).is_err());
    }
}
