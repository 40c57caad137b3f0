//! Ingestion under load: a tool's pages queue their recovery days for the
//! recovery job (coalesced per person, several processes safe), and a body
//! repeating what is known is answered without writing.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::{api, split};
use crate::recovery::{Team, sample, team_with_alex};

/// Delivers a webhook body as the tool would, without settling the queue.
async fn deliver(team: &Team, tool: &str, body: &str) -> (StatusCode, Value) {
    let res = api()
        .post(team.app.url(&format!("/api/v1/hooks/{tool}")))
        .bearer_auth(&team.hook_token)
        .header("content-type", "application/json")
        .body(body.to_owned())
        .send()
        .await
        .unwrap();
    split(res).await
}

async fn count(team: &Team, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(&team.app.db).await.unwrap()
}

#[tokio::test]
async fn a_tools_night_page_grants_its_day_through_the_recovery_job() {
    let team = team_with_alex("Europe/London", "2026-03-03T06:00:00Z").await;
    for name in ["alertmanager-firing.json", "alertmanager-resolved.json"] {
        let (status, body) = deliver(&team, "alertmanager", &sample(name)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    // The requests only queued the derivation: no lock on Alex, no day yet.
    assert_eq!(count(&team, "SELECT count(*) FROM recovery_days").await, 0);
    assert_eq!(count(&team, "SELECT count(*) FROM recovery_dirty").await, 2);
    assert_eq!(team.app.settle_recovery().await, 2);
    assert_eq!(count(&team, "SELECT count(*) FROM recovery_dirty").await, 0);
    let days: Vec<(String, chrono::NaiveDate)> =
        sqlx::query_as("SELECT u.email, r.trigger_date FROM recovery_days r JOIN users u ON u.id = r.user_id")
            .fetch_all(&team.app.db)
            .await
            .unwrap();
    assert_eq!(days, [("alex@example.com".to_owned(), "2026-03-03".parse().unwrap())]);
    assert_eq!(team.app.settle_recovery().await, 0, "nothing left to derive");
}

#[tokio::test]
async fn a_repeated_body_is_answered_from_one_read_and_writes_nothing() {
    let team = team_with_alex("Europe/London", "2026-03-03T06:00:00Z").await;
    let firing = sample("alertmanager-firing.json");
    let (status, first) = deliver(&team, "alertmanager", &firing).await;
    assert_eq!(status, StatusCode::OK, "{first}");
    team.app.settle_recovery().await;
    let version = "SELECT xmin::text::bigint FROM pages";
    let before = count(&team, version).await;
    for _ in 0..3 {
        let (status, again) = deliver(&team, "alertmanager", &firing).await;
        assert_eq!(status, StatusCode::OK, "{again}");
        assert_eq!(again, first, "the same page, in the same answer");
    }
    assert_eq!(count(&team, version).await, before, "the page row was not rewritten");
    assert_eq!(count(&team, "SELECT count(*) FROM recovery_dirty").await, 0);
    // The answer is kept in memory only until a page changes: once the page
    // is deleted, the same body is answered without it.
    let id = first["pages"][0].as_i64().unwrap();
    let res = api()
        .delete(team.app.url(&format!("/api/v1/pages/{id}")))
        .bearer_auth(&team.manager_token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let (status, again) = deliver(&team, "alertmanager", &firing).await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again, json!({"pages": []}), "a deleted page's repeat is left out");
    sqlx::query("UPDATE pages SET deleted_at = NULL")
        .execute(&team.app.db)
        .await
        .unwrap();
    // Anything new in the body is written as before.
    let (status, _) = deliver(&team, "alertmanager", &sample("alertmanager-resolved.json")).await;
    assert_eq!(status, StatusCode::OK);
    assert_ne!(count(&team, version).await, before);
    assert!(count(&team, "SELECT count(*) FROM pages WHERE resolved_at IS NOT NULL").await == 1);
}

#[tokio::test]
async fn a_storm_on_one_responder_drained_by_two_jobs_at_once_grants_one_day_per_night() {
    storm_drained_by_two_jobs(team_with_alex("Europe/London", "2026-03-03T06:00:00Z").await).await;
}

/// 60 pages over three nights, their queue drained by two recovery jobs at
/// once: one day per night (also run through PgBouncer, `pgbouncer`).
pub(crate) async fn storm_drained_by_two_jobs(team: Team) {
    // 60 pages over three weeknights, all Alex's (primary that week).
    for n in 0..60 {
        let night = 25 + n % 3;
        let (status, body) = team
            .app
            .post_json(
                &team.hook_token,
                "/api/v1/teams/platform/pages",
                json!({"dedup_key": format!("storm-{n}"), "summary": "disk",
                       "fired_at": format!("2026-02-{night}T02:{:02}:00Z", n % 60),
                       "resolved_at": format!("2026-02-{night}T03:30:00Z")}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        assert_eq!(body["responder_email"], "alex@example.com");
    }
    assert_eq!(count(&team, "SELECT count(*) FROM recovery_dirty").await, 60);
    let (a, b) = tokio::join!(team.app.settle_recovery(), team.app.settle_recovery());
    assert_eq!(a + b, 60, "each queued row derived once");
    let nights: Vec<(chrono::NaiveDate, i64)> =
        sqlx::query_as("SELECT trigger_date, count(*) FROM recovery_days GROUP BY trigger_date ORDER BY trigger_date")
            .fetch_all(&team.app.db)
            .await
            .unwrap();
    let one = |d: &str| (d.parse().unwrap(), 1);
    assert_eq!(nights, [one("2026-02-25"), one("2026-02-26"), one("2026-02-27")]);
}

/// Sends `payload` on the caches' channel as another process would, and
/// waits until this server has heard it: everything announced before has
/// been heard too.
async fn heard_sentinel(team: &Team, payload: &str) {
    let mut heard = team.app.caches.heard();
    sqlx::query("SELECT pg_notify('rota_changed', $1)")
        .bind(payload)
        .execute(&team.app.db)
        .await
        .unwrap();
    tokio::time::timeout(std::time::Duration::from_secs(10), heard.wait_for(|p| p == payload))
        .await
        .expect("the sentinel arrives")
        .unwrap();
}

#[tokio::test]
async fn a_batch_of_new_pages_is_announced_once_committed_and_other_writes_still_announce() {
    batch_announced_once_committed(team_with_alex("Europe/London", "2026-03-03T06:00:00Z").await).await;
}

/// The batch writers' new pages are announced after their commit, and
/// other writes by their trigger (also run through PgBouncer, `pgbouncer`).
pub(crate) async fn batch_announced_once_committed(team: Team) {
    team.app.caches_on().await;
    heard_sentinel(&team, "before").await;
    let mut heard = team.app.caches.heard();
    heard.borrow_and_update();
    // A tool's new page goes through the batch writers, whose transaction
    // does not NOTIFY; the announcer sends `pages` after the commit.
    let res = api()
        .post(team.app.url("/api/v1/teams/platform/pages"))
        .bearer_auth(&team.hook_token)
        .json(&json!({"dedup_key": "disk-1", "summary": "Disk full", "fired_at": "2026-03-03T02:00:00Z"}))
        .send()
        .await
        .unwrap();
    let (status, body) = split(res).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    tokio::time::timeout(std::time::Duration::from_secs(10), heard.wait_for(|p| p == "pages"))
        .await
        .expect("other processes hear of the new page")
        .unwrap();
    // Anything else that writes pages is announced by its trigger still.
    heard_sentinel(&team, "between").await;
    heard.borrow_and_update();
    sqlx::query("UPDATE pages SET summary = summary")
        .execute(&team.app.db)
        .await
        .unwrap();
    tokio::time::timeout(std::time::Duration::from_secs(10), heard.wait_for(|p| p == "pages"))
        .await
        .expect("a change in plain SQL is announced by the trigger")
        .unwrap();
}
