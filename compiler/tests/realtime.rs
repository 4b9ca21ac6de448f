//! Real-time vCPUs (`sched`): not on the QEMU line, checked on the placed model of every
//! guest of a host, marked by `explain`, and read back from libvirt's own cases by `import`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::path::{Path, PathBuf};
use vnumac::db::{self, Database, Loader};
use vnumac::host::HostProfile;
use vnumac::import::{ImportOptions, import_domain};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

const ROOT: &str = "/virtual/realtime.vnuma";

/// Serves the text under test as ROOT; other paths from the examples directory.
struct Source(String);

impl Loader for Source {
    fn read(&self, path: &Path) -> std::io::Result<String> {
        if path == Path::new(ROOT) {
            Ok(self.0.clone())
        } else {
            fs::read_to_string(
                workspace()
                    .join("examples")
                    .join(path.strip_prefix("/virtual").unwrap_or(path)),
            )
        }
    }
    fn probe(&self) -> Result<HostProfile, String> {
        Err("these tests do not probe this machine".into())
    }
}

fn compile(text: &str) -> db::Compiled {
    let db = Database::default();
    let program = db::load_program(&db, Path::new(ROOT), &Source(text.to_string())).unwrap();
    db::compile(&db, program)
}

/// The codes and messages of a compiled text's diagnostics.
fn diagnostics(text: &str) -> Vec<(&'static str, String)> {
    compile(text)
        .diagnostics
        .iter()
        .map(|d| (d.code.trim_start_matches("vnuma::"), d.message.clone()))
        .collect()
}

fn outputs(text: &str) -> Vec<db::GuestOutput> {
    let c = compile(text);
    assert!(!c.has_errors(), "{:?}", c.diagnostics);
    c.checked.build.guests.iter().map(db::GuestOutput::of).collect()
}

fn example() -> String {
    fs::read_to_string(workspace().join("examples/realtime-vcpus.vnuma")).unwrap()
}

#[test]
fn scheduling_is_in_the_xml_and_not_on_the_qemu_line() {
    let with = example();
    let without: String = with
        .lines()
        .filter(|l| !l.trim_start().starts_with("sched "))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_ne!(with, without);
    let (a, b) = (outputs(&with), outputs(&without));
    assert_eq!(a.len(), 2);
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x.args, y.args, "{}: the QEMU line changed", x.name);
        // The XML differs by the scheduling elements alone.
        let kept: Vec<&str> = x.xml.lines().filter(|l| !l.contains("sched ")).collect();
        assert_eq!(kept, y.xml.lines().collect::<Vec<_>>(), "{}", x.name);
        assert!(x.xml.contains("sched "), "{}", x.xml);
    }
    let dpdk = &a[0].xml;
    let at = |s: &str| dpdk.find(s).unwrap_or_else(|| panic!("{s} in {dpdk}"));
    // libvirt's order: the emulator's, then the vCPUs', then the I/O threads'.
    assert!(at("<iothreadpin ") < at("<emulatorsched scheduler='fifo' priority='1'/>"));
    assert!(at("<emulatorsched ") < at("<vcpusched vcpus='1-3' scheduler='fifo' priority='10'/>"));
    assert!(at("<vcpusched ") < at("<iothreadsched iothreads='1' scheduler='fifo' priority='1'/>"));
}

const HOST: &str = "host h {
  node 0 cpus=0-15 memory=64GiB
  node 1 cpus=16-31 memory=64GiB
  smt adjacent
  hugepages node=0 size=1GiB count=16
  hugepages node=1 size=1GiB count=16
}
";

fn guest(name: &str, body: &str) -> String {
    format!("guest {name} on=h {{\n  memory 4GiB locked=true hugepages=1GiB\n{body}}}\n")
}

fn codes(text: &str) -> Vec<&'static str> {
    diagnostics(text).into_iter().map(|(c, _)| c).collect()
}

