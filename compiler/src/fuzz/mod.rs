//! Fuzz target bodies, shared by the cargo-fuzz crate (`fuzz/`, nightly) and the stable
//! smoke test (`compiler/tests/fuzz_smoke.rs`). Each function takes arbitrary bytes and
//! must return normally: any panic, including a failed `assert!` below, is a bug in the
//! library. The input formats are described on each function and in `docs/fuzzing.md`.

mod check;
mod common;
mod domain;
mod domcaps;
mod host;
mod import_numbers;
mod lsp_edits;
mod lsp_requests;
mod parse;

pub use check::check;
pub use common::ROOT;
pub use domain::domain;
pub use domcaps::domcaps;
pub use host::{caps, sysfs, sysfs_entries};
pub use import_numbers::import_numbers;
pub use lsp_edits::{encode_edits, lsp_edits};
pub use lsp_requests::{encode_requests, lsp_requests};
pub use parse::parse;

/// The names of the targets, as the `fuzz/` crate and the regression directories name them.
pub const TARGETS: &[&str] = &[
    "parse",
    "check",
    "caps",
    "sysfs",
    "domain",
    "lsp_edits",
    "lsp_requests",
    "import_numbers",
    "domcaps",
];

/// Run the target called `name` on `data`; false for an unknown name.
pub fn run(name: &str, data: &[u8]) -> bool {
    match name {
        "parse" => parse(data),
        "check" => check(data),
        "caps" => caps(data),
        "sysfs" => sysfs(data),
        "domain" => domain(data),
        "lsp_edits" => lsp_edits(data),
        "lsp_requests" => lsp_requests(data),
        "import_numbers" => import_numbers(data),
        "domcaps" => domcaps(data),
        _ => return false,
    }
    true
}
