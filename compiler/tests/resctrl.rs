//! Cache and memory-bandwidth allocation (`cachetune`, `memorytune`): in the XML and never
//! on the QEMU line, grouped by vCPU set as libvirt groups them, refused where libvirt or
//! resctrl refuse them, and checked across the guests of a host on their placed vCPUs.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::path::{Path, PathBuf};
use vnumac::db::{self, Database, MemLoader};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

fn compile(text: &str) -> db::Compiled {
    let db = Database::default();
    let program = db::load_program(
        &db,
        Path::new("/virtual/r.vnuma"),
        &MemLoader::new("/virtual/r.vnuma", text),
    )
    .unwrap();
    db::compile(&db, program)
}

fn codes(text: &str) -> Vec<String> {
    compile(text)
        .diagnostics
        .iter()
        .map(|d| d.code.trim_start_matches("vnuma::").to_string())
        .collect()
}

fn outputs(text: &str) -> Vec<db::GuestOutput> {
    let c = compile(text);
    assert!(!c.has_errors(), "{:?}", c.diagnostics);
    c.checked.build.guests.iter().map(db::GuestOutput::of).collect()
}

fn example() -> String {
    fs::read_to_string(workspace().join("examples/cache-allocation.vnuma")).unwrap()
}

#[test]
fn tunes_are_in_the_xml_and_not_on_the_qemu_line() {
    let with = example();
    let without: String = with
        .lines()
        .filter(|l| !l.trim_start().starts_with("cachetune ") && !l.trim_start().starts_with("memorytune "))
        .map(|l| format!("{l}\n"))
        .collect();
    let (a, b) = (outputs(&with), outputs(&without));
    assert_eq!(a.len(), 2);
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x.args, y.args, "{}: the QEMU line changed", x.name);
        assert_ne!(x.xml, y.xml);
    }
    let db = &a[0].xml;
    let expected = "    <cachetune vcpus='0-3'>
      <cache id='0' level='3' type='both' size='8' unit='MiB'/>
      <monitor level='3' vcpus='0-3'/>
    </cachetune>
    <memorytune vcpus='0-3'>
      <node id='0' bandwidth='60'/>
    </memorytune>
  </cputune>";
    assert!(db.contains(expected), "{db}");
}

const HOST: &str = "host h {
  node 0 cpus=0-7 memory=32GiB
  node 1 cpus=8-15 memory=32GiB
  cache-bank 0 level=3 size=16MiB cpus=0-7 control=cdp granularity=1MiB min=2MiB allocs=4
  cache-bank 1 level=3 size=16MiB cpus=8-15 control=both granularity=1MiB allocs=16
  cache-bank 5 level=2 size=2MiB cpus=8-9
  bandwidth-node 0 cpus=0-7 granularity=10 min=20 allocs=8
}
";

/// A guest of 4 vCPUs pinned to host CPUs `first`…`first+3`.
fn guest(name: &str, first: u32, body: &str) -> String {
    let pins: String = (0..4)
        .map(|v| format!("  pin vcpus={v} cpus={}\n", first + v))
        .collect();
    format!("guest {name} on=h {{\n  memory 2GiB\n  vcpus 4\n{pins}{body}}}\n")
}

