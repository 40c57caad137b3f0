//! The provider of `bench/paging.sh`: takes every POST (Rota's generic
//! webhooks to `/hook/{person}`) and writes one line per request to
//! `RECEIVER_LOG`: the arrival in microseconds since the epoch, the path,
//! and the body on one line. Answers 200 at once.
//!
//!     cargo run --release --example paging_receiver   # RECEIVER_LISTEN=127.0.0.1:18097

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::Uri;
use axum::routing::post;

type Log = Arc<Mutex<std::io::BufWriter<std::fs::File>>>;

async fn take(State(log): State<Log>, uri: Uri, body: Bytes) -> &'static str {
    let at = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_micros();
    let body = String::from_utf8_lossy(&body).replace(['\n', '\t'], " ");
    let mut log = log.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let _ = writeln!(log, "{at}\t{}\t{body}", uri.path());
    let _ = log.flush();
    "ok"
}

#[tokio::main]
async fn main() {
    let address = std::env::var("RECEIVER_LISTEN").unwrap_or_else(|_| "127.0.0.1:18097".into());
    let path = std::env::var("RECEIVER_LOG").unwrap_or_else(|_| "/tmp/rota-paging-receiver.log".into());
    let file = std::fs::File::create(&path).unwrap_or_else(|e| panic!("could not write {path}: {e}"));
    let log: Log = Arc::new(Mutex::new(std::io::BufWriter::new(file)));
    let app = Router::new().route("/{*path}", post(take)).with_state(log);
    let listener = tokio::net::TcpListener::bind(&address)
        .await
        .unwrap_or_else(|e| panic!("could not listen on {address}: {e}"));
    axum::serve(listener, app).await.expect("serve");
}
