//! Source files by id, and byte offset → line/column conversion at the edges.

use crate::span::{FileId, Span};
use std::path::PathBuf;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SourceFileData {
    pub path: PathBuf,
    pub text: String,
}

/// Every file that took part in a build, by id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct SourceMap {
    files: std::collections::BTreeMap<FileId, SourceFileData>,
}

impl SourceMap {
    /// Add a file (or replace the text of one with this path) under the next free id.
    pub fn add(&mut self, path: PathBuf, text: String) -> FileId {
        if let Some(id) = self.find(&path) {
            self.insert(id, path, text);
            return id;
        }
        let id = self
            .files
            .keys()
            .next_back()
            .map(|i| FileId(i.0 + 1))
            .unwrap_or_default();
        self.insert(id, path, text);
        id
    }

    /// A file under the id the database gave it.
    pub fn insert(&mut self, id: FileId, path: PathBuf, text: String) {
        self.files.insert(id, SourceFileData { path, text });
    }

    pub fn get(&self, id: FileId) -> Option<&SourceFileData> {
        self.files.get(&id)
    }

    pub fn find(&self, path: &std::path::Path) -> Option<FileId> {
        self.files.iter().find(|(_, f)| f.path == path).map(|(id, _)| *id)
    }

    pub fn text(&self, id: FileId) -> &str {
        self.get(id).map(|f| f.text.as_str()).unwrap_or("")
    }

    pub fn display_path(&self, id: FileId) -> String {
        self.get(id)
            .map(|f| f.path.display().to_string())
            .unwrap_or_else(|| "<unknown>".into())
    }

    pub fn slice(&self, span: Span) -> &str {
        self.text(span.file)
            .get(span.start as usize..span.end as usize)
            .unwrap_or("")
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, file: FileId, offset: u32) -> (usize, usize) {
        line_col(self.text(file), offset as usize)
    }
}

/// Line and column lookups over a [`SourceMap`], each file's lines found once: what
/// renderers of many diagnostics use ([`SourceMap::line_col`] scans from the start).
pub struct LineCache<'s> {
    sources: &'s SourceMap,
    indexes: std::cell::RefCell<std::collections::HashMap<FileId, std::rc::Rc<LineIndex>>>,
}

impl<'s> LineCache<'s> {
    pub fn new(sources: &'s SourceMap) -> LineCache<'s> {
        LineCache {
            sources,
            indexes: Default::default(),
        }
    }

    pub fn sources(&self) -> &'s SourceMap {
        self.sources
    }

    /// 1-based line and column (in characters) of a byte offset, as [`line_col`].
    pub fn line_col(&self, file: FileId, offset: u32) -> (usize, usize) {
        let text = self.sources.text(file);
        let index = self
            .indexes
            .borrow_mut()
            .entry(file)
            .or_insert_with(|| std::rc::Rc::new(LineIndex::new(text)))
            .clone();
        let offset = (offset as usize).min(text.len());
        let (line, start) = index.line_of(offset);
        let col = text.get(start..offset).map(|s| s.chars().count()).unwrap_or(0) + 1;
        (line + 1, col)
    }
}

/// The largest input file vnumac reads (a `.vnuma` source, an include, a capabilities or
/// domain XML file): 16 MiB, hundreds of times a real capabilities file.
pub const MAX_INPUT_BYTES: u64 = 16 << 20;

/// Read an input file as text, bounded by construction: only a regular file (a directory,
/// FIFO, socket or device is refused before it is opened, and opened without blocking),
/// at most [`MAX_INPUT_BYTES`] (read through a limit, whatever the file claims), valid
/// UTF-8 (a leading byte-order mark is dropped). Refusals are `InvalidData` errors whose
/// message says what the file is.
pub fn read_input(path: &std::path::Path) -> std::io::Result<String> {
    read_input_capped(path, MAX_INPUT_BYTES)
}

/// [`read_input`] with another cap.
pub fn read_input_capped(path: &std::path::Path, cap: u64) -> std::io::Result<String> {
    use std::io::{Error, ErrorKind};
    let bytes = read_bytes_capped(path, cap)?;
    let bytes = match bytes.strip_prefix(b"\xEF\xBB\xBF") {
        Some(rest) => rest.to_vec(),
        None => bytes,
    };
    String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        Error::new(
            ErrorKind::InvalidData,
            format!("is not UTF-8 text (invalid byte at offset {at})"),
        )
    })
}

