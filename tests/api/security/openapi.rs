//! The API contract (issue 11, "The API contract is true"): schemathesis
//! drives every operation of `/api/v1/openapi.json` against the real
//! server, seeded with a team, a rotation, a page, a recovery day, a swap
//! request, a handoff, a holiday, leave and integration tokens, and fails on
//! any 5xx, any answer the document does not list, any body that does not
//! match its schema, and any request the document calls valid that the
//! server refuses.
//!
//! schemathesis comes from PyPI (pinned in tests/schemathesis/requirements.txt;
//! `.ci/run` installs it in a virtualenv). The test runs the program named
//! by `ROTA_SCHEMATHESIS`, else `.venv-ci/bin/schemathesis` in the checkout;
//! without either it is skipped with a note, unless
//! `ROTA_REQUIRE_SCHEMATHESIS` is set, as in CI.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use rota::db::teams::TeamRole;
use serde_json::{Value, json};

use crate::common::{TestApp, fixture, t};

/// The whole run must end within this; the test stops it after.
const RUN_LIMIT: Duration = Duration::from_secs(300);

fn schemathesis() -> Option<PathBuf> {
    let named = std::env::var_os("ROTA_SCHEMATHESIS").map(PathBuf::from);
    let local = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".venv-ci/bin/schemathesis");
    let found = named.or_else(|| local.is_file().then_some(local));
    let required = std::env::var_os("ROTA_REQUIRE_SCHEMATHESIS").is_some_and(|v| !v.is_empty() && v != "0");
    match found {
        Some(path) if path.is_file() => Some(path),
        other => {
            let note = format!(
                "schemathesis not found ({}): the API contract check did not run; \
                 install it with `python3 -m venv .venv-ci && .venv-ci/bin/pip install -r tests/schemathesis/requirements.txt`",
                other.map_or_else(|| "ROTA_SCHEMATHESIS is not set".into(), |p| p.display().to_string())
            );
            assert!(!required, "ROTA_REQUIRE_SCHEMATHESIS is set, but {note}");
            eprintln!("SKIPPED: {note}");
            None
        }
    }
}