#[test]
fn each_check_draws_its_code_alone() {
    let cases = [
        ("  cachetune vcpus=0-3 cache=2 size=2MiB\n", "E0349"),
        ("  cachetune vcpus=0-3 cache=5 level=2 size=1MiB\n", "E0349"),
        ("  cachetune vcpus=0-3 size=2MiB\n", "E0349"),
        ("  cachetune vcpus=0-3 cache=0 size=2MiB\n", "E0350"),
        ("  cachetune vcpus=0-3 cache=1 type=data size=2MiB\n", "E0350"),
        ("  cachetune vcpus=0-3 cache=0 type=code size=1MiB\n", "E0351"),
        ("  cachetune vcpus=0-3 cache=1 size=1536KiB\n", "E0351"),
        (
            "  cachetune vcpus=0-1 cache=1 size=1MiB\n  cachetune vcpus=1-2 cache=1 size=1MiB\n",
            "E0354",
        ),
        (
            "  cachetune vcpus=0-3 cache=1 size=1MiB\n  cachetune vcpus=0-3 cache=1 size=2MiB\n",
            "E0354",
        ),
        ("  cachetune vcpus=0-1 monitor=1-2\n", "E0354"),
        (
            "  cachetune vcpus=0-3 monitor=0-1\n  cachetune vcpus=0-3 monitor=1\n",
            "E0354",
        ),
        (
            "  cachetune vcpus=0-1 cache=1 size=1MiB\n  memorytune vcpus=0-2 node=0 bandwidth=50\n",
            "E0354",
        ),
        (
            "  memorytune vcpus=0-3 node=0 bandwidth=50\n  memorytune vcpus=0-3 node=0 bandwidth=60\n",
            "E0354",
        ),
        ("  memorytune vcpus=0-3 node=1 bandwidth=50\n", "E0355"),
        ("  memorytune vcpus=0-3 node=0 bandwidth=10\n", "E0355"),
        ("  memorytune vcpus=0-3 node=0 bandwidth=55\n", "E0355"),
        ("  memorytune vcpus=0-3 node=0 bandwidth=110\n", "E0355"),
        ("  cachetune vcpus=0-3 cache=1 size=1MiB\n", "W0515"),
        ("  cachetune vcpus=2-7 cache=0 type=code size=2MiB\n", "W0516"),
        ("  cachetune vcpus=4-7 cache=0 type=code size=2MiB\n", "W0516"),
    ];
    for (body, code) in cases {
        let text = format!("{HOST}{}", guest("g", 0, body));
        assert_eq!(codes(&text), vec![code.to_string()], "{body}");
    }
    // The same lines that the checks refuse pass where they fit.
    let fine = "  cachetune vcpus=0-1 cache=0 type=code size=2MiB\n  cachetune vcpus=0-1 cache=0 type=data size=3MiB\n  cachetune vcpus=0-1 monitor=0\n  cachetune vcpus=0-1 monitor=1\n  memorytune vcpus=0-1 node=0 bandwidth=50\n  cachetune vcpus=2-3 monitor=2-3\n";
    assert_eq!(codes(&format!("{HOST}{}", guest("g", 0, fine))), Vec::<String>::new());
}

#[test]
fn a_tune_of_vcpus_the_guest_lacks_is_left_out_as_libvirt_drops_it() {
    let body = "  cachetune vcpus=2-7 cache=0 type=code size=2MiB\n  memorytune vcpus=4-7 node=0 bandwidth=50\n";
    let out = outputs(&format!("{HOST}{}", guest("g", 0, body)));
    let xml = &out[0].xml;
    assert!(xml.contains("<cachetune vcpus='2-3'>"), "{xml}");
    assert!(!xml.contains("<memorytune"), "{xml}");
}

#[test]
fn unpinned_vcpus_are_warned_about() {
    let text =
        format!("{HOST}guest g on=h {{\n  memory 2GiB\n  vcpus 2\n  cachetune vcpus=0-1 cache=1 size=1MiB\n}}\n");
    assert_eq!(codes(&text), vec!["W0517"]);
}

