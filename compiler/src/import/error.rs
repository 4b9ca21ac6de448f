//! Why a domain could not be imported, and where.

/// Why the XML could not be imported; `offset` is a byte offset into it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ImportError {
    pub message: String,
    pub offset: Option<usize>,
}

pub(super) fn error_at(at: usize, message: impl Into<String>) -> ImportError {
    ImportError {
        message: message.into(),
        offset: Some(at),
    }
}
