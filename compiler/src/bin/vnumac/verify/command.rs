//! `vnumac verify FILE (--qmp SOCKET | --connect URI)`: the way to reach the guests, then
//! [`verify`].

use super::super::out::{Out, codes};
use super::qmp::QmpSocket;
use super::run::{Options, verify};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

/// Verifies through the QMP socket `qmp` or libvirt at `connect`, each answer waited for at
/// most `timeout`.
pub(crate) fn command(
    o: &Options,
    qmp: Option<PathBuf>,
    connect: Option<String>,
    timeout: Duration,
    out: Out,
) -> ExitCode {
    match (qmp, connect) {
        (Some(path), _) => verify(o, &mut QmpSocket { path, timeout }, out),
        (None, Some(uri)) => through_libvirt(o, uri, timeout, out),
        (None, None) => {
            let message = "say how to reach the guest: --qmp SOCKET or --connect URI";
            out.error(codes::USAGE, None, message);
            ExitCode::from(2)
        }
    }
}

#[cfg(feature = "libvirt")]
fn through_libvirt(o: &Options, uri: String, timeout: Duration, out: Out) -> ExitCode {
    verify(o, &mut super::libvirt::Libvirt { uri, timeout }, out)
}

/// A vnumac without the `libvirt` feature: exit code 2, and how to get it.
#[cfg(not(feature = "libvirt"))]
fn through_libvirt(_: &Options, _: String, _: Duration, out: Out) -> ExitCode {
    let f = super::super::libvirt::Failure::unavailable();
    out.error(f.code, None, &f.message);
    ExitCode::from(2)
}