#[test]
fn guests_of_a_host_share_its_caches_and_groups() {
    // 10 MiB + 8 MiB of the 16 MiB cache 1.
    let full = format!(
        "{HOST}{}{}",
        guest("a", 8, "  cachetune vcpus=0-3 cache=1 size=10MiB\n"),
        guest("b", 12, "  cachetune vcpus=0-3 cache=1 size=6MiB\n")
    );
    assert_eq!(codes(&full), Vec::<String>::new());
    let over = full.replace("size=6MiB", "size=8MiB");
    assert_eq!(codes(&over), vec!["E0352"]);
    // Code and data halves are counted apart.
    let halves = format!(
        "{HOST}{}",
        guest(
            "a",
            0,
            "  cachetune vcpus=0-3 cache=0 type=code size=16MiB\n  cachetune vcpus=0-3 cache=0 type=data size=16MiB\n"
        )
    );
    assert_eq!(codes(&halves), Vec::<String>::new());
    // Cache 0 takes 4 groups: the host keeps one, so three tunes fit and a fourth does not;
    // a cachetune and a memorytune of the same vCPUs are one group.
    let tune = |v: &str| {
        format!("  cachetune vcpus={v} cache=0 type=code size=2MiB\n  memorytune vcpus={v} node=0 bandwidth=50\n")
    };
    let three = format!("{HOST}{}", guest("a", 0, &(tune("0") + &tune("1") + &tune("2"))));
    assert_eq!(codes(&three), Vec::<String>::new());
    let four = format!(
        "{HOST}{}",
        guest("a", 0, &(tune("0") + &tune("1") + &tune("2") + &tune("3")))
    );
    assert_eq!(codes(&four), vec!["E0353"]);
    // Guests on another host do not count.
    let other = three.replace("host h {", "host other {\n  node 0 cpus=0-7 memory=1GiB\n}\nhost h {");
    let two_hosts = format!("{other}{}", guest("b", 4, &tune("0-3")).replace("on=h", "on=other"));
    assert!(
        !codes(&two_hosts).contains(&"E0353".to_string()),
        "{:?}",
        codes(&two_hosts)
    );
}

#[test]
fn placed_guests_are_checked_on_the_cpus_vnuma_gives_them() {
    let placed = |nodeset: u32| {
        format!(
            "{HOST}guest p on=h {{\n  memory 2GiB\n  vcpus 2\n  vnuma mode=node nodeset={nodeset}\n  cachetune vcpus=0-1 cache=1 size=1MiB\n}}\n"
        )
    };
    assert_eq!(codes(&placed(1)), Vec::<String>::new());
    assert_eq!(codes(&placed(0)), vec!["W0515"]);
}

#[test]
fn a_guest_without_a_host_is_checked_for_what_libvirt_refuses_alone() {
    let text = "guest g {\n  memory 1GiB\n  vcpus 2\n  cachetune vcpus=0-1 cache=7 size=3MiB\n  memorytune vcpus=0 node=0 bandwidth=0\n}\n";
    assert_eq!(codes(text), vec!["E0355"]);
    let fine = text.replace("vcpus=0 node=0 bandwidth=0", "vcpus=0-1 node=0 bandwidth=30");
    let out = outputs(&fine);
    assert!(
        out[0]
            .xml
            .contains("<cache id='7' level='3' type='both' size='3' unit='MiB'/>")
    );
}

