//! What a booted guest kernel sees, against what its domain XML declares (`guest_boot`,
//! `migrate_oracles`): the `/init` that prints the guest's view of itself, a QEMU line
//! booted with the test kernel and that initramfs, the report parsed, the XML read
//! independently of vnumac, and the two compared one difference per line.

// An oracle's comparison reads as one list of checks; the 100-line rule is for the library.
#![allow(clippy::too_many_lines)]

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::guest::{GuestRun, GuestTools, initramfs, run_guest};
use super::neutralise::{Run, neutralise};
use super::qemu::qemu_options;
use super::shell::{shell_line, shell_words};
use super::xml::{DomainBasics, NumaCell, format_set, parse_cpu_list, parse_domain, scaled_bytes};
use super::{QEMU, number};

/// QEMU is killed if the guest has not powered off by then (a TCG boot of a 16-vCPU guest
/// takes seconds on an idle machine, and much longer on one that is busy).
pub const BOOT_TIMEOUT: Duration = Duration::from_secs(180);
pub const KERNEL_CMDLINE: &str = "console=ttyS0 quiet loglevel=0 panic=-1";
pub const BEGIN: &str = "VNUMAC-GUEST-REPORT-BEGIN";
pub const END: &str = "VNUMAC-GUEST-REPORT-END";
const KIB: u64 = 1024;
const MIB: u64 = 1024 * 1024;
/// A node's MemTotal may fall short of the cell's size (never exceed it) by this much: the node's
/// own `struct page` array (1.6% of it) plus, on node 0, firmware areas, the kernel image and the
/// swiotlb buffer, which vary a little from boot to boot. Seen with 6.1 over every golden: 1.6%
/// short on 16 GiB cells, up to 3.2% (253 MiB) on 4–8 GiB node 0s, up to 6.9% (142 MiB) on a
/// 2 GiB node 0. The memory-block check is the exact one (to a block); this one is the guest's
/// usable view.
pub const MEM_SHORTFALL_PER_MILLE: u64 = 25;
pub const MEM_SHORTFALL_FIXED_KIB: u64 = 192 * 1024;

/// `/init`: prints the guest's view between markers, then powers off.
pub const INIT_SCRIPT: &str = r#"#!/bin/busybox sh
b=/bin/busybox
$b mount -t proc proc /proc
$b mount -t sysfs sysfs /sys
echo VNUMAC-GUEST-REPORT-BEGIN
echo "kernel $($b uname -r)"
echo "online $($b cat /sys/devices/system/cpu/online)"
echo "memory block_size $($b cat /sys/devices/system/memory/block_size_bytes)"
for n in /sys/devices/system/node/node[0-9]*; do
    id=${n##*/node}
    echo "node $id cpulist $($b cat $n/cpulist)"
    echo "node $id distance $($b cat $n/distance)"
    echo "node $id meminfo $($b grep MemTotal: $n/meminfo)"
    online=$($b cat $n/memory[0-9]*/state 2>/dev/null | $b grep -c '^online$')
    all=$($b ls -d $n/memory[0-9]* 2>/dev/null | $b wc -l)
    echo "node $id blocks $online $all"
done
for d in /sys/bus/pci/devices/*; do
    [ -e $d/numa_node ] && echo "pci ${d##*/} node $($b cat $d/numa_node)"
done
for p in /sys/class/pci_bus/*; do
    [ -e $p/cpulistaffinity ] && echo "pcibus ${p##*/} cpus $($b cat $p/cpulistaffinity)"
done
for c in /sys/devices/system/cpu/cpu[0-9]*; do
    t=$c/topology
    [ -e $t/thread_siblings_list ] || continue
    echo "cpu ${c##*/cpu} siblings $($b cat $t/thread_siblings_list) core $($b cat $t/core_id) die $($b cat $t/die_id) package $($b cat $t/physical_package_id)"
done
echo VNUMAC-GUEST-REPORT-END
$b sleep 1
echo o > /proc/sysrq-trigger
$b sleep 10
"#;

