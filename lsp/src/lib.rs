//! vnuma-lsp: the vnuma language server. Glue between LSP and `vnumac::ide`: the
//! session (`vnumac::ide::session`) keeps one vnumac workspace, the server converts
//! positions and types and runs the work off its async threads.

pub mod capabilities;
pub mod convert;
pub mod migrate;
pub mod publish;
pub mod run;
pub mod server;
pub mod settings;

use tower_lsp_server::{ClientSocket, LspService};

/// The service with its custom requests, and the socket for messages to the client.
pub fn service() -> (LspService<server::Backend>, ClientSocket) {
    LspService::build(server::Backend::new)
        .custom_method("vnuma/showLowered", server::Backend::show_lowered)
        .custom_method("vnuma/explain", server::Backend::explain)
        .custom_method("vnuma/migrate", server::Backend::migrate)
        .finish()
}