/// What the seeded server offers the run, as `ROTA_ST_*` variables for
/// tests/schemathesis/schemathesis.toml.
struct Seeded {
    vars: Vec<(&'static str, String)>,
}

async fn ok(app: &TestApp, method: reqwest::Method, token: &str, path: &str, body: Value) -> Value {
    let (status, answer) = app.send_json(method.clone(), token, path, body).await;
    assert!(status.is_success(), "{method} {path}: {status} {answer}");
    answer
}

async fn seed() -> (TestApp, Seeded) {
    // A Wednesday; the weekly rotation hands over on Tuesdays at 10:00.
    let f = fixture(t("2026-03-04T12:00:00Z"), "Europe/London", "2026-01-06", 4).await;
    let app = f.app;
    let admin = app.user("admin@example.com", "Ada Admin", "Europe/London", true).await;
    app.add(&f.team, &admin, TeamRole::Manager).await;
    let token = app.token(&admin).await;
    // Someone outside the rotation, for the member routes to add and remove.
    let extra = app.user("extra@example.com", "Eli Extra", "Europe/London", false).await;
    app.add(&f.team, &extra, TeamRole::Member).await;
    let post = reqwest::Method::POST;
    let put = reqwest::Method::PUT;

    // A page in the small hours, which earns its responder a recovery day.
    let page = ok(
        &app,
        post.clone(),
        &token,
        "/api/v1/teams/platform/pages",
        json!({"dedup_key": "disk-full", "summary": "Disk full on db-1",
               "fired_at": "2026-03-03T02:00:00Z", "acknowledged_at": "2026-03-03T02:03:00Z",
               "resolved_at": "2026-03-03T03:30:00Z", "responder_email": f.members[0].email}),
    )
    .await;
    let (_, days) = app.get_json(&token, "/api/v1/teams/platform/recovery-days").await;
    let recovery_day = days[0]["id"]
        .as_i64()
        .unwrap_or_else(|| panic!("a recovery day: {days}"));

    // A cover request for a member's shift a few weeks on.
    let member = &f.members[1];
    let member_token = app.token(member).await;
    let (_, shifts) = app
        .get_json(
            &member_token,
            "/api/v1/teams/platform/shifts?from=2026-03-17T10:00:00Z&to=2026-05-01T00:00:00Z",
        )
        .await;
    let shift = shifts
        .as_array()
        .and_then(|s| s.iter().find(|s| s["email"] == member.email.as_str()))
        .unwrap_or_else(|| panic!("a shift of {}: {shifts}", member.email))["id"]
        .clone();
    let swap = ok(
        &app,
        post.clone(),
        &member_token,
        "/api/v1/teams/platform/swaps",
        json!({"shift_id": shift, "note": "Away that week"}),
    )
    .await;

    // The handoff into next week, written; a holiday; leave; two
    // integration tokens (one for the hooks, one for the revoke route).
    let handoff_date = "2026-03-03";
    ok(
        &app,
        put.clone(),
        &token,
        &format!("/api/v1/teams/platform/rotations/weekly/handoffs/{handoff_date}"),
        json!({"body": "All quiet; db-1 disk was cleaned.", "submit": true}),
    )
    .await;
    let holiday_date = "2026-12-25";
    ok(
        &app,
        put.clone(),
        &token,
        &format!("/api/v1/teams/platform/holidays/{holiday_date}"),
        json!({"name": "Christmas Day"}),
    )
    .await;
    let leave_date = "2026-06-01";
    ok(
        &app,
        put,
        &token,
        &format!("/api/v1/me/leave/{leave_date}"),
        json!({"end_date": "2026-06-05"}),
    )
    .await;
    let hooks = ok(
        &app,
        post.clone(),
        &token,
        "/api/v1/teams/platform/integration-tokens",
        json!({"label": "alertmanager"}),
    )
    .await;
    let spare = ok(
        &app,
        post,
        &token,
        "/api/v1/teams/platform/integration-tokens",
        json!({"label": "spare"}),
    )
    .await;

    let text = |v: &Value| v.as_str().map_or_else(|| v.to_string(), str::to_owned);
    let vars = vec![
        ("ROTA_ST_TOKEN", token),
        ("ROTA_ST_TEAM", "platform".into()),
        ("ROTA_ST_ROTATION", "weekly".into()),
        ("ROTA_ST_MEMBER", extra.email),
        ("ROTA_ST_PAGE", text(&page["id"])),
        ("ROTA_ST_RECOVERY_DAY", recovery_day.to_string()),
        ("ROTA_ST_SWAP", text(&swap["id"])),
        ("ROTA_ST_HANDOFF_DATE", handoff_date.into()),
        ("ROTA_ST_HOLIDAY_DATE", holiday_date.into()),
        ("ROTA_ST_LEAVE_DATE", leave_date.into()),
        ("ROTA_ST_INTEGRATION_TOKEN", text(&hooks["token"])),
        ("ROTA_ST_INTEGRATION_ID", text(&spare["id"])),
    ];
    (app, Seeded { vars })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_operation_answers_as_the_openapi_document_says() {
    let Some(program) = schemathesis() else { return };
    let (app, seeded) = seed().await;
    let (status, _) = app.get_json("", "/api/v1/openapi.json").await;
    assert_eq!(status, StatusCode::OK, "the document is served");

    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/schemathesis");
    // Its own working folder, so nothing it writes lands in the checkout.
    let work = std::env::temp_dir().join(format!("rota-schemathesis-{}", std::process::id()));
    std::fs::create_dir_all(&work).expect("a working folder");
    let mut command = tokio::process::Command::new(&program);
    command
        .arg("--config-file")
        .arg(dir.join("schemathesis.toml"))
        .arg("run")
        .arg(app.url("/api/v1/openapi.json"))
        .args(["--workers", "1", "--seed", "20261202", "--no-color"])
        .current_dir(&work)
        .envs(seeded.vars.iter().map(|(k, v)| (*k, v.as_str())))
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let started = Instant::now();
    let child = command.spawn().expect("schemathesis starts");
    let output = match tokio::time::timeout(RUN_LIMIT, child.wait_with_output()).await {
        Ok(output) => output.expect("schemathesis runs"),
        // Dropping the future drops the child, which kills it.
        Err(_) => panic!("schemathesis did not finish within {RUN_LIMIT:?}; it was stopped"),
    };
    let _ = std::fs::remove_dir_all(&work);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let summary = stdout
        .lines()
        .filter(|l| l.contains("generated") || l.contains(" in ") && l.contains('='))
        .collect::<Vec<_>>()
        .join("\n");
    eprintln!(
        "schemathesis ({}) took {:.0?}:\n{summary}",
        program.display(),
        started.elapsed()
    );
    assert!(
        output.status.success(),
        "the server and /api/v1/openapi.json disagree (schemathesis exit {}):\n{stdout}\n{stderr}",
        output.status
    );
}

/// JSON, and the document's `integer`, do not tell 90 from 90.0; the
/// contract check sends both (it found 422s for `90.0` before).
#[tokio::test]
async fn an_integer_field_takes_a_whole_number_written_with_a_decimal_point() {
    let f = fixture(t("2026-03-04T12:00:00Z"), "Europe/London", "2026-01-06", 2).await;
    let (status, body) = f
        .app
        .patch_json(
            &f.manager_token,
            "/api/v1/teams/platform/policy",
            json!({"day_threshold_minutes": 90.0}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["day_threshold_minutes"], 90);
    let (status, body) = f
        .app
        .patch_json(
            &f.manager_token,
            "/api/v1/teams/platform/policy",
            json!({"day_threshold_minutes": 90.5}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("day_threshold_minutes")),
        "the message names the field: {body}"
    );
}
