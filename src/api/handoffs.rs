//! Handoffs through the API: list and search, one handoff, writing or
//! submitting it, acknowledging it, its versions, and the team's chat
//! webhook.

use axum::Json;
use axum::extract::{Path, State};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use sqlx::PgConnection;

use crate::api::json::{ApiJson, ApiQuery};
use crate::auth::{ApiUser, TeamMember};
use crate::db;
use crate::db::teams::Team;
use crate::domain::handoff::{Person, State as HandoffState, Status};
use crate::domain::markdown::to_html;
use crate::domain::validate;
use crate::error::{AppError, AppResult, ErrorBody, Given};
use crate::ops::handoffs::{self as ops, Draft, Handoff};
use crate::state::AppState;

#[derive(Serialize, utoipa::ToSchema)]
pub struct PersonRef {
    pub email: String,
    pub name: String,
}

fn person(p: &Option<Person>) -> Option<PersonRef> {
    p.as_ref().map(|p| PersonRef {
        email: p.email.clone(),
        name: p.name.clone(),
    })
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct AcknowledgementInfo {
    pub email: String,
    pub name: String,
    /// The role they took over: `primary` or `secondary`.
    pub role: String,
    pub acknowledged_at: DateTime<Utc>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct VersionSummary {
    pub number: i32,
    pub author_email: Option<String>,
    pub saved_at: DateTime<Utc>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct HandoffInfo {
    /// The rotation's slug.
    pub rotation: String,
    /// The incoming week's first date, in the rotation's zone.
    pub week_start: NaiveDate,
    /// The handoff instant: the outgoing week ends, the incoming one starts.
    pub handoff_at: DateTime<Utc>,
    /// `not_started`, `draft`, `submitted` or `acknowledged` (by the
    /// incoming primary).
    pub state: String,
    /// The state with the clock applied: `upcoming`, `open`, `draft`,
    /// `overdue`, `missed` (never submitted, and past chasing: the next
    /// handoff is due, or the rotation did not exist yet), `submitted` or
    /// `acknowledged`.
    pub status: String,
    /// Markdown, as written.
    pub body: String,
    /// The body as sanitised HTML, safe to show as it is.
    pub html: String,
    /// Who saved it last.
    pub author_email: Option<String>,
    pub submitted_at: Option<DateTime<Utc>>,
    pub submitted_by_email: Option<String>,
    pub acknowledgements: Vec<AcknowledgementInfo>,
    pub opens_at: DateTime<Utc>,
    pub due_at: DateTime<Utc>,
    /// Later than `due_at` when the outgoing primary has a recovery day on
    /// the handoff day: the end of their next working day.
    pub overdue_at: DateTime<Utc>,
    pub outgoing_primary: Option<PersonRef>,
    pub outgoing_secondary: Option<PersonRef>,
    pub incoming_primary: Option<PersonRef>,
    pub incoming_secondary: Option<PersonRef>,
    /// Counts saves; send it back as `expected_revision` to refuse a save
    /// over someone else's newer one.
    pub revision: i32,
    /// Versions kept since submission, newest first.
    pub versions: Vec<VersionSummary>,
    /// For a handoff nobody has started: the text the editor starts from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub template: Option<String>,
    /// The handoff's page.
    pub url: String,
}

async fn info(
    conn: &mut PgConnection,
    team: &Team,
    h: &Handoff,
    now: DateTime<Utc>,
    base_url: &str,
) -> AppResult<HandoffInfo> {
    let state = h.state();
    let versions = match &h.stored {
        Some(s) => db::handoffs::versions(conn, s.id, false).await?,
        None => Vec::new(),
    };
    let template = match state {
        HandoffState::NotStarted => Some(ops::template(conn, team, h).await?),
        _ => None,
    };
    let stored = h.stored.as_ref();
    Ok(HandoffInfo {
        rotation: h.rotation_slug.clone(),
        week_start: h.boundary.week_start,
        handoff_at: h.boundary.at,
        state: state.as_str().into(),
        status: h.status(now).as_str().into(),
        body: h.body().to_owned(),
        html: to_html(h.body()),
        author_email: stored.and_then(|s| s.author_email.clone()),
        submitted_at: h.submitted_at(),
        submitted_by_email: stored.and_then(|s| s.submitted_by_email.clone()),
        acknowledgements: h
            .acknowledgements
            .iter()
            .map(|a| AcknowledgementInfo {
                email: a.email.clone(),
                name: a.name.clone(),
                role: a.role.as_str().to_owned(),
                acknowledged_at: a.acknowledged_at,
            })
            .collect(),
        opens_at: h.timing.opens_at,
        due_at: h.timing.due_at,
        overdue_at: h.timing.overdue_at,
        outgoing_primary: person(&h.people.outgoing_primary),
        outgoing_secondary: person(&h.people.outgoing_secondary),
        incoming_primary: person(&h.people.incoming_primary),
        incoming_secondary: person(&h.people.incoming_secondary),
        revision: stored.map_or(0, |s| s.revision),
        versions: versions
            .into_iter()
            .map(|v| VersionSummary {
                number: v.number,
                author_email: v.author_email,
                saved_at: v.saved_at,
            })
            .collect(),
        template,
        url: format!("{}{}", base_url.trim_end_matches('/'), h.path(&team.slug)),
    })
}

type HandoffPath = Path<(String, String, String)>;

#[utoipa::path(
    get,
    path = "/teams/{team}/rotations/{rotation}/handoffs/{date}",
    tag = "handoffs",
    security(("bearer" = [])),
    params(
        ("team" = String, Path, description = "The team's slug"),
        ("rotation" = String, Path, description = "The rotation's slug"),
        ("date" = String, Path, description = "The incoming week's first date (YYYY-MM-DD, the rotation's zone)"),
    ),
    responses(
        (status = 200, description = "The handoff, written or not", body = HandoffInfo),
        (status = 400, description = "Not a date", body = ErrorBody),
        (status = 404, description = "No such team, rotation or handoff day, or the caller is not a member", body = ErrorBody),
    )
)]
pub async fn show_handoff(
    State(state): State<AppState>,
    member: TeamMember<ApiUser>,
    Path((_team, rotation, date)): HandoffPath,
) -> AppResult<Json<HandoffInfo>> {
    let date = Given::Path.date(&date)?;
    let mut conn = state.db.acquire().await?;
    let h = ops::find(&mut conn, &member.team, &rotation, date).await?;
    let info = info(&mut conn, &member.team, &h, state.clock.now(), &state.settings.base_url).await?;
    Ok(Json(info))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct HandoffBody {
    /// Markdown, at most 64 KiB.
    pub body: String,
    /// Submit it (the outgoing primary or a manager); otherwise it is saved
    /// as a draft, or as a new version once submitted.
    #[serde(default)]
    pub submit: bool,
    /// The `revision` the text was based on: when someone has saved since,
    /// the call answers 409 instead of overwriting their work.
    pub expected_revision: Option<i32>,
}

#[utoipa::path(
    put,
    path = "/teams/{team}/rotations/{rotation}/handoffs/{date}",
    tag = "handoffs",
    security(("bearer" = [])),
    params(
        ("team" = String, Path, description = "The team's slug"),
        ("rotation" = String, Path, description = "The rotation's slug"),
        ("date" = String, Path, description = "The incoming week's first date (YYYY-MM-DD, the rotation's zone)"),
    ),
    request_body = HandoffBody,
    responses(
        (status = 200, description = "Saved (and submitted, when asked)", body = HandoffInfo),
        (status = 400, description = "Not a date between 2000 and 2100 (YYYY-MM-DD)", body = ErrorBody),
        (status = 403, description = "Not the outgoing on-call or a manager; or the outgoing secondary submitting", body = ErrorBody),
        (status = 404, description = "No such team, rotation or handoff day", body = ErrorBody),
        (status = 409, description = "Not open yet, or saved by someone else since `expected_revision`", body = ErrorBody),
        (status = 413, description = "Over 64 KiB", body = ErrorBody),
        (status = 422, description = "Submitting an empty handoff", body = ErrorBody),
    )
)]
pub async fn put_handoff(
    State(state): State<AppState>,
    member: TeamMember<ApiUser>,
    Path((_team, rotation, date)): HandoffPath,
    ApiJson(body): ApiJson<HandoffBody>,
) -> AppResult<Json<HandoffInfo>> {
    let date = Given::Path.date(&date)?;
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let h = ops::find(&mut tx, &member.team, &rotation, date).await?;
    let draft = Draft {
        body: body.body,
        submit: body.submit,
        expected_revision: body.expected_revision,
    };
    ops::save(
        &mut tx,
        &member.team,
        &h,
        member.user(),
        member.is_manager(),
        &draft,
        now,
        &state.settings.base_url,
    )
    .await?;
    let h = ops::find(&mut tx, &member.team, &rotation, date).await?;
    let info = info(&mut tx, &member.team, &h, now, &state.settings.base_url).await?;
    tx.commit().await?;
    Ok(Json(info))
}

