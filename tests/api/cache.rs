//! The caches' contract (see `rota::cache`): every table a cache reads
//! announces its changes, a notification clears only the caches reading
//! its table, and only successful writes clear this process's caches.

use reqwest::StatusCode;
use rota::cache::{Cache, declared_tables};
use rota::db::change_triggers::missing;
use serde_json::json;

use crate::common::{Fixture, TestApp, api, fixture, t};

const NOW: &str = "2026-03-04T12:00:00Z";

async fn missing_triggers(app: &TestApp) -> Vec<String> {
    let mut conn = app.db.acquire().await.expect("conn");
    missing(&mut conn, &declared_tables()).await.expect("pg_trigger")
}

#[tokio::test]
async fn every_table_a_cache_reads_announces_its_changes() {
    let f = fixture(t(NOW), "Europe/London", "2026-02-24", 3).await;
    assert_eq!(missing_triggers(&f.app).await, Vec::<String>::new());

    // The check notices a trigger gone, or one no longer covering updates
    // (this test's own database).
    for sql in [
        "DROP TRIGGER shifts_changed ON shifts",
        "DROP TRIGGER api_tokens_updated ON api_tokens",
    ] {
        sqlx::query(sql).execute(&f.app.db).await.expect("drop");
    }
    assert_eq!(missing_triggers(&f.app).await, ["api_tokens", "shifts"]);
    // A disabled trigger announces nothing either.
    sqlx::query("ALTER TABLE leave DISABLE TRIGGER leave_changed")
        .execute(&f.app.db)
        .await
        .expect("disable");
    assert_eq!(missing_triggers(&f.app).await, ["api_tokens", "leave", "shifts"]);
}

#[tokio::test]
async fn the_declared_tables_are_the_schemas() {
    let f = fixture(t(NOW), "Europe/London", "2026-02-24", 2).await;
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT relname::text FROM pg_class WHERE relkind = 'r' AND relname = ANY($1) ORDER BY relname",
    )
    .bind(declared_tables())
    .fetch_all(&f.app.db)
    .await
    .expect("pg_class");
    assert_eq!(tables, declared_tables());
}

/// Waits until the server listens and has heard of every change made so
/// far: it sends a notification of its own and waits until the server has
/// acted on it (notifications arrive in commit order).
async fn settled(f: &Fixture) {
    f.app.caches_on().await;
    let mut heard = f.app.caches.heard();
    let sentinel = format!("settled {}", std::process::id());
    sqlx::query("SELECT pg_notify('rota_changed', $1)")
        .bind(&sentinel)
        .execute(&f.app.db)
        .await
        .expect("notify");
    tokio::time::timeout(std::time::Duration::from_secs(10), heard.wait_for(|p| *p == sentinel))
        .await
        .expect("the server hears its own notification")
        .expect("caches alive");
}

/// Runs `sql` as another process would and waits until it has been heard.
async fn heard(f: &Fixture, sql: &str) -> Vec<Cache> {
    let before: Vec<u64> = Cache::ALL.iter().map(|c| f.app.caches.cleared_at(*c)).collect();
    f.app.change_elsewhere(sql).await;
    Cache::ALL
        .iter()
        .zip(before)
        .filter(|(c, was)| f.app.caches.cleared_at(**c) != *was)
        .map(|(c, _)| *c)
        .collect()
}

#[tokio::test]
async fn a_notification_clears_only_the_caches_reading_its_table() {
    let f = fixture(t(NOW), "Europe/London", "2026-02-24", 3).await;
    settled(&f).await;
    assert_eq!(
        heard(&f, "DELETE FROM recovery_days WHERE false").await,
        [Cache::RotaExtras]
    );
    assert_eq!(
        heard(&f, "UPDATE notifications SET read_at = now() WHERE false").await,
        [Cache::NavCounts]
    );
    assert_eq!(
        heard(&f, "DELETE FROM schedule_changes WHERE false").await,
        [Cache::OnCall, Cache::Windows]
    );
    assert_eq!(
        heard(&f, "UPDATE users SET name = name WHERE false").await,
        [
            Cache::Tokens,
            Cache::Users,
            Cache::OnCall,
            Cache::Windows,
            Cache::RotaExtras
        ]
    );
    // A table no cache declares: everything, to be safe.
    assert_eq!(
        heard(&f, "SELECT pg_notify('rota_changed', 'a_new_table')").await,
        Cache::ALL
    );
}

#[tokio::test]
async fn a_refused_write_clears_nothing() {
    let f = fixture(t(NOW), "Europe/London", "2026-02-24", 3).await;
    settled(&f).await;
    let before = f.app.caches.generation();
    let (status, _) = f
        .app
        .post_json(
            &f.manager_token,
            "/api/v1/teams/platform/pages",
            json!({"dedup_key": "", "summary": "x", "fired_at": "2026-03-03T01:00:00Z"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = f
        .app
        .post_json(&f.manager_token, "/api/v1/teams/nowhere/pages", json!({}))
        .await;
    assert!(status.is_client_error(), "{status}");
    assert_eq!(f.app.caches.generation(), before);
}

#[tokio::test]
async fn a_webhook_delivery_keeps_who_is_on_call() {
    let f = fixture(t(NOW), "Europe/London", "2026-02-24", 3).await;
    let (status, body) = f
        .app
        .post_json(
            &f.manager_token,
            "/api/v1/teams/platform/integration-tokens",
            json!({"label": "alerts"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let hook = body["token"].as_str().unwrap().to_owned();
    settled(&f).await;
    let (status, on_call) = f.app.get_json(&f.manager_token, "/api/v1/teams/platform/oncall").await;
    assert_eq!(status, StatusCode::OK, "{on_call}");
    let kept = f.app.caches.cleared_at(Cache::OnCall);
    let extras = f.app.caches.cleared_at(Cache::RotaExtras);

    let sample = std::fs::read_to_string(format!(
        "{}/tests/fixtures/samples/alertmanager-firing.json",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let res = api()
        .post(f.app.url("/api/v1/hooks/alertmanager"))
        .bearer_auth(&hook)
        .header("content-type", "application/json")
        .body(sample)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let (status, _) = f
        .app
        .post_json(
            &hook,
            "/api/v1/teams/platform/pages",
            json!({"dedup_key": "k", "summary": "disk", "fired_at": "2026-03-03T01:00:00Z",
                   "resolved_at": "2026-03-03T01:30:00Z"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    // Notifications arrive in commit order: once this one is heard, any
    // the deliveries caused have been too.
    heard(&f, "UPDATE notifications SET read_at = read_at WHERE false").await;
    assert_eq!(
        f.app.caches.cleared_at(Cache::RotaExtras),
        extras,
        "a delivery writes pages, which no cache reads"
    );
    // The recovery job derives the night page's day: what reads recovery
    // days is read afresh once that commits.
    assert!(f.app.settle_recovery().await > 0);
    heard(&f, "UPDATE notifications SET read_at = read_at WHERE false").await;
    assert!(f.app.caches.cleared_at(Cache::RotaExtras) > extras);
    assert_eq!(
        f.app.caches.cleared_at(Cache::OnCall),
        kept,
        "who is on call was dropped"
    );
    let (status, again) = f.app.get_json(&f.manager_token, "/api/v1/teams/platform/oncall").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(again, on_call);
}
