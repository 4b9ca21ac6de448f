//! `vnumac explain` and `vnumac plan`: what a compiled guest looks like on its host, and
//! how to hot-plug its vCPUs.

use super::args::ExplainFormat;
use super::compile::compile;
use super::out::{Out, codes, write_stdout};
use std::path::Path;
use std::process::ExitCode;

pub(crate) fn explain(file: &Path, only: Option<&str>, format: ExplainFormat, out: Out) -> ExitCode {
    let compiled = match compile(file, out) {
        Ok((_, _, c)) => c,
        Err(code) => return ExitCode::from(code),
    };
    if compiled.has_errors() {
        return ExitCode::from(1);
    }
    if let Some(name) = only
        && !compiled.checked.build.guests.iter().any(|g| g.name == name)
    {
        out.error(
            codes::USAGE,
            Some(file),
            &format!("no guest named `{name}` in {}", file.display()),
        );
        return ExitCode::from(2);
    }
    let text = match format {
        ExplainFormat::Text => vnumac::terminal::escape(&vnumac::explain::text(&compiled.checked, only)).into_owned(),
        ExplainFormat::Svg => vnumac::explain::svg(&compiled.checked, only),
    };
    write_stdout(text.as_bytes())
}

pub(crate) fn plan(file: &Path, name: &str, vcpus: u32, out: Out) -> ExitCode {
    let compiled = match compile(file, out) {
        Ok((_, _, c)) => c,
        Err(code) => return ExitCode::from(code),
    };
    if compiled.has_errors() {
        return ExitCode::from(1);
    }
    let Some(g) = compiled.checked.build.guests.iter().find(|g| g.name == name) else {
        out.error(
            codes::USAGE,
            Some(file),
            &format!("no guest named `{name}` in {}", file.display()),
        );
        return ExitCode::from(2);
    };
    match vnumac::hotplug::plan_text(g, vcpus) {
        Ok(text) => write_stdout(text.as_bytes()),
        Err(e) => {
            out.error(codes::USAGE, Some(file), &e.to_string());
            ExitCode::from(2)
        }
    }
}