/// libvirt's own cases (`tests/genericxml2xmlindata`, in tests/fixtures/resctrl), as KVM guests: the domains
/// libvirt takes import and build, to the tunes libvirt keeps; those it refuses are refused
/// by `vnumac import` or by the build with a code.
#[test]
fn libvirts_tune_cases_import_as_libvirt_takes_them() {
    use vnumac::import::{ImportOptions, import_domain};
    let dir = workspace().join("compiler/tests/fixtures/resctrl");
    let build = |name: &str| -> Result<db::Compiled, String> {
        // As KVM guests: libvirt refuses tunes in TCG ones (E0356, tests/resctrl_libvirt.rs).
        let xml = fs::read_to_string(dir.join(format!("{name}.xml"))).unwrap();
        let xml = xml.replacen("<domain type='qemu'>", "<domain type='kvm'>", 1);
        let imported = import_domain(&xml, &ImportOptions { host: None }).map_err(|e| format!("{e:?}"))?;
        Ok(compile(&imported.text))
    };
    let taken = [
        (
            "cachetune",
            vec!["<cachetune vcpus='0-1'>", "<cachetune vcpus='3'>"],
            vec![],
        ),
        // The monitor of vCPUs 0-1 beside those of 0 and of 1: it watches the allocation's
        // own group. The tune of 2-3 only monitors.
        (
            "cachetune-small",
            vec![
                "<monitor level='3' vcpus='0'/>",
                "<monitor level='3' vcpus='1'/>",
                "<monitor level='3' vcpus='0-1'/>",
                "<cachetune vcpus='2-3'>",
                "<monitor level='3' vcpus='3'/>",
            ],
            vec![],
        ),
        (
            "monitor-whole-first",
            vec!["<monitor level='3' vcpus='0-1'/>", "<monitor level='3' vcpus='0'/>"],
            vec![],
        ),
        (
            "cachetune-cdp",
            vec![
                "<cache id='0' level='3' type='code' size='7680' unit='KiB'/>",
                "<cache id='1' level='3' type='data' size='3840' unit='KiB'/>",
                "<cache id='1' level='3' type='code' size='6' unit='MiB'/>",
                "<cache id='1' level='3' type='data' size='6912' unit='KiB'/>",
            ],
            vec![],
        ),
        (
            "memorytune",
            vec![
                "<memorytune vcpus='0-1'>",
                "<node id='1' bandwidth='30'/>",
                "<memorytune vcpus='3'>",
            ],
            vec![],
        ),
        // vCPUs 2-3 and 100 of a guest of two: libvirt keeps vCPUs 0-1 of the first tune and
        // drops the second whole: a warning for each of the three lines.
        (
            "cachetune-extra-tunes",
            vec!["<cachetune vcpus='0-1'>"],
            vec!["W0516"; 3],
        ),
    ];
    for (name, wanted, warnings) in taken {
        let c = build(name).unwrap();
        let found: Vec<String> = c
            .diagnostics
            .iter()
            .map(|d| d.code.trim_start_matches("vnuma::").to_string())
            .collect();
        assert_eq!(found, warnings, "{name}");
        let xml = db::GuestOutput::of(&c.checked.build.guests[0]).xml;
        for w in wanted {
            assert!(xml.contains(w), "{name}: {w} in\n{xml}");
        }
        let tunes = match name {
            "cachetune" | "cachetune-small" => 2,
            "cachetune-cdp" => 3,
            _ => 1,
        };
        assert_eq!(xml.matches("<cachetune ").count(), tunes, "{name}:\n{xml}");
    }
    for name in [
        "cachetune-colliding-allocs",
        "cachetune-colliding-tunes",
        "cachetune-colliding-types",
        "cachetune-colliding-monitor",
        "memorytune-colliding-allocs",
        "memorytune-colliding-cachetune",
        // Two monitors that share vCPUs, unless one is the tune's own and it allocates.
        "monitor-whole-unallocated",
        "monitor-whole-first-unallocated",
        "monitor-whole-twice",
        "monitor-overlap",
        "monitor-part-twice",
        // A monitor of no vCPU the guest has; libvirt 9.0 reads no tune without `vcpus`.
        "cachetune-monitor-empty-vcpus",
        "cachetune-monitor-inherit-alloc",
        "cachetune-wholeprocess-monitors",
        "memorytune-wholeprocess",
        "resctrl-wholeprocess-layering",
    ] {
        match build(name) {
            Err(_) => {}
            Ok(c) => {
                let errors: Vec<&str> = c.diagnostics.iter().filter(|d| d.is_error()).map(|d| d.code).collect();
                assert_eq!(errors, vec!["vnuma::E0354"], "{name}");
            }
        }
    }
}

#[test]
fn explain_shows_each_tune_and_what_is_left_of_each_cache() {
    let c = compile(&example());
    assert!(!c.has_errors(), "{:?}", c.diagnostics);
    let text = vnumac::explain::text(&c.checked, None);
    for line in [
        "  cache: vCPUs 0-3 get 8MiB of L3 cache 0; host CPUs 0-7\n",
        "  cache: L3 occupancy of vCPUs 0-3 monitored\n",
        "  memory bandwidth: vCPUs 0-1 at most 20% of node 0; host CPUs 0-7\n",
        "  L3 cache 0 (16MiB; CPUs 0-7): 10MiB taken (db 8MiB, batch 2MiB), 6MiB left\n",
    ] {
        assert!(text.contains(line), "{line} in\n{text}");
    }
}

