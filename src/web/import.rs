//! `/admin/import`: an admin brings a schedule over from PagerDuty,
//! Opsgenie or Grafana OnCall, pasting or uploading the JSON. "Preview"
//! is a dry run; "Import" applies it. Works without JavaScript.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use tower_sessions::Session;

use crate::auth::csrf::CsrfUpload;
use crate::auth::{Admin, WebUser};
use crate::db;
use crate::db::users::User;
use crate::domain::import::Vendor;
use crate::error::{AppError, AppResult};
use crate::ops::import::{self, Refusal, Report, Request};
use crate::ops::invitations::{self, Inviter};
use crate::state::AppState;
use crate::web::forms::Choice;
use crate::web::layout::{Layout, render_with};

pub fn router() -> Router<AppState> {
    Router::new().route("/admin/import", get(show_import).post(import_schedule))
}

#[derive(Template)]
#[template(path = "admin/import.html")]
struct ImportPage {
    layout: Layout,
    vendors: Vec<Choice>,
    teams: Vec<Choice>,
    rotation: String,
    json: String,
    merge: bool,
    /// A refusal: its sentence, then a line for each problem.
    refusal: Vec<String>,
    report: Option<ReportView>,
}

/// The report as the page shows it.
struct ReportView {
    heading: String,
    summary: String,
    handoff: String,
    people: Vec<PersonRow>,
    shifts: Vec<[String; 4]>,
    overrides: Vec<[String; 5]>,
    unmapped: Vec<String>,
    notes: Vec<String>,
    invitations: Vec<(String, Option<String>)>,
}

struct PersonRow {
    place: String,
    email: String,
    name: String,
    how: &'static str,
}

/// What the form sent, to show it again.
#[derive(Default)]
struct Sent {
    vendor: String,
    team: String,
    rotation: String,
    json: String,
    merge: bool,
}

async fn page(
    state: &AppState,
    session: &Session,
    me: &User,
    sent: Sent,
    outcome: (Vec<String>, Option<ReportView>),
    status: StatusCode,
) -> AppResult<Response> {
    let mut conn = state.db.acquire().await?;
    let teams = db::teams::all(&mut conn).await?;
    drop(conn);
    let layout = Layout::new(state, session, "Import a schedule", Some(me)).await?;
    let vendors = Vendor::ALL
        .iter()
        .map(|v| Choice {
            value: v.as_str().into(),
            label: v.label().into(),
            selected: sent.vendor == v.as_str(),
        })
        .collect();
    let teams = teams
        .into_iter()
        .map(|t| Choice {
            selected: sent.team == t.slug,
            label: format!("{} ({})", t.name, t.slug),
            value: t.slug,
        })
        .collect();
    let (refusal, report) = outcome;
    Ok(render_with(
        status,
        &ImportPage {
            layout,
            vendors,
            teams,
            rotation: sent.rotation,
            json: sent.json,
            merge: sent.merge,
            refusal,
            report,
        },
    ))
}

async fn show_import(
    State(state): State<AppState>,
    session: Session,
    Admin(WebUser(me)): Admin<WebUser>,
) -> AppResult<Response> {
    page(
        &state,
        &session,
        &me,
        Sent::default(),
        (Vec::new(), None),
        StatusCode::OK,
    )
    .await
}

