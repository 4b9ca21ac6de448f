//! One diagnostic type, many renderers: terminal (miette), plain text for goldens, JSON lines.

use crate::source::SourceMap;
use crate::span::Span;
#[cfg(feature = "cli")]
use miette::LabeledSpan;
#[cfg(feature = "cli")]
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Severity {
    Error,
    Warning,
    /// Information about a choice vnumac made (never fails a build).
    Note,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Note => "note",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Label {
    pub span: Span,
    pub message: String,
    pub primary: bool,
}

/// A problem in the input, with a stable code, a primary span and a proposed fix.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Diagnostic {
    pub severity: Severity,
    pub code: &'static str,
    pub message: String,
    pub labels: Vec<Label>,
    pub help: Option<String>,
}

impl Diagnostic {
    pub fn error(code: &'static str, message: impl Into<String>, span: Span, label: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            code,
            message: message.into(),
            labels: vec![Label {
                span,
                message: label.into(),
                primary: true,
            }],
            help: None,
        }
    }

    pub fn warning(code: &'static str, message: impl Into<String>, span: Span, label: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(code, message, span, label)
        }
    }

    pub fn note(code: &'static str, message: impl Into<String>, span: Span, label: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Note,
            ..Diagnostic::error(code, message, span, label)
        }
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub fn maybe_help(mut self, help: Option<String>) -> Self {
        self.help = help;
        self
    }

    /// A secondary label: another place involved in the problem.
    pub fn with_label(mut self, span: Span, message: impl Into<String>) -> Self {
        self.labels.push(Label {
            span,
            message: message.into(),
            primary: false,
        });
        self
    }

    pub fn primary_span(&self) -> Span {
        self.labels
            .iter()
            .find(|l| l.primary)
            .or(self.labels.first())
            .map(|l| l.span)
            .unwrap_or_default()
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// The diagnostic with its relative spans moved into `file` at `at` ([`Span::relocate`]).
    pub fn relocated(&self, file: crate::span::FileId, at: u32) -> Diagnostic {
        let mut d = self.clone();
        for l in &mut d.labels {
            l.span = l.span.relocate(file, at);
        }
        d
    }
}

/// Sort diagnostics by file and position, errors and warnings interleaved, for stable output.
pub fn sort(diags: &mut [Diagnostic]) {
    diags.sort_by_key(|d| {
        let s = d.primary_span();
        (s.file, s.start, s.end, d.code)
    });
}

/// A diagnostic bound to its source text, ready for miette's renderers.
#[cfg(feature = "cli")]
#[derive(Debug)]
struct Report {
    severity: Severity,
    code: &'static str,
    message: String,
    help: Option<String>,
    source: std::sync::Arc<Indexed>,
    labels: Vec<LabeledSpan>,
    related: Vec<Report>,
}

#[cfg(feature = "cli")]
impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

#[cfg(feature = "cli")]
impl std::error::Error for Report {}

#[cfg(feature = "cli")]
impl miette::Diagnostic for Report {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(self.code))
    }
    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
            Severity::Note => miette::Severity::Advice,
        })
    }
    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help.as_ref().map(|h| Box::new(h) as Box<dyn fmt::Display + 'a>)
    }
    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        Some(&self.source)
    }
    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        Some(Box::new(self.labels.iter().cloned()))
    }
    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn miette::Diagnostic> + 'a>> {
        if self.related.is_empty() {
            return None;
        }
        Some(Box::new(self.related.iter().map(|r| r as &dyn miette::Diagnostic)))
    }
}

/// Text for a terminal: control characters written out (see [`crate::terminal`]).
fn safe(text: &str) -> String {
    crate::terminal::escape(text).into_owned()
}

#[cfg(feature = "cli")]
fn labeled(label: &Label) -> LabeledSpan {
    let text = if label.message.is_empty() {
        None
    } else {
        Some(safe(&label.message))
    };
    let span = (label.span.start as usize, label.span.len());
    if label.primary {
        LabeledSpan::new_primary_with_span(text, span)
    } else {
        LabeledSpan::new_with_span(text, span)
    }
}

