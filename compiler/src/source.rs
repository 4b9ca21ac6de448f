//! Source files by id, and byte offset → line/column conversion at the edges.

use crate::span::{FileId, Span};
use std::path::PathBuf;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SourceFileData {
    pub path: PathBuf,
    pub text: String,
}

/// Every file that took part in a build, in load order (the root file first).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct SourceMap {
    files: Vec<SourceFileData>,
}

impl SourceMap {
    pub fn add(&mut self, path: PathBuf, text: String) -> FileId {
        if let Some(i) = self.files.iter().position(|f| f.path == path) {
            self.files[i].text = text;
            return FileId(i as u32);
        }
        self.files.push(SourceFileData { path, text });
        FileId(self.files.len() as u32 - 1)
    }

    pub fn get(&self, id: FileId) -> Option<&SourceFileData> {
        self.files.get(id.0 as usize)
    }

    pub fn find(&self, path: &std::path::Path) -> Option<FileId> {
        self.files.iter().position(|f| f.path == path).map(|i| FileId(i as u32))
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
