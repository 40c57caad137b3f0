//! `rota export` / `rota restore`: the organisation as one JSON document
//! that restores into an empty database and exports the same again.

use crate::common::{self, t};
use rota::db::backup::{LEFT_OUT, TABLES};
use rota::ops::backup;
use rota::{db, demo};
use serde_json::{Value, json};
use sqlx::PgPool;

const NOW: &str = "2026-12-03T10:00:00Z";

async fn export_text(pool: &PgPool) -> String {
    let mut out = Vec::new();
    backup::export(pool, &mut out, t(NOW)).await.expect("export");
    String::from_utf8(out).expect("UTF-8")
}

async fn export(pool: &PgPool) -> Value {
    serde_json::from_str(&export_text(pool).await).expect("the export is one JSON document")
}

async fn users(url: &str) -> i64 {
    let pool = db::connect_unmigrated(url, 2).await.expect("connect");
    let n = sqlx::query_scalar("SELECT count(*) FROM users")
        .fetch_one(&pool)
        .await
        .expect("count");
    pool.close().await;
    n
}

fn refusal(result: anyhow::Result<backup::Counts>) -> String {
    match result {
        Ok(_) => panic!("the restore should have been refused"),
        Err(e) => format!("{e:#}"),
    }
}

#[tokio::test]
async fn the_demo_organisation_restores_into_an_empty_database_and_exports_the_same() {
    let app = common::spawn_app_at(t(NOW)).await;
    demo::create(&app.db, t(NOW)).await.expect("demo");
    let text = export_text(&app.db).await;
    let source: Value = serde_json::from_str(&text).expect("JSON");
    assert_eq!(source["format"], "rota-export");
    assert_eq!(source["schema"], json!(db::known_version()));
    for table in [
        "teams",
        "users",
        "memberships",
        "rotations",
        "rotation_versions",
        "shifts",
        "schedule_changes",
        "swap_requests",
        "pages",
        "recovery_days",
        "handoffs",
        "handoff_versions",
        "leave",
        "audit_log",
    ] {
        let rows = source["tables"][table].as_array().expect(table);
        assert!(!rows.is_empty(), "the demo has {table}, so the export must too");
    }
    assert!(
        source["tables"]["handoffs"][0].get("search").is_none(),
        "generated columns are Postgres's to compute"
    );

    let url = common::fresh_database_url();
    let counts = backup::restore(&url, &text).await.expect("restore");
    assert_eq!(counts.len(), TABLES.len());
    let restored_pool = db::connect_unmigrated(&url, 2).await.expect("connect");
    assert_eq!(db::applied_version(&restored_pool).await.unwrap(), db::known_version());
    let restored = export(&restored_pool).await;
    assert_eq!(restored["schema"], source["schema"]);
    for table in TABLES {
        assert_eq!(
            restored["tables"][table], source["tables"][table],
            "{table} differs after the round trip"
        );
    }

    // Ids carry on after the restored ones.
    let max_user = source["tables"]["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].as_i64().unwrap())
        .max()
        .unwrap();
    let mut conn = restored_pool.acquire().await.unwrap();
    let added = rota::ops::users::create_user(
        &mut conn,
        rota::ops::users::NewUserInput {
            email: "new.starter@example.com",
            name: "New Starter",
            timezone: Some("Europe/London"),
            password: None,
            is_admin: false,
        },
    )
    .await
    .expect("a new account after the restore");
    assert!(added.id > max_user);
}

#[tokio::test]
async fn a_restore_over_data_or_of_a_bad_document_changes_nothing() {
    let app = common::spawn_app_at(t(NOW)).await;
    demo::create(&app.db, t(NOW)).await.expect("demo");
    let text = export_text(&app.db).await;
    let doc: Value = serde_json::from_str(&text).unwrap();
    let before: i64 = sqlx::query_scalar("SELECT count(*) FROM users")
        .fetch_one(&app.db)
        .await
        .unwrap();

    // Over a live database: refused, nothing added.
    let message = refusal(backup::restore(&app.state.settings.database_url, &text).await);
    assert!(message.contains("already holds data"), "{message}");
    let after: i64 = sqlx::query_scalar("SELECT count(*) FROM users")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(before, after);

    let url = common::fresh_database_url();
    let message = refusal(backup::restore(&url, "{\"format\": \"rota-export\", ").await);
    assert!(message.contains("line 1, column"), "{message}");

    let mut wrong = doc.clone();
    wrong["format"] = json!("pagerduty");
    let message = refusal(backup::restore(&url, &wrong.to_string()).await);
    assert!(message.contains("format: \"pagerduty\""), "{message}");

    let mut newer = doc.clone();
    newer["schema"] = json!(db::known_version() + 1);
    let message = refusal(backup::restore(&url, &newer.to_string()).await);
    assert!(message.contains("newer than this build knows"), "{message}");

    let mut unknown_table = doc.clone();
    unknown_table["tables"]["sessions"] = json!([]);
    let message = refusal(backup::restore(&url, &unknown_table.to_string()).await);
    assert!(message.contains("tables.sessions: not a table"), "{message}");

    // Every wrong row is named by its path; nothing is written.
    let mut unknown_column = doc.clone();
    unknown_column["tables"]["users"][1]["nickname"] = json!("Pri");
    unknown_column["tables"]["teams"][0] = json!("platform");
    let message = refusal(backup::restore(&url, &unknown_column.to_string()).await);
    assert!(
        message.contains("tables.users[1].nickname: users has no such column"),
        "{message}"
    );
    assert!(message.contains("tables.teams[0]: not an object"), "{message}");
    assert_eq!(users(&url).await, 0);

    // A value Postgres will not take rolls the whole restore back.
    let mut bad_value = doc.clone();
    bad_value["tables"]["pages"][0]["fired_at"] = json!("yesterday-ish");
    let message = refusal(backup::restore(&url, &bad_value.to_string()).await);
    assert!(message.contains("tables.pages[0.."), "{message}");
    assert_eq!(users(&url).await, 0, "users were written before pages, and rolled back");

    // After all that the same database takes the good document.
    backup::restore(&url, &text).await.expect("the good document");
    assert_eq!(users(&url).await, before);
}

#[tokio::test]
async fn an_export_taken_before_later_migrations_is_brought_up_to_date_on_restore() {
    // A database at migration 23, before teams could be private.
    let old_url = common::fresh_database_url();
    let old = db::connect_unmigrated(&old_url, 2).await.expect("connect");
    db::migrate_to(&old, 23).await.expect("migrate to 23");
    sqlx::query(
        "INSERT INTO teams (slug, name, timezone, calendar_secret) VALUES ('ops', 'Ops', 'Europe/Paris', 's3cret')",
    )
    .execute(&old)
    .await
    .unwrap();
    let doc = export(&old).await;
    assert_eq!(doc["schema"], json!(23));
    assert!(doc["tables"]["teams"][0].get("private").is_none());

    let url = common::fresh_database_url();
    backup::restore(&url, &doc.to_string()).await.expect("restore");
    let restored = db::connect_unmigrated(&url, 2).await.expect("connect");
    assert_eq!(db::applied_version(&restored).await.unwrap(), db::known_version());
    let (name, private): (String, bool) = sqlx::query_as("SELECT name, private FROM teams WHERE slug = 'ops'")
        .fetch_one(&restored)
        .await
        .unwrap();
    assert_eq!((name.as_str(), private), ("Ops", false));
}

#[tokio::test]
async fn every_table_is_exported_in_an_order_its_references_allow_or_left_out_with_a_reason() {
    let app = common::spawn_app_at(t(NOW)).await;
    let mut conn = app.db.acquire().await.unwrap();
    let mut expected: Vec<&str> = TABLES.iter().copied().chain(LEFT_OUT.iter().map(|(t, _)| *t)).collect();
    expected.sort_unstable();
    let actual = db::backup::schema_tables(&mut conn).await.unwrap();
    assert_eq!(
        actual, expected,
        "a new table must be added to TABLES (or LEFT_OUT, with a reason) in src/db/backup.rs"
    );
    let references: Vec<(String, String)> = sqlx::query_as(
        "SELECT conrelid::regclass::text, confrelid::regclass::text FROM pg_constraint
         WHERE contype = 'f' AND connamespace = 'public'::regnamespace AND conrelid <> confrelid",
    )
    .fetch_all(&mut *conn)
    .await
    .unwrap();
    let position = |table: &str| TABLES.iter().position(|t| *t == table);
    for (from, to) in references {
        if let (Some(from_at), Some(to_at)) = (position(&from), position(&to)) {
            assert!(to_at < from_at, "{to} must come before {from}, which refers to it");
        }
    }
}

#[tokio::test]
async fn the_command_line_exports_to_a_file_and_restores_it() {
    let app = common::spawn_app_at(t(NOW)).await;
    demo::create(&app.db, t(NOW)).await.expect("demo");
    let dir = std::env::temp_dir().join(format!("rota-export-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("org.json");
    let rota = env!("CARGO_BIN_EXE_rota");
    let run = |args: &[&str], url: &str| {
        std::process::Command::new(rota)
            .args(args)
            .env("DATABASE_URL", url)
            .env("ROTA_LOG_FORMAT", "text")
            .env("RUST_LOG", "warn")
            .output()
            .expect("run rota")
    };
    let exported = run(
        &["export", "--output", file.to_str().unwrap()],
        &app.state.settings.database_url,
    );
    let said = String::from_utf8_lossy(&exported.stderr);
    assert!(exported.status.success(), "{said}");
    assert!(said.contains("teams") && said.contains("handoffs"), "{said}");

    let url = common::fresh_database_url();
    let restored = run(&["restore", file.to_str().unwrap()], &url);
    let said = String::from_utf8_lossy(&restored.stderr);
    assert!(restored.status.success(), "{said}");
    assert!(said.contains("Restored"), "{said}");

    let again = run(&["restore", file.to_str().unwrap()], &url);
    let said = String::from_utf8_lossy(&again.stderr);
    assert!(!again.status.success());
    assert!(said.contains("already holds data"), "{said}");
    let _ = std::fs::remove_dir_all(&dir);

    let pool = db::connect_unmigrated(&url, 2).await.unwrap();
    assert_eq!(export(&pool).await["tables"], export(&app.db).await["tables"]);
}
