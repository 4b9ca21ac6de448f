//! Why libvirt could not say what was asked: a coded error (exit code 2).

use vnumac::codes;

/// A domain that cannot be reached or read through libvirt, with the code of the error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Failure {
    pub(crate) code: &'static str,
    pub(crate) message: String,
}

impl Failure {
    /// libvirt cannot be reached, the domain is unknown or not running, or a call failed or
    /// did not answer in time.
    #[cfg(feature = "libvirt")]
    pub(crate) fn libvirt(message: impl Into<String>) -> Failure {
        Failure {
            code: codes::LIBVIRT,
            message: message.into(),
        }
    }

    /// This vnumac was built without the `libvirt` feature: how to get it.
    #[cfg(not(feature = "libvirt"))]
    pub(crate) fn unavailable() -> Failure {
        Failure {
            code: codes::LIBVIRT,
            message: UNAVAILABLE.to_string(),
        }
    }
}

/// What a build without the `libvirt` feature says when asked to reach libvirt.
#[cfg(not(feature = "libvirt"))]
pub(crate) const UNAVAILABLE: &str = "this vnumac was built without libvirt: rebuild it with the \
    `libvirt` feature (`cargo install --path compiler --features libvirt`, or `cargo build -p vnumac \
    --features libvirt`), which links libvirt's C library and needs its development files \
    (Debian and Ubuntu: `apt-get install libvirt-dev pkg-config`; Fedora: `dnf install libvirt-devel`)";

#[cfg(test)]
mod tests {
    #[cfg(not(feature = "libvirt"))]
    #[test]
    fn a_build_without_libvirt_says_how_to_get_it() {
        use super::{Failure, codes};
        let f = Failure::unavailable();
        assert_eq!(f.code, codes::LIBVIRT);
        for needed in ["--features libvirt", "libvirt-dev", "pkg-config"] {
            assert!(f.message.contains(needed), "{needed} missing from: {}", f.message);
        }
    }
}
