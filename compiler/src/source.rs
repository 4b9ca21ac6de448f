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