/// `vnuma l3=SIZE`: each cell's vCPUs get SIZE of the L3 caches of the CPUs the cell was
/// placed on, both halves on a cache with code and data prioritisation; checked as
/// `cachetune` lines are, and across the guests of the host.
#[test]
fn vnuma_l3_lands_on_the_caches_each_cell_was_placed_on() {
    let host = "host rdt {
  node 0 cpus=0-7 memory=32GiB
  node 1 cpus=8-15 memory=32GiB
  l3 0-7
  l3 8-15
  cache-bank 0 level=3 size=16MiB cpus=0-7 control=both granularity=1MiB allocs=16
  cache-bank 1 level=3 size=16MiB cpus=8-15 control=cdp granularity=1MiB allocs=16
}
";
    let web = |l3: &str| format!("guest web on=rdt {{\n  memory 8GiB\n  vcpus 8\n  vnuma mode=host l3={l3}\n}}\n");
    let out = outputs(&format!("{host}{}", web("4MiB")));
    let xml = &out[0].xml;
    let expected = "    <cachetune vcpus='0-3'>
      <cache id='0' level='3' type='both' size='4' unit='MiB'/>
    </cachetune>
    <cachetune vcpus='4-7'>
      <cache id='1' level='3' type='code' size='4' unit='MiB'/>
      <cache id='1' level='3' type='data' size='4' unit='MiB'/>
    </cachetune>";
    assert!(xml.contains(expected), "{xml}");
    // Not whole granules; more than the caches have beside another guest's allocation.
    assert_eq!(
        codes(&format!("{host}{}", web("1536KiB"))),
        vec!["E0351", "E0351", "E0351"]
    );
    let other = "guest db on=rdt {\n  memory 1GiB\n  vcpus 1\n  pin vcpus=0 cpus=0\n  cachetune vcpus=0 cache=0 size=14MiB\n}\n";
    assert_eq!(codes(&format!("{host}{other}{}", web("4MiB"))), vec!["E0352"]);
    // A host without L3 caches to allocate, and a guest without a host.
    let bare = host.replace("  cache-bank 0", "  # ").replace("  cache-bank 1", "  # ");
    assert_eq!(codes(&format!("{bare}{}", web("4MiB"))), vec!["E0349", "E0349"]);
    let hostless = "guest g {\n  memory 1GiB\n  vcpus 2\n  vnuma mode=host l3=4MiB\n}\n";
    assert!(!codes(hostless).contains(&"E0352".to_string()));
}

/// The editor offers the statements and their properties from the language table.
#[test]
fn completion_offers_the_new_statements_and_properties() {
    let cases = [
        (
            "host h {\n  node 0 cpus=0-3 memory=1GiB\n  cache-\n}\n",
            "  cache-",
            "cache-bank",
        ),
        (
            "host h {\n  node 0 cpus=0-3 memory=1GiB\n  bandwidth-\n}\n",
            "  bandwidth-",
            "bandwidth-node",
        ),
        (
            "guest g {\n  memory 1GiB\n  vcpus 2\n  cachet\n}\n",
            "  cachet",
            "cachetune",
        ),
        (
            "guest g {\n  memory 1GiB\n  vcpus 2\n  memoryt\n}\n",
            "  memoryt",
            "memorytune",
        ),
        (
            "guest g {\n  memory 1GiB\n  vcpus 2\n  cachetune vcpus=0-1 mon\n}\n",
            "vcpus=0-1 mon",
            "monitor=",
        ),
        (
            "guest g {\n  memory 1GiB\n  vcpus 2\n  vnuma mode=host l\n}\n",
            "mode=host l",
            "l3=",
        ),
    ];
    for (text, before, want) in cases {
        let rel = PathBuf::from("/virtual/c.vnuma");
        let mut ws = db::Workspace::default();
        let program = ws.load(&rel, &MemLoader::new(&rel, text)).unwrap();
        let file = ws.file(&rel).unwrap();
        let offset = u32::try_from(text.find(before).unwrap() + before.len()).unwrap();
        let labels: Vec<String> = vnumac::ide::completions(&ws.db, program, file, offset)
            .into_iter()
            .map(|c| c.label)
            .collect();
        assert!(
            labels.iter().any(|l| l == want || l == want.trim_end_matches('=')),
            "{want} in {labels:?}"
        );
    }
}