#[test]
fn placed_guests_are_checked_on_the_pins_vnuma_derives() {
    // Whole-node pins: every real-time vCPU may run on 16 CPUs.
    let node = guest(
        "n",
        "  vcpus 2\n  vnuma mode=node nodeset=0 pinning=node\n  emulator cpus=16\n  sched vcpus=0-1 policy=fifo priority=1\n",
    );
    let d = diagnostics(&format!("{HOST}{node}"));
    assert!(
        d.iter()
            .any(|(c, m)| *c == "W0509" && m.contains("may each run on several host CPUs (vCPU 0 on 0-15)")),
        "{d:?}"
    );
    // Sibling pairs, both real-time, the emulator on the other node: nothing to say.
    let pairs = "  vcpus 4\n  vnuma mode=node nodeset=0 distribution=siblings\n  emulator cpus=16\n";
    let all = guest("s", &format!("{pairs}  sched vcpus=0-3 policy=fifo priority=1\n"));
    assert_eq!(codes(&format!("{HOST}{all}")), Vec::<&str>::new());
    // Only the even vCPUs real-time: each shares its core with an ordinary vCPU.
    let even = guest("s", &format!("{pairs}  sched vcpus=0,2 policy=fifo priority=1\n"));
    let d = diagnostics(&format!("{HOST}{even}"));
    assert!(
        d.iter().any(|(c, m)| *c == "W0510"
            && m.contains("vCPU 1 may run on host CPU 1, an SMT sibling of CPU 0 where real-time vCPU 0 runs")),
        "{d:?}"
    );
    // The placed emulator threads float over the siblings of the real-time cores.
    let auto = guest(
        "a",
        "  vcpus 2\n  vnuma mode=node nodeset=0\n  sched vcpus=0-1 policy=rr priority=3\n",
    );
    let d = diagnostics(&format!("{HOST}{auto}"));
    assert!(
        d.iter()
            .any(|(c, m)| *c == "W0510" && m.starts_with("the emulator threads of this guest may run on host CPU 1")),
        "{d:?}"
    );
}

#[test]
fn other_guests_on_the_host_count_and_guests_elsewhere_do_not() {
    let rt = guest(
        "rt",
        "  vcpus 2\n  pin vcpus=0 cpus=2\n  pin vcpus=1 cpus=4\n  emulator cpus=0\n  sched vcpus=0-1 policy=fifo priority=5\n",
    );
    assert_eq!(codes(&format!("{HOST}{rt}")), Vec::<&str>::new());
    // A guest with no pins at all may run anywhere on the host, the real-time CPUs included,
    // and so may its emulator threads.
    let floating = "guest f on=h {\n  memory 1GiB\n  vcpus 1\n}\n";
    let d = diagnostics(&format!("{HOST}{rt}{floating}"));
    assert!(
        d.iter()
            .any(|(c, m)| *c == "W0509" && m.contains("shares host CPU 2 with vCPU 0 of guest `f`")),
        "{d:?}"
    );
    assert!(
        d.iter()
            .any(|(c, m)| *c == "W0510" && m.starts_with("the emulator threads of guest `f` may run on host CPU 2")),
        "{d:?}"
    );
    // The same guest on another host is no neighbour.
    let other = format!("{}\n", HOST.replace("host h", "host other"));
    let elsewhere = "guest f on=other {\n  memory 1GiB\n  vcpus 1\n}\n";
    assert_eq!(codes(&format!("{HOST}{other}{rt}{elsewhere}")), Vec::<&str>::new());
    // A placed guest after it keeps off the real-time cores: vnuma avoids pinned CPUs.
    let placed = guest("p", "  vcpus 4\n  vnuma mode=node nodeset=0\n  emulator cpus=16\n");
    assert_eq!(codes(&format!("{HOST}{rt}{placed}")), Vec::<&str>::new());
}

#[test]
fn explain_marks_real_time_vcpus() {
    let c = compile(&example());
    let text = vnumac::explain::text(&c.checked, Some("dpdk"));
    let rows: Vec<&str> = text.lines().filter(|l| l.contains(" 0/")).collect();
    assert_eq!(rows.len(), 4, "{text}");
    assert!(!rows[0].contains("real-time"), "{text}");
    for row in &rows[1..] {
        assert!(row.ends_with("[fifo 10, real-time]"), "{row}");
    }
    assert!(
        text.contains("  emulator threads scheduled fifo 1, real-time\n"),
        "{text}"
    );
    assert!(text.contains("  I/O threads 1 scheduled fifo 1, real-time\n"), "{text}");
    let svg = vnumac::explain::svg(&c.checked, None);
    assert!(
        svg.contains("<title>CPU 2: a real-time vCPU (fifo 10) of dpdk</title>"),
        "{svg}"
    );
    assert!(svg.contains("<title>CPU 1: a vCPU of dpdk</title>"), "{svg}");
    assert!(
        svg.contains("<title>CPU 15: a real-time vCPU (rr 20) of vnf</title>"),
        "{svg}"
    );
    assert_eq!(
        svg.matches("fill='#d62728'").count(),
        3 + 4 + 1,
        "a corner per CPU and the legend's"
    );
    assert!(svg.contains(">real-time vCPU (fifo or rr)<"), "{svg}");
    assert!(svg.contains("dpdk (4 vCPUs: 4 pinned, 3 real-time)"), "{svg}");
    // A build without real-time vCPUs draws no such mark.
    let plain = example()
        .lines()
        .filter(|l| !l.trim_start().starts_with("sched "))
        .map(|l| format!("{l}\n"))
        .collect::<String>();
    let svg = vnumac::explain::svg(&compile(&plain).checked, None);
    assert!(!svg.contains("#d62728") && !svg.contains("real-time"), "{svg}");
}