#[utoipa::path(
    post,
    path = "/teams/{team}/rotations/{rotation}/handoffs/{date}/acknowledge",
    tag = "handoffs",
    security(("bearer" = [])),
    params(
        ("team" = String, Path, description = "The team's slug"),
        ("rotation" = String, Path, description = "The rotation's slug"),
        ("date" = String, Path, description = "The incoming week's first date (YYYY-MM-DD, the rotation's zone)"),
    ),
    responses(
        (status = 200, description = "Acknowledged (again: the first time stands)", body = HandoffInfo),
        (status = 400, description = "Not a date between 2000 and 2100 (YYYY-MM-DD)", body = ErrorBody),
        (status = 403, description = "Not one of the incoming on-call", body = ErrorBody),
        (status = 404, description = "No such team, rotation or handoff day", body = ErrorBody),
        (status = 409, description = "Not submitted yet", body = ErrorBody),
    )
)]
pub async fn acknowledge_handoff(
    State(state): State<AppState>,
    member: TeamMember<ApiUser>,
    Path((_team, rotation, date)): HandoffPath,
) -> AppResult<Json<HandoffInfo>> {
    let date = Given::Path.date(&date)?;
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let h = ops::find(&mut tx, &member.team, &rotation, date).await?;
    ops::acknowledge(&mut tx, &member.team, &h, member.user(), now).await?;
    let h = ops::find(&mut tx, &member.team, &rotation, date).await?;
    let info = info(&mut tx, &member.team, &h, now, &state.settings.base_url).await?;
    tx.commit().await?;
    Ok(Json(info))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct VersionInfo {
    pub number: i32,
    pub body: String,
    pub html: String,
    pub author_email: Option<String>,
    pub saved_at: DateTime<Utc>,
}

#[utoipa::path(
    get,
    path = "/teams/{team}/rotations/{rotation}/handoffs/{date}/versions/{number}",
    tag = "handoffs",
    security(("bearer" = [])),
    params(
        ("team" = String, Path, description = "The team's slug"),
        ("rotation" = String, Path, description = "The rotation's slug"),
        ("date" = String, Path, description = "The incoming week's first date (YYYY-MM-DD)"),
        ("number" = i32, Path, description = "1 is the text as submitted; each later edit adds one"),
    ),
    responses(
        (status = 200, description = "That version", body = VersionInfo),
        (status = 400, description = "Not a date between 2000 and 2100 (YYYY-MM-DD)", body = ErrorBody),
        (status = 404, description = "No such version", body = ErrorBody),
    )
)]
pub async fn show_version(
    State(state): State<AppState>,
    member: TeamMember<ApiUser>,
    Path((_team, rotation, date, number)): Path<(String, String, String, i32)>,
) -> AppResult<Json<VersionInfo>> {
    let date = Given::Path.date(&date)?;
    let mut conn = state.db.acquire().await?;
    let (_, v) = ops::version(&mut conn, &member.team, &rotation, date, number).await?;
    Ok(Json(VersionInfo {
        number: v.number,
        html: to_html(&v.body),
        body: v.body,
        author_email: v.author_email,
        saved_at: v.saved_at,
    }))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HandoffQuery {
    /// Words to search for in all the team's handoffs (web search syntax:
    /// "a phrase", -without, or). Results are ranked; `from` and `to` do
    /// not apply.
    pub q: Option<String>,
    /// With `q`: how many matches, 1 to 50; 20 when absent.
    #[param(minimum = 1, maximum = 50)]
    pub limit: Option<i64>,
    /// RFC 3339; half a year before `to` when absent.
    #[serde(default, deserialize_with = "validate::de_opt_instant")]
    pub from: Option<DateTime<Utc>>,
    /// RFC 3339; the handoffs open now when absent.
    #[serde(default, deserialize_with = "validate::de_opt_instant")]
    pub to: Option<DateTime<Utc>>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct HandoffSummary {
    pub rotation: String,
    pub rotation_name: String,
    pub week_start: NaiveDate,
    pub handoff_at: DateTime<Utc>,
    /// `upcoming`, `open`, `draft`, `overdue`, `missed` (never submitted,
    /// and past chasing), `submitted` or `acknowledged`.
    pub status: String,
    pub author_email: Option<String>,
    pub submitted_at: Option<DateTime<Utc>>,
    /// When the incoming primary acknowledged it.
    pub acknowledged_at: Option<DateTime<Utc>>,
    pub overdue_at: DateTime<Utc>,
    /// The API address of the handoff.
    pub href: String,
    /// With `q`: a piece of the text with the matches in `<mark>`, the rest
    /// HTML-escaped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub snippet: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rank: Option<f32>,
}

fn summary(team: &Team, h: &Handoff, now: DateTime<Utc>) -> HandoffSummary {
    let status: Status = h.status(now);
    HandoffSummary {
        rotation: h.rotation_slug.clone(),
        rotation_name: h.rotation_name.clone(),
        week_start: h.boundary.week_start,
        handoff_at: h.boundary.at,
        status: status.as_str().into(),
        author_email: h.stored.as_ref().and_then(|s| s.author_email.clone()),
        submitted_at: h.submitted_at(),
        acknowledged_at: h.acknowledged_at(),
        overdue_at: h.timing.overdue_at,
        href: format!("{}{}", crate::api::PREFIX, h.path(&team.slug)),
        snippet: None,
        rank: None,
    }
}

/// The longest period one list covers.
const MAX_PERIOD_DAYS: i64 = 800;

#[utoipa::path(
    get,
    path = "/teams/{team}/handoffs",
    tag = "handoffs",
    security(("bearer" = [])),
    params(("team" = String, Path, description = "The team's slug"), HandoffQuery),
    responses(
        (status = 200, description = "Newest first; with `q`, the best matches (20, or `limit`), best first, each with a snippet", body = [HandoffSummary]),
        (status = 404, description = "No such team, or the caller is not a member", body = ErrorBody),
        (status = 422, description = "A period longer than 800 days or ending before it starts, or a limit out of 1–50", body = ErrorBody),
    )
)]
pub async fn list_handoffs(
    State(state): State<AppState>,
    member: TeamMember<ApiUser>,
    ApiQuery(q): ApiQuery<HandoffQuery>,
) -> AppResult<Json<Vec<HandoffSummary>>> {
    let now = state.clock.now();
    let team = &member.team;
    let mut conn = state.db.acquire().await?;
    if let Some(words) = q.q.as_deref().map(str::trim).filter(|w| !w.is_empty()) {
        let found = ops::search(&mut conn, team, words, q.limit.unwrap_or(ops::SEARCH_LIMIT)).await?;
        return Ok(Json(
            found
                .into_iter()
                .map(|f| HandoffSummary {
                    snippet: Some(f.snippet_html),
                    rank: Some(f.rank),
                    ..summary(team, &f.handoff, now)
                })
                .collect(),
        ));
    }
    let to = q.to.unwrap_or(now + Duration::days(2));
    let from = q.from.unwrap_or(to - Duration::days(183));
    if from >= to || to - from > Duration::days(MAX_PERIOD_DAYS) {
        return Err(AppError::Unprocessable(format!(
            "Ask for a period whose start (from) is before its end (to), at most {MAX_PERIOD_DAYS} days long"
        )));
    }
    let handoffs = ops::history(&mut conn, team, from, to, now).await?;
    Ok(Json(handoffs.iter().map(|h| summary(team, h, now)).collect()))
}

