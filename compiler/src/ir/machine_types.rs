//! Which pc and q35 machine types a QEMU has: `pc-q35-X.Y` and `pc-i440fx-X.Y` for every
//! QEMU release X.Y up to its own, less the old types QEMU removed, as far as vnumac knows
//! when they went.
//!
//! QEMU 7.2 (`qemu-system-x86_64 -machine help`) has `q35` and `pc`, `pc-q35-2.4` to
//! `pc-q35-7.2` with `pc-q35-4.0.1`, and `pc-i440fx-1.4` to `pc-i440fx-7.2` (1.4 to 1.7
//! marked deprecated). What vnumac holds as certainly gone in a later QEMU: `pc-i440fx-1.4`
//! to 1.7 from 8.2, 2.0 to 2.2 from 9.0, 2.3 from 9.1 (QEMU's removed-features list). Older
//! names (`pc-1.3`, `pc-0.15`) are gone from 6.0, q35 types before 2.4 from 7.2. Any other
//! removal is not refused, as vnumac does not know its version. A version after the last
//! release vnumac knows ([`LAST_KNOWN_RELEASE`]) is taken up to the host's QEMU.

use super::machine::{MachineLine, MachineType};
use crate::host::target::Version;

/// The newest QEMU release whose minor versions vnumac knows.
pub const LAST_KNOWN_RELEASE: Version = Version::new(10, 1);

/// What a QEMU has of a machine type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Availability {
    /// QEMU has it.
    Has,
    /// QEMU has it, marks it deprecated, and removes it in `gone`.
    Deprecated { gone: Version },
    /// A type of a later QEMU, first in `since`.
    Newer { since: Version },
    /// Removed: no QEMU from `gone` on has it.
    Removed { gone: Version },
    /// A pc or q35 name whose version no QEMU release had (`pc-q35-7.3`, `pc-q35-x.y`).
    NoSuchVersion,
    /// A machine type QEMU has that is neither pc nor q35 (`microvm`, `isapc`, `none`,
    /// `x-remote`): vnumac does not write guests for it.
    NotPcOrQ35,
    /// A name QEMU does not know.
    Unknown,
}

/// QEMU 7.2's x86 machine types outside the pc and q35 lines.
pub const OTHER_X86_MACHINES: &[&str] = &["microvm", "isapc", "none", "x-remote"];

/// Whether QEMU had a release `major.minor`; `None` after [`LAST_KNOWN_RELEASE`].
pub fn is_release(v: Version) -> Option<bool> {
    if v > LAST_KNOWN_RELEASE {
        return None;
    }
    let last_minor = match v.major {
        0 => return Some((10..=15).contains(&v.minor)),
        1 => 7,
        2 => 12,
        3 => 1,
        4..=9 => 2,
        _ => 1,
    };
    Some(v.minor <= last_minor)
}

/// When a versioned type was certainly gone; `None` while vnumac knows of no removal.
fn removed_in(line: MachineLine, v: (u32, u32)) -> Option<Version> {
    match line {
        MachineLine::OldPc => Some(Version::new(6, 0)),
        MachineLine::Q35 if v < (2, 4) => Some(Version::new(7, 2)),
        MachineLine::I440fx if v <= (1, 7) => Some(Version::new(8, 2)),
        MachineLine::I440fx if v <= (2, 2) => Some(Version::new(9, 0)),
        MachineLine::I440fx if v == (2, 3) => Some(Version::new(9, 1)),
        _ => None,
    }
}

/// What QEMU `qemu` has of `machine`.
pub fn availability(machine: &str, qemu: Version) -> Availability {
    let t = MachineType::parse(machine);
    if t.line == MachineLine::Other {
        return if OTHER_X86_MACHINES.contains(&machine) {
            Availability::NotPcOrQ35
        } else {
            Availability::Unknown
        };
    }
    if t.alias {
        return Availability::Has;
    }
    let Some((major, minor)) = t.version else {
        return Availability::NoSuchVersion;
    };
    let v = Version::new(major, minor);
    let first = match t.line {
        MachineLine::OldPc => (0, 10),
        _ => (1, 4),
    };
    let named = match t.line {
        MachineLine::OldPc => (major, minor) <= (1, 3),
        _ => true,
    };
    let micro_ok = match t.micro {
        None => true,
        // `pc-q35-4.0.1`, between 4.0 and 4.1: QEMU 4.1 added it.
        Some(1) => t.line == MachineLine::Q35 && (major, minor) == (4, 0),
        Some(_) => false,
    };
    if (major, minor) < first || !named || !micro_ok || is_release(v) == Some(false) && v != qemu {
        return Availability::NoSuchVersion;
    }
    let since = if t.micro.is_some() { Version::new(4, 1) } else { v };
    if since > qemu {
        return Availability::Newer { since };
    }
    match removed_in(t.line, (major, minor)) {
        Some(gone) if qemu >= gone => Availability::Removed { gone },
        // QEMU 7.2's `-machine help` marks pc-i440fx-1.4 to 1.7 deprecated.
        Some(gone) if t.line == MachineLine::I440fx && qemu >= Version::new(7, 2) && (major, minor) <= (1, 7) => {
            Availability::Deprecated { gone }
        }
        _ => Availability::Has,
    }
}

