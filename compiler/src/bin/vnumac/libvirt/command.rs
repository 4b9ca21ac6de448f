//! `vnumac libvirt-facts --connect URI DOMAIN`: what libvirt says about a running domain, as
//! one JSON object on stdout; exit code 2 with a coded error when it cannot be read.

use super::super::out::{Out, write_stdout};
use super::failure::Failure;
use std::process::ExitCode;
use std::time::Duration;

/// Prints the facts of `domain` on `uri`, each libvirt call waited for at most `timeout`.
pub(crate) fn print_facts(uri: &str, domain: &str, timeout: Duration, out: Out) -> ExitCode {
    match read(uri, domain, timeout) {
        Ok(json) => write_stdout(format!("{json}\n").as_bytes()),
        Err(f) => {
            out.error(f.code, None, &f.message);
            ExitCode::from(2)
        }
    }
}

#[cfg(feature = "libvirt")]
fn read(uri: &str, domain: &str, timeout: Duration) -> Result<serde_json::Value, Failure> {
    let session = super::session::Session::open(uri, domain, timeout)?;
    Ok(session.facts()?.to_json())
}

#[cfg(not(feature = "libvirt"))]
fn read(_uri: &str, _domain: &str, _timeout: Duration) -> Result<serde_json::Value, Failure> {
    Err(Failure::unavailable())
}
