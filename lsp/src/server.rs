//! The LSP methods. Each one finds its document's program in the session, answers from a
//! snapshot of it off the async threads ([`crate::run`]) and converts the answer; no vnuma
//! knowledge lives here. A panic inside a request answers that request with an error; the
//! server lives on.

use crate::capabilities;
use crate::convert::{self, Lines, Locations};
use crate::publish;
use crate::run::{self, Ran, on_snapshot};
use crate::settings::{Settings, docs_url};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use tokio::sync::Mutex;
use tower_lsp_server::jsonrpc::Result;
use tower_lsp_server::ls_types::*;
use tower_lsp_server::{Client, LanguageServer};
use vnumac::db::{Program, Snapshot, SourceFile};
use vnumac::ide::document::Change;
use vnumac::ide::session::Session;
use vnumac::source::Encoding;

pub struct Backend {
    client: Client,
    session: Arc<Mutex<Session>>,
    settings: OnceLock<Settings>,
    /// One more for every write, in the order writes took the session.
    generation: AtomicU64,
    /// The generation whose diagnostics were last published, by document.
    published: Arc<Mutex<HashMap<PathBuf, u64>>>,
}

fn path_of(uri: &Uri) -> Option<PathBuf> {
    uri.to_file_path().map(|p| vnumac::db::normalize(&p))
}

