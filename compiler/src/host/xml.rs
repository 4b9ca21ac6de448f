//! What the host readers of XML (`virsh capabilities`, its resource control, `virsh
//! domcapabilities`) share: their error, where an element sits, an attribute's value and a
//! reference's character.

use quick_xml::XmlVersion;
use quick_xml::events::{BytesRef, BytesStart, Event};
use quick_xml::reader::Reader;

/// Why a capabilities document could not be read; `offset` is a byte offset into the XML.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct CapsError {
    pub message: String,
    pub offset: Option<usize>,
}

impl CapsError {
    pub(crate) fn at(offset: usize, message: String) -> Self {
        CapsError {
            message,
            offset: Some(offset),
        }
    }
}

/// True when `path` is exactly `prefix` followed by `tail`.
pub(crate) fn is_path(path: &[String], prefix: &[&str], tail: &[&str]) -> bool {
    path.len() == prefix.len() + tail.len() && path.iter().zip(prefix.iter().chain(tail)).all(|(a, b)| a == b)
}

/// The value of `key`, as written (normalised as XML 1.0 says).
pub(crate) fn raw_attr(e: &BytesStart, key: &str, at: usize) -> Result<Option<String>, CapsError> {
    for a in e.attributes() {
        let a = a.map_err(|err| CapsError::at(at, format!("malformed attribute: {err}")))?;
        if a.key.as_ref() == key {
            let v = a
                .normalized_value(XmlVersion::Implicit1_0)
                .map_err(|err| CapsError::at(at, format!("malformed attribute `{key}`: {err}")))?;
            return Ok(Some(v.into_owned()));
        }
    }
    Ok(None)
}

/// The character a reference in text stands for: a character reference (`&#48;`,
/// `&#x30;`) or one of XML's five entities; None for any other entity.
pub fn reference(e: &BytesRef<'_>) -> Option<char> {
    if let Ok(Some(c)) = e.resolve_char_ref() {
        return Some(c);
    }
    let name: &str = e;
    Some(match name {
        "amp" => '&',
        "lt" => '<',
        "gt" => '>',
        "apos" => '\'',
        "quot" => '"',
        _ => return None,
    })
}

/// The next event of `reader` and the offset it starts at; a malformed document is an
/// error at the place quick-xml names.
pub(crate) fn next_event<'a>(reader: &mut Reader<&'a [u8]>) -> Result<(usize, Event<'a>), CapsError> {
    let at = usize::try_from(reader.buffer_position()).unwrap_or(usize::MAX);
    let event = reader.read_event().map_err(|e| {
        let pos = usize::try_from(reader.error_position()).unwrap_or(at);
        CapsError::at(pos, format!("malformed XML: {e}"))
    })?;
    Ok((at, event))
}
