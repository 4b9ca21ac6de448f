//! Why a running guest could not be verified: a coded error (exit code 2).

use super::super::libvirt::Failure as LibvirtFailure;
use vnumac::codes;

/// A guest that cannot be reached or read, with the code of the error.
#[derive(Debug)]
pub(crate) struct Failure {
    pub(crate) code: &'static str,
    pub(crate) message: String,
}

impl Failure {
    /// The monitor cannot be reached, or does not answer as QEMU does.
    pub(crate) fn monitor(message: impl Into<String>) -> Failure {
        Failure {
            code: codes::QMP,
            message: message.into(),
        }
    }

    /// libvirt cannot be reached, or its domain's monitor does not answer as QEMU does.
    #[cfg(feature = "libvirt")]
    pub(crate) fn libvirt(message: impl Into<String>) -> Failure {
        Failure {
            code: codes::LIBVIRT,
            message: message.into(),
        }
    }

    /// A /proc entry of the guest's process cannot be read.
    pub(crate) fn proc(message: impl Into<String>) -> Failure {
        Failure {
            code: codes::PROC,
            message: message.into(),
        }
    }
}

/// libvirt cannot be reached or read, or this vnumac was built without it.
impl From<LibvirtFailure> for Failure {
    fn from(f: LibvirtFailure) -> Failure {
        Failure {
            code: f.code,
            message: f.message,
        }
    }
}