impl Backend {
    pub fn new(client: Client) -> Backend {
        Backend {
            client,
            session: Arc::new(Mutex::new(Session::default())),
            settings: OnceLock::new(),
            generation: AtomicU64::new(0),
            published: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    fn settings(&self) -> Settings {
        self.settings.get().cloned().unwrap_or_default()
    }

    /// Change the session (on a blocking thread, in the order notifications came), then
    /// publish the diagnostics of every open document. `closed` gets empty diagnostics.
    async fn write(&self, closed: Option<PathBuf>, f: impl FnOnce(&mut Session) + Send + 'static) {
        let guard = self.session.clone().lock_owned().await;
        let generation = self.generation.fetch_add(1, Ordering::SeqCst) + 1;
        let job = tokio::task::spawn_blocking(move || {
            let mut s = guard;
            let _ = run::guarded(|| f(&mut s));
            match run::guarded(|| publish::due(&mut s)) {
                Ran::Done(due) => Some((due, s.snapshot())),
                _ => None,
            }
        });
        let Ok(Some((due, snap))) = job.await else { return };
        if let Some(path) = closed
            && let Some(uri) = convert::uri(&path)
        {
            self.published.lock().await.insert(path, generation);
            self.client.publish_diagnostics(uri, Vec::new(), None).await;
        }
        let (client, published, settings) = (self.client.clone(), self.published.clone(), self.settings());
        tokio::spawn(async move {
            let computed = tokio::task::spawn_blocking(move || {
                let out: Vec<_> = due
                    .iter()
                    .map(|d| {
                        (
                            d.path.clone(),
                            d.version,
                            run::guarded(|| publish::diagnostics(&snap, d, &settings)),
                        )
                    })
                    .collect();
                drop(snap);
                out
            });
            let Ok(computed) = computed.await else { return };
            for (path, version, diags) in computed {
                // Cancelled by a newer write, which publishes in its turn.
                let Ran::Done(diags) = diags else { continue };
                let Some(uri) = convert::uri(&path) else { continue };
                let mut last = published.lock().await;
                if last.get(&path).is_some_and(|g| *g > generation) {
                    continue;
                }
                last.insert(path, generation);
                client.publish_diagnostics(uri, diags, Some(version)).await;
            }
        });
    }

    /// The program and file of a document and a snapshot to answer from: found without
    /// writing when the document's program is loaded, else on a blocking thread.
    async fn context(&self, path: PathBuf) -> Option<(Snapshot, Program, SourceFile)> {
        let guard = self.session.clone().lock_owned().await;
        if let Some((p, f)) = guard.loaded_context(&path) {
            return Some((guard.snapshot(), p, f));
        }
        let job = tokio::task::spawn_blocking(move || {
            let mut s = guard;
            match run::guarded(|| s.context(&path)) {
                Ran::Done(Some((p, f))) => Some((s.snapshot(), p, f)),
                _ => None,
            }
        });
        job.await.ok().flatten()
    }

    /// Answer about a document from a snapshot: `None` for a document that is not known.
    pub(crate) async fn on_file<T: Send + 'static>(
        &self,
        uri: &Uri,
        what: &str,
        f: impl FnOnce(&Snapshot, Program, SourceFile, &Lines<'_>) -> Option<T> + Send + 'static,
    ) -> Result<Option<T>> {
        let Some(path) = path_of(uri) else { return Ok(None) };
        let Some((snap, program, file)) = self.context(path).await else {
            return Ok(None);
        };
        let enc = self.settings().encoding;
        on_snapshot(what, snap, move |snap| {
            f(snap, program, file, &Lines::new(file.text(&snap.db), enc))
        })
        .await
    }

    /// `vnuma/showLowered`: the libvirt XML or QEMU command line of the guest at the cursor.
    pub async fn show_lowered(&self, params: LoweredParams) -> Result<Value> {
        let qemu = params.format.as_deref() == Some("qemu");
        let r = self
            .on_file(
                &params.text_document.uri,
                "showLowered",
                move |snap, program, file, lines| {
                    vnumac::ide::lowered(&snap.db, program, file, lines.offset(params.position), qemu)
                },
            )
            .await?;
        Ok(match r {
            Some((guest, text)) => json!({ "guest": guest, "format": if qemu { "qemu" } else { "xml" }, "text": text }),
            None => Value::Null,
        })
    }

    /// `vnuma/explain`: the placement map of the document's program, as text or SVG.
    pub async fn explain(&self, params: ExplainParams) -> Result<Value> {
        let svg = params.format.as_deref() == Some("svg");
        let r = self
            .on_file(&params.text_document.uri, "explain", move |snap, program, _, _| {
                Some(vnumac::ide::explain(&snap.db, program, svg))
            })
            .await?;
        Ok(match r {
            Some(text) => json!({ "format": if svg { "svg" } else { "text" }, "text": text }),
            None => Value::Null,
        })
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

impl LanguageServer for Backend {
    async fn initialize(&self, params: InitializeParams) -> Result<InitializeResult> {
        let offered = params
            .capabilities
            .general
            .as_ref()
            .and_then(|g| g.position_encodings.as_ref())
            .is_some_and(|e| e.contains(&PositionEncodingKind::UTF8));
        #[allow(deprecated)] // root_uri is what older clients (Neovim 0.7) send.
        let root = params
            .workspace_folders
            .as_ref()
            .and_then(|f| f.first())
            .map(|f| f.uri.clone())
            .or(params.root_uri.clone());
        self.session.lock().await.workspace_root = root.as_ref().and_then(path_of);
        let option = |key: &str| params.initialization_options.as_ref().and_then(|o| o.get(key));
        let _ = self.settings.set(Settings {
            encoding: if offered { Encoding::Utf8 } else { Encoding::Utf16 },
            docs_url: option("diagnosticsUrl")
                .and_then(Value::as_str)
                .map(str::to_string)
                .or_else(docs_url),
            notes: option("notes").and_then(Value::as_bool).unwrap_or(false),
        });
        Ok(InitializeResult {
            capabilities: capabilities::server(offered),
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
        let doc = params.text_document;
        self.write(None, move |s| {
            s.open(&path, doc.version, doc.text);
        })
        .await;
    }

    async fn did_change(&self, params: DidChangeTextDocumentParams) {
        let Some(path) = path_of(&params.text_document.uri) else {
            return;
        };
        let enc = self.settings().encoding;
        let version = params.text_document.version;
        let changes: Vec<Change> = params
            .content_changes
            .into_iter()
            .map(|c| Change {
                range: c
                    .range
                    .map(|r| ((r.start.line, r.start.character), (r.end.line, r.end.character))),
                text: c.text,
            })
            .collect();
        self.write(None, move |s| {
            s.change(&path, version, &changes, enc);
        })
        .await;
    }

    async fn did_save(&self, _: DidSaveTextDocumentParams) {}

    async fn did_close(&self, params: DidCloseTextDocumentParams) {
        let Some(path) = path_of(&params.text_document.uri) else {
            return;
        };
        let closed = path.clone();
        self.write(Some(closed), move |s| s.close(&path)).await;
    }

    async fn did_change_watched_files(&self, params: DidChangeWatchedFilesParams) {
        let paths: Vec<PathBuf> = params.changes.iter().filter_map(|c| path_of(&c.uri)).collect();
        self.write(None, move |s| {
            for p in &paths {
                s.disk_changed(p);
            }
        })
        .await;
    }

    async fn hover(&self, params: HoverParams) -> Result<Option<Hover>> {
        let p = params.text_document_position_params;
        self.on_file(&p.text_document.uri, "hover", move |snap, program, file, lines| {
            vnumac::ide::hover(&snap.db, program, file, lines.offset(p.position)).map(|h| Hover {
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
        self.on_file(&p.text_document.uri, "completion", move |snap, program, file, lines| {
            let at = lines.offset(p.position);
            let items: Vec<CompletionItem> = vnumac::ide::completions(&snap.db, program, file, at)
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
        let enc = self.settings().encoding;
        self.on_file(&p.text_document.uri, "definition", move |snap, program, file, lines| {
            let t = vnumac::ide::definition(&snap.db, program, file, lines.offset(p.position))?;
            convert::location(snap, t.file, t.span, enc).map(GotoDefinitionResponse::Scalar)
        })
        .await
    }

    async fn references(&self, params: ReferenceParams) -> Result<Option<Vec<Location>>> {
        let p = params.text_document_position;
        let enc = self.settings().encoding;
        self.on_file(&p.text_document.uri, "references", move |snap, program, file, lines| {
            let refs = vnumac::ide::references(&snap.db, program, file, lines.offset(p.position));
            let mut locations = Locations::new(snap, enc);
            Some(
                refs.into_iter()
                    .filter_map(|t| locations.location(t.file, t.span))
                    .collect(),
            )
        })
        .await
    }

    async fn document_symbol(&self, params: DocumentSymbolParams) -> Result<Option<DocumentSymbolResponse>> {
        self.on_file(
            &params.text_document.uri,
            "documentSymbol",
            move |snap, _, file, lines| {
                let syms = vnumac::ide::document_symbols(&snap.db, file);
                Some(DocumentSymbolResponse::Nested(
                    syms.iter().map(|x| convert::document_symbol(lines, x)).collect(),
                ))
            },
        )
        .await
    }

    async fn symbol(&self, params: WorkspaceSymbolParams) -> Result<Option<WorkspaceSymbolResponse>> {
        let enc = self.settings().encoding;
        let (snap, programs) = {
            let s = self.session.lock().await;
            (s.snapshot(), s.ws.programs().collect::<Vec<Program>>())
        };
        on_snapshot("workspace/symbol", snap, move |snap| {
            let found = vnumac::ide::workspace_symbols(&snap.db, &programs, &params.query);
            let mut locations = Locations::new(snap, enc);
            Some(WorkspaceSymbolResponse::Nested(
                found
                    .into_iter()
                    .filter_map(|(f, sym)| {
                        Some(WorkspaceSymbol {
                            name: sym.name.clone(),
                            kind: convert::symbol_kind(sym.kind),
                            tags: None,
                            container_name: None,
                            location: OneOf::Left(locations.location(f, sym.name_span)?),
                            data: None,
                        })
                    })
                    .collect(),
            ))
        })
        .await
    }

    async fn formatting(&self, params: DocumentFormattingParams) -> Result<Option<Vec<TextEdit>>> {
        self.on_file(&params.text_document.uri, "formatting", move |snap, _, file, lines| {
            let text = file.text(&snap.db);
            let formatted = vnumac::ide::format(&snap.db, file)?;
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
        self.on_file(
            &params.text_document.uri,
            "foldingRange",
            move |snap, _, file, lines| {
                Some(
                    vnumac::ide::folding_ranges(&snap.db, file)
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
            },
        )
        .await
    }

    async fn semantic_tokens_full(&self, params: SemanticTokensParams) -> Result<Option<SemanticTokensResult>> {
        self.on_file(
            &params.text_document.uri,
            "semanticTokens",
            move |snap, _, file, lines| {
                let tokens = vnumac::ide::semantic_tokens(&snap.db, file);
                Some(SemanticTokensResult::Tokens(SemanticTokens {
                    result_id: None,
                    data: convert::semantic_tokens(lines, &tokens),
                }))
            },
        )
        .await
    }

    async fn inlay_hint(&self, params: InlayHintParams) -> Result<Option<Vec<InlayHint>>> {
        self.on_file(
            &params.text_document.uri,
            "inlayHint",
            move |snap, program, file, lines| {
                let (from, to) = (lines.offset(params.range.start), lines.offset(params.range.end));
                Some(
                    vnumac::ide::inlay_hints(&snap.db, program, file)
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
            },
        )
        .await
    }

    async fn code_lens(&self, params: CodeLensParams) -> Result<Option<Vec<CodeLens>>> {
        self.migrate_lenses(params).await
    }

    async fn execute_command(&self, params: ExecuteCommandParams) -> Result<Option<LSPAny>> {
        self.execute(params).await
    }

    async fn code_action(&self, params: CodeActionParams) -> Result<Option<CodeActionResponse>> {
        let uri = params.text_document.uri.clone();
        self.on_file(
            &params.text_document.uri,
            "codeAction",
            move |snap, program, file, lines| {
                let range = vnumac::span::Span {
                    file: file.id(&snap.db),
                    start: lines.offset(params.range.start),
                    end: lines.offset(params.range.end),
                };
                let actions = vnumac::ide::code_actions(&snap.db, program, file, range);
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
            },
        )
        .await
    }
}
