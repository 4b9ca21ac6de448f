//! Moving a guest to another host: a code lens per guest and destination host, the
//! `vnuma.migrate` command the lenses run, and the `vnuma/migrate` request. Lenses only
//! name hosts; the move is planned when the command or the request asks for it.

use crate::server::Backend;
use serde::Deserialize;
use serde_json::{Value, json};
use tower_lsp_server::jsonrpc::{Error, Result};
use tower_lsp_server::ls_types::*;
use vnumac::ide::Migrated;

/// The command of every migrate lens; its arguments are `[uri, guest, host]`.
pub const COMMAND: &str = "vnuma.migrate";

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MigrateParams {
    pub text_document: TextDocumentIdentifier,
    /// In the guest statement to move.
    pub position: Position,
    /// The destination: another host of the program.
    pub host: String,
}

/// What a move came to, as both the command and the request answer it.
fn answer(guest: &str, host: &str, m: Migrated) -> Value {
    match m {
        Migrated::Moved { xml, warnings } => json!({
            "guest": guest, "host": host, "moved": true, "format": "xml", "text": xml, "warnings": warnings,
        }),
        Migrated::Refused(text) => json!({ "guest": guest, "host": host, "moved": false, "text": text }),
    }
}

/// `[uri, guest, host]`, each a string.
fn arguments(args: &[Value]) -> Option<(Uri, String, String)> {
    let [uri, guest, host] = args else { return None };
    let uri = uri.as_str()?.parse().ok()?;
    Some((uri, guest.as_str()?.to_string(), host.as_str()?.to_string()))
}

impl Backend {
    /// `textDocument/codeLens`: "migrate to HOST" on each guest of the document, for each
    /// other host of its program.
    pub async fn migrate_lenses(&self, params: CodeLensParams) -> Result<Option<Vec<CodeLens>>> {
        let uri = params.text_document.uri;
        let arg = Value::String(uri.as_str().to_string());
        self.on_file(&uri, "codeLens", move |snap, program, file, lines| {
            let lenses = vnumac::ide::migrate_lenses(&snap.db, program, file);
            Some(
                lenses
                    .into_iter()
                    .map(|l| CodeLens {
                        range: lines.range(l.span),
                        command: Some(Command {
                            title: l.title,
                            command: COMMAND.into(),
                            arguments: Some(vec![arg.clone(), Value::String(l.guest), Value::String(l.host)]),
                        }),
                        data: None,
                    })
                    .collect(),
            )
        })
        .await
    }

    /// `workspace/executeCommand` of `vnuma.migrate`: the destination domain XML, or why the
    /// guest does not move.
    pub async fn execute(&self, params: ExecuteCommandParams) -> Result<Option<Value>> {
        if params.command != COMMAND {
            return Err(Error::invalid_params(format!("no command `{}`", params.command)));
        }
        let Some((uri, guest, host)) = arguments(&params.arguments) else {
            return Err(Error::invalid_params(format!(
                "{COMMAND} takes [uri, guest, host], each a string"
            )));
        };
        self.on_file(&uri, COMMAND, move |snap, program, _, _| {
            let moved = vnumac::ide::migrate(&snap.db, program, &guest, &host);
            Some(answer(&guest, &host, moved))
        })
        .await
    }

    /// `vnuma/migrate`: the move of the guest at the cursor to `host`.
    pub async fn migrate(&self, params: MigrateParams) -> Result<Value> {
        let r = self
            .on_file(
                &params.text_document.uri,
                "migrate",
                move |snap, program, file, lines| {
                    let at = lines.offset(params.position);
                    let (guest, moved) = vnumac::ide::migrate_at(&snap.db, program, file, at, &params.host)?;
                    Some(answer(&guest, &params.host, moved))
                },
            )
            .await?;
        Ok(r.unwrap_or(Value::Null))
    }
}
