//! The yardstick of `bench/reads.sh`: axum's hello world, built with the
//! same axum and tokio as Rota and run beside it, so Rota's throughput is
//! given as a ratio that holds on any machine.
//!
//!     cargo run --release --example hello    # HELLO_LISTEN=127.0.0.1:18096

use axum::Router;
use axum::routing::get;

#[tokio::main]
async fn main() {
    let address = std::env::var("HELLO_LISTEN").unwrap_or_else(|_| "127.0.0.1:18096".into());
    let app = Router::new().route("/", get(|| async { "Hello, World!" }));
    let listener = tokio::net::TcpListener::bind(&address)
        .await
        .unwrap_or_else(|e| panic!("could not listen on {address}: {e}"));
    axum::serve(listener, app).await.expect("serve");
}