/// The bytes of a regular file, at most `cap` of them (read through a limit, whatever the
/// file claims: a /proc file says it is empty), without waiting on a FIFO swapped in.
pub fn read_bytes_capped(path: &std::path::Path, cap: u64) -> std::io::Result<Vec<u8>> {
    use std::io::{Error, ErrorKind, Read};
    let meta = std::fs::metadata(path)?;
    not_regular(&meta).map_or(Ok(()), |what| Err(Error::new(ErrorKind::InvalidData, what)))?;
    let mut opts = std::fs::OpenOptions::new();
    opts.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        // Never wait on a FIFO swapped in after the check above.
        opts.custom_flags(libc::O_NONBLOCK);
    }
    let file = opts.open(path)?;
    // The file opened may not be the one checked: check what was opened.
    let opened = file.metadata()?;
    not_regular(&opened).map_or(Ok(()), |what| Err(Error::new(ErrorKind::InvalidData, what)))?;
    let too_big = || {
        Error::new(
            ErrorKind::InvalidData,
            match cap {
                c if c >= 1 << 20 => format!("is larger than the {} MiB limit for input files", c >> 20),
                c => format!("is larger than the {} KiB limit for this file", c >> 10),
            },
        )
    };
    let claimed = opened.len();
    if claimed > cap {
        return Err(too_big());
    }
    // Room for what the file claims and one byte more (the end is a read of nothing), so a
    // file is read in a few large reads; what it claims is at most `cap`, and the limit
    // below still holds whatever it really holds.
    let mut bytes = Vec::with_capacity(usize::try_from(claimed).map_or(0, |n| n.saturating_add(1)));
    file.take(cap + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > cap {
        return Err(too_big());
    }
    Ok(bytes)
}

/// What a file is when it is not a regular file.
fn not_regular(meta: &std::fs::Metadata) -> Option<&'static str> {
    let t = meta.file_type();
    if t.is_file() {
        return None;
    }
    if t.is_dir() {
        return Some("is a directory, not a file");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_fifo() {
            return Some("is a FIFO, not a regular file");
        }
        if t.is_socket() {
            return Some("is a socket, not a regular file");
        }
        if t.is_block_device() || t.is_char_device() {
            return Some("is a device, not a regular file");
        }
    }
    Some("is not a regular file")
}

/// 1-based line and character column of `offset` in `text`.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let mut line = 1;
    let mut line_start = 0;
    for (i, b) in text.bytes().enumerate().take(offset) {
        if b == b'\n' {
            line += 1;
            line_start = i + 1;
        }
    }
    let col = text.get(line_start..offset).map(|s| s.chars().count()).unwrap_or(0) + 1;
    (line, col)
}

/// Line starts of one text, for converting byte offsets to (line, column) and back, with
/// columns in UTF-8 bytes or UTF-16 code units (what LSP counts by default). Each conversion
/// reads at most [`MARK_EVERY`] bytes of the text, however long its line: a text that is not
/// ASCII keeps the UTF-16 length of the text before every mark.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LineIndex {
    starts: Vec<u32>,
    len: u32,
    /// (byte offset on a character boundary, UTF-16 units before it), every
    /// [`MARK_EVERY`] bytes; empty for ASCII text, where units are bytes.
    marks: Vec<(u32, u32)>,
}

/// How many bytes apart the UTF-16 marks of a [`LineIndex`] are.
pub const MARK_EVERY: usize = 1024;

/// How columns are counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Encoding {
    Utf8,
    Utf16,
}

fn utf16_len(s: &str) -> u32 {
    s.chars().map(|c| c.len_utf16() as u32).sum()
}

impl LineIndex {
    pub fn new(text: &str) -> LineIndex {
        let mut starts = vec![0u32];
        starts.extend(
            text.bytes()
                .enumerate()
                .filter(|(_, b)| *b == b'\n')
                .map(|(i, _)| i as u32 + 1),
        );
        let mut marks = Vec::new();
        if !text.is_ascii() {
            let (mut at, mut units) = (0usize, 0u32);
            while at < text.len() {
                marks.push((at as u32, units));
                let mut next = (at + MARK_EVERY).min(text.len());
                while !text.is_char_boundary(next) {
                    next += 1;
                }
                units += utf16_len(&text[at..next]);
                at = next;
            }
        }
        LineIndex {
            starts,
            len: text.len() as u32,
            marks,
        }
    }

    /// The 0-based line of a byte offset, and the offset where that line starts.
    pub fn line_of(&self, offset: usize) -> (usize, usize) {
        let line = self.starts.partition_point(|&s| s as usize <= offset).saturating_sub(1);
        (line, self.starts.get(line).copied().unwrap_or(0) as usize)
    }

    /// UTF-16 units of the text before `offset` (a character boundary).
    fn units(&self, text: &str, offset: usize) -> u32 {
        if self.marks.is_empty() {
            return offset as u32;
        }
        let i = self
            .marks
            .partition_point(|&(b, _)| b as usize <= offset)
            .saturating_sub(1);
        let (b, u) = self.marks.get(i).copied().unwrap_or((0, 0));
        u + text.get(b as usize..offset).map_or(0, utf16_len)
    }

    /// 0-based line and column of a byte offset (clamped to the text, and back to a
    /// character boundary).
    pub fn position(&self, text: &str, offset: u32, enc: Encoding) -> (u32, u32) {
        let mut offset = offset.min(self.len) as usize;
        while offset > 0 && !text.is_char_boundary(offset) {
            offset -= 1;
        }
        let (line, start) = self.line_of(offset);
        let col = match enc {
            Encoding::Utf8 => (offset - start) as u32,
            Encoding::Utf16 => self.units(text, offset) - self.units(text, start),
        };
        (line as u32, col)
    }