/// A file's text with its line starts, so that miette reads only the lines around a span
/// (its own reader scans the file from the start for every label: quadratic over many
/// diagnostics).
#[cfg(feature = "cli")]
#[derive(Debug)]
struct Indexed {
    name: String,
    text: String,
    starts: Vec<usize>,
}

#[cfg(feature = "cli")]
impl Indexed {
    fn new(name: String, text: String) -> Indexed {
        let mut starts = vec![0];
        starts.extend(
            text.bytes()
                .enumerate()
                .filter(|(_, b)| *b == b'\n')
                .map(|(i, _)| i + 1),
        );
        Indexed { name, text, starts }
    }

    fn line_of(&self, offset: usize) -> usize {
        self.starts.partition_point(|&s| s <= offset).saturating_sub(1)
    }
}

#[cfg(feature = "cli")]
impl miette::SourceCode for Indexed {
    fn read_span<'a>(
        &'a self,
        span: &miette::SourceSpan,
        before: usize,
        after: usize,
    ) -> Result<Box<dyn miette::SpanContents<'a> + 'a>, miette::MietteError> {
        // A window of whole lines around the span, read by miette's own reader, then put
        // back in place: the same contents as reading the whole text.
        let first = self.line_of(span.offset()).saturating_sub(before + 1);
        let last = self.line_of(span.offset() + span.len()) + after + 2;
        let ws = self.starts.get(first).copied().unwrap_or(0);
        let we = self.starts.get(last).copied().unwrap_or(self.text.len());
        let window = self.text.get(ws..we).ok_or(miette::MietteError::OutOfBounds)?;
        let local = miette::SourceSpan::new(span.offset().saturating_sub(ws).into(), span.len());
        let c = window.read_span(&local, before, after)?;
        Ok(Box::new(miette::MietteSpanContents::new_named(
            self.name.clone(),
            c.data(),
            miette::SourceSpan::new((c.span().offset() + ws).into(), c.span().len()),
            c.line() + first,
            c.column(),
            c.line_count() + first,
        )))
    }
}

/// The longest line miette draws a label on or around; past it, a plain rendering.
#[cfg(feature = "cli")]
const MAX_LABEL_COLUMN: usize = 4096;

/// Renders diagnostics against a set of sources, each indexed once.
#[cfg(feature = "cli")]
pub struct Renderer<'s> {
    sources: &'s SourceMap,
    indexed: std::cell::RefCell<std::collections::HashMap<crate::span::FileId, std::sync::Arc<Indexed>>>,
    lines: crate::source::LineCache<'s>,
    color: bool,
    width: usize,
}

