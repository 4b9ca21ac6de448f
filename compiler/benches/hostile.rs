//! Hostile inputs with fixed contents: what a few megabytes crafted to be expensive cost.
//! Each scenario runs in a child process so its peak memory is its own.
//! `cargo bench -p vnumac --bench hostile`; figures go in docs/performance.md.
//!
//! - `bad-lines-40k`: 40,000 unknown statements in one guest: check, then render the 200
//!   diagnostics the CLI shows;
//! - `props-4m`: one statement with 4,000,000 properties (16 MB, the input cap): check and
//!   render (the file is read up to its 250,000th word);
//! - `lines-5m`: 5,000,000 lines of one unknown top-level word;
//! - `lines-cr-5m`: the same lines ending in a lone `\r`, read as lines too;
//! - `semicolons-8m`: 7,900,000 unknown statements `a;` in one guest;
//! - `fmt-250k`: formatting 990 consecutive statements of 250 properties each, every one
//!   named differently (247,500 candidate columns for alignment, just under the word budget);
//! - `import-attrs-200k`, `import-elems-200k`: domain XML with 200,000 attributes on the root,
//!   or 200,000 unknown elements;
//! - `caps-64-nodes`: a 64-node capabilities file (760 KB) read into a host profile;
//! - `l3-wide-2k`: a host block of 2,000 `l3 0-1048575` lines, checked and rendered;
//! - `sets-wide`: every set-valued host and guest property, 400 to 500 times each, naming a
//!   million ids every time, checked and rendered;
//! - `import-vcpupin-1k`: a domain with 1,000 `<vcpupin cpuset='0-1048575'>`, imported;
//! - `caps-banks-1k`: capabilities with 1,000 L3 banks of a million CPUs each, refused;
//! - `probe-l3-1k`: a /sys tree of 1,000 CPUs whose L3 lists a million CPUs, probed;
//! - `cells-20k`: one guest of 20,000 memory-only cells (more than QEMU's 128) and one
//!   `distance` line, which asks for the whole table, checked;
//! - `pins-shared-1000`, `pins-shared-2000`: 1,000 or 2,000 hand-written guests, each with
//!   `pin vcpus=0-1 node=N` over the four nodes of one host, so every guest shares CPUs with
//!   the earlier guests of its node (W0507), checked and rendered;
//! - `pins-alternate-16k`: 16,000 hand-written guests on a 16-node, 16,384-CPU host, each
//!   pinned to one even CPU (the second 8,192 sharing the first's), so the CPUs taken are
//!   8,192 runs of one: what each guest adds to the ledger, checked and rendered;
//! - `floats-1000`: 1,000 guests with unpinned vCPUs beside 1,000 `vnuma` guests, each with
//!   a dedicated vCPU, a shared vCPU, an isolated emulator core and a per-cell I/O thread, on
//!   a 16-node, 2,048-CPU host: every unpinned guest floats over every dedicated guest's
//!   cores (W0513), and every shared vCPU and I/O thread is placed after the fleet, checked
//!   and rendered;
//! - `cpu-features-9k`: one `cpu` line that requires 9,000 distinct features (a 64 KiB
//!   string), checked;
//! - `word-16m`, `nuls-16m`, `string-16m`: one token at the 16 MiB input cap (a word, NULs,
//!   an unterminated string), checked and rendered;
//! - `import-vcpus-max`: a domain of 4,294,967,295 vCPUs and one cell (176 bytes), refused;
//! - `import-disks-5k`: a domain with 5,000 virtio disks, each given its own root port;
//! - `realtime-fleet-2500`: a guest of 255 real-time vCPUs pinned one to a CPU, beside 2,000
//!   guests floating over the host's nodes and 500 not pinned at all (W0509, W0510: the sweep
//!   over every guest's CPU runs), checked and rendered;
//! - `sched-lines-40k`: 40,000 `sched` lines over the same 288 vCPUs, each after the first
//!   overlapping it (E0344), checked and rendered;
//! - `hostdevs-20k`: a host listing 20,000 PCI devices over four nodes in two packages, and
//!   a guest passing all of them through with `node=auto policy=socket`, half of them on a
//!   node with no cell of the guest (W0519), checked and rendered.
//! - `cache-allocs-20k`: a host of 20,000 cache banks and a guest with an allocation on each,
//!   in one group of 288 pinned vCPUs (each found by its key, each bank by binary search),
//!   checked (no diagnostic).
//! - `import-pxb-20k`: an i440fx domain with 20 `pxb` expanders and 20,000 NICs spread over
//!   them and pci.0 (the slots compared through maps built once), imported.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::fmt::Write;
use std::path::Path;
use std::time::Instant;
use support::peak_rss_kib;
use vnumac::db::{self, Database, MemLoader};

