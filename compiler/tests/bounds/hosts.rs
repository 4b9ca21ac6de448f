//! Host profiles: id sets kept as ranges (a CPU list naming a million ids costs one run),
//! and a /sys tree whose files are not what /sys holds.

use std::path::Path;

use crate::harness::{LIMIT_MIB, scratch, vnumac_limited};

const WIDE: &str = "0-1048575";

/// 2,000 `l3 0-1048575` lines (30 KB): each an error naming the CPUs that are on no node.
#[test]
fn l3_lines_naming_a_million_cpus() {
    let dir = scratch("l3");
    let mut text = String::from("host h {\n  node 0 cpus=0-3 memory=8GiB\n");
    text.push_str(&format!("  l3 {WIDE}\n").repeat(2000));
    text.push_str("}\n");
    std::fs::write(dir.join("h.vnuma"), text).unwrap();
    let run = vnumac_limited(&dir, &["check", "h.vnuma"], LIMIT_MIB);
    run.assert_code(1).assert_diag("E0414");
    assert!(
        run.stderr.contains("CPUs 4-1048575 are not on any node"),
        "{}",
        run.stderr
    );
}

/// Every set-valued property of hosts and guests, 2,000 times over, with a million ids each.
#[test]
fn every_set_property_naming_a_million_ids() {
    let dir = scratch("sets");
    let mut text = String::from("host h {\n  node 0 cpus=0-3 memory=8GiB\n  node 1 cpus=4-7 memory=8GiB\n");
    for line in ["reserve cpus=", "siblings ", "cpu ", "node 2 memory=1GiB cpus="] {
        text.push_str(&format!("  {line}{WIDE}\n").repeat(500));
    }
    text.push_str("}\nguest g on=h {\n  memory 2GiB\n  vcpus 4\n  numa {\n");
    for i in 0..100 {
        text.push_str(&format!("    cell {i} cpus={WIDE} memory=1GiB host-node={WIDE}\n"));
    }
    text.push_str("  }\n");
    for line in [
        "pin vcpus=0-1048575 cpus=",
        "emulator cpus=",
        "iothreads 1 cpus=",
        "memory-policy mode=strict nodeset=",
        "vnuma mode=node nodeset=",
    ] {
        text.push_str(&format!("  {line}{WIDE}\n").repeat(400));
    }
    text.push_str("}\n");
    std::fs::write(dir.join("g.vnuma"), text).unwrap();
    vnumac_limited(&dir, &["check", "g.vnuma"], LIMIT_MIB).assert_code(1);
    vnumac_limited(&dir, &["explain", "g.vnuma"], LIMIT_MIB).assert_code(1);
}

/// A domain with 1,000 `<vcpupin cpuset='0-1048575'>` and a capabilities file with 1,000
/// cache banks of a million CPUs each.
#[test]
fn imports_naming_a_million_cpus() {
    let dir = scratch("imports");
    let pins = format!("<vcpupin vcpu='0' cpuset='{WIDE}'/>").repeat(1000);
    let domain = format!(
        "<domain type='kvm'><name>g</name><memory unit='KiB'>1048576</memory><vcpu>4</vcpu>\
         <cputune>{pins}<emulatorpin cpuset='{WIDE}'/></cputune>\
         <os><type arch='x86_64' machine='q35'>hvm</type></os></domain>"
    );
    std::fs::write(dir.join("d.xml"), domain).unwrap();
    vnumac_limited(&dir, &["import", "d.xml"], LIMIT_MIB).assert_code(0);
    let cpus: String = (0..4)
        .map(|i| format!("<cpu id='{i}' socket_id='0' core_id='{i}' siblings='{i}'/>"))
        .collect();
    let banks = format!("<bank id='0' level='3' type='both' size='32' unit='MiB' cpus='{WIDE}'/>").repeat(1000);
    let caps = format!(
        "<capabilities><host><cpu><arch>x86_64</arch></cpu><topology><cells num='1'>\
         <cell id='0'><memory unit='KiB'>8388608</memory><cpus num='4'>{cpus}</cpus></cell>\
         </cells></topology><cache>{banks}</cache></host></capabilities>"
    );
    std::fs::write(dir.join("caps.xml"), caps).unwrap();
    let run = vnumac_limited(&dir, &["host", "import", "caps.xml"], LIMIT_MIB);
    run.assert_code(1);
    assert!(
        run.stderr.contains("CPUs 4-1048575 are not on any node"),
        "{}",
        run.stderr
    );
}

