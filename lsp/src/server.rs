//! The LSP methods. Each one takes the session, calls one `vnumac::ide` function and
//! converts its answer; no vnuma knowledge lives here.
//!
//! Ordering: every method runs under one async lock, and a document's diagnostics are
//! published while it is held, with the version they were computed for, and only if that is
//! still the document's version. So an older result is never published after a newer one.
//! A panic inside a request answers that request with an error; the server lives on.

use crate::convert::{self, Lines};
use crate::session::Session;
use serde::Deserialize;
use serde_json::{Value, json};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use tokio::sync::Mutex;
use tower_lsp_server::jsonrpc::{Error, Result};
use tower_lsp_server::ls_types::*;
use tower_lsp_server::{Client, LanguageServer};
use vnumac::db::{Program, SourceFile};
use vnumac::source::Encoding;

/// The most diagnostics published for one file, as the CLI shows: an editor gains nothing
/// from 40,000 markers, and the notification would be megabytes of JSON.
const MAX_PUBLISHED: usize = 200;

pub struct Backend {
    client: Client,
    session: Mutex<Session>,
}

fn path_of(uri: &Uri) -> Option<PathBuf> {
    uri.to_file_path().map(|p| vnumac::db::normalize(&p))
}

fn internal(what: &str) -> Error {
    Error {
        code: tower_lsp_server::jsonrpc::ErrorCode::InternalError,
        message: format!("vnuma-lsp: {what} failed").into(),
        data: None,
    }
}

/// Run an analysis; a panic becomes an error answer.
fn guarded<T>(what: &str, f: impl FnOnce() -> T) -> Result<T> {
    catch_unwind(AssertUnwindSafe(f)).map_err(|_| internal(what))
}

/// The program and file of an open (or loaded) document.
fn context(s: &mut Session, uri: &Uri) -> Option<(Program, SourceFile, PathBuf)> {
    let path = path_of(uri)?;
    let program = s.program_for(&path)?;
    let file = s.ws.file(&path)?;
    Some((program, file, path))
}

impl Backend {
    pub fn new(client: Client) -> Backend {
        Backend {
            client,
            session: Mutex::new(Session::default()),
        }
    }

    /// Publish the diagnostics of every open document (the one that changed may change
    /// what others see: hosts, includes, cross-guest fit). Errors and warnings; notes
    /// (which nodes `vnuma` picked) only when the client asked for them with the
    /// initialization option `notes`: they are in inlay hints and hover anyway, and a
    /// 1,000-guest file has 1,000 of them.
    async fn publish(&self, s: &mut Session) {
        let open: Vec<(PathBuf, i32)> = s.docs.iter().map(|(p, d)| (p.clone(), d.version)).collect();
        for (path, version) in open {
            let Some(uri) = convert::uri(&path) else { continue };
            let enc = s.encoding();
            let computed = {
                let Some(program) = s.program_for(&path) else { continue };
                let Some(file) = s.ws.file(&path) else { continue };
                guarded("diagnostics", || {
                    let text = file.text(&s.ws.db);
                    let lines = Lines::new(text, enc);
                    let all = vnumac::ide::diagnostics(&s.ws.db, program, file);
                    let wanted: Vec<_> = all
                        .iter()
                        .filter(|d| s.notes || d.severity != vnumac::diagnostics::Severity::Note)
                        .collect();
                    let mut shown: Vec<Diagnostic> = wanted
                        .iter()
                        .take(MAX_PUBLISHED)
                        .map(|d| convert::diagnostic(&s.ws, &lines, d, s.docs_url.as_deref(), enc))
                        .collect();
                    if let Some(more) = wanted.len().checked_sub(MAX_PUBLISHED).filter(|n| *n > 0) {
                        shown.push(Diagnostic {
                            range: Range::default(),
                            severity: Some(DiagnosticSeverity::INFORMATION),
                            code: Some(NumberOrString::String("vnuma::more".into())),
                            source: Some("vnumac".into()),
                            message: format!(
                                "and {more} more diagnostics in this file (the first {MAX_PUBLISHED} are shown; \
                                 `vnumac check` counts them too)"
                            ),
                            ..Diagnostic::default()
                        });
                    }
                    shown
                })
            };
            let Ok(diags) = computed else { continue };
            if s.docs.get(&path).map(|d| d.version) != Some(version) {
                continue; // Stale: a newer version has arrived.
            }
            self.client.publish_diagnostics(uri, diags, Some(version)).await;
        }
    }