/// libvirt's `cputune-iothreadsched`: two `<iothreadsched>` whose sets do not overlap.
const IOTHREADSCHED: &str = "<domain type='qemu'><name>QEMUGuest1</name>\
     <memory unit='KiB'>219136</memory><vcpu placement='static'>2</vcpu><iothreads>4</iothreads>\
     <cputune><shares>2048</shares><vcpupin vcpu='0' cpuset='0'/><vcpupin vcpu='1' cpuset='1'/>\
     <emulatorpin cpuset='1'/><vcpusched vcpus='0-1' scheduler='fifo' priority='1'/>\
     <iothreadsched iothreads='1-3,^2' scheduler='batch'/><iothreadsched iothreads='2' scheduler='batch'/>\
     </cputune><os><type arch='i686' machine='pc'>hvm</type></os></domain>";

fn import(xml: &str) -> Result<vnumac::import::Imported, String> {
    let opts = ImportOptions { host: Some("h".into()) };
    import_domain(xml, &opts).map_err(|e| e.message)
}

#[test]
fn libvirts_scheduling_cases_import_as_libvirt_takes_them() {
    let imported = import(IOTHREADSCHED).unwrap();
    let text = &imported.text;
    for line in [
        "  iothreads 4\n",
        "  sched vcpus=0-1     policy=fifo priority=1\n",
        "  sched iothreads=1,3 policy=batch\n",
        "  sched iothreads=2   policy=batch\n",
    ] {
        assert!(text.contains(line), "{line:?} in\n{text}");
    }
    let c = compile(&format!("{HOST}{text}"));
    assert!(!c.has_errors(), "{:?}", c.diagnostics);
    let xml = vnumac::lower::libvirt::domain_xml(&c.checked.build.guests[0]);
    assert!(
        xml.contains("<iothreadsched iothreads='1,3' scheduler='batch'/>"),
        "{xml}"
    );
    assert!(
        xml.contains("<vcpusched vcpus='0-1' scheduler='fifo' priority='1'/>"),
        "{xml}"
    );
    // cputune-iothreadsched-toomuch: I/O thread 2 of a guest with one.
    let toomuch = IOTHREADSCHED
        .replace("<iothreads>4", "<iothreads>1")
        .replace("iothreads='1-3,^2'", "iothreads='1'");
    let e = import(&toomuch).unwrap_err();
    assert!(
        e.contains("the guest has I/O threads 1 to 1, not 2 (libvirt rejects it)"),
        "{e}"
    );
    // cputune-vcpusched-overlap: vCPU 1 in two sets.
    let overlap = IOTHREADSCHED.replace(
        "<vcpusched vcpus='0-1' scheduler='fifo' priority='1'/>",
        "<vcpusched vcpus='0-1' scheduler='fifo' priority='1'/><vcpusched vcpus='1' scheduler='fifo' priority='1'/>",
    );
    let e = import(&overlap).unwrap_err();
    assert!(
        e.contains("sets a vCPU an earlier <vcpusched> sets (libvirt rejects it)"),
        "{e}"
    );
    // libvirt's own `cputune` case: priority 0, which Linux refuses when the guest starts.
    let zero = IOTHREADSCHED.replace("priority='1'", "priority='0'");
    let e = import(&zero).unwrap_err();
    assert!(e.contains("Linux takes `fifo` priorities 1 to 99"), "{e}");
    // A priority on `batch` is not read by libvirt: dropped with a note.
    let batch = IOTHREADSCHED.replace(
        "iothreads='2' scheduler='batch'",
        "iothreads='2' scheduler='batch' priority='3'",
    );
    let imported = import(&batch).unwrap();
    assert!(
        imported
            .notes
            .iter()
            .any(|n| n.contains("priority='3'> on `batch`, which libvirt ignores")),
        "{:?}",
        imported.notes
    );
    let two = IOTHREADSCHED.replace(
        "</cputune>",
        "<emulatorsched scheduler='idle'/><emulatorsched scheduler='idle'/></cputune>",
    );
    assert!(import(&two).unwrap_err().contains("<emulatorsched> is given twice"));
    // I/O threads numbered by <iothreadids> are read as libvirt numbers them: ids 1 to 4 in
    // any order are `<iothreads>4`, and a thread the ids do not have is libvirt's rejection.
    let four = IOTHREADSCHED.replace(
        "<iothreads>4</iothreads>",
        "<iothreadids><iothread id='3'/><iothread id='1'/><iothread id='4'/><iothread id='2'/></iothreadids>",
    );
    assert_eq!(import(&four).unwrap().text, import(IOTHREADSCHED).unwrap().text);
    let one = IOTHREADSCHED.replace(
        "<iothreads>4</iothreads>",
        "<iothreadids><iothread id='1'/></iothreadids>",
    );
    let e = import(&one).unwrap_err();
    assert!(
        e.contains("the guest has I/O threads 1 to 1, not 3 (libvirt rejects it)"),
        "{e}"
    );
}

