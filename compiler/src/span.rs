//! Byte spans qualified by the file they point into.

/// The index of a source file (in the database, and in the source map that renders spans).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct FileId(pub u32);

impl FileId {
    /// Spans relative to the start of the piece of text they were parsed from, before
    /// [`Span::relocate`] puts them in their file.
    pub const RELATIVE: FileId = FileId(u32::MAX);
}

/// A byte range in one source file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Span {
    pub file: FileId,
    pub start: u32,
    pub end: u32,
}

impl Span {
    pub fn new(file: FileId, start: usize, end: usize) -> Self {
        Span {
            file,
            start: start as u32,
            end: end as u32,
        }
    }

    /// A relative span ([`FileId::RELATIVE`]) moved into `file` at offset `at`; any other
    /// span is already in place and stays as it is.
    pub fn relocate(self, file: FileId, at: u32) -> Span {
        if self.file != FileId::RELATIVE {
            return self;
        }
        Span {
            file,
            start: self.start.saturating_add(at),
            end: self.end.saturating_add(at),
        }
    }

    /// A span covering both `self` and `other` (same file assumed).
    pub fn to(self, other: Span) -> Span {
        Span {
            file: self.file,
            start: self.start.min(other.start),
            end: self.end.max(other.end),
        }
    }

    pub fn len(self) -> usize {
        (self.end - self.start) as usize
    }

    pub fn is_empty(self) -> bool {
        self.end == self.start
    }

    /// A sub-range of this span, `start..end` relative to its beginning.
    pub fn sub(self, start: usize, end: usize) -> Span {
        let s = (self.start as usize + start).min(self.end as usize);
        let e = (self.start as usize + end).min(self.end as usize);
        Span::new(self.file, s, e)
    }
}
