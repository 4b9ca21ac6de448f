//! Text from a file, a capabilities file or the command line never reaches the terminal as
//! control characters: diagnostics, notes, usage errors and `explain` show them written out.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::process::{Command, Output};

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("vnumac-terminal-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn vnumac(dir: &PathBuf, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vnumac"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run vnumac")
}

/// No byte a terminal would act on: C0 controls but LF and tab, DEL, and (as UTF-8) C1
/// controls and bidirectional overrides.
fn assert_inert(what: &str, bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    let bad: Vec<char> = text
        .chars()
        .filter(|&c| {
            (c.is_control() && c != '\n' && c != '\t') || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
        })
        .collect();
    assert!(bad.is_empty(), "{what} holds {bad:?}:\n{text}");
}

const HOSTILE: &str = "\u{1b}]0;pwned\u{7}\u{1b}[8m\rall checks passed\u{9b}\u{202e}";

/// A host name holding control characters (written with escapes, or raw in the file) is an
/// error, E0415, and the diagnostic shows them written out.
#[test]
fn host_names_with_control_characters_are_refused() {
    let dir = scratch("host-name");
    let escaped = "host \"peppi\\u{1b}]0;x\\u{7}\" {\n  node 0 cpus=0-3 memory=8GiB\n}\n";
    // (A raw CR ends the line, and with it the string: that case is the next test's.)
    let raw = format!(
        "host \"peppi{}\" {{\n  node 0 cpus=0-3 memory=8GiB\n}}\n",
        HOSTILE.replace('\r', "")
    );
    let nonchar = "host \"peppi\\u{fffe}\" {\n  node 0 cpus=0-3 memory=8GiB\n}\n";
    for (i, text) in [escaped, &raw, nonchar].into_iter().enumerate() {
        let file = format!("h{i}.vnuma");
        std::fs::write(dir.join(&file), text).unwrap();
        for color in [&[][..], &["--color", "always"][..]] {
            let mut args = color.to_vec();
            args.extend(["check", file.as_str()]);
            let o = vnumac(&dir, &args);
            assert_eq!(o.status.code(), Some(1));
            let err = String::from_utf8_lossy(&o.stderr);
            assert!(err.contains("E0415"), "{err}");
            if color.is_empty() {
                assert_inert("stderr", &o.stderr);
            }
        }
    }
}

/// Raw control characters anywhere in a file (here in an unknown statement's string and in
/// the source lines shown under it) are masked in the human diagnostics, plain or drawn.
#[test]
fn source_lines_and_messages_are_masked() {
    let dir = scratch("source");
    let text = format!("guest g {{\n  memory 1GiB\n  vcpus 2\n  bogus \"{HOSTILE}\"\n}}\n");
    std::fs::write(dir.join("g.vnuma"), &text).unwrap();
    let o = vnumac(&dir, &["check", "g.vnuma"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("E0201"));
    assert_inert("stderr", &o.stderr);
    // A line over 4 KB is shown without its source; the message is still masked.
    let long = format!(
        "guest g {{\n  memory 1GiB\n  vcpus 2\n  bogus \"{HOSTILE}{}\"\n}}\n",
        "x".repeat(5000)
    );
    std::fs::write(dir.join("long.vnuma"), &long).unwrap();
    let o = vnumac(&dir, &["check", "long.vnuma"]);
    assert_eq!(o.status.code(), Some(1));
    assert_inert("stderr", &o.stderr);
}

/// Names given on the command line: refused with a usage error (exit code 2), shown inert.
#[test]
fn command_line_names_are_refused() {
    let dir = scratch("cli");
    let caps = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/hosts/peppi.caps.xml");
    for args in [
        vec!["host", "import", caps, "--name", HOSTILE],
        vec!["host", "probe", "--name", HOSTILE],
        vec!["import", "d.xml", "--host", HOSTILE],
    ] {
        let o = vnumac(&dir, &args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert!(String::from_utf8_lossy(&o.stderr).contains("cannot be a host name"));
        assert_inert("stderr", &o.stderr);
    }
    // clap quotes an unknown argument back.
    let o = vnumac(&dir, &["check", &format!("--bogus{HOSTILE}")]);
    assert_eq!(o.status.code(), Some(2));
    assert_inert("stderr", &o.stderr);
    // A path quoted back in an I/O error.
    let o = vnumac(&dir, &["check", &format!("missing{HOSTILE}.vnuma")]);
    assert_eq!(o.status.code(), Some(2));
    assert_inert("stderr", &o.stderr);
}