async fn import_schedule(
    State(state): State<AppState>,
    session: Session,
    Admin(WebUser(me)): Admin<WebUser>,
    upload: CsrfUpload,
) -> AppResult<Response> {
    let field = |name: &str| upload.field(name).unwrap_or_default().trim().to_owned();
    let mut sent = Sent {
        vendor: field("vendor"),
        team: field("team"),
        rotation: field("rotation"),
        json: upload.field("json").unwrap_or_default().to_owned(),
        merge: upload.field("merge").is_some(),
    };
    let refuse = |lines: Vec<String>| (lines, None);
    if upload.too_large {
        let why = "That file is over 1 MiB, more than Rota accepts here; leave out the users no rotation names, \
                   or use the command line (rota import), which has no limit"
            .to_owned();
        return page(
            &state,
            &session,
            &me,
            sent,
            refuse(vec![why]),
            StatusCode::PAYLOAD_TOO_LARGE,
        )
        .await;
    }
    let Some(vendor) = Vendor::parse(&sent.vendor) else {
        let why = "Choose the tool the schedule comes from".to_owned();
        return page(
            &state,
            &session,
            &me,
            sent,
            refuse(vec![why]),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    };
    if !upload.file.is_empty() {
        match String::from_utf8(upload.file.clone()) {
            Ok(text) => sent.json = text,
            Err(_) => {
                let why = "That file is not text in UTF-8, so not the JSON the API returns; save the response as it came and upload that".to_owned();
                return page(
                    &state,
                    &session,
                    &me,
                    sent,
                    refuse(vec![why]),
                    StatusCode::UNPROCESSABLE_ENTITY,
                )
                .await;
            }
        }
    }
    if sent.json.trim().is_empty() {
        let why = "Paste the JSON, or choose the file, to import".to_owned();
        return page(
            &state,
            &session,
            &me,
            sent,
            refuse(vec![why]),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    let dry_run = upload.field("action") != Some("import");
    let request = Request {
        vendor,
        text: &sent.json,
        team: &sent.team,
        rotation: Some(sent.rotation.as_str()).filter(|r| !r.is_empty()),
        merge: sent.merge,
        dry_run,
    };
    let mut tx = state.db.begin().await?;
    let report = match import::run(&mut tx, Inviter::Person(&me), &request, state.clock.now()).await {
        Ok(report) => report,
        Err(refusal) => {
            drop(tx);
            let status = refusal.status();
            if let Refusal::Other(e @ (AppError::Internal(_) | AppError::Unavailable)) = refusal {
                return Err(e);
            }
            return page(&state, &session, &me, sent, refuse(refusal.lines()), status).await;
        }
    };
    tx.commit().await?;
    let view = view(&state, &report).await;
    // After a real import, the form starts afresh.
    if !dry_run {
        sent.json.clear();
    }
    page(&state, &session, &me, sent, (Vec::new(), Some(view)), StatusCode::OK).await
}

async fn view(state: &AppState, r: &Report) -> ReportView {
    let tz = r.plan.tz;
    let at = |t| crate::web::fmt::local_with_year(t, tz);
    let people = r
        .people
        .iter()
        .map(|j| PersonRow {
            place: r
                .plan
                .participants
                .iter()
                .position(|e| *e == j.user.email)
                .map_or_else(|| "not in the rotation".into(), |i| (i + 1).to_string()),
            email: j.user.email.clone(),
            name: j.user.name.clone(),
            how: j.how.words(),
        })
        .collect();
    let mut invitations = Vec::new();
    for issued in &r.invitations {
        let link = invitations::link(&state.settings.base_url, &issued.token);
        let delivery = invitations::deliver(state.mailer.as_deref(), &issued.invitation, &link).await;
        invitations.push((issued.invitation.email.clone(), delivery.shows_link().then_some(link)));
    }
    ReportView {
        heading: if r.dry_run {
            "Preview: nothing has changed yet".into()
        } else {
            "Imported".into()
        },
        summary: format!(
            "{} schedule “{}” {} the rotation {} ({}) of {}.",
            r.plan.vendor.label(),
            r.plan.schedule_name,
            match (r.dry_run, r.merged) {
                (true, false) => "would become",
                (true, true) => "would be merged into",
                (false, false) => "became",
                (false, true) => "was merged into",
            },
            r.rotation_name,
            r.rotation_slug,
            r.team.name
        ),
        handoff: format!(
            "Hands over each {}; Rota's weeks begin {}.",
            r.plan.handoff(),
            at(r.effective_from)
        ),
        people,
        shifts: r
            .shifts
            .iter()
            .map(|s| {
                [
                    at(s.starts_at),
                    at(s.ends_at),
                    s.role.as_str().into(),
                    format!("{} ({})", s.name, s.email),
                ]
            })
            .collect(),
        overrides: r
            .overrides
            .iter()
            .map(|o| {
                let p = &o.planned;
                [
                    format!("{} ({})", p.email, p.path),
                    p.role.as_str().into(),
                    at(p.starts_at),
                    at(p.ends_at),
                    o.skipped
                        .as_deref()
                        .map_or("applied".into(), |why| format!("not applied: {why}")),
                ]
            })
            .collect(),
        unmapped: r.plan.unmapped.clone(),
        notes: r.plan.notes.clone(),
        invitations,
    }
}
