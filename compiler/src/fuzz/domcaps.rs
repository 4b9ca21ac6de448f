//! The `domcaps` target: `virsh domcapabilities` XML read into what a host's target offers.

use super::common::text;
use crate::host::domcaps::{MAX_ENUM_VALUES, MAX_WORD, from_domcaps_xml};

/// domcapabilities import; what it accepts stays within its bounds: each list at most
/// [`MAX_ENUM_VALUES`] distinct values, every value and the machine at most [`MAX_WORD`]
/// bytes (`docs/language.md`, target versions).
pub fn domcaps(data: &[u8]) {
    let xml = text(data);
    let Ok(caps) = from_domcaps_xml(&xml) else { return };
    assert!(caps.machine.as_ref().is_none_or(|m| m.len() <= MAX_WORD), "{caps:?}");
    for list in [&caps.backing_sources, &caps.memory_models].into_iter().flatten() {
        assert!(list.len() <= MAX_ENUM_VALUES, "{caps:?}");
        assert!(list.iter().all(|v| v.len() <= MAX_WORD), "{caps:?}");
        for (i, v) in list.iter().enumerate() {
            assert!(!list[..i].contains(v), "{v} twice: {caps:?}");
        }
    }
}
