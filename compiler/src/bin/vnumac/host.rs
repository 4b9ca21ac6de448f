//! `vnumac host`: a host profile, probed or imported, printed as a `host { }` block; and
//! the rules for host names given on the command line.

use super::args::HostCommand;
use super::out::{Out, codes, read_or_report, write_stdout};
use std::path::Path;
use std::process::ExitCode;

/// A host name given on the command line, refused (exit code 2) as a `host` statement's
/// would be (E0415).
pub(crate) fn bad_host_name(name: Option<&str>, out: Out) -> Option<ExitCode> {
    let name = name?;
    if name.is_empty() || name.chars().any(vnumac::check::host_name_refuses) {
        let message = format!(
            "`{}` cannot be a host name: leave out control characters",
            name.escape_debug()
        );
        out.error(codes::USAGE, None, &message);
        return Some(ExitCode::from(2));
    }
    None
}

pub(crate) fn host(command: HostCommand, out: Out) -> ExitCode {
    let given = match &command {
        HostCommand::Probe { name, .. } => Some(name.as_str()),
        HostCommand::Import { name, .. } => name.as_deref(),
    };
    if let Some(code) = bad_host_name(given, out) {
        return code;
    }
    let (profile, source) = match command {
        HostCommand::Probe { sysfs_root, name } => match vnumac::host::sysfs::probe(&name, &sysfs_root) {
            Ok((p, warnings)) => {
                for w in warnings {
                    eprintln!("warning: {}", vnumac::terminal::escape(&w));
                }
                (p, format!("probed from {}", sysfs_root.display()))
            }
            Err(e) => {
                out.error(codes::IO, Some(&sysfs_root), &e.to_string());
                return ExitCode::from(2);
            }
        },
        HostCommand::Import { file, name } => {
            let text = match read_or_report(&file, out) {
                Ok(t) => t,
                Err(code) => return code,
            };
            let name = name.unwrap_or_else(|| host_name_from_path(&file));
            match vnumac::host::caps::from_capabilities_xml(&name, &text) {
                Ok(p) => (p, format!("imported from {}", file.display())),
                Err(e) => {
                    out.error_at(
                        vnumac::codes::CAPS_XML,
                        Some(&file),
                        e.offset.map(|o| (text.as_str(), o)),
                        &e.message,
                    );
                    return ExitCode::from(1);
                }
            }
        }
    };
    write_stdout(
        format!(
            "# {}\n{}",
            vnumac::syntax::write::comment(&source),
            vnumac::host::print::to_vnuma(&profile)
        )
        .as_bytes(),
    )
}

/// `peppi.caps.xml` → `peppi`; anything that is not a word becomes `-`.
pub(crate) fn host_name_from_path(path: &Path) -> String {
    let stem = path.file_name().and_then(|s| s.to_str()).unwrap_or("host");
    let stem = stem.split('.').next().unwrap_or("host");
    let mut name: String = stem
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    if !name.starts_with(|c: char| c.is_ascii_alphabetic()) {
        name.insert_str(0, "host-");
    }
    name
}