#[test]
fn the_json_model_carries_the_tunes() {
    let c = compile(&example());
    let json = vnumac::lower::json::guest_json(&c.checked.build.guests[0]);
    assert_eq!(json["cachetunes"][0]["vcpus"], "0-3");
    assert_eq!(json["cachetunes"][0]["caches"][0]["bytes"], 8u64 << 20);
    assert_eq!(json["cachetunes"][0]["monitors"][0], "0-3");
    assert_eq!(json["memorytunes"][0]["nodes"][0]["bandwidth"], 60);
}

#[test]
fn tunes_need_a_kvm_guest() {
    let tcg = "guest g {\n  type qemu\n  memory 1GiB\n  vcpus 2\n  memorytune vcpus=0-1 node=0 bandwidth=50\n  cachetune vcpus=0-1 cache=0 size=3MiB\n}\n";
    assert_eq!(codes(tcg), vec!["E0356"]);
    assert_eq!(codes(&tcg.replace("  type qemu\n", "")), Vec::<String>::new());
}

/// libvirt's cases that libvirt parses, as KVM guests, on the hosts of libvirt's
/// capabilities (`vircaps2xmldata`): the CDP host (two 15MiB L3 caches, code and data
/// halves in 768KiB granules) takes the CDP case, whose every part is whole granules and
/// fits its half, and refuses a whole cache where only halves can be allocated (E0350);
/// the host whose caches have no control refuses every allocation (E0349); neither has
/// memory-bandwidth nodes (E0355). Each error comes from the host alone: the monitors of
/// cachetune-small stay as libvirt takes them.
#[test]
fn libvirts_cases_on_libvirts_hosts() {
    use vnumac::import::{ImportOptions, import_domain};
    let dir = workspace().join("compiler/tests/fixtures/resctrl");
    let codes_on = |case: &str, caps: &str| -> Vec<String> {
        let xml = fs::read_to_string(dir.join(format!("{case}.xml"))).unwrap();
        let xml = xml.replacen("<domain type='qemu'>", "<domain type='kvm'>", 1);
        let guest = import_domain(&xml, &ImportOptions { host: Some("h".into()) }).unwrap();
        let host = format!("host h from=\"{}\"\n", dir.join(format!("{caps}.xml")).display());
        let db = Database::default();
        let text = host + &guest.text;
        let program = db::load_program(
            &db,
            Path::new("/virtual/r.vnuma"),
            &MemLoader::new("/virtual/r.vnuma", text).or_from("."),
        )
        .unwrap();
        let mut codes: Vec<String> = db::compile(&db, program)
            .diagnostics
            .iter()
            .filter(|d| d.is_error())
            .map(|d| d.code.trim_start_matches("vnuma::").to_string())
            .collect();
        codes.sort();
        codes
    };
    let n = |code: &str, k: usize| vec![code.to_string(); k];
    let cdp = "vircaps-x86_64-resctrl-cdp";
    let plain = "vircaps-x86_64-resctrl";
    assert_eq!(codes_on("cachetune-cdp", cdp), n("E0350", 0));
    assert_eq!(codes_on("cachetune", cdp), n("E0350", 3));
    assert_eq!(codes_on("cachetune-small", cdp), n("E0350", 1));
    assert_eq!(codes_on("memorytune", cdp), [n("E0350", 2), n("E0355", 3)].concat());
    assert_eq!(codes_on("cachetune-cdp", plain), n("E0349", 4));
    assert_eq!(codes_on("cachetune-small", plain), n("E0349", 1));
}
