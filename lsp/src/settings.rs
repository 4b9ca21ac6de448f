//! What the client agreed to at initialization.

use std::path::Path;
use vnumac::source::Encoding;

#[derive(Debug, Clone)]
pub struct Settings {
    pub encoding: Encoding,
    /// Where `docs/diagnostics.md` is, for links from diagnostic codes.
    pub docs_url: Option<String>,
    /// Publish notes too (initialization option `notes`).
    pub notes: bool,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            encoding: Encoding::Utf16,
            docs_url: None,
            notes: false,
        }
    }
}

/// `docs/diagnostics.md` of the source tree the server was built from, if it is there.
pub fn docs_url() -> Option<String> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/diagnostics.md");
    let p = p.canonicalize().ok()?;
    crate::convert::uri(&p).map(|u| u.to_string())
}
