//! `vnumac fmt`: files rewritten in canonical form, or checked.

use super::compile::print_diagnostics;
use super::out::{Out, codes, read_or_report};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use vnumac::db::Compiled;
use vnumac::write::Output;

pub(crate) fn fmt_files(files: &[PathBuf], check: bool, out: Out) -> ExitCode {
    let mut code = 0u8;
    for file in files {
        let text = match read_or_report(file, out) {
            Ok(t) => t,
            Err(_) => {
                code = 2;
                continue;
            }
        };
        let formatted = match vnumac::fmt::format(&text) {
            Ok(f) => f,
            Err(d) => {
                let mut sources = vnumac::source::SourceMap::default();
                sources.add(file.clone(), text);
                let compiled = Compiled {
                    sources,
                    diagnostics: vec![d],
                    ..Compiled::default()
                };
                print_diagnostics(&compiled, out);
                code = code.max(1);
                continue;
            }
        };
        if formatted == text {
            continue;
        }
        if check {
            println!("would reformat {}", file.display());
            code = code.max(1);
            continue;
        }
        if let Err(e) = rewrite(file, formatted) {
            out.error(codes::IO, Some(&e.path), &e.to_string());
            code = 2;
        }
    }
    ExitCode::from(code)
}

/// Replace a file's text in place: through a symlink, the file it points to is rewritten
/// (the link stays); the file keeps its permissions.
fn rewrite(file: &Path, text: String) -> Result<(), vnumac::write::WriteError> {
    let target = std::fs::canonicalize(file).map_err(|error| vnumac::write::WriteError {
        path: file.to_path_buf(),
        action: "resolve",
        error,
    })?;
    let permissions = std::fs::metadata(&target).ok().map(|m| m.permissions());
    vnumac::write::write_all(&[Output {
        path: target,
        text,
        permissions,
    }])
}