#[test]
fn each_io_thread_is_checked_on_its_own_pin() {
    let rt = |pins: &str| {
        guest(
            "rt",
            &format!(
                "  vcpus 2\n  pin vcpus=0 cpus=2\n  pin vcpus=1 cpus=4\n  emulator cpus=0\n  iothreads 2\n{pins}  \
                 sched vcpus=0-1 policy=fifo priority=5\n"
            ),
        )
    };
    // Both threads off the real-time cores: nothing to say.
    let apart = rt("  iothread 1 cpus=8\n  iothread 2 cpus=9\n");
    assert_eq!(codes(&format!("{HOST}{apart}")), Vec::<&str>::new());
    // Thread 2 on CPU 3, the sibling of real-time CPU 2; thread 1 stays out of it.
    let sibling = rt("  iothread 1 cpus=8\n  iothread 2 cpus=3\n");
    let d = diagnostics(&format!("{HOST}{sibling}"));
    assert!(
        d.iter()
            .any(|(c, m)| *c == "W0510" && m.starts_with("I/O threads 2 of this guest may run on host CPU 3")),
        "{d:?}"
    );
    assert!(!d.iter().any(|(_, m)| m.contains("I/O threads 1")), "{d:?}");
    // Thread 2 not pinned at all: it may run on any host CPU.
    let loose = rt("  iothread 1 cpus=8\n");
    let d = diagnostics(&format!("{HOST}{loose}"));
    assert!(
        d.iter()
            .any(|(c, m)| *c == "W0510" && m.starts_with("I/O threads 2 of this guest may run on host CPU")),
        "{d:?}"
    );
}

#[test]
fn threads_placed_after_the_host_are_checked_where_they_land() {
    let rt = guest(
        "rt",
        "  vcpus 2\n  pin vcpus=0 cpus=2\n  pin vcpus=1 cpus=4\n  emulator cpus=0\n  sched vcpus=0-1 policy=fifo priority=5\n",
    );
    // A shared vCPU and a per-cell I/O thread placed on node 1, once every guest of the host
    // is: they never reach the real-time cores on node 0.
    let placed = guest(
        "p",
        "  vcpus 2\n  vnuma mode=node nodeset=1 shared-vcpus=1\n  emulator cpus=16\n  iothreads per-cell\n",
    );
    assert_eq!(codes(&format!("{HOST}{rt}{placed}")), Vec::<&str>::new());
}

#[test]
fn per_cell_io_threads_are_counted_on_the_final_cells() {
    // `vnuma mode=host` gives one cell per host node: I/O threads 1 and 2.
    let body = |set: &str| {
        guest(
            "p",
            &format!("  vcpus 2\n  vnuma mode=host\n  iothreads per-cell\n  sched iothreads={set} policy=batch\n"),
        )
    };
    let both = outputs(&format!("{HOST}{}", body("1-2")));
    assert!(
        both[0]
            .xml
            .contains("<iothreadsched iothreads='1-2' scheduler='batch'/>"),
        "{}",
        both[0].xml
    );
    let d = diagnostics(&format!("{HOST}{}", body("2-3")));
    assert_eq!(
        d,
        [("E0345", "I/O thread 3 does not exist".to_string())],
        "the guest has I/O threads 1-2"
    );
}
