//! One diagnostic type, many renderers: terminal (miette), plain text for goldens, JSON lines.

use crate::source::SourceMap;
use crate::span::Span;
#[cfg(feature = "cli")]
use miette::{LabeledSpan, NamedSource};
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
    source: NamedSource<String>,
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

#[cfg(feature = "cli")]
fn labeled(label: &Label) -> LabeledSpan {
    let text = if label.message.is_empty() {
        None
    } else {
        Some(label.message.clone())
    };
    let span = (label.span.start as usize, label.span.len());
    if label.primary {
        LabeledSpan::new_primary_with_span(text, span)
    } else {
        LabeledSpan::new_with_span(text, span)
    }
}

#[cfg(feature = "cli")]
fn report(diag: &Diagnostic, sources: &SourceMap) -> Report {
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
                message: label.message.clone(),
                help: None,
                source: NamedSource::new(
                    sources.display_path(label.span.file),
                    sources.text(label.span.file).to_string(),
                ),
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
        message: diag.message.clone(),
        help: diag.help.clone(),
        source: NamedSource::new(sources.display_path(file), sources.text(file).to_string()),
        labels: here,
        related,
    }
}

#[cfg(feature = "cli")]
/// Render for a terminal or a golden file: unicode, no colour unless asked, fixed width.
pub fn render(diag: &Diagnostic, sources: &SourceMap, color: bool, width: usize) -> String {
    use miette::{GraphicalReportHandler, GraphicalTheme};
    let theme = if color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let handler = GraphicalReportHandler::new_themed(theme)
        .with_width(width)
        .with_links(false);
    let mut out = String::new();
    let report = report(diag, sources);
    if handler.render_report(&mut out, &report).is_err() {
        out = format!("{}[{}]: {}\n", diag.severity.as_str(), diag.code, diag.message);
    }
    out
}

/// One JSON object per diagnostic (`--message-format json`).
pub fn to_json(diag: &Diagnostic, sources: &SourceMap) -> serde_json::Value {
    let labels: Vec<serde_json::Value> = diag
        .labels
        .iter()
        .map(|l| {
            let (line, column) = sources.line_col(l.span.file, l.span.start);
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