/// Writes the initramfs with [`INIT_SCRIPT`] into `dir`.
pub fn write_initrd(tools: &GuestTools, dir: &Path) -> Result<PathBuf, String> {
    let initrd = dir.join("initramfs.cpio");
    let bytes = initramfs(&tools.busybox, INIT_SCRIPT)?;
    std::fs::write(&initrd, bytes).map_err(|e| format!("cannot write {}: {e}", initrd.display()))?;
    Ok(initrd)
}

/// A booted guest's report, and how it ran (for messages).
pub struct Booted {
    pub report: GuestReport,
    /// The command, its exit, QEMU's stderr and the serial output's last lines.
    pub context: String,
}

/// Boots a QEMU line (`.args` text), neutralised for a boot, with the test kernel and
/// `initrd`; the guest's report. `name` names the serial output kept in
/// `VNUMAC_GUEST_SERIAL_DIR`.
pub fn boot(label: &str, args_text: &str, tools: &GuestTools, initrd: &Path, name: &str) -> Result<Booted, String> {
    let words = shell_words(args_text).map_err(|e| format!("{label}.args: not a valid shell-quoted command: {e}"))?;
    let options = qemu_options(&words).map_err(|e| format!("{label}.args: {e}"))?;
    let mut argv = neutralise(&options, Run::Boot).map_err(|e| format!("{label}.args: cannot neutralise: {e}"))?;
    argv.extend([
        "-kernel".to_owned(),
        tools.kernel.to_string_lossy().into_owned(),
        "-initrd".to_owned(),
        initrd.to_string_lossy().into_owned(),
        "-append".to_owned(),
        KERNEL_CMDLINE.to_owned(),
    ]);

    // A TCG guest on a loaded two-core machine now and then stalls before its first line of
    // output (seen once in CI: no serial output at all in 180 s, then fine on the next run). Such
    // a run proves nothing either way, so it is tried once more; a guest that stalls twice, or
    // that printed anything before the deadline, is a failure.
    let mut attempt = 1;
    let (run, took) = loop {
        let started = Instant::now();
        let run =
            run_guest(&argv, BOOT_TIMEOUT).map_err(|e| format!("{label}: {e}\n  ran: {QEMU} {}", shell_line(&argv)))?;
        let took = started.elapsed();
        if attempt == 1 && run.killed && run.serial.trim().is_empty() {
            eprintln!(
                "{label}: no output within {} s (QEMU stderr: {:?}); booting it once more",
                BOOT_TIMEOUT.as_secs(),
                run.stderr.trim()
            );
            attempt += 1;
            continue;
        }
        break (run, took);
    };
    if let Some(dir) = std::env::var_os("VNUMAC_GUEST_SERIAL_DIR") {
        let path = Path::new(&dir).join(format!("{}.serial", name.replace('/', "_")));
        std::fs::write(&path, &run.serial).map_err(|e| format!("{label}: cannot write {}: {e}", path.display()))?;
    }
    let context = |run: &GuestRun| {
        let tail: Vec<&str> = run.serial.lines().rev().take(30).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        format!(
            "  ran: {QEMU} {}\n  exit: {}{}\n  QEMU stderr: {}\n  serial (last lines):\n    {}",
            shell_line(&argv),
            run.status.map_or_else(|| "none".to_owned(), |s| s.to_string()),
            if run.killed { " (killed at the deadline)" } else { "" },
            run.stderr.trim().replace('\n', "\n    "),
            tail.join("\n    ")
        )
    };
    let report = parse_report(&run.serial).map_err(|e| format!("{label}: no guest report: {e}\n{}", context(&run)))?;
    eprintln!(
        "{label}: booted in {:.1} s (kernel {}); the guest reported:\n  {}",
        took.as_secs_f64(),
        report.kernel,
        report.raw.join("\n  ")
    );
    if run.killed {
        return Err(format!(
            "{label}: the guest reported but did not power off within {} s\n{}",
            BOOT_TIMEOUT.as_secs(),
            context(&run)
        ));
    }
    Ok(Booted {
        report,
        context: context(&run),
    })
}

