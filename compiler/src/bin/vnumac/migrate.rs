//! `vnumac migrate`: a guest's destination domain XML (or QEMU line, or a table of what
//! moves) for another host of the file or a capabilities file.

use super::args::Emit;
use super::compile::{compile, print_diagnostics};
use super::host::{bad_host_name, host_name_from_path};
use super::out::{Out, codes, read_or_report, write_stdout};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use vnumac::db::Compiled;
use vnumac::host::HostProfile;
use vnumac::lower::qemu_args::Syntax;
use vnumac::migrate::{Failure, Migration, To};
use vnumac::write::Output;

/// What `vnumac migrate` was asked.
pub(crate) struct Options {
    pub(crate) file: PathBuf,
    pub(crate) guest: String,
    pub(crate) to: Option<String>,
    pub(crate) to_caps: Option<PathBuf>,
    pub(crate) emit: Emit,
    pub(crate) out_dir: Option<PathBuf>,
    pub(crate) syntax: Syntax,
    pub(crate) diff: bool,
}

pub(crate) fn migrate(o: &Options, out: Out) -> ExitCode {
    if let Some(code) = bad_host_name(o.to.as_deref(), out) {
        return code;
    }
    let caps = match &o.to_caps {
        Some(path) => match read_caps(path, o.to.as_deref(), out) {
            Ok(p) => Some(p),
            Err(code) => return code,
        },
        None => None,
    };
    let (db, program, compiled) = match compile(&o.file, out) {
        Ok(c) => c,
        Err(code) => return ExitCode::from(code),
    };
    if compiled.has_errors() {
        return ExitCode::from(1);
    }
    let to = match (&caps, &o.to) {
        (Some(p), _) => To::Profile(&p.name, p),
        (None, Some(h)) => To::Host(h),
        (None, None) => {
            out.error(
                codes::USAGE,
                None,
                "say where the guest goes: --to HOST or --to-caps CAPS.xml",
            );
            return ExitCode::from(2);
        }
    };
    match vnumac::migrate::migrate(&db, program, &o.guest, to) {
        Ok(m) => {
            report(&compiled, m.moved.warnings.clone(), out);
            emit(o, &m, out)
        }
        Err(f) => failed(&o.file, &compiled, f, out),
    }
}

/// The destination's profile from a capabilities file, named by `--to` or the file.
fn read_caps(path: &Path, name: Option<&str>, out: Out) -> Result<HostProfile, ExitCode> {
    let text = read_or_report(path, out)?;
    let name = name.map_or_else(|| host_name_from_path(path), str::to_string);
    vnumac::host::caps::from_capabilities_xml(&name, &text).map_err(|e| {
        out.error_at(
            vnumac::codes::CAPS_XML,
            Some(path),
            e.offset.map(|o| (text.as_str(), o)),
            &e.message,
        );
        ExitCode::from(1)
    })
}

/// Diagnostics of the move, rendered against the program's sources.
fn report(compiled: &Compiled, diagnostics: Vec<vnumac::diagnostics::Diagnostic>, out: Out) {
    if diagnostics.is_empty() {
        return;
    }
    let c = Compiled {
        sources: compiled.sources.clone(),
        checked: Default::default(),
        diagnostics,
    };
    print_diagnostics(&c, out);
}

fn failed(file: &Path, compiled: &Compiled, f: Failure, out: Out) -> ExitCode {
    let (message, code) = match f {
        Failure::Refused(r) => {
            report(compiled, r.errors, out);
            return ExitCode::from(1);
        }
        Failure::UnknownGuest { name, known } => (
            format!(
                "no guest named `{name}` in {} (guests: {})",
                file.display(),
                known.join(", ")
            ),
            codes::USAGE,
        ),
        Failure::UnknownHost { name, known } => (
            format!(
                "no host named `{name}` in {} (hosts: {})",
                file.display(),
                known.join(", ")
            ),
            codes::USAGE,
        ),
        Failure::NoSource { guest } => (
            format!(
                "guest `{guest}` runs on no host of {}, so it has nowhere to move from",
                file.display()
            ),
            codes::USAGE,
        ),
        Failure::SameHost { guest, host } => (
            format!("guest `{guest}` already runs on host `{host}`; name another host with --to"),
            codes::USAGE,
        ),
    };
    out.error(code, Some(file), &message);
    ExitCode::from(2)
}

/// The destination on stdout (XML, QEMU line or the table), or its files in `-o DIR`.
fn emit(o: &Options, m: &Migration, out: Out) -> ExitCode {
    let g = &m.moved.guest;
    let xml = || vnumac::lower::libvirt::domain_xml(g);
    let args = || vnumac::lower::qemu::command_line_in(g, o.syntax);
    if let Some(dir) = &o.out_dir {
        let files = [
            Output::new(dir.join(format!("{}.xml", g.name)), xml()),
            Output::new(dir.join(format!("{}.args", g.name)), args()),
        ];
        if let Err(e) = std::fs::create_dir_all(dir) {
            out.error(
                codes::IO,
                Some(dir),
                &format!("cannot create {}: {e}; nothing written", dir.display()),
            );
            return ExitCode::from(2);
        }
        return match vnumac::write::write_all(&files) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                out.error(codes::IO, Some(&e.path), &format!("{e}; nothing written"));
                ExitCode::from(2)
            }
        };
    }
    let text = if o.diff {
        let table = vnumac::migrate::diff(
            &m.before,
            (&m.source, &m.source_profile),
            g,
            (&m.destination, &m.destination_profile),
        );
        vnumac::terminal::escape(&table).into_owned()
    } else {
        match o.emit {
            Emit::Xml => xml(),
            Emit::Qemu => args(),
            Emit::Json => {
                let v = vnumac::lower::json::guest_json(g);
                format!("{}\n", serde_json::to_string_pretty(&v).unwrap_or_default())
            }
        }
    };
    write_stdout(text.as_bytes())
}
