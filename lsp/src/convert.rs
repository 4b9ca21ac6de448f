//! Between vnumac's byte spans and plain data, and LSP's positions (UTF-16 unless the
//! client agreed to UTF-8) and types.

use tower_lsp_server::ls_types::{self as lsp, Position, Range, Uri};
use vnumac::db::{Snapshot, SourceFile};
use vnumac::diagnostics::{Diagnostic, Severity};
use vnumac::source::{Encoding, LineIndex};
use vnumac::span::Span;

/// Positions in one file.
pub struct Lines<'t> {
    pub text: &'t str,
    index: LineIndex,
    enc: Encoding,
}

impl<'t> Lines<'t> {
    pub fn new(text: &'t str, enc: Encoding) -> Lines<'t> {
        Lines {
            text,
            index: LineIndex::new(text),
            enc,
        }
    }

    pub fn position(&self, offset: u32) -> Position {
        let (line, character) = self.index.position(self.text, offset, self.enc);
        Position { line, character }
    }

    pub fn range(&self, span: Span) -> Range {
        Range {
            start: self.position(span.start),
            end: self.position(span.end),
        }
    }

    pub fn offset(&self, p: Position) -> u32 {
        self.index.offset(self.text, p.line, p.character, self.enc)
    }
}

pub fn uri(path: &std::path::Path) -> Option<Uri> {
    Uri::from_file_path(path)
}

/// The range of a span in whichever file it points into.
pub fn location(snap: &Snapshot, file: SourceFile, span: Span, enc: Encoding) -> Option<lsp::Location> {
    let text = file.text(&snap.db);
    Some(lsp::Location {
        uri: uri(file.path(&snap.db))?,
        range: Lines::new(text, enc).range(span),
    })
}

/// Locations in many files, each file's lines found once.
pub struct Locations<'s> {
    snap: &'s Snapshot,
    enc: Encoding,
    files: std::collections::HashMap<SourceFile, (Option<Uri>, Lines<'s>)>,
}

impl<'s> Locations<'s> {
    pub fn new(snap: &'s Snapshot, enc: Encoding) -> Locations<'s> {
        Locations {
            snap,
            enc,
            files: Default::default(),
        }
    }

    pub fn location(&mut self, file: SourceFile, span: Span) -> Option<lsp::Location> {
        let (snap, enc) = (self.snap, self.enc);
        let (uri, lines) = self
            .files
            .entry(file)
            .or_insert_with(|| (uri(file.path(&snap.db)), Lines::new(file.text(&snap.db), enc)));
        Some(lsp::Location {
            uri: uri.clone()?,
            range: lines.range(span),
        })
    }
}

/// A vnumac diagnostic as `vnumac check` reports it: code, message, severity, help (in
/// the message), other labels as related information, and a link to the code's entry.
pub fn diagnostic(
    locations: &mut Locations<'_>,
    lines: &Lines<'_>,
    d: &Diagnostic,
    docs_url: Option<&str>,
) -> lsp::Diagnostic {
    let primary = d.primary_span();
    let label = d
        .labels
        .iter()
        .find(|l| l.primary)
        .map(|l| l.message.as_str())
        .unwrap_or("");
    let mut message = d.message.clone();
    if !label.is_empty() && label != d.message {
        message.push_str(&format!(" ({label})"));
    }
    if let Some(h) = &d.help {
        message.push_str("\nhelp: ");
        message.push_str(h);
    }
    let related: Vec<lsp::DiagnosticRelatedInformation> = d
        .labels
        .iter()
        .filter(|l| !l.primary)
        .filter_map(|l| {
            let file = locations.snap.file_by_id(l.span.file)?;
            Some(lsp::DiagnosticRelatedInformation {
                location: locations.location(file, l.span)?,
                message: l.message.clone(),
            })
        })
        .collect();
    lsp::Diagnostic {
        range: lines.range(primary),
        severity: Some(match d.severity {
            Severity::Error => lsp::DiagnosticSeverity::ERROR,
            Severity::Warning => lsp::DiagnosticSeverity::WARNING,
            Severity::Note => lsp::DiagnosticSeverity::INFORMATION,
        }),
        code: Some(lsp::NumberOrString::String(d.code.to_string())),
        code_description: docs_url.and_then(|base| {
            format!("{base}#{}", vnumac::codes::anchor(d.code))
                .parse::<Uri>()
                .ok()
                .map(|href| lsp::CodeDescription { href })
        }),
        source: Some("vnumac".into()),
        message,
        related_information: (!related.is_empty()).then_some(related),
        ..lsp::Diagnostic::default()
    }
}

pub fn symbol_kind(k: vnumac::ide::SymbolKind) -> lsp::SymbolKind {
    use vnumac::ide::SymbolKind as K;
    match k {
        K::Host => lsp::SymbolKind::MODULE,
        K::Guest => lsp::SymbolKind::CLASS,
        K::Include => lsp::SymbolKind::FILE,
        K::Block => lsp::SymbolKind::NAMESPACE,
        K::Node | K::Cell => lsp::SymbolKind::STRUCT,
        K::Device => lsp::SymbolKind::OBJECT,
        K::Statement => lsp::SymbolKind::PROPERTY,
    }
}

#[allow(deprecated)] // `DocumentSymbol::deprecated` must still be written.
pub fn document_symbol(lines: &Lines<'_>, s: &vnumac::ide::Symbol) -> lsp::DocumentSymbol {
    lsp::DocumentSymbol {
        name: s.name.clone(),
        detail: s.detail.clone(),
        kind: symbol_kind(s.kind),
        tags: None,
        deprecated: None,
        range: lines.range(s.span),
        selection_range: lines.range(s.name_span),
        children: Some(s.children.iter().map(|c| document_symbol(lines, c)).collect()),
    }
}

/// The token types, in the order semantic tokens refer to them.
pub const TOKEN_TYPES: &[lsp::SemanticTokenType] = &[
    lsp::SemanticTokenType::KEYWORD,
    lsp::SemanticTokenType::PROPERTY,
    lsp::SemanticTokenType::NUMBER,
    lsp::SemanticTokenType::STRING,
    lsp::SemanticTokenType::ENUM_MEMBER,
    lsp::SemanticTokenType::COMMENT,
];

pub fn semantic_tokens(lines: &Lines<'_>, tokens: &[vnumac::ide::Token]) -> Vec<lsp::SemanticToken> {
    use vnumac::ide::TokenKind as K;
    let mut out = Vec::with_capacity(tokens.len());
    let (mut line, mut col) = (0u32, 0u32);
    for t in tokens {
        let start = lines.position(t.span.start);
        let end = lines.position(t.span.end);
        if end.line != start.line {
            continue; // Tokens never span lines; skip anything odd rather than send garbage.
        }
        let delta_line = start.line - line;
        let delta_start = if delta_line == 0 {
            start.character - col
        } else {
            start.character
        };
        out.push(lsp::SemanticToken {
            delta_line,
            delta_start,
            length: end.character - start.character,
            token_type: match t.kind {
                K::Keyword => 0,
                K::Property => 1,
                K::Number => 2,
                K::String => 3,
                K::Word => 4,
                K::Comment => 5,
            },
            token_modifiers_bitset: 0,
        });
        line = start.line;
        col = start.character;
    }
    out
}

pub fn completion_kind(k: vnumac::ide::CompletionKind) -> lsp::CompletionItemKind {
    use vnumac::ide::CompletionKind as K;
    match k {
        K::Statement => lsp::CompletionItemKind::KEYWORD,
        K::Property => lsp::CompletionItemKind::PROPERTY,
        K::Value => lsp::CompletionItemKind::ENUM_MEMBER,
        K::Host => lsp::CompletionItemKind::MODULE,
        K::Node | K::Cell => lsp::CompletionItemKind::VALUE,
        K::Device => lsp::CompletionItemKind::REFERENCE,
    }
}
