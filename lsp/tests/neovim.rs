//! A real editor: headless Neovim 0.7 (Debian's) attaches `vnuma-lsp` to a file with an
//! error, receives the coded diagnostic, gets a hover and a formatting answer, replaces the
//! text with a fixed one and sees the diagnostics clear (editors/nvim/smoke.lua).
//! Skips when `nvim` is missing, unless VNUMAC_REQUIRE_ORACLES=1.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::Value;
use std::path::Path;
use std::process::Command;

#[test]
fn neovim_gets_diagnostics_hover_formatting_and_sees_them_clear() {
    if Command::new("nvim").arg("--version").output().is_err() {
        assert!(
            std::env::var("VNUMAC_REQUIRE_ORACLES").is_err(),
            "nvim is required (apt-get install neovim)"
        );
        eprintln!("skipped: nvim not found");
        return;
    }
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let data = repo.join("editors/nvim/testdata");
    let out = std::env::temp_dir().join(format!("vnuma-nvim-{}.json", std::process::id()));
    let status = Command::new("timeout")
        .arg("120")
        .arg("nvim")
        .args(["--headless", "--clean", "-c"])
        .arg(format!("luafile {}", repo.join("editors/nvim/smoke.lua").display()))
        .arg(data.join("broken.vnuma"))
        .env("SERVER_CMD", env!("CARGO_BIN_EXE_vnuma-lsp"))
        .env("OUT_JSON", &out)
        .env("HOVER_LINE", "6")
        .env("HOVER_COL", "2")
        .env("FIXED_FILE", data.join("fixed.vnuma"))
        .status()
        .unwrap();
    let report = std::fs::read_to_string(&out).unwrap_or_default();
    let _ = std::fs::remove_file(&out);
    assert!(status.success(), "{status}: {report}");
    let r: Value = serde_json::from_str(&report).unwrap();
    assert_eq!(r["ok"], true, "{r}");
    let d = &r["diagnostics"][0];
    assert_eq!(d["code"], "vnuma::E0205", "{r}");
    assert_eq!((d["lnum"].as_u64(), d["col"].as_u64()), (Some(6), Some(9)), "{r}");
    assert_eq!(d["severity"], "ERROR");
    assert!(r["hover"].as_str().unwrap().starts_with("**memory** SIZE"), "{r}");
    assert_eq!(r["formatting"]["returned_edits"], true, "{r}");
    assert_eq!(r["after_change"]["cleared"], true, "{r}");
}
