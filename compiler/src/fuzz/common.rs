//! What the targets share: the root file's name, the bundle of files an input decodes to,
//! and the checks on text and spans.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::db::{self, Loader};
use crate::host::HostProfile;
use crate::span::Span;

/// The root file of the `check` and `lsp_edits` inputs.
pub const ROOT: &str = "input.vnuma";

pub(super) fn text(data: &[u8]) -> String {
    String::from_utf8_lossy(data).into_owned()
}

pub(super) fn inside(span: Span, len: usize, what: &dyn std::fmt::Debug) {
    assert!(
        span.start <= span.end && span.end as usize <= len,
        "span {span:?} outside a text of {len} bytes: {what:?}"
    );
}

/// Files served from memory: `ROOT`, then the files named in the input.
pub(super) struct Bundle {
    pub(super) files: BTreeMap<PathBuf, String>,
}

impl Bundle {
    /// `ROOT text \0 path \0 text \0 path \0 text …`: the root file and further files
    /// (capabilities XML named by `from=`, included `.vnuma` files).
    pub(super) fn decode(data: &[u8]) -> Bundle {
        let mut parts = data.split(|&b| b == 0);
        let mut files = BTreeMap::new();
        files.insert(PathBuf::from(ROOT), text(parts.next().unwrap_or_default()));
        while let (Some(path), Some(body)) = (parts.next(), parts.next()) {
            let path = db::normalize(Path::new(&text(path)));
            files.entry(path).or_insert_with(|| text(body));
        }
        Bundle { files }
    }
}

impl Loader for Bundle {
    fn read(&self, path: &Path) -> std::io::Result<String> {
        self.files
            .get(path)
            .cloned()
            .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::NotFound, "no such file"))
    }
    fn probe(&self) -> Result<HostProfile, String> {
        Err("the fuzz targets do not probe".into())
    }
}
