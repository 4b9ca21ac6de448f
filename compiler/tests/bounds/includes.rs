//! Programs of many files: an include chain reads at most 1,024 files, walked without
//! recursion, and a cycle's error names a few of its files, not all.

use crate::harness::{LIMIT_MIB, scratch, vnumac_limited};

/// 20,000 files, each including the next: once a stack overflow; now the 1,025th is not read.
#[test]
fn a_long_include_chain_is_read_up_to_the_bound() {
    let dir = scratch("chain");
    let n = 20_000;
    for i in 0..n {
        let text = if i + 1 < n {
            format!("include \"f{}.vnuma\"\n", i + 1)
        } else {
            "guest g {\n  memory 1GiB\n  vcpus 1\n}\n".to_string()
        };
        std::fs::write(dir.join(format!("f{i}.vnuma")), text).unwrap();
    }
    let run = vnumac_limited(&dir, &["check", "f0.vnuma"], LIMIT_MIB);
    run.assert_code(1).assert_diag("E0103");
    assert!(
        run.stderr.contains("a program reads at most 1024 files"),
        "{}",
        run.stderr
    );
}

/// A cycle of 1,000 files: one error whose message names eight of them.
#[test]
fn a_long_include_cycle_is_named_briefly() {
    let dir = scratch("cycle");
    let n = 1_000;
    for i in 0..n {
        std::fs::write(
            dir.join(format!("c{i}.vnuma")),
            format!("include \"c{}.vnuma\"\n", (i + 1) % n),
        )
        .unwrap();
    }
    let run = vnumac_limited(&dir, &["--message-format", "json", "check", "c0.vnuma"], LIMIT_MIB);
    run.assert_code(1).assert_diag("E0104");
    let line = run.stderr.lines().find(|l| l.contains("E0104")).unwrap();
    assert!(line.contains("(1000 files in all)"), "{line}");
    assert!(line.len() < 4_000, "{} bytes", line.len());
}
