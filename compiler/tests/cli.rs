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
        svg.contains("<title>CPU 1: a vCPU of db</title>"),
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
    assert_eq!(line["code"], "vnuma::import");
    assert_eq!(line["labels"][0]["line"], 1);
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
        assert_eq!(v["code"], "vnuma::import", "{l}");
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
/// with `--verbose`, and always in JSON. A file with warnings is not silent: the fleet's
/// `pinning=node` guest floats over the dedicated guests' cores.
#[test]
fn a_clean_build_is_silent_and_notes_need_verbose() {
    for args in [
        &["check", "examples/shared-host.vnuma"][..],
        &["build", "examples/shared-host.vnuma", "--guest", "fresh"][..],
    ] {
        let o = vnumac(args);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        assert_eq!(stderr(&o), "", "{args:?}");
    }
    let o = vnumac(&["check", "--verbose", "examples/shared-host.vnuma"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(stderr(&o).contains("vnuma::N0601"), "{}", stderr(&o));
    let o = vnumac(&["--message-format", "json", "check", "examples/shared-host.vnuma"]);
    assert!(
        stderr(&o).lines().any(|l| l.contains("\"vnuma::N0601\"")),
        "{}",
        stderr(&o)
    );
    let o = vnumac(&["check", "examples/vnuma-fleet.vnuma"]);
    assert_eq!(o.status.code(), Some(0), "warnings only: {}", stderr(&o));
    assert!(stderr(&o).contains("vnuma::W0513"), "{}", stderr(&o));
}

fn vnumac_in(dir: &Path, args: &[&str], stdin: Option<&str>) -> Output {
    use std::io::Write;
    use std::process::Stdio;
    let mut child = Command::new(env!("CARGO_BIN_EXE_vnumac"))
        .args(args)
        .current_dir(dir)
        .stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run vnumac");
    if let Some(text) = stdin {
        child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    }
    child.wait_with_output().unwrap()
}

const TEN_GUESTS: &str = "guest g0 {\n  memory 1GiB\n  vcpus 1\n}\n";

fn ten_guests() -> String {
    (0..10).map(|i| TEN_GUESTS.replace("g0", &format!("g{i}"))).collect()
}

// Temporary files are created exclusively under names nobody can plant a symlink at: the
// old names (`NAME.xml.PID.tmp`) are all taken by symlinks to a file outside, which must
// stay as it was.
#[test]
fn out_dir_never_writes_through_a_planted_symlink() {
    let dir = scratch("planted");
    let out = dir.join("out");
    fs::create_dir_all(&out).unwrap();
    fs::write(dir.join("f.vnuma"), ten_guests()).unwrap();
    let victim = dir.join("victim");
    fs::write(&victim, "precious\n").unwrap();
    let me = std::process::id();
    for pid in me..me + 300 {
        for ext in ["xml", "args"] {
            std::os::unix::fs::symlink(&victim, out.join(format!("g0.{ext}.{ext}.{pid}.tmp"))).unwrap();
        }
    }
    // A symlink as the target itself is replaced, not followed.
    std::os::unix::fs::symlink(&victim, out.join("g1.xml")).unwrap();
    let o = vnumac_in(&dir, &["build", "f.vnuma", "-o", "out"], None);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(fs::read_to_string(&victim).unwrap(), "precious\n");
    assert!(
        fs::read_to_string(out.join("g1.xml"))
            .unwrap()
            .contains("<name>g1</name>")
    );
    assert!(
        !fs::symlink_metadata(out.join("g1.xml"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
    let stray = fs::read_dir(&out)
        .unwrap()
        .filter(|e| e.as_ref().unwrap().file_name().to_string_lossy().starts_with('.'))
        .count();
    assert_eq!(stray, 0, "no temporary file left");
    fs::remove_dir_all(&dir).unwrap();
}

// `out/g6.xml` is a directory: nothing is replaced, nothing half written.
#[test]
fn out_dir_failure_leaves_every_file_as_it_was() {
    let dir = scratch("in-the-way");
    let out = dir.join("out");
    fs::create_dir_all(out.join("g6.xml")).unwrap();
    fs::write(dir.join("f.vnuma"), ten_guests()).unwrap();
    for i in 0..10 {
        if i != 6 {
            fs::write(out.join(format!("g{i}.xml")), "old\n").unwrap();
        }
        fs::write(out.join(format!("g{i}.args")), "old\n").unwrap();
    }
    let o = vnumac_in(&dir, &["build", "f.vnuma", "-o", "out"], None);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("g6.xml"), "{}", stderr(&o));
    assert!(stderr(&o).contains("nothing written"));
    for i in 0..10 {
        assert_eq!(fs::read_to_string(out.join(format!("g{i}.args"))).unwrap(), "old\n");
        if i != 6 {
            assert_eq!(fs::read_to_string(out.join(format!("g{i}.xml"))).unwrap(), "old\n");
        }
    }
    assert_eq!(fs::read_dir(&out).unwrap().count(), 20, "no temporary file left");
    fs::remove_dir_all(&dir).unwrap();
}

// fmt rewrites the file a symlink points to (the link stays) and keeps its permissions.
#[test]
fn fmt_keeps_permissions_and_writes_through_symlinks() {
    use std::os::unix::fs::PermissionsExt;
    let dir = scratch("fmt-perms");
    let real = dir.join("real.vnuma");
    fs::write(&real, "guest x{memory 4GiB;vcpus 2}\n").unwrap();
    fs::set_permissions(&real, fs::Permissions::from_mode(0o640)).unwrap();
    let link = dir.join("link.vnuma");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let o = vnumac_in(&dir, &["fmt", "link.vnuma"], None);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
    assert_eq!(
        fs::read_to_string(&real).unwrap(),
        "guest x {\n  memory 4GiB\n  vcpus 2\n}\n"
    );
    assert_eq!(fs::metadata(&real).unwrap().permissions().mode() & 0o777, 0o640);
    assert_eq!(fs::read_dir(&dir).unwrap().count(), 2, "no temporary file left");
    fs::remove_dir_all(&dir).unwrap();
}

// Only regular files are read, bounded in size: a FIFO does not block, /dev/zero does not
// grow, a directory is named as one; every refusal is coded.
#[test]
fn inputs_are_regular_files_of_bounded_size() {
    let dir = scratch("inputs");
    let fifo = dir.join("fifo");
    assert!(Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    let big = dir.join("big.vnuma");
    fs::File::create(&big).unwrap().set_len(17 << 20).unwrap();
    fs::create_dir(dir.join("sub")).unwrap();
    fs::write(
        dir.join("inc.vnuma"),
        "include \"fifo\"\ninclude \"/dev/zero\"\ninclude \"sub\"\ninclude \"big.vnuma\"\nhost h from=\"fifo\"\n",
    )
    .unwrap();
    let o = vnumac_in(&dir, &["--message-format", "json", "check", "inc.vnuma"], None);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let lines: Vec<serde_json::Value> = stderr(&o).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let messages: Vec<(&str, &str)> = lines
        .iter()
        .map(|l| (l["code"].as_str().unwrap(), l["message"].as_str().unwrap()))
        .collect();
    assert!(
        messages.contains(&("vnuma::E0103", "cannot read fifo: is a FIFO, not a regular file")),
        "{messages:?}"
    );
    assert!(
        messages.contains(&("vnuma::E0103", "cannot read /dev/zero: is a device, not a regular file")),
        "{messages:?}"
    );
    assert!(
        messages.contains(&("vnuma::E0103", "cannot read sub: is a directory, not a file")),
        "{messages:?}"
    );
    assert!(
        messages
            .iter()
            .any(|(c, m)| *c == "vnuma::E0103" && m.contains("larger than the 16 MiB limit")),
        "{messages:?}"
    );
    assert!(
        messages.iter().any(|(c, m)| *c == "vnuma::E0409" && m.contains("FIFO")),
        "{messages:?}"
    );
    for args in [
        vec!["check", "fifo"],
        vec!["check", "/dev/zero"],
        vec!["build", "sub"],
        vec!["fmt", "fifo"],
        vec!["import", "/dev/zero"],
        vec!["host", "import", "fifo"],
        vec!["check", "big.vnuma"],
    ] {
        let mut a = vec!["--message-format", "json"];
        a.extend(&args);
        let o = vnumac_in(&dir, &a, None);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        let v: serde_json::Value = serde_json::from_str(stderr(&o).trim()).unwrap();
        assert_eq!(v["code"], "vnuma::io", "{args:?}");
        assert!(v["message"].as_str().unwrap().contains(args[args.len() - 1]), "{v}");
    }
    fs::remove_dir_all(&dir).unwrap();
}

// Every error is a JSON line with a code: invalid UTF-8, import errors, I/O errors and
// usage errors; a byte-order mark is accepted.
#[test]
fn json_errors_all_have_codes() {
    let dir = scratch("json-codes");
    fs::write(dir.join("latin1.vnuma"), b"# caf\xe9\nguest g {\n}\n").unwrap();
    fs::write(dir.join("inc.vnuma"), "include \"latin1.vnuma\"\n").unwrap();
    fs::write(dir.join("bom.vnuma"), format!("\u{feff}{TEN_GUESTS}")).unwrap();
    fs::write(dir.join("bad.xml"), "<domain><name>x</name>").unwrap();
    let cases: [(&[&str], i32, &str); 6] = [
        (&["check", "latin1.vnuma"], 2, "vnuma::io"),
        (&["check", "inc.vnuma"], 1, "vnuma::E0103"),
        (&["import", "bad.xml"], 1, "vnuma::import"),
        (&["host", "import", "bad.xml"], 1, "vnuma::E0409"),
        (&["check", "missing.vnuma"], 2, "vnuma::io"),
        (&["frobnicate"], 2, "vnuma::usage"),
    ];
    for (args, code, expected) in cases {
        let mut a = vec!["--message-format", "json"];
        a.extend(args);
        let o = vnumac_in(&dir, &a, None);
        assert_eq!(o.status.code(), Some(code), "{args:?}: {}", stderr(&o));
        let lines: Vec<serde_json::Value> = stderr(&o)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{args:?}: not JSON ({e}): {l}")))
            .collect();
        assert!(!lines.is_empty(), "{args:?}");
        assert!(lines.iter().all(|l| l["code"].is_string()), "{args:?}");
        assert!(lines.iter().any(|l| l["code"] == expected), "{args:?}: {lines:?}");
    }
    let o = vnumac_in(&dir, &["check", "latin1.vnuma"], None);
    assert!(stderr(&o).contains("not UTF-8"), "{}", stderr(&o));
    let o = vnumac_in(&dir, &["build", "bom.vnuma"], None);
    assert_eq!(o.status.code(), Some(0), "a BOM is accepted: {}", stderr(&o));
    fs::remove_dir_all(&dir).unwrap();
}

// A label far into a long line is rendered plainly instead of crashing the renderer.
#[test]
fn labels_past_column_65535_do_not_crash() {
    let dir = scratch("wide");
    let text = format!(
        "guest g {{\n  memory 1GiB\n  vcpus 1 {}bogus=1\n}}\n",
        " ".repeat(70_000)
    );
    fs::write(dir.join("wide.vnuma"), text).unwrap();
    let o = vnumac_in(&dir, &["check", "wide.vnuma"], None);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("vnuma::E0202"), "{}", stderr(&o));
    assert!(stderr(&o).contains("wide.vnuma:3:70011"), "{}", stderr(&o));
    // A label near the start of a very long line, or next to one: miette would lay out the
    // whole line for each diagnostic, so these are rendered plainly too.
    let long = "a=1 ".repeat(20_000);
    let text = format!("guest g {{\n  memory 1GiB\n  vcpus 1 bogus=1\n  # {long}\n}}\n");
    fs::write(dir.join("long.vnuma"), text).unwrap();
    let o = vnumac_in(&dir, &["check", "long.vnuma"], None);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("--> long.vnuma:3:11: "), "{}", stderr(&o));
    assert!(
        stderr(&o).len() < 2000,
        "the long line is not printed: {} bytes",
        stderr(&o).len()
    );
    fs::remove_dir_all(&dir).unwrap();
}

// Many diagnostics: capped per file with a count of the rest (the time they take is
// measured by `cargo bench -p vnumac --bench hostile`).
#[test]
fn many_diagnostics_are_fast_and_capped() {
    let dir = scratch("many");
    let mut text = String::from("guest g {\n  memory 1GiB\n  vcpus 1\n");
    for i in 0..40_000 {
        text.push_str(&format!("  bogus{i} 1\n"));
    }
    text.push_str("}\n");
    fs::write(dir.join("many.vnuma"), text).unwrap();
    for format in ["human", "json"] {
        let o = vnumac_in(&dir, &["--message-format", format, "check", "many.vnuma"], None);
        assert_eq!(o.status.code(), Some(1));
        assert!(
            stderr(&o).contains("and 39800 more diagnostics in many.vnuma"),
            "{format}"
        );
        assert!(stderr(&o).len() < 1 << 20, "{format}: {} bytes", stderr(&o).len());
    }
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn build_and_check_read_standard_input() {
    let dir = scratch("stdin");
    let o = vnumac_in(&dir, &["build", "-"], Some(TEN_GUESTS));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("<name>g0</name>"));
    let o = vnumac_in(&dir, &["check", "-"], Some("guest g {\n  vcpus 1\n}\n"));
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("<stdin>:1:"), "{}", stderr(&o));
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn color_follows_the_flag_and_no_color() {
    let run = |args: &[&str], no_color: bool| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_vnumac"));
        c.args(args).current_dir(workspace());
        if no_color {
            c.env("NO_COLOR", "1");
        } else {
            c.env_remove("NO_COLOR");
        }
        stderr(&c.output().unwrap())
    };
    let file = "golden/errors/E0302-cell-memory-sum.vnuma";
    assert!(run(&["--color", "always", "check", file], true).contains("\u{1b}["));
    assert!(!run(&["--color", "never", "check", file], false).contains("\u{1b}["));
    // Not a terminal: no colour under auto.
    assert!(!run(&["check", file], false).contains("\u{1b}["));
}

#[test]
fn completions_and_man_page_are_generated() {
    let dir = scratch("completions");
    for shell in ["bash", "zsh", "fish"] {
        let o = vnumac(&["completions", shell]);
        assert_eq!(o.status.code(), Some(0), "{shell}");
        assert!(stdout(&o).contains("vnumac"), "{shell}");
        assert!(stdout(&o).contains("explain"), "{shell}: every subcommand");
    }
    let bash = dir.join("vnumac.bash");
    fs::write(&bash, vnumac(&["completions", "bash"]).stdout).unwrap();
    let o = Command::new("bash").arg("-n").arg(&bash).output().unwrap();
    assert!(o.status.success(), "bash -n: {}", stderr(&o));
    let o = vnumac(&["man"]);
    assert_eq!(o.status.code(), Some(0));
    let page = stdout(&o);
    assert!(page.starts_with(".ie") || page.starts_with(".TH"), "{page}");
    assert!(page.contains(".TH vnumac 1"), "{page}");
    assert!(page.contains("completions"));
    let man = dir.join("vnumac.1");
    fs::write(&man, &page).unwrap();
    // Render it where a formatter is installed; otherwise the roff structure above is all.
    if let Ok(o) = Command::new("groff")
        .args(["-man", "-Tutf8", "-ww", "-z"])
        .arg(&man)
        .output()
    {
        assert!(o.status.success(), "groff: {}", stderr(&o));
        assert!(o.stderr.is_empty(), "groff warnings: {}", stderr(&o));
    }
    if let Ok(o) = Command::new("man").arg("-l").arg(&man).env("MANPAGER", "cat").output() {
        assert!(o.status.success(), "man -l: {}", stderr(&o));
    }
    fs::remove_dir_all(&dir).unwrap();
}

// A capabilities file with 25,000 cells is refused with a coded error, quickly, instead of
// building a 25,000 × 25,000 distance table; a huge CPU range does not become a huge SVG.
#[test]
fn host_sizes_are_bounded() {
    let dir = scratch("host-sizes");
    let mut caps = String::from("<capabilities><host><topology><cells num='25000'>");
    for i in 0..25_000 {
        caps.push_str(&format!(
            "<cell id='{i}'><memory unit='KiB'>1048576</memory><cpus num='1'><cpu id='{i}' socket_id='0' core_id='{i}' siblings='{i}'/></cpus></cell>"
        ));
    }
    caps.push_str("</cells></topology></host></capabilities>");
    fs::write(dir.join("big.caps.xml"), caps).unwrap();
    let o = vnumac_in(
        &dir,
        &["--message-format", "json", "host", "import", "big.caps.xml"],
        None,
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(stderr(&o).trim()).unwrap();
    assert_eq!(v["code"], "vnuma::E0409");
    assert!(v["message"].as_str().unwrap().contains("more than 4096"), "{v}");
    fs::write(
        dir.join("wide.vnuma"),
        "host h {\n  node 0 cpus=0-1048575 memory=4GiB\n}\nguest g on=h {\n  memory 1GiB\n  vcpus 1\n}\n",
    )
    .unwrap();
    let o = vnumac_in(&dir, &["explain", "wide.vnuma", "--format", "svg"], None);
    assert_eq!(o.status.code(), Some(1));
    assert!(o.stdout.is_empty());
    assert!(stderr(&o).contains("more than 16384 CPUs"), "{}", stderr(&o));
    fs::remove_dir_all(&dir).unwrap();
}

// Import takes XML with 200,000 attributes or elements (its cost is measured by
// `cargo bench -p vnumac --bench hostile`); a repeated attribute is still an error.
#[test]
fn import_is_linear_in_the_xml() {
    let dir = scratch("import-linear");
    let attrs: String = (0..200_000).map(|i| format!(" a{i}='x'")).collect();
    let elems: String = (0..200_000).map(|i| format!("<e{i}/>")).collect();
    let body = "<name>x</name><memory unit='KiB'>1048576</memory><vcpu>1</vcpu>";
    fs::write(
        dir.join("attrs.xml"),
        format!("<domain type='kvm'{attrs}>{body}</domain>"),
    )
    .unwrap();
    fs::write(
        dir.join("elems.xml"),
        format!("<domain type='kvm'>{body}{elems}</domain>"),
    )
    .unwrap();
    fs::write(
        dir.join("dup.xml"),
        format!("<domain type='kvm' a='1' a='2'>{body}</domain>"),
    )
    .unwrap();
    for f in ["attrs.xml", "elems.xml"] {
        let o = vnumac_in(&dir, &["import", f], None);
        assert_eq!(o.status.code(), Some(0), "{f}: {}", stderr(&o));
        assert!(stdout(&o).contains("\nguest x {"), "{f}");
    }
    let o = vnumac_in(&dir, &["import", "dup.xml"], None);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("attribute `a` given twice"), "{}", stderr(&o));
    fs::remove_dir_all(&dir).unwrap();
}
