//! Roles, kinds and states are stored as text and read back as enums: the
//! stored strings are exactly the ones the schema allows, and a value the
//! code does not know is an error when the row is read, never a default.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::{Fixture, fixture, t};

/// Mon 1 Mar 2027, noon; week 8 (from Tue 2 Mar 10:00) is p0 primary, week 10 p2.
const NOW: &str = "2027-03-01T12:00:00Z";

async fn primary_from(f: &Fixture, starts_at: &str) -> Value {
    let (status, list) = f
        .app
        .get_json(
            &f.manager_token,
            &format!("/api/v1/teams/platform/shifts?from={starts_at}&to=2027-12-31T00:00:00Z"),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{list}");
    list.as_array()
        .unwrap()
        .iter()
        .find(|s| s["role"] == "primary" && s["starts_at"] == starts_at)
        .unwrap()
        .clone()
}

/// p0 asks p2 to swap their primary weeks; returns the request's id.
async fn swap_request(f: &Fixture) -> i64 {
    let mine = primary_from(f, "2027-03-02T10:00:00Z").await;
    let theirs = primary_from(f, "2027-03-16T10:00:00Z").await;
    let token = f.app.token(&f.members[0]).await;
    let (status, request) = f
        .app
        .post_json(
            &token,
            "/api/v1/teams/platform/swaps",
            json!({"shift_id": mine["id"], "counterpart_shift_id": theirs["id"]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{request}");
    request["id"].as_i64().unwrap()
}

#[tokio::test]
async fn enums_are_stored_as_the_strings_the_schema_allows() {
    let f = fixture(t(NOW), "Europe/London", "2027-01-05", 4).await;
    let id = swap_request(&f).await;
    let mut conn = f.app.db.acquire().await.unwrap();
    let stored: (String, String, String, Option<String>) =
        sqlx::query_as("SELECT state, kind, role, counterpart_role FROM swap_requests WHERE id = $1")
            .bind(id)
            .fetch_one(&mut *conn)
            .await
            .unwrap();
    assert_eq!(
        stored,
        (
            "proposed".into(),
            "swap".into(),
            "primary".into(),
            Some("primary".into())
        )
    );
    let request = rota::db::swaps::by_id(&mut conn, id).await.unwrap().unwrap();
    assert_eq!(request.state, rota::domain::swap::State::Proposed);
    assert_eq!(request.kind, rota::domain::swap::RequestKind::Swap);
    assert_eq!(request.role, rota::domain::role::Role::Primary);
    let role = rota::db::teams::role_of(&mut conn, f.team.id, f.manager.id)
        .await
        .unwrap();
    assert_eq!(role, Some(rota::db::teams::TeamRole::Manager));
}

#[tokio::test]
async fn an_unknown_request_state_is_an_error_not_expired() {
    let f = fixture(t(NOW), "Europe/London", "2027-01-05", 4).await;
    let id = swap_request(&f).await;
    let mut conn = f.app.db.acquire().await.unwrap();
    // Only a schema this code does not know could store such a state.
    sqlx::query("ALTER TABLE swap_requests DROP CONSTRAINT swap_requests_state_check")
        .execute(&mut *conn)
        .await
        .unwrap();
    sqlx::query("UPDATE swap_requests SET state = 'bogus' WHERE id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await
        .unwrap();
    let read = rota::db::swaps::by_id(&mut conn, id).await;
    let err = read.expect_err("an unknown state must not read as a request");
    assert!(matches!(err, sqlx::Error::ColumnDecode { .. }), "{err:?}");
    assert!(err.to_string().contains("bogus"), "{err}");
    // The API answers with an error instead of showing the request expired.
    let token = f.app.token(&f.members[0]).await;
    let (status, body) = f.app.get_json(&token, &format!("/api/v1/swaps/{id}")).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{body}");
}

#[tokio::test]
async fn an_unknown_team_role_is_an_error_not_member() {
    let f = fixture(t(NOW), "Europe/London", "2027-01-05", 2).await;
    let mut conn = f.app.db.acquire().await.unwrap();
    sqlx::query("ALTER TABLE memberships DROP CONSTRAINT memberships_role_check")
        .execute(&mut *conn)
        .await
        .unwrap();
    sqlx::query("UPDATE memberships SET role = 'owner' WHERE user_id = $1")
        .bind(f.members[0].id)
        .execute(&mut *conn)
        .await
        .unwrap();
    let err = rota::db::teams::role_of(&mut conn, f.team.id, f.members[0].id)
        .await
        .expect_err("an unknown team role must not read as a role");
    assert!(err.to_string().contains("owner"), "{err}");
    let err = rota::db::teams::members(&mut conn, f.team.id)
        .await
        .expect_err("an unknown team role must not read as a member");
    assert!(matches!(err, sqlx::Error::ColumnDecode { .. }), "{err:?}");
}
