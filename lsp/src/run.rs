//! Where the work runs: never on the async threads, so that reading messages and answering
//! cheap requests goes on while an expensive one runs.
//!
//! - Writes (opening, changing, closing a document, a file changed on disk) take the
//!   session's lock in the order the notifications came, and run on a blocking thread. A
//!   write cancels every analysis still running on a snapshot (salsa unwinds it at its next
//!   query) and waits until those have let go of their snapshots.
//! - Requests take the lock only to find their program and take a [`Snapshot`], then answer
//!   from it on a blocking thread. A request cancelled by a write answers `ContentModified`;
//!   one the client cancels (`$/cancelRequest`) cancels its analysis too.
//! - After each write, the diagnostics of every open document are computed from a snapshot
//!   and published with the version they were computed for. Each write has a generation;
//!   a document's diagnostics are published only if no later generation's were, so an older
//!   result is never published after a newer one.

use std::panic::{AssertUnwindSafe, catch_unwind};
use tower_lsp_server::jsonrpc::{Error, ErrorCode, Result};
use vnumac::db::Snapshot;

pub fn internal(what: &str) -> Error {
    Error {
        code: ErrorCode::InternalError,
        message: format!("vnuma-lsp: {what} failed").into(),
        data: None,
    }
}

/// The answer to a request whose document changed while it was answered.
pub fn content_modified() -> Error {
    Error {
        code: ErrorCode::ServerError(-32801),
        message: "vnuma-lsp: the document changed; ask again".into(),
        data: None,
    }
}

/// How work on a snapshot ended.
pub enum Ran<T> {
    Done(T),
    /// A write cancelled it (or the client did).
    Cancelled,
    Panicked,
}

/// Run `f`, catching salsa's cancellation and any panic.
pub fn guarded<T>(f: impl FnOnce() -> T) -> Ran<T> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(v) => Ran::Done(v),
        Err(payload) if payload.is::<salsa::Cancelled>() => Ran::Cancelled,
        Err(_) => Ran::Panicked,
    }
}

/// Cancels an analysis when the request it answers is dropped before it is done (the
/// client sent `$/cancelRequest`).
struct CancelOnDrop(Option<salsa::CancellationToken>);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        if let Some(t) = self.0.take() {
            t.cancel();
        }
    }
}

/// Answer from a snapshot on a blocking thread.
pub async fn on_snapshot<T: Send + 'static>(
    what: &str,
    snap: Snapshot,
    f: impl FnOnce(&Snapshot) -> T + Send + 'static,
) -> Result<T> {
    use salsa::Database as _;
    let mut guard = CancelOnDrop(Some(snap.db.cancellation_token()));
    let r = tokio::task::spawn_blocking(move || guarded(|| f(&snap))).await;
    guard.0 = None;
    match r {
        Ok(Ran::Done(v)) => Ok(v),
        Ok(Ran::Cancelled) => Err(content_modified()),
        Ok(Ran::Panicked) | Err(_) => Err(internal(what)),
    }
}
