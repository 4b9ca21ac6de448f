//! `vnuma-lsp`: the vnuma language server over standard input and output.

use tower_lsp_server::Server;

#[tokio::main]
async fn main() {
    let (service, socket) = vnumac_lsp::service();
    Server::new(tokio::io::stdin(), tokio::io::stdout(), socket)
        .serve(service)
        .await;
}