#[cfg(test)]
mod tests {
    use utoipa::OpenApi;

    #[test]
    fn the_handoff_calls_are_in_the_openapi_document() {
        let doc = serde_json::to_value(crate::api::ApiDoc::openapi()).expect("serialises");
        let one = "/api/v1/teams/{team}/rotations/{rotation}/handoffs/{date}";
        for (path, method) in [
            ("/api/v1/teams/{team}/handoffs", "get"),
            (one, "get"),
            (one, "put"),
            (
                "/api/v1/teams/{team}/rotations/{rotation}/handoffs/{date}/acknowledge",
                "post",
            ),
            (
                "/api/v1/teams/{team}/rotations/{rotation}/handoffs/{date}/versions/{number}",
                "get",
            ),
            ("/api/v1/teams/{team}/handoff-webhook", "put"),
        ] {
            assert!(doc["paths"][path][method].is_object(), "{method} {path} missing");
        }
        let info = &doc["components"]["schemas"]["HandoffInfo"]["properties"];
        for field in [
            "state",
            "body",
            "html",
            "author_email",
            "submitted_at",
            "acknowledgements",
        ] {
            assert!(info[field].is_object(), "HandoffInfo lacks {field}");
        }
        assert!(doc["components"]["schemas"]["HandoffSummary"]["properties"]["snippet"].is_object());
    }
}
