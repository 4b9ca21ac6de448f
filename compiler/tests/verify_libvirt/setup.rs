//! What the tests with a real libvirtd need: the tools, two host CPUs and a node, and guest
//! files for this machine.

use super::common::xml::parse_cpu_list;
use super::common::{QEMU, libvirtd, skip_or_fail, tool_version};

/// Two host CPUs and the host node of the first, or why the test cannot run here.
pub fn host() -> Result<(u32, u32, u32), String> {
    let online = std::fs::read_to_string("/sys/devices/system/cpu/online").map_err(|e| e.to_string())?;
    let cpus: Vec<u32> = parse_cpu_list(online.trim())?.into_iter().collect();
    let [a, b, ..] = cpus[..] else {
        return Err(format!("one host CPU ({online:?}): a vCPU cannot be moved to another"));
    };
    let node = (0..4096)
        .find(|n| std::path::Path::new(&format!("/sys/devices/system/cpu/cpu{a}/node{n}")).exists())
        .unwrap_or(0);
    Ok((a, b, node))
}

/// A file of one guest `name` for this machine: vCPU 0 and the I/O thread on CPU `b`, vCPUs 1
/// and 2 (2 offline) and the emulator on CPU `a`, memory bound to `node`.
pub fn guest(name: &str, a: u32, b: u32, node: u32) -> String {
    format!("{HOST}{}", block(name, a, b, node, false))
}

/// A file of such guests, one for each of `names`, sharing their CPUs (as they say), each
/// with a DIMM.
pub fn fleet(names: &[&str], a: u32, b: u32, node: u32) -> String {
    let blocks: Vec<String> = names.iter().map(|n| block(n, a, b, node, true)).collect();
    format!("{HOST}{}", blocks.concat())
}

const HOST: &str = "host here probe=true\n";

/// One guest; in a `fleet`, with a DIMM, pins that say they are shared, and vCPU 0 and the
/// I/O thread scheduled `idle` and `batch` (which libvirt applies after QEMU starts).
fn block(name: &str, a: u32, b: u32, node: u32, fleet: bool) -> String {
    let (memory, shared, dimm) = if fleet {
        (
            " max=512MiB slots=2",
            " shared=true",
            "\n  dimm size=128MiB node=0\n  sched vcpus=0 policy=idle\n  sched iothreads=1 policy=batch",
        )
    } else {
        ("", "", "")
    };
    format!(
        "
guest {name} on=here {{
  type qemu
  cpu custom model=\"qemu64\"
  memory 128MiB{memory}
  vcpus 3 boot=2
  numa {{
    cell 0 cpus=0-2 memory=128MiB host-node={node}
  }}
  pin vcpus=0 cpus={b}{shared}
  pin vcpus=1-2 cpus={a}{shared}
  emulator cpus={a}
  iothreads 1 cpus={b}
  memory-policy mode=strict nodeset={node}{dimm}
}}
"
    )
}

/// libvirtd, virtlogd and QEMU are here, or a skip (a failure under VNUMAC_REQUIRE_ORACLES=1).
pub fn oracles() -> bool {
    if !libvirtd::oracles_available() {
        return false;
    }
    for tool in ["virtlogd", QEMU] {
        match tool_version(tool, libvirtd::command(tool)) {
            Ok(version) => eprintln!("using {tool}: {version}"),
            Err(problem) => {
                skip_or_fail(&problem);
                return false;
            }
        }
    }
    true
}
