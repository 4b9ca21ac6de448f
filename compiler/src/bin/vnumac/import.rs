//! `vnumac import`: a libvirt domain as a `.vnuma` guest.

use super::args::MessageFormat;
use super::host::{bad_host_name, host_name_from_path};
use super::out::{Out, codes, read_or_report, write_stdout};
use std::path::Path;
use std::process::ExitCode;

pub(crate) fn import(file: &Path, host: Option<String>, caps: Option<&Path>, out: Out) -> ExitCode {
    if let Some(code) = bad_host_name(host.as_deref(), out) {
        return code;
    }
    let text = match read_or_report(file, out) {
        Ok(t) => t,
        Err(code) => return code,
    };
    // With --caps, the host block comes first and the guest runs on it.
    let mut host_block = String::new();
    let mut host = host;
    if let Some(caps) = caps {
        let caps_text = match read_or_report(caps, out) {
            Ok(t) => t,
            Err(code) => return code,
        };
        let name = host.clone().unwrap_or_else(|| host_name_from_path(caps));
        match vnumac::host::caps::from_capabilities_xml(&name, &caps_text) {
            Ok(p) => host_block = format!("{}\n", vnumac::host::print::to_vnuma(&p)),
            Err(e) => {
                out.error_at(
                    vnumac::codes::CAPS_XML,
                    Some(caps),
                    e.offset.map(|o| (caps_text.as_str(), o)),
                    &e.message,
                );
                return ExitCode::from(1);
            }
        }
        host = Some(name);
    }
    match vnumac::import::import_domain(&text, &vnumac::import::ImportOptions { host }) {
        Ok(imported) => {
            for n in &imported.notes {
                import_note(out, file, n);
            }
            write_stdout(format!("{host_block}{}", imported.text).as_bytes())
        }
        Err(e) => {
            out.error_at(
                codes::IMPORT,
                Some(file),
                e.offset.map(|o| (text.as_str(), o)),
                &e.message,
            );
            ExitCode::from(1)
        }
    }
}

/// A note of `vnumac import` on stderr, as text or as one JSON line.
fn import_note(out: Out, file: &Path, message: &str) {
    match out.format {
        MessageFormat::Human => eprintln!("note: {}", vnumac::terminal::escape(message)),
        MessageFormat::Json => eprintln!(
            "{}",
            serde_json::json!({
                "severity": "note",
                "code": codes::IMPORT,
                "message": message,
                "help": null,
                "file": file.display().to_string(),
                "labels": [],
            })
        ),
    }
}
