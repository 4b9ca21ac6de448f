//! `vnumac migrate` as a user runs it: exit codes, stdout only on success, the XML, QEMU
//! line and table of a move, `-o DIR`, a destination read from a capabilities file.
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

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

const HAND: &str = "golden/migrate/hand-pinned.vnuma";

#[test]
fn a_move_prints_the_destination_xml_qemu_line_and_table() {
    let o = vnumac(&["migrate", HAND, "--guest", "OL8-vnuma", "--to", "epyc"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let xml = stdout(&o);
    let golden = fs::read_to_string(workspace().join("golden/migrate/hand-pinned.xml")).unwrap();
    assert_eq!(xml, golden);
    // vCPUs 0 and 1 ran on one peppi core's threads (1 and 61): on the EPYC host they run
    // on one core's threads too (8 and 136, siblings in its capabilities).
    assert!(xml.contains("<vcpupin vcpu='0' cpuset='8'/>"), "{xml}");
    assert!(xml.contains("<vcpupin vcpu='1' cpuset='136'/>"), "{xml}");
    assert!(
        stderr(&o).contains("vnuma::M0806"),
        "the distances warning: {}",
        stderr(&o)
    );
    let q = vnumac(&[
        "migrate",
        HAND,
        "--guest",
        "OL8-vnuma",
        "--to",
        "epyc",
        "--emit",
        "qemu",
    ]);
    assert_eq!(q.status.code(), Some(0));
    assert!(stdout(&q).contains("host-nodes=0,policy=bind"), "{}", stdout(&q));
    let d = vnumac(&["migrate", HAND, "--guest", "OL8-vnuma", "--to", "epyc", "--diff"]);
    assert_eq!(d.status.code(), Some(0));
    assert!(stdout(&d).starts_with("guest `OL8-vnuma`: host `peppi` → host `epyc`\n"));
    assert!(
        stdout(&d).lines().any(|l| l.split_whitespace().eq(["1", "61", "136"])),
        "{}",
        stdout(&d)
    );
}

#[test]
fn out_dir_writes_the_destination_files() {
    let dir = std::env::temp_dir().join(format!("vnumac-migrate-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    let o = vnumac(&[
        "migrate",
        HAND,
        "--guest",
        "OL8-vnuma",
        "--to",
        "epyc",
        "-o",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).is_empty());
    let xml = fs::read_to_string(dir.join("OL8-vnuma.xml")).unwrap();
    let args = fs::read_to_string(dir.join("OL8-vnuma.args")).unwrap();
    assert_eq!(
        xml,
        fs::read_to_string(workspace().join("golden/migrate/hand-pinned.xml")).unwrap()
    );
    assert_eq!(
        args,
        fs::read_to_string(workspace().join("golden/migrate/hand-pinned.args")).unwrap()
    );
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn refusals_exit_1_with_nothing_on_stdout() {
    for (file, guest, to, code) in [
        ("golden/migrate/M0801-hostdev.vnuma", "nic", "other", "vnuma::M0801"),
        ("golden/migrate/M0802-no-page-pool.vnuma", "db", "plain", "vnuma::M0802"),
        ("golden/migrate/M0803-no-room.vnuma", "db", "full", "vnuma::M0803"),
        ("golden/migrate/M0804-narrow-cores.vnuma", "smt", "flat", "vnuma::M0804"),
        ("golden/migrate/M0805-emulator.vnuma", "rt", "tight", "vnuma::M0805"),
    ] {
        for extra in [&[][..], &["--diff"][..], &["--emit", "qemu"][..]] {
            let mut args = vec![
                "migrate",
                file,
                "--guest",
                guest,
                "--to",
                to,
                "--message-format",
                "json",
            ];
            args.extend(extra);
            let o = vnumac(&args);
            assert_eq!(o.status.code(), Some(1), "{file}: {}", stderr(&o));
            assert!(o.stdout.is_empty(), "{file}: {}", stdout(&o));
            // The file's notes (nodes `vnuma` picked) come first, then the refusal.
            let first: serde_json::Value = stderr(&o)
                .lines()
                .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
                .find(|v| v["severity"] == "error")
                .unwrap();
            assert_eq!(first["code"], code, "{file}");
            assert_eq!(first["labels"][0]["file"], file, "{file}");
        }
    }
}

#[test]
fn unknown_guest_or_host_and_the_same_host_exit_2() {
    for (args, says) in [
        (vec!["--guest", "nope", "--to", "epyc"], "no guest named `nope`"),
        (vec!["--guest", "OL8-vnuma", "--to", "nope"], "no host named `nope`"),
        (
            vec!["--guest", "OL8-vnuma", "--to", "peppi"],
            "already runs on host `peppi`",
        ),
    ] {
        let mut all = vec!["migrate", HAND];
        all.extend(args);
        let o = vnumac(&all);
        assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
        assert!(o.stdout.is_empty());
        assert!(stderr(&o).contains(says), "{}", stderr(&o));
    }
    let o = vnumac(&["migrate", HAND, "--guest", "OL8-vnuma"]);
    assert_eq!(o.status.code(), Some(2), "--to or --to-caps is required");
}

#[test]
fn a_destination_from_a_capabilities_file_carries_no_guests() {
    let o = vnumac(&[
        "migrate",
        HAND,
        "--guest",
        "OL8-vnuma",
        "--to-caps",
        "examples/hosts/epyc-2s-nps4.caps.xml",
        "--diff",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let table = stdout(&o);
    assert!(
        table.starts_with("guest `OL8-vnuma`: host `peppi` → host `epyc-2s-nps4`\n"),
        "{table}"
    );
    // `web` is not on this destination: node 0's first core is free for vCPUs 0 and 1.
    assert!(
        table.lines().any(|l| l.split_whitespace().eq(["0", "1", "0"])),
        "{table}"
    );
    let bad = std::env::temp_dir().join(format!("vnumac-bad-caps-{}.xml", std::process::id()));
    fs::write(&bad, "<capabilities><host>").unwrap();
    let o = vnumac(&[
        "migrate",
        HAND,
        "--guest",
        "OL8-vnuma",
        "--to-caps",
        bad.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(o.stdout.is_empty());
    assert!(
        stderr(&o).contains("vnuma::E0409") || stderr(&o).contains("error:"),
        "{}",
        stderr(&o)
    );
    let _ = fs::remove_file(&bad);
    let o = vnumac(&[
        "migrate",
        HAND,
        "--guest",
        "OL8-vnuma",
        "--to-caps",
        "/nonexistent/caps.xml",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("/nonexistent/caps.xml"), "{}", stderr(&o));
}

#[test]
fn a_file_with_errors_moves_nothing() {
    let dir = std::env::temp_dir().join(format!("vnumac-migrate-err-{}", std::process::id()));
    fs::create_dir_all(&dir).unwrap();
    let file = dir.join("bad.vnuma");
    fs::write(&file, "host a {\n  node 0 cpus=0-3 memory=8GiB\n}\nhost b {\n  node 0 cpus=0-3 memory=8GiB\n}\nguest g on=a {\n  memory 64GiB\n  vcpus 2\n  vnuma mode=node\n}\n").unwrap();
    let o = vnumac(&["migrate", file.to_str().unwrap(), "--guest", "g", "--to", "b"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(o.stdout.is_empty());
    let _ = fs::remove_dir_all(&dir);
}