    /// Run an analysis on the program and file of a document, with its positions: `None`
    /// for a document that is not known, an error answer if the analysis panics.
    async fn on_file<T>(
        &self,
        uri: &Uri,
        what: &str,
        f: impl FnOnce(&Session, Program, SourceFile, &Lines<'_>) -> Option<T>,
    ) -> Result<Option<T>> {
        let mut s = self.session.lock().await;
        let Some((program, file, _)) = context(&mut s, uri) else {
            return Ok(None);
        };
        let enc = s.encoding();
        let s = &*s;
        guarded(what, || f(s, program, file, &Lines::new(file.text(&s.ws.db), enc)))
    }

    /// `vnuma/showLowered`: the libvirt XML or QEMU command line of the guest at the cursor.
    pub async fn show_lowered(&self, params: LoweredParams) -> Result<Value> {
        let mut s = self.session.lock().await;
        let Some((program, file, _)) = context(&mut s, &params.text_document.uri) else {
            return Ok(Value::Null);
        };
        let enc = s.encoding();
        let qemu = params.format.as_deref() == Some("qemu");
        let r = guarded("showLowered", || {
            let lines = Lines::new(file.text(&s.ws.db), enc);
            vnumac::ide::lowered(&s.ws.db, program, file, lines.offset(params.position), qemu)
        })?;
        Ok(match r {
            Some((guest, text)) => json!({ "guest": guest, "format": if qemu { "qemu" } else { "xml" }, "text": text }),
            None => Value::Null,
        })
    }

    /// `vnuma/explain`: the placement map of the document's program, as text or SVG.
    pub async fn explain(&self, params: ExplainParams) -> Result<Value> {
        let mut s = self.session.lock().await;
        let Some((program, _, _)) = context(&mut s, &params.text_document.uri) else {
            return Ok(Value::Null);
        };
        let svg = params.format.as_deref() == Some("svg");
        let text = guarded("explain", || vnumac::ide::explain(&s.ws.db, program, svg))?;
        Ok(json!({ "format": if svg { "svg" } else { "text" }, "text": text }))
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LoweredParams {
    pub text_document: TextDocumentIdentifier,
    pub position: Position,
    /// `xml` (default) or `qemu`.
    pub format: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExplainParams {
    pub text_document: TextDocumentIdentifier,
    /// `text` (default) or `svg`.
    pub format: Option<String>,
}

fn docs_url() -> Option<String> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/diagnostics.md");
    let p = p.canonicalize().ok()?;
    convert::uri(&p).map(|u| u.to_string())
}

impl LanguageServer for Backend {
    async fn initialize(&self, params: InitializeParams) -> Result<InitializeResult> {
        let mut s = self.session.lock().await;
        let offered = params
            .capabilities
            .general
            .as_ref()
            .and_then(|g| g.position_encodings.as_ref())
            .is_some_and(|e| e.contains(&PositionEncodingKind::UTF8));
        s.encoding = Some(if offered { Encoding::Utf8 } else { Encoding::Utf16 });
        #[allow(deprecated)] // root_uri is what older clients (Neovim 0.7) send.
        let root = params
            .workspace_folders
            .as_ref()
            .and_then(|f| f.first())
            .map(|f| f.uri.clone())
            .or(params.root_uri.clone());
        s.workspace_root = root.as_ref().and_then(path_of);
        s.docs_url = params
            .initialization_options
            .as_ref()
            .and_then(|o| o.get("diagnosticsUrl"))
            .and_then(Value::as_str)
            .map(str::to_string)
            .or_else(docs_url);
        s.notes = params
            .initialization_options
            .as_ref()
            .and_then(|o| o.get("notes"))
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let legend = SemanticTokensLegend {
            token_types: convert::TOKEN_TYPES.to_vec(),
            token_modifiers: Vec::new(),
        };
        Ok(InitializeResult {
            capabilities: ServerCapabilities {
                position_encoding: Some(if offered {
                    PositionEncodingKind::UTF8
                } else {
                    PositionEncodingKind::UTF16
                }),
                text_document_sync: Some(TextDocumentSyncCapability::Options(TextDocumentSyncOptions {
                    open_close: Some(true),
                    change: Some(TextDocumentSyncKind::INCREMENTAL),
                    save: Some(TextDocumentSyncSaveOptions::Supported(true)),
                    ..TextDocumentSyncOptions::default()
                })),
                hover_provider: Some(HoverProviderCapability::Simple(true)),
                completion_provider: Some(CompletionOptions {
                    trigger_characters: Some(vec!["=".into(), " ".into()]),
                    ..CompletionOptions::default()
                }),
                definition_provider: Some(OneOf::Left(true)),
                references_provider: Some(OneOf::Left(true)),
                document_symbol_provider: Some(OneOf::Left(true)),
                workspace_symbol_provider: Some(OneOf::Left(true)),
                document_formatting_provider: Some(OneOf::Left(true)),
                folding_range_provider: Some(FoldingRangeProviderCapability::Simple(true)),
                semantic_tokens_provider: Some(SemanticTokensServerCapabilities::SemanticTokensOptions(
                    SemanticTokensOptions {
                        legend,
                        full: Some(SemanticTokensFullOptions::Bool(true)),
                        range: None,
                        ..SemanticTokensOptions::default()
                    },
                )),
                inlay_hint_provider: Some(OneOf::Left(true)),
                code_action_provider: Some(CodeActionProviderCapability::Options(CodeActionOptions {
                    code_action_kinds: Some(vec![CodeActionKind::QUICKFIX]),
                    ..CodeActionOptions::default()
                })),
                ..ServerCapabilities::default()
            },
            server_info: Some(ServerInfo {
                name: "vnuma-lsp".into(),
                version: Some(env!("CARGO_PKG_VERSION").into()),
            }),
            ..InitializeResult::default()
        })
    }

    async fn initialized(&self, _: InitializedParams) {
        // Watch capabilities files and .vnuma files not open in the editor.
        let watchers = ["**/*.vnuma", "**/*.xml"]
            .iter()
            .map(|g| FileSystemWatcher {
                glob_pattern: GlobPattern::String(g.to_string()),
                kind: None,
            })
            .collect();
        let options = DidChangeWatchedFilesRegistrationOptions { watchers };
        let registration = Registration {
            id: "vnuma-watch".into(),
            method: "workspace/didChangeWatchedFiles".into(),
            register_options: serde_json::to_value(options).ok(),
        };
        let _ = self.client.register_capability(vec![registration]).await;
    }

    async fn shutdown(&self) -> Result<()> {
        Ok(())
    }

    async fn did_open(&self, params: DidOpenTextDocumentParams) {
        let Some(path) = path_of(&params.text_document.uri) else {
            return;
        };
        let mut s = self.session.lock().await;
        if s.docs
            .get(&path)
            .is_some_and(|d| d.version >= params.text_document.version)
        {
            return;
        }
        s.docs.insert(
            path.clone(),
            crate::session::Doc {
                version: params.text_document.version,
                text: params.text_document.text,
            },
        );
        let _ = guarded("open", || s.update(&path));
        self.publish(&mut s).await;
    }

    async fn did_change(&self, params: DidChangeTextDocumentParams) {
        let Some(path) = path_of(&params.text_document.uri) else {
            return;
        };
        let mut s = self.session.lock().await;
        let version = params.text_document.version;
        match s.docs.get(&path) {
            Some(d) if d.version < version => {}
            _ => return, // Not open, or a stale version.
        }
        for c in &params.content_changes {
            let range = c
                .range
                .map(|r| ((r.start.line, r.start.character), (r.end.line, r.end.character)));
            s.edit(&path, range, &c.text);
        }
        if let Some(d) = s.docs.get_mut(&path) {
            d.version = version;
        }
        let _ = guarded("change", || s.update(&path));
        self.publish(&mut s).await;
    }

    async fn did_save(&self, _: DidSaveTextDocumentParams) {}

    async fn did_close(&self, params: DidCloseTextDocumentParams) {
        let Some(path) = path_of(&params.text_document.uri) else {
            return;
        };
        let mut s = self.session.lock().await;
        let _ = guarded("close", || s.close(&path));
        if let Some(uri) = convert::uri(&path) {
            self.client.publish_diagnostics(uri, Vec::new(), None).await;
        }
        self.publish(&mut s).await;
    }

    async fn did_change_watched_files(&self, params: DidChangeWatchedFilesParams) {
        let mut s = self.session.lock().await;
        for c in &params.changes {
            if let Some(path) = path_of(&c.uri) {
                let _ = guarded("watch", || s.disk_changed(&path));
            }
        }
        self.publish(&mut s).await;
    }

    async fn hover(&self, params: HoverParams) -> Result<Option<Hover>> {
        let p = params.text_document_position_params;
        self.on_file(&p.text_document.uri, "hover", |s, program, file, lines| {
            vnumac::ide::hover(&s.ws.db, program, file, lines.offset(p.position)).map(|h| Hover {
                contents: HoverContents::Markup(MarkupContent {
                    kind: MarkupKind::Markdown,
                    value: h.markdown,
                }),
                range: Some(lines.range(h.span)),
            })
        })
        .await
    }

    async fn completion(&self, params: CompletionParams) -> Result<Option<CompletionResponse>> {
        let p = params.text_document_position;
        self.on_file(&p.text_document.uri, "completion", |s, program, file, lines| {
            let at = lines.offset(p.position);
            let items: Vec<CompletionItem> = vnumac::ide::completions(&s.ws.db, program, file, at)
                .into_iter()
                .map(|c| CompletionItem {
                    label: c.label.clone(),
                    kind: Some(convert::completion_kind(c.kind)),
                    detail: c.detail,
                    documentation: c.doc.map(|d| {
                        Documentation::MarkupContent(MarkupContent {
                            kind: MarkupKind::Markdown,
                            value: d,
                        })
                    }),
                    text_edit: Some(CompletionTextEdit::Edit(TextEdit {
                        range: Range {
                            start: lines.position(c.replace_from),
                            end: p.position,
                        },
                        new_text: c.insert,
                    })),
                    ..CompletionItem::default()
                })
                .collect();
            Some(CompletionResponse::Array(items))
        })
        .await
    }

    async fn goto_definition(&self, params: GotoDefinitionParams) -> Result<Option<GotoDefinitionResponse>> {
        let p = params.text_document_position_params;
        self.on_file(&p.text_document.uri, "definition", |s, program, file, lines| {
            let enc = s.encoding();
            let t = vnumac::ide::definition(&s.ws.db, program, file, lines.offset(p.position))?;
            convert::location(&s.ws, t.file, t.span, enc).map(GotoDefinitionResponse::Scalar)
        })
        .await
    }

    async fn references(&self, params: ReferenceParams) -> Result<Option<Vec<Location>>> {
        let p = params.text_document_position;
        self.on_file(&p.text_document.uri, "references", |s, program, file, lines| {
            let enc = s.encoding();
            let refs = vnumac::ide::references(&s.ws.db, program, file, lines.offset(p.position));
            Some(
                refs.into_iter()
                    .filter_map(|t| convert::location(&s.ws, t.file, t.span, enc))
                    .collect(),
            )
        })
        .await
    }

    async fn document_symbol(&self, params: DocumentSymbolParams) -> Result<Option<DocumentSymbolResponse>> {
        self.on_file(&params.text_document.uri, "documentSymbol", |s, _, file, lines| {
            let syms = vnumac::ide::document_symbols(&s.ws.db, file);
            Some(DocumentSymbolResponse::Nested(
                syms.iter().map(|x| convert::document_symbol(lines, x)).collect(),
            ))
        })
        .await
    }

    async fn symbol(&self, params: WorkspaceSymbolParams) -> Result<Option<WorkspaceSymbolResponse>> {
        let s = self.session.lock().await;
        let enc = s.encoding();
        guarded("workspace/symbol", || {
            let programs: Vec<Program> = s.ws.programs().collect();
            let found = vnumac::ide::workspace_symbols(&s.ws.db, &programs, &params.query);
            Some(WorkspaceSymbolResponse::Nested(
                found
                    .into_iter()
                    .filter_map(|(f, sym)| {
                        Some(WorkspaceSymbol {
                            name: sym.name.clone(),
                            kind: convert::symbol_kind(sym.kind),
                            tags: None,
                            container_name: None,
                            location: OneOf::Left(convert::location(&s.ws, f, sym.name_span, enc)?),
                            data: None,
                        })
                    })
                    .collect(),
            ))
        })
    }

    async fn formatting(&self, params: DocumentFormattingParams) -> Result<Option<Vec<TextEdit>>> {
        self.on_file(&params.text_document.uri, "formatting", |s, _, file, lines| {
            let text = file.text(&s.ws.db);
            let formatted = vnumac::ide::format(&s.ws.db, file)?;
            if formatted == *text {
                return Some(Vec::new());
            }
            Some(vec![TextEdit {
                range: Range {
                    start: Position::new(0, 0),
                    end: lines.position(text.len() as u32),
                },
                new_text: formatted,
            }])
        })
        .await
    }

    async fn folding_range(&self, params: FoldingRangeParams) -> Result<Option<Vec<FoldingRange>>> {
        self.on_file(&params.text_document.uri, "foldingRange", |s, _, file, lines| {
            Some(
                vnumac::ide::folding_ranges(&s.ws.db, file)
                    .into_iter()
                    .map(|f| FoldingRange {
                        start_line: lines.position(f.start).line,
                        end_line: lines.position(f.end).line,
                        kind: Some(if f.comment {
                            FoldingRangeKind::Comment
                        } else {
                            FoldingRangeKind::Region
                        }),
                        ..FoldingRange::default()
                    })
                    .collect(),
            )
        })
        .await
    }

    async fn semantic_tokens_full(&self, params: SemanticTokensParams) -> Result<Option<SemanticTokensResult>> {
        self.on_file(&params.text_document.uri, "semanticTokens", |s, _, file, lines| {
            let tokens = vnumac::ide::semantic_tokens(&s.ws.db, file);
            Some(SemanticTokensResult::Tokens(SemanticTokens {
                result_id: None,
                data: convert::semantic_tokens(lines, &tokens),
            }))
        })
        .await
    }

    async fn inlay_hint(&self, params: InlayHintParams) -> Result<Option<Vec<InlayHint>>> {
        self.on_file(&params.text_document.uri, "inlayHint", |s, program, file, lines| {
            let (from, to) = (lines.offset(params.range.start), lines.offset(params.range.end));
            Some(
                vnumac::ide::inlay_hints(&s.ws.db, program, file)
                    .into_iter()
                    .filter(|h| from <= h.offset && h.offset <= to)
                    .map(|h| InlayHint {
                        position: lines.position(h.offset),
                        label: InlayHintLabel::String(h.label),
                        kind: None,
                        text_edits: None,
                        tooltip: None,
                        padding_left: Some(true),
                        padding_right: None,
                        data: None,
                    })
                    .collect(),
            )
        })
        .await
    }

    async fn code_action(&self, params: CodeActionParams) -> Result<Option<CodeActionResponse>> {
        let uri = params.text_document.uri.clone();
        self.on_file(&params.text_document.uri, "codeAction", |s, program, file, lines| {
            let range = vnumac::span::Span {
                file: file.id(&s.ws.db),
                start: lines.offset(params.range.start),
                end: lines.offset(params.range.end),
            };
            let actions = vnumac::ide::code_actions(&s.ws.db, program, file, range);
            Some(
                actions
                    .into_iter()
                    .map(|a| {
                        let edits = a
                            .edits
                            .iter()
                            .map(|(span, text)| TextEdit {
                                range: lines.range(*span),
                                new_text: text.clone(),
                            })
                            .collect();
                        let mut changes = std::collections::HashMap::new();
                        changes.insert(uri.clone(), edits);
                        CodeActionOrCommand::CodeAction(CodeAction {
                            title: a.title,
                            kind: Some(CodeActionKind::QUICKFIX),
                            is_preferred: Some(a.preferred),
                            edit: Some(WorkspaceEdit {
                                changes: Some(changes),
                                ..WorkspaceEdit::default()
                            }),
                            ..CodeAction::default()
                        })
                    })
                    .collect(),
            )
        })
        .await
    }
}