/// The differences of a report from the XML, as a message naming the case and how it ran.
pub fn disagreement(label: &str, what: &str, diffs: &[String], booted: &Booted) -> String {
    let mut text = format!("{label}: the guest's view disagrees with {what}:\n");
    for d in diffs {
        let _ = writeln!(text, "  {d}");
    }
    let _ = write!(
        text,
        "  guest report:\n    {}\n{}",
        booted.report.raw.join("\n    "),
        booted.context
    );
    text
}

// ---------------------------------------------------------------------------
// The XML side (common::xml, independent of vnumac)
// ---------------------------------------------------------------------------

/// What the domain XML declares, as far as the guest can see it.
#[derive(Debug, Clone)]
pub struct DomainSpec {
    pub memory: u64,
    pub max_vcpus: u32,
    /// vCPU indexes present (online) at boot.
    pub present_vcpus: BTreeSet<u32>,
    /// sockets, dies, cores, threads (libvirt's default without `<topology>`: N sockets of one thread).
    pub topology: [u32; 4],
    pub cells: Vec<NumaCell>,
    /// Bytes of all `<memory model=…>` devices (part of `<memory>`, not of any cell).
    pub device_memory: u64,
    /// Bytes of `<memory model='dimm'>` per target node: System RAM the guest kernel adds to that
    /// node (offline under Debian's policy). NVDIMMs (pmem, via modules) and virtio-mem (a module)
    /// add nothing the guest's node tree shows without modules, so they are not expected there.
    pub dimm_memory: BTreeMap<u32, u64>,
    /// PCI expander buses bound to a cell: (first bus number, cell id).
    pub expanders: Vec<(u32, u32)>,
}

pub fn domain_spec(xml: &str) -> Result<DomainSpec, String> {
    let (domain, basics) = parse_domain(xml)?;
    let DomainBasics {
        memory,
        max_vcpus,
        present_vcpus,
        topology,
        cells,
    } = basics;

    let mut expanders = Vec::new();
    for controller in domain.at(&["devices"]).into_iter().flat_map(|d| d.all("controller")) {
        let model = controller.attr("model").unwrap_or("");
        if !matches!(model, "pcie-expander-bus" | "pci-expander-bus") {
            continue;
        }
        let target = controller.at(&["target"]);
        let bus = target.and_then(|t| t.attr("busNr"));
        let node = target.and_then(|t| t.at(&["node"]));
        if let (Some(bus), Some(node)) = (bus, node) {
            expanders.push((number(bus, "<target busNr>")?, number(&node.text, "<target><node>")?));
        }
    }
    expanders.sort_unstable();
    let mut device_memory = 0;
    let mut dimm_memory = BTreeMap::new();
    for dev in domain.at(&["devices"]).into_iter().flat_map(|d| d.all("memory")) {
        let Some(size) = dev.at(&["target", "size"]) else {
            continue;
        };
        let bytes = scaled_bytes(&size.text, size.attr("unit"))?;
        device_memory += bytes;
        if dev.attr("model") == Some("dimm") {
            let node = dev
                .at(&["target", "node"])
                .map_or(Ok(0), |n| number::<u32>(&n.text, "<target><node>"))?;
            *dimm_memory.entry(node).or_insert(0) += bytes;
        }
    }
    Ok(DomainSpec {
        memory,
        max_vcpus,
        present_vcpus,
        topology,
        cells,
        device_memory,
        dimm_memory,
        expanders,
    })
}

// ---------------------------------------------------------------------------
// The guest side: the report printed by /init
// ---------------------------------------------------------------------------

#[derive(Debug, Default)]
pub struct GuestReport {
    pub kernel: String,
    pub online: BTreeSet<u32>,
    pub nodes: BTreeMap<u32, GuestNode>,
    pub cpus: BTreeMap<u32, GuestCpu>,
    /// /sys/devices/system/memory/block_size_bytes.
    pub block_size: Option<u64>,
    /// PCI device (`0000:fe:00.0`) → its `numa_node` (-1 for none).
    pub pci_devices: BTreeMap<String, i32>,
    /// PCI bus (`0000:fe`) → its `cpulistaffinity`.
    pub pci_buses: BTreeMap<String, BTreeSet<u32>>,
    /// The report's lines as printed, for messages.
    pub raw: Vec<String>,
}

