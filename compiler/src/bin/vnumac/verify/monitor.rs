//! QEMU's monitor, however it is reached (its own QMP socket, or libvirt's passthrough), and
//! the questions every way asks it alike: each memory backend with its size and where QEMU
//! mapped it (`query-memdev`, HMP `info mtree -f` and `gpa2hva`), and the memory devices
//! present (`query-memory-devices`).

use super::failure::Failure;
use qapi::Command;
use qapi::qmp::{self, MemoryDeviceInfo};
use vnumac::verify::BackendFacts;
use vnumac::verify::monitor::{host_address, regions};

/// A QEMU monitor that answers typed QMP commands and HMP lines.
pub(crate) trait Monitor {
    /// `cmd`'s answer, or why there is none.
    fn run<C: Command>(&mut self, cmd: &C) -> Result<C::Ok, Failure>;

    /// An HMP command's text answer.
    fn hmp(&mut self, line: &str) -> Result<String, Failure>;
}

/// Every memory backend with its size and the host address QEMU mapped it at.
pub(crate) fn backends(m: &mut impl Monitor) -> Result<Vec<BackendFacts>, Failure> {
    let memdevs = m.run(&qmp::query_memdev {})?;
    if memdevs.is_empty() {
        return Ok(Vec::new());
    }
    let regions = regions(&m.hmp("info mtree -f")?);
    let mut out = Vec::new();
    for memdev in memdevs {
        let Some(id) = memdev.id else { continue };
        let host_address = match regions.get(&id) {
            Some(at) => {
                let answer = m.hmp(&format!("gpa2hva 0x{:x}", at.guest_address))?;
                host_address(&answer, &id).and_then(|hva| hva.checked_sub(at.offset))
            }
            None => None,
        };
        out.push(BackendFacts {
            id,
            bytes: memdev.size,
            host_address,
        });
    }
    Ok(out)
}

/// The ids of the memory devices present.
pub(crate) fn memory_devices(m: &mut impl Monitor) -> Result<Vec<String>, Failure> {
    Ok(m.run(&qmp::query_memory_devices {})?
        .into_iter()
        .filter_map(device_id)
        .collect())
}

/// A memory device's id, when it has one.
fn device_id(d: MemoryDeviceInfo) -> Option<String> {
    match d {
        MemoryDeviceInfo::dimm(x) | MemoryDeviceInfo::nvdimm(x) => x.data.id,
        MemoryDeviceInfo::virtio_mem(x) => x.data.id,
        MemoryDeviceInfo::virtio_pmem(x) => x.data.id,
        MemoryDeviceInfo::sgx_epc(x) => x.data.id,
        MemoryDeviceInfo::hv_balloon(x) => x.data.id,
    }
}