/// The newest versioned type of `line` QEMU `qemu` has: its own version's, or the last
/// release before it when `qemu` names none.
pub fn newest(line: MachineLine, qemu: Version) -> String {
    name(line, newest_version(qemu))
}

/// The type of `line` QEMU `qemu` has nearest below `(major, minor)`, a version no
/// release has (`pc-q35-7.3`: `pc-q35-7.2`); `None` below the line's oldest.
pub fn nearest(line: MachineLine, (major, minor): (u32, u32), qemu: Version) -> Option<String> {
    let low = oldest_version(line, qemu);
    let mut v = Version::new(major, minor).min(newest_version(qemu));
    while is_release(v) == Some(false) && v > low {
        v = step_down(v);
    }
    (v >= low).then(|| name(line, v))
}

/// The version before `v`, counting minors down from 12 (no QEMU had more).
fn step_down(v: Version) -> Version {
    match (v.major, v.minor) {
        (0, 0) => v,
        (major, 0) => Version::new(major - 1, 12),
        (major, minor) => Version::new(major, minor.min(13) - 1),
    }
}

/// QEMU `qemu`'s own version, or the last release before it when it names none.
fn newest_version(qemu: Version) -> Version {
    let mut v = qemu;
    while is_release(v) == Some(false) && v > Version::new(0, 0) {
        v = step_down(v);
    }
    v
}

/// The oldest versioned type of `line` QEMU `qemu` has, as far as vnumac knows.
pub fn oldest(line: MachineLine, qemu: Version) -> String {
    name(line, oldest_version(line, qemu))
}

fn oldest_version(line: MachineLine, qemu: Version) -> Version {
    match line {
        MachineLine::Q35 if qemu >= Version::new(7, 2) => Version::new(2, 4),
        MachineLine::I440fx if qemu >= Version::new(9, 1) => Version::new(2, 4),
        MachineLine::I440fx if qemu >= Version::new(9, 0) => Version::new(2, 3),
        MachineLine::I440fx if qemu >= Version::new(8, 2) => Version::new(2, 0),
        _ => Version::new(1, 4),
    }
}