#[derive(Debug, Default)]
pub struct GuestNode {
    pub cpus: BTreeSet<u32>,
    pub distance: Vec<u32>,
    pub mem_total_kib: Option<u64>,
    /// Memory blocks of the node: (online, all).
    pub blocks: Option<(u64, u64)>,
}

#[derive(Debug)]
pub struct GuestCpu {
    pub siblings: BTreeSet<u32>,
    pub core: u32,
    pub die: u32,
    pub package: u32,
}

/// Parses the lines between the markers in the guest's serial output.
pub fn parse_report(serial: &str) -> Result<GuestReport, String> {
    let lines: Vec<&str> = serial.lines().map(|l| l.trim_end_matches('\r').trim()).collect();
    let begin = lines
        .iter()
        .position(|l| *l == BEGIN)
        .ok_or(format!("no {BEGIN} line"))?;
    let len = lines[begin..]
        .iter()
        .position(|l| *l == END)
        .ok_or(format!("no {END} line after {BEGIN}"))?;
    let mut report = GuestReport::default();
    for line in &lines[begin + 1..begin + len] {
        report.raw.push((*line).to_owned());
        let bad = || format!("unexpected report line {line:?}");
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["kernel", release] => report.kernel = (*release).to_owned(),
            ["online", list @ ..] => report.online = parse_cpu_list(&list.join(""))?,
            ["pci", address, "node", node] => {
                report
                    .pci_devices
                    .insert((*address).to_owned(), number(node, "numa_node")?);
            }
            ["pcibus", bus, "cpus", list @ ..] => {
                report
                    .pci_buses
                    .insert((*bus).to_owned(), parse_cpu_list(&list.join(""))?);
            }
            ["memory", "block_size", hex] => {
                let size = u64::from_str_radix(hex, 16).map_err(|_| bad())?;
                report.block_size = Some(size).filter(|&s| s > 0);
            }
            ["node", id, what, rest @ ..] => {
                let node = report.nodes.entry(number(id, "node id")?).or_default();
                match (*what, rest) {
                    ("cpulist", list) => node.cpus = parse_cpu_list(&list.join(""))?,
                    ("distance", row) => {
                        node.distance = row.iter().map(|v| number(v, "distance")).collect::<Result<_, _>>()?;
                    }
                    // "Node 0 MemTotal:        8123456 kB"
                    ("meminfo", ["Node", _, "MemTotal:", kib, "kB"]) => {
                        node.mem_total_kib = Some(number(kib, "MemTotal")?);
                    }
                    ("blocks", [online, total]) => {
                        node.blocks = Some((number(online, "online blocks")?, number(total, "blocks")?));
                    }
                    _ => return Err(bad()),
                }
            }
            [
                "cpu",
                id,
                "siblings",
                list,
                "core",
                core,
                "die",
                die,
                "package",
                package,
            ] => {
                let cpu = GuestCpu {
                    siblings: parse_cpu_list(list)?,
                    core: number(core, "core_id")?,
                    die: number(die, "die_id")?,
                    package: number(package, "physical_package_id")?,
                };
                report.cpus.insert(number(id, "cpu id")?, cpu);
            }
            _ => return Err(bad()),
        }
    }
    if report.kernel.is_empty() {
        return Err("the report has no kernel line".to_owned());
    }
    Ok(report)
}

// ---------------------------------------------------------------------------
// Comparison: the XML's declarations against the guest's view
// ---------------------------------------------------------------------------

