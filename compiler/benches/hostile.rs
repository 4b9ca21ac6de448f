//! Hostile inputs with fixed contents: what a few megabytes crafted to be expensive cost.
//! Each scenario runs in a child process so its peak memory is its own.
//! `cargo bench -p vnumac --bench hostile`; figures go in docs/performance.md.
//!
//! - `bad-lines-40k`: 40,000 unknown statements in one guest: check, then render the 200
//!   diagnostics the CLI shows;
//! - `props-4m`: one statement with 4,000,000 properties (16 MB, the input cap): check and
//!   render (the file is read up to its 250,000th word);
//! - `lines-5m`: 5,000,000 lines of one unknown top-level word;
//! - `semicolons-8m`: 7,900,000 unknown statements `a;` in one guest;
//! - `fmt-250k`: formatting 990 consecutive statements of 250 properties each, every one
//!   named differently (247,500 candidate columns for alignment, just under the word budget);
//! - `import-attrs-200k`, `import-elems-200k`: domain XML with 200,000 attributes on the root,
//!   or 200,000 unknown elements;
//! - `caps-64-nodes`: a 64-node capabilities file (760 KB) read into a host profile;
//! - `import-vcpus-max`: a domain of 4,294,967,295 vCPUs and one cell (176 bytes), refused;
//! - `import-disks-5k`: a domain with 5,000 virtio disks, each given its own root port.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::fmt::Write;
use std::path::Path;
use std::time::Instant;
use support::peak_rss_kib;
use vnumac::db::{self, Database, Loader};
use vnumac::host::HostProfile;

struct Mem(String);

impl Loader for Mem {
    fn read(&self, _: &Path) -> std::io::Result<String> {
        Ok(self.0.clone())
    }
    fn probe(&self) -> Result<HostProfile, String> {
        Err("no probe".into())
    }
}

const SCENARIOS: &[&str] = &[
    "bad-lines-40k",
    "props-4m",
    "lines-5m",
    "semicolons-8m",
    "fmt-250k",
    "import-attrs-200k",
    "import-elems-200k",
    "caps-64-nodes",
    "import-vcpus-max",
    "import-disks-5k",
];

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

/// Check a file and render the diagnostics the CLI would show (the first 200).
fn check_and_render(text: &str) -> usize {
    let db = Database::default();
    let program = db::load_program(&db, Path::new("hostile.vnuma"), &Mem(text.to_string())).unwrap();
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
        "bad-lines-40k" | "props-4m" | "lines-5m" | "semicolons-8m" => check_and_render(input),
        "fmt-250k" => vnumac::fmt::format(input).unwrap().len(),
        "import-attrs-200k" | "import-elems-200k" | "import-disks-5k" => {
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
        "import-vcpus-max" => "<domain type='kvm'><name>x</name><memory unit='GiB'>4</memory><vcpu>4294967295</vcpu>\
             <cpu><numa><cell id='0' cpus='0' memory='4' unit='GiB'/></numa></cpu></domain>"
            .to_string(),
        "import-disks-5k" => disks(5_000),
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
