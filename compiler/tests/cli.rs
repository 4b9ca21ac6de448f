//! The `vnumac` binary as a user runs it: exit codes, what goes to stdout and stderr,
//! files written (or not) by `-o`, JSON diagnostics, host import/probe.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

fn vnumac(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vnumac"))
        .args(args)
        .current_dir(workspace())
        .output()
        .expect("run vnumac")
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("vnumac-cli-{name}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn build_prints_xml_and_qemu_for_one_guest() {
    let o = vnumac(&["build", "examples/talk-manual-cells.vnuma"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let xml = stdout(&o);
    assert!(xml.starts_with("<domain type='kvm'>"));
    assert!(xml.contains("<memnode cellid='3' mode='strict' nodeset='3'/>"));
    let o = vnumac(&["build", "examples/talk-manual-cells.vnuma", "--emit", "qemu"]);
    assert_eq!(o.status.code(), Some(0));
    let args = stdout(&o);
    assert!(args.starts_with("qemu-system-x86_64 \\\n"));
    assert!(args.contains("  -numa node,nodeid=1,cpus=4-7,memdev=ram-node1 \\\n"));
    let o = vnumac(&["build", "examples/talk-manual-cells.vnuma", "--emit", "json"]);
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["cells"][2]["host_nodes"], "2");
}

#[test]
fn errors_exit_1_and_print_nothing() {
    let o = vnumac(&["build", "golden/errors/E0302-cell-memory-sum.vnuma"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(o.stdout.is_empty());
    assert!(stderr(&o).contains("vnuma::E0302"));
    assert!(stderr(&o).contains("nothing written"));
}

#[test]
fn out_dir_writes_every_guest_or_nothing() {
    let dir = scratch("out");
    let out = dir.join("out");
    let o = vnumac(&["build", "examples/cascadelake-2s.vnuma", "-o", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let mut names: Vec<String> = fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["batch.args", "batch.xml", "web.args", "web.xml"]);
    let golden = fs::read_to_string(workspace().join("golden/examples/cascadelake-2s/web.xml")).unwrap();
    assert_eq!(fs::read_to_string(out.join("web.xml")).unwrap(), golden);

    let bad = dir.join("bad-out");
    let o = vnumac(&[
        "build",
        "golden/errors/E0406-node-memory.vnuma",
        "-o",
        bad.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(!bad.exists(), "nothing may be written when there are errors");
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn several_guests_need_a_choice_on_stdout() {
    let o = vnumac(&["build", "examples/cascadelake-2s.vnuma"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--guest"));
    let o = vnumac(&["build", "examples/cascadelake-2s.vnuma", "--guest", "batch"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(stdout(&o).contains("<name>batch</name>"));
    let o = vnumac(&["build", "examples/cascadelake-2s.vnuma", "--guest", "nope"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn io_errors_exit_2_and_name_the_path() {
    let o = vnumac(&["build", "examples/does-not-exist.vnuma"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("examples/does-not-exist.vnuma"));
    let o = vnumac(&["host", "import", "examples/hosts/nope.caps.xml"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("examples/hosts/nope.caps.xml"));
    let o = vnumac(&["frobnicate"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn json_diagnostics_are_one_object_per_line() {
    let o = vnumac(&[
        "--message-format",
        "json",
        "check",
        "golden/errors/E0301-vcpu-in-two-cells.vnuma",
    ]);
    assert_eq!(o.status.code(), Some(1));
    let lines: Vec<serde_json::Value> = stderr(&o).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 1);
    let d = &lines[0];
    assert_eq!(d["severity"], "error");
    assert_eq!(d["code"], "vnuma::E0301");
    assert!(d["help"].as_str().unwrap().contains("disjoint"));
    let labels = d["labels"].as_array().unwrap();
    assert_eq!(labels.len(), 2, "primary plus the other cell");
    assert_eq!(labels[0]["line"], 6);
    assert_eq!(labels[0]["column"], 5);
    assert_eq!(labels[1]["line"], 5);
    assert!(labels[0]["start"].as_u64().unwrap() < labels[0]["end"].as_u64().unwrap());
    assert_eq!(labels[0]["file"], "golden/errors/E0301-vcpu-in-two-cells.vnuma");
}

#[test]
fn warnings_do_not_fail_the_build() {
    let o = vnumac(&["check", "golden/errors/W0501-pin-spans-nodes.vnuma"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(stderr(&o).contains("vnuma::W0501"));
}

#[test]
fn host_import_output_checks_and_builds() {
    for caps in [
        "examples/hosts/peppi.caps.xml",
        "examples/hosts/real/power8-smt8.caps.xml",
    ] {
        let o = vnumac(&["host", "import", caps, "--name", "imported"]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        let dir = scratch("import");
        let file = dir.join("host.vnuma");
        fs::write(
            &file,
            format!(
                "{}\nguest g {{\n  memory 1GiB\n  vcpus 2\n  pin vcpus=0-1 node=0\n}}\n",
                stdout(&o)
            ),
        )
        .unwrap();
        let o = vnumac(&["build", file.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        fs::remove_dir_all(&dir).unwrap();
    }
}

#[test]
fn host_probe_reads_every_sysfs_dump_and_this_machine() {
    for dump in ["linux-test8", "linux-test4", "linux-high-ids", "linux-with-die"] {
        let root = format!("compiler/tests/fixtures/sysfs/{dump}");
        let o = vnumac(&["host", "probe", "--sysfs-root", &root]);
        assert_eq!(o.status.code(), Some(0), "{dump}: {}", stderr(&o));
        assert!(stdout(&o).contains("node 0 cpus="), "{dump}");
    }
    let o = vnumac(&["host", "probe"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("host this-host {"));
    let o = vnumac(&["host", "probe", "--sysfs-root", "/nonexistent/sys"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("/nonexistent/sys"));
}

#[test]
fn explain_prints_the_map_as_text_and_svg() {
    let o = vnumac(&["explain", "examples/vnuma-siblings.vnuma"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = stdout(&o);
    // The talk's SMT-aware map: vCPU 0 on CPU 1, vCPU 1 on its sibling 61.
    assert!(
        text.lines()
            .any(|l| l.split_whitespace().take(3).collect::<Vec<_>>() == ["0", "0", "1"]),
        "{text}"
    );
    assert!(
        text.lines()
            .any(|l| l.split_whitespace().take(3).collect::<Vec<_>>() == ["1", "0", "61"]),
        "{text}"
    );
    assert!(text.contains("emulator threads: host CPUs 0,60 (node 0)"));
    let o = vnumac(&["explain", "examples/vnuma-fleet.vnuma", "--format", "svg"]);
    assert_eq!(o.status.code(), Some(0));
    let svg = stdout(&o);
    let mut reader = quick_xml::Reader::from_str(&svg);
    let mut rects = 0;
    loop {
        match reader.read_event() {
            Ok(quick_xml::events::Event::Eof) => break,
            Ok(quick_xml::events::Event::Start(e) | quick_xml::events::Event::Empty(e))
                if e.name().as_ref() == "rect" =>
            {
                rects += 1
            }
            Ok(_) => {}
            Err(e) => panic!("invalid SVG: {e}"),
        }
    }
    // 120 threads plus one box per node and the legend.
    assert!(rects >= 120 + 4, "{rects} rects");
    assert!(
        svg.contains("<title>CPU 1: db</title>"),
        "CPU 1 belongs to the first dedicated guest"
    );
    let o = vnumac(&["explain", "examples/vnuma-fleet.vnuma", "--guest", "nope"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn qemu_syntax_json_prints_objects_and_devices_as_json() {
    let o = vnumac(&[
        "build",
        "examples/talk-memory-expansion.vnuma",
        "--emit",
        "qemu",
        "--qemu-syntax",
        "json",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(text.contains(
        r#"-object '{"qom-type":"memory-backend-ram","id":"ram-node0","size":17179869184,"host-nodes":[0],"policy":"bind"}'"#
    ), "{text}");
    assert!(text.contains(r#"-device '{"driver":"pc-dimm","node":0,"memdev":"memdimm0","id":"dimm0","slot":0}'"#));
    assert!(
        text.contains("  -numa node,nodeid=0,cpus=0-3,memdev=ram-node0 \\\n"),
        "plain options stay keyval"
    );
}

#[test]
fn plan_prints_balanced_hotplug_steps() {
    // Boot set 0,1,4,5,8,9,12,13 (two per cell); units are guest cores of two threads.
    let o = vnumac(&[
        "plan",
        "examples/talk-hotplug-vcpus.vnuma",
        "--guest",
        "OL8-vnuma",
        "--vcpus",
        "12",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = stdout(&o);
    let virsh: Vec<&str> = text.lines().filter(|l| l.starts_with("virsh")).collect();
    assert_eq!(
        virsh,
        [
            "virsh setvcpu OL8-vnuma 2-3 --enable --live",
            "virsh setvcpu OL8-vnuma 6-7 --enable --live"
        ]
    );
    assert!(text.contains(r#"{"execute":"device_add","arguments":{"driver":"host-x86_64-cpu","id":"vcpu6","socket-id":1,"core-id":1,"thread-id":0}}"#));
    let o = vnumac(&[
        "plan",
        "examples/talk-hotplug-vcpus.vnuma",
        "--guest",
        "OL8-vnuma",
        "--vcpus",
        "4",
    ]);
    let text = stdout(&o);
    let virsh: Vec<&str> = text.lines().filter(|l| l.starts_with("virsh")).collect();
    // Unplugging goes in reverse plug order: cell 3's core, then cell 2's.
    assert_eq!(
        virsh,
        [
            "virsh setvcpu OL8-vnuma 12-13 --disable --live",
            "virsh setvcpu OL8-vnuma 8-9 --disable --live"
        ]
    );
    assert!(text.contains(r#"{"execute":"device_del","arguments":{"id":"vcpu12"}}"#));
    let o = vnumac(&[
        "plan",
        "examples/talk-hotplug-vcpus.vnuma",
        "--guest",
        "OL8-vnuma",
        "--vcpus",
        "17",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("out of range"));
    let o = vnumac(&[
        "plan",
        "examples/talk-manual-cells.vnuma",
        "--guest",
        "OL8-vnuma",
        "--vcpus",
        "8",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("no hotpluggable vCPUs"));
}

#[test]
fn import_turns_domain_xml_into_a_guest_that_builds_back() {
    let o = vnumac(&[
        "import",
        "golden/examples/talk-manual-cells/OL8-vnuma.xml",
        "--host",
        "peppi",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let guest = stdout(&o);
    assert!(guest.starts_with("guest OL8-vnuma on=peppi {"), "{guest}");
    let dir = scratch("import-domain");
    let file = dir.join("g.vnuma");
    let caps = workspace().join("examples/hosts/peppi.caps.xml");
    fs::write(&file, format!("host peppi from=\"{}\"\n{guest}", caps.display())).unwrap();
    let o = vnumac(&["build", file.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let golden = fs::read_to_string(workspace().join("golden/examples/talk-manual-cells/OL8-vnuma.xml")).unwrap();
    assert_eq!(stdout(&o), golden);
    fs::remove_dir_all(&dir).unwrap();
    let o = vnumac(&["import", "Cargo.toml"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("Cargo.toml:1:1"), "{}", stderr(&o));
    let o = vnumac(&["import", "no/such.xml"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn import_with_caps_writes_host_and_guest_together() {
    let o = vnumac(&[
        "--message-format",
        "json",
        "import",
        "golden/examples/talk-manual-cells/OL8-vnuma.xml",
        "--caps",
        "examples/hosts/peppi.caps.xml",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(text.starts_with("host peppi {"), "{text}");
    assert!(text.contains("guest OL8-vnuma on=peppi {"), "{text}");
    let dir = scratch("import-caps");
    let file = dir.join("g.vnuma");
    fs::write(&file, &text).unwrap();
    let o = vnumac(&["build", file.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    fs::remove_dir_all(&dir).unwrap();
    // Notes and errors are JSON lines.
    let o = vnumac(&["--message-format", "json", "import", "Cargo.toml"]);
    assert_eq!(o.status.code(), Some(1));
    let line: serde_json::Value = serde_json::from_str(stderr(&o).lines().next().unwrap()).unwrap();
    assert_eq!(line["severity"], "error");
    assert_eq!(line["line"], 1);
    let o = vnumac(&[
        "--message-format",
        "json",
        "import",
        "compiler/tests/libvirt-suite/cpu-numa1.xml",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    for l in stderr(&o).lines() {
        let v: serde_json::Value = serde_json::from_str(l).unwrap();
        assert_eq!(v["severity"], "note", "{l}");
    }
}

#[test]
fn fmt_rewrites_checks_and_refuses_broken_files() {
    let dir = scratch("fmt");
    let messy = dir.join("messy.vnuma");
    fs::write(
        &messy,
        "guest x{memory 4GiB;vcpus 2 # two\n\n\n  numa {cell 0 cpus=0-1 memory=4GiB}}\n",
    )
    .unwrap();
    let o = vnumac(&["fmt", "--check", messy.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).contains("would reformat"));
    let o = vnumac(&["fmt", messy.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(
        fs::read_to_string(&messy).unwrap(),
        "guest x {\n  memory 4GiB\n  vcpus 2  # two\n\n  numa {\n    cell 0 cpus=0-1 memory=4GiB\n  }\n}\n"
    );
    let o = vnumac(&["fmt", "--check", messy.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0));
    let broken = dir.join("broken.vnuma");
    fs::write(&broken, "guest x {\n  vcpus = 4\n}\n").unwrap();
    let o = vnumac(&["fmt", broken.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("vnuma::E0101"));
    assert_eq!(
        fs::read_to_string(&broken).unwrap(),
        "guest x {\n  vcpus = 4\n}\n",
        "nothing written"
    );
    let examples: Vec<String> = fs::read_dir(workspace().join("examples"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "vnuma"))
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    let mut args = vec!["fmt", "--check"];
    args.extend(examples.iter().map(String::as_str));
    let o = vnumac(&args);
    assert_eq!(o.status.code(), Some(0), "examples are canonical: {}", stdout(&o));
    fs::remove_dir_all(&dir).unwrap();
}

/// A correct file checks and builds in silence; notes (which nodes `vnuma` picked) come
/// with `--verbose`, and always in JSON.
#[test]
fn a_clean_build_is_silent_and_notes_need_verbose() {
    for args in [
        &["check", "examples/vnuma-fleet.vnuma"][..],
        &["build", "examples/vnuma-fleet.vnuma", "--guest", "web-1"][..],
    ] {
        let o = vnumac(args);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        assert_eq!(stderr(&o), "", "{args:?}");
    }
    let o = vnumac(&["check", "--verbose", "examples/vnuma-fleet.vnuma"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(stderr(&o).contains("vnuma::N0601"), "{}", stderr(&o));
    let o = vnumac(&["--message-format", "json", "check", "examples/vnuma-fleet.vnuma"]);
    assert!(
        stderr(&o).lines().any(|l| l.contains("\"vnuma::N0601\"")),
        "{}",
        stderr(&o)
    );
}