#[cfg(feature = "cli")]
impl<'s> Renderer<'s> {
    pub fn new(sources: &'s SourceMap, color: bool, width: usize) -> Renderer<'s> {
        Renderer {
            sources,
            indexed: Default::default(),
            lines: crate::source::LineCache::new(sources),
            color,
            width,
        }
    }

    fn source(&self, file: crate::span::FileId) -> std::sync::Arc<Indexed> {
        self.indexed
            .borrow_mut()
            .entry(file)
            .or_insert_with(|| {
                std::sync::Arc::new(Indexed::new(
                    safe(&self.sources.display_path(file)),
                    crate::terminal::mask(self.sources.text(file)).into_owned(),
                ))
            })
            .clone()
    }

    fn report(&self, diag: &Diagnostic) -> Report {
        let file = diag.primary_span().file;
        let mut related = Vec::new();
        let mut here = Vec::new();
        for label in &diag.labels {
            if label.span.file == file {
                here.push(labeled(label));
            } else {
                related.push(Report {
                    severity: diag.severity,
                    code: diag.code,
                    message: safe(&label.message),
                    help: None,
                    source: self.source(label.span.file),
                    labels: vec![LabeledSpan::new_primary_with_span(
                        Some("here".into()),
                        (label.span.start as usize, label.span.len()),
                    )],
                    related: Vec::new(),
                });
            }
        }
        Report {
            severity: diag.severity,
            code: diag.code,
            message: safe(&diag.message),
            help: diag.help.as_deref().map(safe),
            source: self.source(file),
            labels: here,
            related,
        }
    }

    /// Whether a label's line, or a line shown around it, is longer than miette draws well:
    /// miette lays out every character of the lines it shows, so a megabyte-long line would
    /// cost seconds per diagnostic (and columns past 65,535 made it panic).
    fn too_wide(&self, diag: &Diagnostic) -> bool {
        diag.labels.iter().any(|l| {
            let src = self.source(l.span.file);
            let first = src.line_of(l.span.start as usize).saturating_sub(1);
            let last = src.line_of(l.span.end as usize) + 1;
            (first..=last).any(|line| {
                let Some(&start) = src.starts.get(line) else {
                    return false;
                };
                let end = src.starts.get(line + 1).copied().unwrap_or(src.text.len());
                end.saturating_sub(start) > MAX_LABEL_COLUMN
            })
        })
    }

    /// One diagnostic, for a terminal or a golden file.
    pub fn render(&self, diag: &Diagnostic) -> String {
        use miette::{GraphicalReportHandler, GraphicalTheme};
        if self.too_wide(diag) {
            return plain(diag, &self.lines);
        }
        let theme = if self.color {
            GraphicalTheme::unicode()
        } else {
            GraphicalTheme::unicode_nocolor()
        };
        let handler = GraphicalReportHandler::new_themed(theme)
            .with_width(self.width)
            .with_links(false);
        let mut out = String::new();
        let report = self.report(diag);
        if handler.render_report(&mut out, &report).is_err() {
            out = plain(diag, &self.lines);
        }
        out
    }
}

/// A rendering without source lines: `error[CODE]: message`, then `--> file:line:col: label`
/// for every label and the help.
pub fn plain(diag: &Diagnostic, lines: &crate::source::LineCache<'_>) -> String {
    let sources = lines.sources();
    let mut out = format!("{}[{}]: {}\n", diag.severity.as_str(), diag.code, safe(&diag.message));
    for l in &diag.labels {
        let (line, col) = lines.line_col(l.span.file, l.span.start);
        out.push_str(&format!(
            "  --> {}:{line}:{col}: {}\n",
            safe(&sources.display_path(l.span.file)),
            safe(&l.message)
        ));
    }
    if let Some(h) = &diag.help {
        out.push_str(&format!("  help: {}\n", safe(h)));
    }
    out
}

#[cfg(feature = "cli")]
/// Render for a terminal or a golden file: unicode, no colour unless asked, fixed width.
pub fn render(diag: &Diagnostic, sources: &SourceMap, color: bool, width: usize) -> String {
    Renderer::new(sources, color, width).render(diag)
}

/// One JSON object per diagnostic (`--message-format json`).
pub fn to_json(diag: &Diagnostic, sources: &SourceMap) -> serde_json::Value {
    to_json_with(diag, &crate::source::LineCache::new(sources))
}

/// [`to_json`] with the files' lines found once, for many diagnostics.
pub fn to_json_with(diag: &Diagnostic, lines: &crate::source::LineCache<'_>) -> serde_json::Value {
    let sources = lines.sources();
    let labels: Vec<serde_json::Value> = diag
        .labels
        .iter()
        .map(|l| {
            let (line, column) = lines.line_col(l.span.file, l.span.start);
            serde_json::json!({
                "message": l.message,
                "file": sources.display_path(l.span.file),
                "line": line,
                "column": column,
                "start": l.span.start,
                "end": l.span.end,
                "primary": l.primary,
            })
        })
        .collect();
    serde_json::json!({
        "severity": diag.severity.as_str(),
        "code": diag.code,
        "message": diag.message,
        "help": diag.help,
        "labels": labels,
    })
}