    /// The byte offset of a 0-based line and column; past the end of a line means its end,
    /// past the last line means the end of the text, inside a character means its start.
    pub fn offset(&self, text: &str, line: u32, col: u32, enc: Encoding) -> u32 {
        let Some(&start) = self.starts.get(line as usize) else {
            return self.len;
        };
        let end = self
            .starts
            .get(line as usize + 1)
            .map(|&e| e.saturating_sub(1))
            .unwrap_or(self.len);
        // Start the walk at the last mark at or before the column (UTF-16), or at it (UTF-8).
        let (from, mut units) = match enc {
            Encoding::Utf8 => {
                let at = (start as usize + col as usize).min(end as usize);
                let mut at = at.max(start as usize);
                while at > start as usize && !text.is_char_boundary(at) {
                    at -= 1;
                }
                (at as u32, at as u32 - start)
            }
            Encoding::Utf16 => {
                let base = self.units(text, start as usize);
                let target = base.saturating_add(col);
                let i = self
                    .marks
                    .partition_point(|&(b, u)| b <= end && u <= target)
                    .saturating_sub(1);
                match self.marks.get(i) {
                    Some(&(b, u)) if b > start => (b, u - base),
                    _ if self.marks.is_empty() => {
                        let at = (start as usize + col as usize).min(end as usize);
                        (at as u32, at as u32 - start)
                    }
                    _ => (start, 0),
                }
            }
        };
        let line_text = text.get(from as usize..end as usize).unwrap_or("");
        for (i, c) in line_text.char_indices() {
            if units >= col {
                return from + i as u32;
            }
            units += match enc {
                Encoding::Utf8 => c.len_utf8() as u32,
                Encoding::Utf16 => c.len_utf16() as u32,
            };
            if units > col {
                return from + i as u32;
            }
        }
        end
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Line and UTF-16 column by counting from the line's start.
    fn naive_position(text: &str, offset: usize) -> (u32, u32) {
        let before = &text[..offset];
        let start = before.rfind('\n').map_or(0, |i| i + 1);
        (before.matches('\n').count() as u32, utf16_len(&text[start..offset]))
    }

    #[test]
    fn long_lines_convert_through_marks_as_by_counting() {
        // Lines of thousands of characters of 1 to 4 bytes, so marks fall inside lines,
        // inside characters and on line ends.
        let unit = "aé𝄞x€";
        let text = format!("{}\n{}\nshort\n{}", unit.repeat(700), unit, unit.repeat(900));
        let idx = LineIndex::new(&text);
        assert!(idx.marks.len() > 8, "{}", idx.marks.len());
        for (offset, _) in text.char_indices().chain(std::iter::once((text.len(), ' '))) {
            let (line, col) = naive_position(&text, offset);
            assert_eq!(
                idx.position(&text, offset as u32, Encoding::Utf16),
                (line, col),
                "{offset}"
            );
            assert_eq!(idx.offset(&text, line, col, Encoding::Utf16), offset as u32, "{offset}");
        }
        // Past the end of a long line, and inside a surrogate pair on it.
        let end0 = text.find('\n').unwrap_or(0) as u32;
        assert_eq!(idx.offset(&text, 0, 1 << 30, Encoding::Utf16), end0);
        let pair = text.find('𝄞').unwrap_or(0);
        let (l, c) = naive_position(&text, pair);
        assert_eq!(idx.offset(&text, l, c + 1, Encoding::Utf16), pair as u32);
        assert_eq!(idx.offset(&text, 0, 2, Encoding::Utf8), 1, "inside `é`: its start");
    }

    #[test]
    fn utf16_columns_count_code_units() {
        // "é" is 2 bytes and 1 UTF-16 unit; "𝄞" is 4 bytes and 2 units.
        let text = "ab\n# é𝄞x\n";
        let idx = LineIndex::new(text);
        let x = text.find('x').unwrap() as u32;
        assert_eq!(idx.position(text, x, Encoding::Utf16), (1, 5));
        assert_eq!(idx.position(text, x, Encoding::Utf8), (1, 8));
        assert_eq!(idx.offset(text, 1, 5, Encoding::Utf16), x);
        // Inside the surrogate pair: the character's start.
        assert_eq!(idx.offset(text, 1, 4, Encoding::Utf16), x - 4);
        // Past the end of a line, and past the last line.
        assert_eq!(idx.offset(text, 0, 99, Encoding::Utf16), 2);
        assert_eq!(idx.offset(text, 9, 0, Encoding::Utf16), text.len() as u32);
        // Inside a multi-byte character, back to its start.
        assert_eq!(idx.position(text, x - 1, Encoding::Utf8), (1, 4));
    }
}