fn name(line: MachineLine, v: Version) -> String {
    match line {
        MachineLine::Q35 => format!("pc-q35-{v}"),
        _ => format!("pc-i440fx-{v}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const QEMU_7_2: Version = Version::new(7, 2);

    #[test]
    fn qemu_7_2_has_its_listed_types_and_no_others() {
        use Availability::*;
        for (machine, want) in [
            ("q35", Has),
            ("pc", Has),
            ("pc-q35-7.2", Has),
            ("pc-q35-2.4", Has),
            ("pc-q35-4.0.1", Has),
            ("pc-i440fx-2.12", Has),
            (
                "pc-i440fx-1.4",
                Deprecated {
                    gone: Version::new(8, 2),
                },
            ),
            (
                "pc-q35-8.0",
                Newer {
                    since: Version::new(8, 0),
                },
            ),
            (
                "pc-i440fx-10.1",
                Newer {
                    since: Version::new(10, 1),
                },
            ),
            ("pc-q35-7.3", NoSuchVersion),
            ("pc-q35-2.13", NoSuchVersion),
            ("pc-q35-4.0.2", NoSuchVersion),
            ("pc-i440fx-4.0.1", NoSuchVersion),
            ("pc-q35-1.3", NoSuchVersion),
            ("pc-2.0", NoSuchVersion),
            ("pc-q35-x.y", NoSuchVersion),
            ("pc-q35-04.2", NoSuchVersion),
            ("pc-i440fx-7.02", NoSuchVersion),
            ("pc-q35-4.0.01", NoSuchVersion),
            ("pc-q35-2.3", Removed { gone: QEMU_7_2 }),
            (
                "pc-1.0",
                Removed {
                    gone: Version::new(6, 0),
                },
            ),
            (
                "pc-0.10",
                Removed {
                    gone: Version::new(6, 0),
                },
            ),
            ("microvm", NotPcOrQ35),
            ("foo", Unknown),
        ] {
            assert_eq!(availability(machine, QEMU_7_2), want, "{machine}");
        }
    }

    #[test]
    fn a_newer_qemu_has_its_own_releases_and_loses_what_it_removed() {
        use Availability::*;
        let at = |machine: &str, major, minor| availability(machine, Version::new(major, minor));
        assert_eq!(at("pc-q35-8.2", 8, 2), Has);
        assert_eq!(
            at("pc-q35-9.0", 8, 2),
            Newer {
                since: Version::new(9, 0)
            }
        );
        assert_eq!(
            at("pc-i440fx-1.7", 8, 1),
            Deprecated {
                gone: Version::new(8, 2)
            }
        );
        assert_eq!(
            at("pc-i440fx-1.7", 8, 2),
            Removed {
                gone: Version::new(8, 2)
            }
        );
        assert_eq!(at("pc-i440fx-2.0", 8, 2), Has);
        assert_eq!(
            at("pc-i440fx-2.2", 9, 0),
            Removed {
                gone: Version::new(9, 0)
            }
        );
        assert_eq!(at("pc-i440fx-2.3", 9, 0), Has);
        assert_eq!(
            at("pc-i440fx-2.3", 9, 1),
            Removed {
                gone: Version::new(9, 1)
            }
        );
        // Removals vnumac does not know the version of are not refused.
        assert_eq!(at("pc-q35-2.4", 10, 1), Has);
        // After the last release vnumac knows, any version up to the host's is taken.
        assert_eq!(at("pc-q35-11.3", 12, 0), Has);
        assert_eq!(at("pc-q35-12.0", 12, 0), Has);
        assert_eq!(
            at("pc-q35-12.1", 12, 0),
            Newer {
                since: Version::new(12, 1)
            }
        );
        // An older QEMU lacks what came later, and keeps what vnumac cannot say it lost.
        assert_eq!(
            at("pc-q35-7.0", 6, 2),
            Newer {
                since: Version::new(7, 0)
            }
        );
        assert_eq!(at("pc-q35-2.0", 6, 2), Has);
        assert_eq!(
            at("pc-q35-4.0.1", 4, 0),
            Newer {
                since: Version::new(4, 1)
            }
        );
    }

    #[test]
    fn the_newest_and_oldest_types_follow_the_qemu() {
        assert_eq!(newest(MachineLine::Q35, QEMU_7_2), "pc-q35-7.2");
        assert_eq!(newest(MachineLine::I440fx, Version::new(9, 5)), "pc-i440fx-9.2");
        assert_eq!(newest(MachineLine::Q35, Version::new(11, 0)), "pc-q35-11.0");
        assert_eq!(oldest(MachineLine::Q35, QEMU_7_2), "pc-q35-2.4");
        assert_eq!(oldest(MachineLine::I440fx, QEMU_7_2), "pc-i440fx-1.4");
        assert_eq!(oldest(MachineLine::I440fx, Version::new(9, 1)), "pc-i440fx-2.4");
        let near = |line, v, qemu| nearest(line, v, qemu);
        assert_eq!(near(MachineLine::Q35, (7, 3), QEMU_7_2).as_deref(), Some("pc-q35-7.2"));
        assert_eq!(
            near(MachineLine::Q35, (2, 13), QEMU_7_2).as_deref(),
            Some("pc-q35-2.12")
        );
        assert_eq!(
            near(MachineLine::I440fx, (1, 9), QEMU_7_2).as_deref(),
            Some("pc-i440fx-1.7")
        );
        assert_eq!(
            near(MachineLine::I440fx, (9999, 9999), QEMU_7_2).as_deref(),
            Some("pc-i440fx-7.2")
        );
        assert_eq!(near(MachineLine::Q35, (1, 9), QEMU_7_2), None);
        assert_eq!(
            near(MachineLine::Q35, (8, 7), Version::new(9, 0)).as_deref(),
            Some("pc-q35-8.2")
        );
    }
}