/// A /sys tree of `cpus` CPUs on node 0, each with an L3 cache shared by `shared`.
fn sysfs_tree(root: &Path, cpus: u32, shared: &str) {
    let node = root.join("devices/system/node/node0");
    std::fs::create_dir_all(&node).unwrap();
    std::fs::write(node.join("cpulist"), format!("0-{}\n", cpus - 1)).unwrap();
    std::fs::write(
        node.join("meminfo"),
        "Node 0 MemTotal: 8388608 kB\nNode 0 MemFree: 8000000 kB\n",
    )
    .unwrap();
    for c in 0..cpus {
        let cpu = root.join(format!("devices/system/cpu/cpu{c}"));
        let topo = cpu.join("topology");
        std::fs::create_dir_all(&topo).unwrap();
        for (file, value) in [("physical_package_id", 0), ("die_id", 0), ("core_id", c)] {
            std::fs::write(topo.join(file), format!("{value}\n")).unwrap();
        }
        std::fs::write(topo.join("thread_siblings_list"), format!("{c}\n")).unwrap();
        let index = cpu.join("cache/index3");
        std::fs::create_dir_all(&index).unwrap();
        std::fs::write(index.join("level"), "3\n").unwrap();
        std::fs::write(index.join("type"), "Unified\n").unwrap();
        std::fs::write(index.join("shared_cpu_list"), format!("{shared}\n")).unwrap();
    }
}

/// 1,000 CPUs whose L3 is shared by a million CPUs: one domain of the 1,000 that exist.
#[test]
fn probe_with_caches_shared_by_a_million_cpus() {
    let dir = scratch("probe-l3");
    sysfs_tree(&dir.join("sys"), 1000, WIDE);
    let run = vnumac_limited(&dir, &["host", "probe", "--sysfs-root", "sys"], LIMIT_MIB);
    run.assert_code(0);
    assert!(run.stdout.contains("l3 0-999"), "{}", run.stdout);
}

/// A node's `meminfo` that is `/dev/zero` or a FIFO: refused by name, never read.
#[test]
fn probe_reads_only_bounded_regular_files() {
    for (tag, make) in [("zero", "ln -s /dev/zero"), ("fifo", "mkfifo")] {
        let dir = scratch(tag);
        let root = dir.join("sys");
        sysfs_tree(&root, 2, "0-1");
        let meminfo = root.join("devices/system/node/node0/meminfo");
        std::fs::remove_file(&meminfo).unwrap();
        let status = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("{make} \"$0\""))
            .arg(&meminfo)
            .status()
            .unwrap();
        assert!(status.success());
        let run = vnumac_limited(&dir, &["host", "probe", "--sysfs-root", "sys"], LIMIT_MIB);
        // A /sys tree that cannot be read is an I/O error: exit code 2, the path named.
        run.assert_code(2);
        let expected = if tag == "zero" { "is a device" } else { "is a FIFO" };
        assert!(
            run.stderr.contains("node0/meminfo") && run.stderr.contains(expected),
            "{}",
            run.stderr
        );
    }
    // A regular file larger than any attribute.
    let dir = scratch("big");
    let root = dir.join("sys");
    sysfs_tree(&root, 2, "0-1");
    let big = "Node 0 MemTotal: 1 kB\n".repeat(40_000);
    std::fs::write(root.join("devices/system/node/node0/meminfo"), big).unwrap();
    let run = vnumac_limited(&dir, &["host", "probe", "--sysfs-root", "sys"], LIMIT_MIB);
    run.assert_code(2);
    assert!(run.stderr.contains("KiB limit"), "{}", run.stderr);
}
