//! `vnuma-lsp`: the vnuma language server over standard input and output.

use tower_lsp_server::Server;

/// Requests answered at once: cheap ones (hover, completion) are not held up behind a few
/// expensive ones (each runs on a blocking thread of its own).
const CONCURRENCY: usize = 32;

#[tokio::main]
async fn main() {
    let (service, socket) = vnumac_lsp::service();
    Server::new(tokio::io::stdin(), tokio::io::stdout(), socket)
        .concurrency_level(CONCURRENCY)
        .serve(service)
        .await;
}