const SCENARIOS: &[&str] = &[
    "bad-lines-40k",
    "props-4m",
    "lines-5m",
    "lines-cr-5m",
    "semicolons-8m",
    "fmt-250k",
    "import-attrs-200k",
    "import-elems-200k",
    "caps-64-nodes",
    "l3-wide-2k",
    "sets-wide",
    "import-vcpupin-1k",
    "caps-banks-1k",
    "probe-l3-1k",
    "cells-20k",
    "pins-shared-1000",
    "pins-shared-2000",
    "pins-alternate-16k",
    "floats-1000",
    "cpu-features-9k",
    "word-16m",
    "nuls-16m",
    "string-16m",
    "import-vcpus-max",
    "import-disks-5k",
    "realtime-fleet-2500",
    "sched-lines-40k",
    "hostdevs-20k",
    "cache-allocs-20k",
    "import-pxb-20k",
];

const WIDE: &str = "0-1048575";

fn l3_wide() -> String {
    format!(
        "host h {{\n  node 0 cpus=0-3 memory=8GiB\n{}}}\n",
        format!("  l3 {WIDE}\n").repeat(2000)
    )
}

fn sets_wide() -> String {
    let mut text = String::from("host h {\n  node 0 cpus=0-3 memory=8GiB\n  node 1 cpus=4-7 memory=8GiB\n");
    for line in ["reserve cpus=", "siblings ", "cpu "] {
        text.push_str(&format!("  {line}{WIDE}\n").repeat(500));
    }
    text.push_str("}\nguest g on=h {\n  memory 2GiB\n  vcpus 4\n  numa {\n");
    for i in 0..100 {
        let _ = writeln!(text, "    cell {i} cpus={WIDE} memory=1GiB host-node={WIDE}");
    }
    text.push_str("  }\n");
    for line in [
        "pin vcpus=0-3 cpus=",
        "emulator cpus=",
        "iothreads 1 cpus=",
        "memory-policy mode=strict nodeset=",
    ] {
        text.push_str(&format!("  {line}{WIDE}\n").repeat(400));
    }
    text.push_str("}\n");
    text
}

fn vcpupins() -> String {
    format!(
        "<domain type='kvm'><name>g</name><memory unit='KiB'>1048576</memory><vcpu>4</vcpu>\
         <cputune>{}</cputune><os><type arch='x86_64' machine='q35'>hvm</type></os></domain>",
        format!("<vcpupin vcpu='0' cpuset='{WIDE}'/>").repeat(1000)
    )
}

fn caps_banks() -> String {
    let cpus: String = (0..4)
        .map(|i| format!("<cpu id='{i}' socket_id='0' core_id='{i}' siblings='{i}'/>"))
        .collect();
    let banks = format!("<bank id='0' level='3' type='both' size='32' unit='MiB' cpus='{WIDE}'/>").repeat(1000);
    format!(
        "<capabilities><host><cpu><arch>x86_64</arch></cpu><topology><cells num='1'><cell id='0'>\
         <memory unit='KiB'>8388608</memory><cpus num='4'>{cpus}</cpus></cell></cells></topology>\
         <cache>{banks}</cache></host></capabilities>"
    )
}