/// One line per difference, `what: XML … | guest …`.
pub fn compare(spec: &DomainSpec, report: &GuestReport) -> Vec<String> {
    let mut diffs = Vec::new();
    // Linux numbers the CPUs it finds enabled at boot in MADT (= vCPU index) order, so the k-th
    // present vCPU is guest CPU k; hot-pluggable ones absent at boot get no number.
    let guest_id: BTreeMap<u32, u32> = spec.present_vcpus.iter().copied().zip(0..).collect();
    let to_guest = |vcpus: &mut dyn Iterator<Item = u32>| -> BTreeSet<u32> {
        vcpus.filter_map(|v| guest_id.get(&v).copied()).collect()
    };

    // Without <numa>, the guest has one node with everything.
    let cells = if spec.cells.is_empty() {
        vec![NumaCell {
            id: 0,
            cpus: (0..spec.max_vcpus).collect(),
            memory: spec.memory.saturating_sub(spec.device_memory),
            distances: None,
        }]
    } else {
        spec.cells.clone()
    };
    let cell_ids: Vec<u32> = cells.iter().map(|c| c.id).collect();
    differ(
        &mut diffs,
        "NUMA nodes".into(),
        format!("{cell_ids:?}"),
        format!("{:?}", report.nodes.keys().collect::<Vec<_>>()),
    );
    for cell in &cells {
        let id = cell.id;
        let Some(node) = report.nodes.get(&id) else {
            continue; // reported above
        };
        differ(
            &mut diffs,
            format!("node {id} cpus (online)"),
            format_set(&to_guest(&mut cell.cpus.iter().copied())),
            format_set(&node.cpus),
        );
        let row: Vec<u32> = cell_ids.iter().map(|&to| distance(&cells, id, to)).collect();
        differ(
            &mut diffs,
            format!("node {id} distance row"),
            format!("{row:?}"),
            format!("{:?}", node.distance),
        );
        let dimm = spec.dimm_memory.get(&id).copied().unwrap_or(0);
        let cell_kib = cell.memory / KIB;
        // A DIMM counts once onlined (it is not, by default, under Debian's kernel).
        let ceiling = cell_kib + dimm / KIB;
        let floor = cell_kib.saturating_sub(cell_kib * MEM_SHORTFALL_PER_MILLE / 1000 + MEM_SHORTFALL_FIXED_KIB);
        match node.mem_total_kib {
            Some(kib) if (floor..=ceiling).contains(&kib) => {}
            Some(kib) => diffs.push(format!(
                "node {id} MemTotal: XML cell {cell_kib} KiB (guest may see {floor}..={ceiling} KiB) | guest {kib} KiB ({:+.2}%)",
                (kib as f64 - cell_kib as f64) * 100.0 / cell_kib as f64
            )),
            None => diffs.push(format!("node {id} MemTotal: the guest printed none")),
        }
        // Every memory block (online or not) of the node: the cell plus its DIMMs, to a block
        // (a block can straddle two nodes, and Linux picks 128 MiB–2 GiB blocks).
        if let (Some(block), Some((online, total))) = (report.block_size, node.blocks) {
            let want = cell.memory + dimm;
            if (total * block).abs_diff(want) > block {
                diffs.push(format!(
                    "node {id} memory blocks: XML cell {} MiB + DIMMs {} MiB | guest {total} blocks of {} MiB ({online} online)",
                    cell.memory / MIB,
                    dimm / MIB,
                    block / MIB
                ));
            }
        }
    }
    // PCI expander buses: the bus's CPU affinity is its cell's CPUs, and every device on a bus the
    // expander owns (its bus number up to the next expander's) sits in that cell.
    for &(bus, cell) in &spec.expanders {
        let want = cells
            .iter()
            .find(|c| c.id == cell)
            .map(|c| to_guest(&mut c.cpus.iter().copied()));
        let got = report.pci_buses.get(&format!("0000:{bus:02x}"));
        if want.as_ref() != got {
            diffs.push(format!(
                "PCI bus 0000:{bus:02x} cpulistaffinity: XML expander on cell {cell} ({}) | guest {}",
                want.map_or_else(|| "no such cell".to_owned(), |w| format_set(&w)),
                got.map_or_else(|| "has no such bus".to_owned(), format_set)
            ));
        }
    }
    for (address, &node) in &report.pci_devices {
        let bus = address.split(':').nth(1).and_then(|b| u32::from_str_radix(b, 16).ok());
        let owner = bus.and_then(|b| spec.expanders.iter().rev().find(|(first, _)| *first <= b));
        if let Some(&(first, cell)) = owner
            && i64::from(node) != i64::from(cell)
        {
            diffs.push(format!(
                "PCI device {address} numa_node: XML cell {cell} (behind the expander at bus {first:#04x}) | guest {node}"
            ));
        }
    }

    // Linux numbers nodes in the order their proximity domains first appear in the SRAT, where
    // QEMU lists the vCPUs first (by index) and memory after: a cell without vCPU 0, or a
    // memory-only cell before a CPU cell, gets another number in the guest. Say so when it fits.
    let renumbered: Vec<String> = report
        .nodes
        .iter()
        .filter(|(_, node)| !node.cpus.is_empty())
        .filter_map(|(&gid, node)| {
            let same = cells
                .iter()
                .find(|c| to_guest(&mut c.cpus.iter().copied()) == node.cpus)?;
            (same.id != gid).then(|| format!("guest node {gid} has XML cell {}'s CPUs", same.id))
        })
        .collect();
    if !renumbered.is_empty() {
        diffs.push(format!(
            "hint: {}; Linux numbers nodes by first appearance in the SRAT (vCPUs in index order, \
             then memory), not by cell id",
            renumbered.join(", ")
        ));
    }

    // CPUs: online set and SMT siblings.
    differ(
        &mut diffs,
        "online CPUs".into(),
        format_set(&to_guest(&mut spec.present_vcpus.iter().copied())),
        format_set(&report.online),
    );
    let [_, dies, cores, threads] = spec.topology;
    let mut sibling_diffs = Vec::new();
    for (&vcpu, &gid) in &guest_id {
        let Some(cpu) = report.cpus.get(&gid) else {
            sibling_diffs.push(format!("cpu {gid} (vCPU {vcpu}): the guest printed no topology"));
            continue;
        };
        let core_start = vcpu / threads * threads;
        let want = to_guest(&mut (core_start..core_start + threads));
        let (package, die, core) = (
            vcpu / (dies * cores * threads),
            vcpu / (cores * threads) % dies,
            vcpu / threads % cores,
        );
        let want_line = format!("siblings {} package {package} die {die} core {core}", format_set(&want));
        let got_line = format!(
            "siblings {} package {} die {} core {}",
            format_set(&cpu.siblings),
            cpu.package,
            cpu.die,
            cpu.core
        );
        if want_line != got_line {
            sibling_diffs.push(format!("cpu {gid} (vCPU {vcpu}): XML {want_line} | guest {got_line}"));
        }
    }
    let extra: BTreeSet<u32> = report
        .cpus
        .keys()
        .filter(|g| !guest_id.values().any(|v| v == *g))
        .copied()
        .collect();
    if !extra.is_empty() {
        sibling_diffs.push(format!(
            "CPUs the XML does not have online: guest has topology for {}",
            format_set(&extra)
        ));
    }
    diffs.extend(sibling_diffs);
    diffs
}

fn differ(diffs: &mut Vec<String>, what: String, xml: String, guest: String) {
    if xml != guest {
        diffs.push(format!("{what}: XML {xml} | guest {guest}"));
    }
}

/// The distance from cell `from` to cell `to` as libvirt passes it to QEMU: the sibling value;
/// a missing one mirrors the opposite direction, else 10 to itself and 20 elsewhere (Linux's default).
fn distance(cells: &[NumaCell], from: u32, to: u32) -> u32 {
    let value = |a: u32, b: u32| {
        cells
            .iter()
            .find(|c| c.id == a)
            .and_then(|c| c.distances.as_ref())
            .and_then(|d| d.get(&b).copied())
    };
    value(from, to)
        .or_else(|| value(to, from))
        .unwrap_or(if from == to { 10 } else { 20 })
}
