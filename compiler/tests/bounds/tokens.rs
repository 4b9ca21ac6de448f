//! One huge token at the input cap: a single word, NULs, an unterminated string. Each is
//! read no further than its line, and no diagnostic quotes it back.

use super::harness::{LIMIT_MIB, scratch, vnumac_limited};

#[test]
fn one_huge_token_is_not_read_nor_quoted() {
    let dir = scratch("tokens");
    let cap = 16 << 20;
    for (name, text) in [
        ("word", "a".repeat(cap)),
        ("nuls", "\0".repeat(cap)),
        ("string", format!("guest \"{}", "a".repeat(cap - 7))),
        ("comment", format!("#{}", "a".repeat(cap - 1))),
    ] {
        let file = format!("{name}.vnuma");
        std::fs::write(dir.join(&file), &text).expect("scratch file");
        let run = vnumac_limited(&dir, &["check", &file], LIMIT_MIB);
        run.assert_code(1).assert_diag("E0101");
        assert!(
            run.stderr.contains("longer than 64 KiB"),
            "{name}: {}",
            run.stderr.chars().take(2000).collect::<String>()
        );
        assert!(
            run.stderr.len() < 4096,
            "{name}: {} bytes of diagnostics",
            run.stderr.len()
        );
    }
}
