//! A real editor: headless Neovim 0.7 (Debian's) attaches `vnuma-lsp` to a file with an
//! error, receives the coded diagnostic, gets a hover and a formatting answer, replaces the
//! text with a fixed one and sees the diagnostics clear (editors/nvim/smoke.lua).
//! A file with 300 errors shows 200 and a count of the rest.
//! Skips when `nvim` is missing, unless VNUMAC_REQUIRE_ORACLES=1.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Runs editors/nvim/smoke.lua on `file` (hover at the 0-based `hover` position, then the
/// text replaced by `fixed`): its JSON report, or None when nvim is missing and not required.
fn smoke(file: &Path, hover: (u32, u32), fixed: &Path) -> Option<Value> {
    if Command::new("nvim").arg("--version").output().is_err() {
        assert!(
            std::env::var("VNUMAC_REQUIRE_ORACLES").is_err(),
            "nvim is required (apt-get install neovim)"
        );
        eprintln!("skipped: nvim not found");
        return None;
    }
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let stem = file.file_stem().and_then(|s| s.to_str()).unwrap_or("file");
    let out = std::env::temp_dir().join(format!("vnuma-nvim-{}-{stem}.json", std::process::id()));
    let status = Command::new("timeout")
        .arg("120")
        .arg("nvim")
        .args(["--headless", "--clean", "-c"])
        .arg(format!("luafile {}", repo.join("editors/nvim/smoke.lua").display()))
        .arg(file)
        .env("SERVER_CMD", env!("CARGO_BIN_EXE_vnuma-lsp"))
        .env("OUT_JSON", &out)
        .env("HOVER_LINE", hover.0.to_string())
        .env("HOVER_COL", hover.1.to_string())
        .env("FIXED_FILE", fixed)
        .status()
        .unwrap();
    let report = std::fs::read_to_string(&out).unwrap_or_default();
    let _ = std::fs::remove_file(&out);
    assert!(status.success(), "{status}: {report}");
    let r: Value = serde_json::from_str(&report).unwrap();
    assert_eq!(r["ok"], true, "{r}");
    Some(r)
}

fn testdata(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../editors/nvim/testdata")
        .join(name)
}

#[test]
fn neovim_gets_diagnostics_hover_formatting_and_sees_them_clear() {
    let Some(r) = smoke(&testdata("broken.vnuma"), (6, 2), &testdata("fixed.vnuma")) else {
        return;
    };
    let d = &r["diagnostics"][0];
    assert_eq!(d["code"], "vnuma::E0205", "{r}");
    assert_eq!((d["lnum"].as_u64(), d["col"].as_u64()), (Some(6), Some(9)), "{r}");
    assert_eq!(d["severity"], "ERROR");
    assert!(r["hover"].as_str().unwrap().starts_with("**memory** SIZE"), "{r}");
    assert_eq!(r["formatting"]["returned_edits"], true, "{r}");
    assert_eq!(r["after_change"]["cleared"], true, "{r}");
}

/// A file with 300 errors: Neovim shows the first 200 and one more that counts the rest.
#[test]
fn neovim_gets_the_first_200_diagnostics_and_a_count() {
    let dir = std::env::temp_dir().join(format!("vnuma-nvim-many-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("many.vnuma");
    let mut text = String::from("guest g {\n  vcpus 4\n  memory 4GiB\n");
    for i in 0..300 {
        text.push_str(&format!("  bogus{i} 1\n"));
    }
    text.push_str("}\n");
    std::fs::write(&file, text).unwrap();
    let r = smoke(&file, (2, 2), &testdata("fixed.vnuma"));
    let _ = std::fs::remove_dir_all(&dir);
    let Some(r) = r else { return };
    let diags = r["diagnostics"].as_array().unwrap();
    assert_eq!(diags.len(), 201, "{r}");
    assert_eq!(diags.iter().filter(|d| d["code"] == "vnuma::E0201").count(), 200, "{r}");
    let more = diags.iter().find(|d| d["code"] == "vnuma::more").unwrap();
    assert!(
        more["message"]
            .as_str()
            .unwrap()
            .starts_with("and 100 more diagnostics"),
        "{more}"
    );
    assert!(r["hover"].as_str().unwrap().starts_with("**memory** SIZE"), "{r}");
    assert_eq!(r["after_change"]["cleared"], true, "{r}");
}
