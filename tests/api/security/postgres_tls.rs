//! Finding 14: Postgres over TLS. sqlx was built without TLS, so
//! `sslmode=require` failed and managed Postgres that enforces TLS could
//! not be used; a failed connection said "could not create the database".
//! The test Postgres has TLS on with its snakeoil certificate (issued to
//! `localhost`); `.ci/run` makes sure of it and sets `ROTA_REQUIRE_TLS=1`,
//! so CI fails rather than skips when it is off.

use sqlx::{Connection, PgConnection, PgPool};

use crate::common::server_url;

fn tls_required() -> bool {
    std::env::var("ROTA_REQUIRE_TLS").is_ok_and(|v| matches!(v.as_str(), "1" | "true" | "yes"))
}

/// The server's certificate file when it has TLS on. Off: CI fails here;
/// a developer's run says why it skips.
async fn server_certificate() -> Option<String> {
    let mut conn = PgConnection::connect(&format!("{}/postgres?sslmode=disable", server_url()))
        .await
        .expect("the test Postgres is reachable");
    let ssl: String = sqlx::query_scalar("SHOW ssl").fetch_one(&mut conn).await.unwrap();
    if ssl != "on" {
        assert!(
            !tls_required(),
            "ROTA_REQUIRE_TLS is set but the test Postgres has ssl = {ssl}: set ssl = on (with ssl_cert_file and \
             ssl_key_file) in its postgresql.conf and run SELECT pg_reload_conf(); .ci/run does this"
        );
        eprintln!("skipped: the test Postgres has TLS off (set ROTA_REQUIRE_TLS=1 to make this a failure)");
        return None;
    }
    Some(
        sqlx::query_scalar("SHOW ssl_cert_file")
            .fetch_one(&mut conn)
            .await
            .unwrap(),
    )
}

/// A fresh database's URL on the test server, with `host` and `query`.
fn database_url(name: &str, host: &str, query: &str) -> String {
    let mut url = reqwest::Url::parse(&server_url()).expect("ROTA_TEST_DATABASE_URL is a URL");
    url.set_host(Some(host)).unwrap();
    url.set_path(&format!("rota_test_{}_tls_{name}", std::process::id()));
    url.set_query(Some(query));
    url.to_string()
}

async fn encrypted(pool: &PgPool) -> bool {
    sqlx::query_scalar("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
        .fetch_one(pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn sslmode_require_connects_encrypted() {
    if server_certificate().await.is_none() {
        return;
    }
    let url = database_url("require", "127.0.0.1", "sslmode=require");
    let pool = rota::db::connect_and_migrate(&url, 2)
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    assert!(encrypted(&pool).await, "the connection is encrypted");
}

#[tokio::test]
async fn verify_full_with_the_servers_root_certificate_connects_encrypted() {
    let Some(certificate) = server_certificate().await else {
        return;
    };
    let url = database_url(
        "verify_full",
        "localhost",
        &format!("sslmode=verify-full&sslrootcert={certificate}"),
    );
    let pool = rota::db::connect_and_migrate(&url, 2)
        .await
        .unwrap_or_else(|e| panic!("{certificate} should be valid for localhost: {e:#}"));
    assert!(encrypted(&pool).await, "the connection is encrypted");
}

#[tokio::test]
async fn verify_full_refuses_a_certificate_for_another_name_and_says_why() {
    let Some(certificate) = server_certificate().await else {
        return;
    };
    // The certificate is for localhost, not 127.0.0.1.
    let url = database_url(
        "wrong_name",
        "127.0.0.1",
        &format!("sslmode=verify-full&sslrootcert={certificate}"),
    );
    let error = format!("{:#}", rota::db::connect_and_migrate(&url, 2).await.unwrap_err());
    assert!(
        error.contains("could not connect to the database at 127.0.0.1:"),
        "{error}"
    );
    assert!(error.contains("sslmode=verify-full"), "{error}");
    assert!(error.contains("certificate"), "{error}");
    assert!(error.contains("host name the certificate is for"), "{error}");
}

#[tokio::test]
async fn a_failed_connection_says_why_and_what_to_try_without_the_password() {
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let url = format!("postgres://rota:s3cret@127.0.0.1:{port}/rota");
    let error = format!("{:#}", rota::db::connect_and_migrate(&url, 2).await.unwrap_err());
    assert!(
        error.contains(&format!("could not connect to the database at 127.0.0.1:{port}/rota")),
        "{error}"
    );
    assert!(error.to_lowercase().contains("refused"), "the driver's reason: {error}");
    assert!(error.contains("sslmode=require"), "a hint about TLS: {error}");
    assert!(!error.contains("could not create the database"), "{error}");
    assert!(!error.contains("s3cret"), "{error}");
}