/// A /sys tree of 1,000 CPUs on one node, each with an L3 shared by a million CPUs; its path.
fn sysfs_tree() -> String {
    let root = std::env::temp_dir().join(format!("vnumac-hostile-sysfs-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let node = root.join("devices/system/node/node0");
    std::fs::create_dir_all(&node).unwrap();
    std::fs::write(node.join("cpulist"), "0-999\n").unwrap();
    std::fs::write(node.join("meminfo"), "Node 0 MemTotal: 8388608 kB\n").unwrap();
    for c in 0..1000 {
        let cpu = root.join(format!("devices/system/cpu/cpu{c}"));
        std::fs::create_dir_all(cpu.join("topology")).unwrap();
        std::fs::write(cpu.join("topology/core_id"), format!("{c}\n")).unwrap();
        let index = cpu.join("cache/index3");
        std::fs::create_dir_all(&index).unwrap();
        std::fs::write(index.join("level"), "3\n").unwrap();
        std::fs::write(index.join("type"), "Unified\n").unwrap();
        std::fs::write(index.join("shared_cpu_list"), format!("{WIDE}\n")).unwrap();
    }
    root.display().to_string()
}

fn bad_lines() -> String {
    let mut text = String::from("guest g {\n  memory 1GiB\n  vcpus 1\n");
    for i in 0..40_000 {
        let _ = writeln!(text, "  bogus{i} 1");
    }
    text.push_str("}\n");
    text
}

fn props(n: usize) -> String {
    format!(
        "guest g {{\n  memory 1GiB\n  vcpus 1\n  cpu host-passthrough {}\n}}\n",
        "a=1 ".repeat(n)
    )
}

fn domain(body: &str) -> String {
    format!("<domain type='kvm'{body}<name>x</name><memory unit='KiB'>1048576</memory><vcpu>1</vcpu></domain>")
}

fn disks(n: usize) -> String {
    let disks: String = (0..n)
        .map(|i| {
            format!(
                "<disk type='file' device='disk'><source file='/d{i}.img'/><target dev='vd{i}' bus='virtio'/></disk>"
            )
        })
        .collect();
    domain(&format!("><devices>{disks}</devices>"))
}

/// An i440fx domain: `expanders` pxb on cells 0 and 1, and `n` NICs over them and pci.0.
fn pxb_nics(expanders: usize, n: usize) -> String {
    let mut body = String::from(
        " type='kvm'><name>x</name><memory unit='GiB'>4</memory><vcpu>2</vcpu>\
         <os><type arch='x86_64' machine='pc'>hvm</type></os><cpu mode='host-passthrough'><numa>\
         <cell id='0' cpus='0' memory='2' unit='GiB'/><cell id='1' cpus='1' memory='2' unit='GiB'/></numa></cpu><devices>",
    );
    for e in 1..=expanders {
        let _ = write!(
            body,
            "<controller type='pci' index='{e}' model='pci-expander-bus'><model name='pxb'/>\
             <target busNr='{}'><node>{}</node></target><address type='pci' bus='0' slot='{}'/></controller>",
            256 - 2 * e,
            e % 2,
            e + 1
        );
    }
    for i in 0..n {
        let _ = write!(
            body,
            "<interface type='bridge'><source bridge='br0'/><model type='virtio'/>\
             <address type='pci' bus='{}' slot='{}'/></interface>",
            i % (expanders + 1),
            i % 32
        );
    }
    format!("<domain{body}</devices></domain>")
}

fn caps() -> String {
    let mut s = String::from("<capabilities><host><cpu><arch>x86_64</arch></cpu><topology><cells num='64'>");
    for n in 0..64u32 {
        let _ = write!(s, "<cell id='{n}'><memory unit='KiB'>536870912</memory><distances>");
        for m in 0..64u32 {
            let d = if m == n {
                10
            } else if m / 32 == n / 32 {
                16
            } else {
                32
            };
            let _ = write!(s, "<sibling id='{m}' value='{d}'/>");
        }
        s.push_str("</distances><cpus num='128'>");
        for c in 0..64u32 {
            let (a, b) = (n * 64 + c, n * 64 + c + 4096);
            for id in [a, b] {
                let _ = write!(
                    s,
                    "<cpu id='{id}' socket_id='{}' die_id='0' core_id='{}' siblings='{a},{b}'/>",
                    n / 32,
                    n % 32 * 64 + c
                );
            }
        }
        s.push_str("</cpus></cell>");
    }
    s.push_str("</cells></topology></host></capabilities>");
    s
}

fn cells(n: usize) -> String {
    let mut text = format!("guest g {{\n  memory {n}MiB\n  vcpus 1\n  numa {{\n    cell 0 cpus=0 memory=1MiB\n");
    for i in 1..n {
        let _ = writeln!(text, "    cell {i} memory=1MiB");
    }
    text.push_str("    distance 0 1 20\n  }\n}\n");
    text
}

fn pins_shared(guests: usize) -> String {
    let mut text = String::from("host h {\n");
    for n in 0..4 {
        let _ = writeln!(text, "  node {n} cpus={}-{} memory=256GiB", n * 16, n * 16 + 15);
    }
    text.push_str("}\n");
    for i in 0..guests {
        let _ = writeln!(
            text,
            "guest g{i} on=h {{\n  memory 1GiB\n  vcpus 2\n  pin vcpus=0-1 node={}\n}}",
            i % 4
        );
    }
    text
}

fn pins_alternate(guests: usize) -> String {
    let mut text = String::from("host h {\n");
    for n in 0..16 {
        let _ = writeln!(text, "  node {n} cpus={}-{} memory=4TiB", n * 1024, n * 1024 + 1023);
    }
    text.push_str("}\n");
    for i in 0..guests {
        let cpu = (i * 2) % 16_384;
        let _ = writeln!(
            text,
            "guest g{i} on=h {{\n  memory 1GiB\n  vcpus 1\n  pin vcpus=0 cpus={cpu}\n}}"
        );
    }
    text
}

fn realtime_fleet(guests: usize) -> String {
    let mut text = String::from("host h {\n  smt adjacent\n");
    for n in 0..4 {
        let _ = writeln!(text, "  node {n} cpus={}-{} memory=1TiB", n * 64, n * 64 + 63);
    }
    text.push_str("}\nguest rt on=h {\n  machine pc\n  memory 64GiB\n  vcpus 255\n");
    for v in 0..255 {
        let _ = writeln!(text, "  pin vcpus={v} cpus={}", v + 1);
    }
    text.push_str("  emulator cpus=0\n  sched vcpus=0-254 policy=fifo priority=1\n}\n");
    for i in 0..guests {
        let pin = if i < guests * 4 / 5 {
            format!("  pin vcpus=0-1 node={} shared=true\n", i % 4)
        } else {
            String::new()
        };
        let _ = writeln!(text, "guest g{i} on=h {{\n  memory 1GiB\n  vcpus 2\n{pin}}}");
    }
    text
}

/// `guests` unpinned guests interleaved with as many `vnuma` guests that hold cores.
pub fn floats(guests: usize) -> String {
    let mut text = String::from("host h {\n");
    for n in 0..16 {
        let _ = writeln!(text, "  node {n} cpus={}-{} memory=1TiB", n * 128, n * 128 + 127);
    }
    text.push_str("}\n");
    for i in 0..guests {
        let _ = writeln!(
            text,
            "guest loose{i} on=h {{\n  memory 1GiB\n  vcpus 2\n}}\n\
             guest d{i} on=h {{\n  memory 1GiB\n  vcpus 2\n  vnuma mode=node shared-vcpus=1\n  \
             emulator policy=isolate\n  iothreads per-cell\n}}"
        );
    }
    text
}

fn hostdevs(n: usize) -> String {
    let mut text = String::from("host h {\n  cpu 0-7 socket=0\n  cpu 8-15 socket=1\n");
    for node in 0..4 {
        let _ = writeln!(text, "  node {node} cpus={}-{} memory=64GiB", node * 4, node * 4 + 3);
    }
    let address = |i: usize| format!("0000:{:02x}:{:02x}.{}", i / 256, (i / 8) % 32, i % 8);
    for i in 0..n {
        let _ = writeln!(text, "  pci {} node={}", address(i), i % 4);
    }
    text.push_str(
        "}\nguest g on=h {\n  memory 4GiB\n  vcpus 2\n  numa {\n    cell 0 cpus=0 memory=2GiB host-node=0\n    \
         cell 1 cpus=1 memory=2GiB host-node=2\n  }\n  devices {\n",
    );
    for i in 0..n {
        let _ = writeln!(text, "    hostdev {} node=auto policy=socket", address(i));
    }
    text + "  }\n}\n"
}

fn cache_allocs(n: usize) -> String {
    let mut text = String::from("host h {\n  node 0 cpus=0-287 memory=64GiB\n");
    for b in 0..n {
        let _ = writeln!(
            text,
            "  cache-bank {b} level=3 size=16MiB cpus=0-287 control=both granularity=1MiB allocs=16"
        );
    }
    text.push_str("}\nguest g on=h {\n  memory 1GiB\n  vcpus 288\n");
    for v in 0..288 {
        let _ = writeln!(text, "  pin vcpus={v} cpus={v}");
    }
    for b in 0..n {
        let _ = writeln!(text, "  cachetune vcpus=0-287 cache={b} size=1MiB");
    }
    text + "}\n"
}

fn sched_lines(n: usize) -> String {
    let mut text = String::from("guest g {\n  memory 1GiB\n  vcpus 288\n");
    for i in 0..n {
        let _ = writeln!(text, "  sched vcpus=0-287 policy=rr priority={}", i % 99 + 1);
    }
    text + "}\n"
}

fn cpu_features(n: usize) -> String {
    let list: Vec<String> = (0..n).map(|i| format!("f{i}")).collect();
    format!(
        "guest g {{\n  memory 1GiB\n  vcpus 1\n  cpu host-passthrough require=\"{}\"\n}}\n",
        list.join(",")
    )
}

/// Check a file: its diagnostics, however many (possibly none).
fn check_only(text: &str) -> usize {
    let db = Database::default();
    let program = db::load_program(&db, Path::new("hostile.vnuma"), &MemLoader::new("hostile.vnuma", text)).unwrap();
    db::compile(&db, program).diagnostics.len()
}

/// Check a file and render the diagnostics the CLI would show (the first 200).
fn check_and_render(text: &str) -> usize {
    let db = Database::default();
    let program = db::load_program(&db, Path::new("hostile.vnuma"), &MemLoader::new("hostile.vnuma", text)).unwrap();
    let compiled = db::compile(&db, program);
    let renderer = vnumac::diagnostics::Renderer::new(&compiled.sources, false, 100);
    let shown: usize = compiled
        .diagnostics
        .iter()
        .take(200)
        .map(|d| renderer.render(d).len())
        .sum();
    assert!(shown > 0);
    compiled.diagnostics.len()
}

fn run(name: &str, input: &str) -> usize {
    match name {
        "bad-lines-40k" | "props-4m" | "lines-5m" | "lines-cr-5m" | "semicolons-8m" | "l3-wide-2k" | "sets-wide"
        | "word-16m" | "nuls-16m" | "string-16m" => check_and_render(input),
        "import-vcpupin-1k" => vnumac::import::import_domain(input, &Default::default())
            .unwrap()
            .text
            .len(),
        "caps-banks-1k" => vnumac::host::caps::from_capabilities_xml("h", input)
            .unwrap_err()
            .message
            .len(),
        "probe-l3-1k" => vnumac::host::sysfs::probe("h", Path::new(input)).unwrap().0.l3.len(),
        "pins-shared-1000"
        | "pins-shared-2000"
        | "pins-alternate-16k"
        | "floats-1000"
        | "realtime-fleet-2500"
        | "sched-lines-40k"
        | "hostdevs-20k" => check_and_render(input),
        "cells-20k" | "cpu-features-9k" | "cache-allocs-20k" => check_only(input),
        "fmt-250k" => vnumac::fmt::format(input).unwrap().len(),
        "import-attrs-200k" | "import-elems-200k" | "import-disks-5k" | "import-pxb-20k" => {
            vnumac::import::import_domain(input, &Default::default())
                .unwrap()
                .text
                .len()
        }
        // Refused: the length of the message.
        "import-vcpus-max" => vnumac::import::import_domain(input, &Default::default())
            .unwrap_err()
            .message
            .len(),
        "caps-64-nodes" => vnumac::host::caps::from_capabilities_xml("big", input)
            .unwrap()
            .nodes
            .len(),
        other => panic!("unknown scenario {other}"),
    }
}

fn scenario(name: &str) {
    let input = match name {
        "bad-lines-40k" => bad_lines(),
        "props-4m" => props(4_000_000),
        "lines-5m" => "a\n".repeat(5_000_000),
        "lines-cr-5m" => "a\r".repeat(5_000_000),
        "semicolons-8m" => format!(
            "guest g {{\n  memory 1GiB\n  vcpus 1\n  {}\n}}\n",
            "a;".repeat(7_900_000)
        ),
        "fmt-250k" => {
            let mut text = String::from("guest g {\n  memory 1GiB\n  vcpus 1\n");
            for line in 0..990 {
                text.push_str("  cpu host-passthrough");
                for j in 0..250 {
                    let _ = write!(text, " k{line}x{j}=1");
                }
                text.push('\n');
            }
            text.push_str("}\n");
            text
        }
        "import-attrs-200k" => domain(&format!(
            "{}>",
            (0..200_000).map(|i| format!(" a{i}='x'")).collect::<String>()
        )),
        "import-elems-200k" => domain(&format!(
            ">{}",
            (0..200_000).map(|i| format!("<e{i}/>")).collect::<String>()
        )),
        "caps-64-nodes" => caps(),
        "l3-wide-2k" => l3_wide(),
        "sets-wide" => sets_wide(),
        "import-vcpupin-1k" => vcpupins(),
        "caps-banks-1k" => caps_banks(),
        "probe-l3-1k" => sysfs_tree(),
        "cells-20k" => cells(20_000),
        "pins-shared-1000" => pins_shared(1_000),
        "pins-shared-2000" => pins_shared(2_000),
        "pins-alternate-16k" => pins_alternate(16_000),
        "floats-1000" => floats(1_000),
        "cpu-features-9k" => cpu_features(9_000),
        "word-16m" => "a".repeat(16 << 20),
        "nuls-16m" => "\0".repeat(16 << 20),
        "string-16m" => format!("guest \"{}", "a".repeat((16 << 20) - 7)),
        "import-vcpus-max" => "<domain type='kvm'><name>x</name><memory unit='GiB'>4</memory><vcpu>4294967295</vcpu>\
             <cpu><numa><cell id='0' cpus='0' memory='4' unit='GiB'/></numa></cpu></domain>"
            .to_string(),
        "import-disks-5k" => disks(5_000),
        "realtime-fleet-2500" => realtime_fleet(2_500),
        "sched-lines-40k" => sched_lines(40_000),
        "hostdevs-20k" => hostdevs(20_000),
        "cache-allocs-20k" => cache_allocs(20_000),
        "import-pxb-20k" => pxb_nics(20, 20_000),
        other => panic!("unknown scenario {other}"),
    };
    let mut times = Vec::new();
    let mut result = 0;
    for _ in 0..3 {
        let start = Instant::now();
        result = run(name, &input);
        times.push(start.elapsed().as_secs_f64());
    }
    times.sort_by(|a, b| a.partial_cmp(b).unwrap());
    if name == "probe-l3-1k" {
        let _ = std::fs::remove_dir_all(&input);
    }
    println!("{name} {} {result} {:.4} {}", input.len(), times[1], peak_rss_kib());
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--scenario") {
        scenario(&args[i + 1]);
        return;
    }
    if args.iter().any(|a| a == "--list") {
        return;
    }
    let exe = std::env::current_exe().unwrap();
    println!(
        "{:<18} {:>12} {:>10} {:>12} {:>14}",
        "scenario", "input (KB)", "result", "median (s)", "peak RSS (MiB)"
    );
    for name in SCENARIOS {
        let out = std::process::Command::new(&exe)
            .args(["--scenario", name])
            .output()
            .unwrap();
        assert!(out.status.success(), "{name}: {}", String::from_utf8_lossy(&out.stderr));
        let line = String::from_utf8_lossy(&out.stdout);
        let f: Vec<&str> = line.split_whitespace().collect();
        let kb = f[1].parse::<f64>().unwrap() / 1000.0;
        let rss = f[4].parse::<f64>().unwrap() / 1024.0;
        println!("{:<18} {:>12.0} {:>10} {:>12} {:>14.1}", f[0], kb, f[2], f[3], rss);
    }
}
