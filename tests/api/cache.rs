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
    // Names as the search path finds them, or qualified (tower_sessions.session).
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM unnest($1::text[]) AS name
         JOIN pg_class c ON c.oid = to_regclass(name) AND c.relkind = 'r' ORDER BY name",
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
        [Cache::RotaExtras, Cache::Metrics, Cache::NowPage]
    );
    assert_eq!(
        heard(&f, "UPDATE notifications SET read_at = now() WHERE false").await,
        [Cache::NavCounts]
    );
    assert_eq!(
        heard(&f, "DELETE FROM schedule_changes WHERE false").await,
        [Cache::OnCall, Cache::Windows, Cache::NowPage]
    );
    assert_eq!(
        heard(&f, "UPDATE users SET name = name WHERE false").await,
        [
            Cache::Tokens,
            Cache::Users,
            Cache::OnCall,
            Cache::Windows,
            Cache::RotaExtras,
            Cache::Metrics,
            Cache::NowPage,
            Cache::Directory
        ]
    );
    // Sessions are announced by their qualified name, not taken for ours.
    assert_eq!(
        heard(&f, "DELETE FROM tower_sessions.session WHERE false").await,
        [Cache::Sessions]
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
    webhook_delivery_keeps_who_is_on_call(fixture(t(NOW), "Europe/London", "2026-02-24", 3).await).await;
}

/// A tool's pages and the recovery job they queue clear only the caches
/// reading what they wrote (also run through PgBouncer, `pgbouncer`).
pub(crate) async fn webhook_delivery_keeps_who_is_on_call(f: Fixture) {
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

/// Team metrics are cached: a page recorded elsewhere (SQL, another
/// process) is counted once its notification lands, and the cached answer
/// is the one computed afresh from the pages.
#[tokio::test]
async fn cached_metrics_follow_pages_changed_elsewhere_and_equal_a_fresh_read() {
    let f = fixture(t(NOW), "Europe/London", "2026-02-24", 3).await;
    settled(&f).await;
    let path = "/api/v1/teams/platform/metrics?weeks=4";
    let read = || async {
        let (status, body) = f.app.get_json(&f.manager_token, path).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body
    };
    let before = read().await;
    assert_eq!(before["current"]["pages"], 0);
    assert_eq!(read().await, before, "the same answer from the cache");
    let cleared = heard(
        &f,
        "INSERT INTO pages (team_id, rotation_id, source, dedup_key, summary, fired_at, acknowledged_at,
                            resolved_at, responder_id, responder_role, sla_minutes)
         SELECT r.team_id, r.id, 'db', 'elsewhere', 'disk', '2026-03-03T03:00:00Z', '2026-03-03T03:02:00Z',
                '2026-03-03T03:30:00Z', s.user_id, s.role, 5
         FROM rotations r JOIN shifts s ON s.rotation_id = r.id AND s.role = 'primary'
          AND s.starts_at <= '2026-03-03T03:00:00Z' AND s.ends_at > '2026-03-03T03:00:00Z'",
    )
    .await;
    assert!(cleared.contains(&Cache::Metrics), "{cleared:?}");
    let after = read().await;
    assert_eq!(after["current"]["pages"], 1, "{after}");
    assert_eq!(after["current"]["sleep_interruptions"], 1, "{after}");
    f.app.caches.clear();
    assert_eq!(read().await, after, "cached equals computed from the pages");
}

/// The admins' overview and a team's own page share cached figures: the
/// overview's (teams loaded together) equal the team's own, read afresh.
#[tokio::test]
async fn the_overview_and_the_team_page_agree_whichever_is_read_first() {
    let f = fixture(t(NOW), "Europe/London", "2026-02-24", 3).await;
    let _ = f.app.team("payments", "America/New_York").await;
    let _ = f.app.user("root@example.com", "Root", "UTC", true).await;
    let admin = f.app.sign_in("root@example.com").await;
    sqlx::query(
        "INSERT INTO pages (team_id, source, dedup_key, summary, fired_at, responder_id, responder_role)
         SELECT r.team_id, 'db', 'k' || g, 'disk', '2026-03-03T03:00:00Z'::timestamptz - g * interval '1 day',
                s.user_id, s.role
         FROM generate_series(0, 20) g, rotations r JOIN shifts s ON s.rotation_id = r.id AND s.role = 'primary'
         WHERE s.starts_at <= '2026-03-03T03:00:00Z'::timestamptz - g * interval '1 day'
           AND s.ends_at > '2026-03-03T03:00:00Z'::timestamptz - g * interval '1 day'",
    )
    .execute(&f.app.db)
    .await
    .unwrap();
    settled(&f).await;
    let path = "/api/v1/teams/platform/metrics?weeks=12";
    let fresh = f.app.get_json(&f.manager_token, path).await.1;
    assert!(fresh["current"]["pages"].as_u64().unwrap() > 0, "{fresh}");
    f.app.caches.clear();
    let res = admin.get(f.app.url("/admin/metrics?weeks=12")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    // The team's figures now come from what the overview cached.
    assert_eq!(f.app.get_json(&f.manager_token, path).await.1, fresh);
}
