//! One handoff: what it says, who hands over to whom and when, the editor
//! for the outgoing on-call, the acknowledgement for the incoming, and the
//! versions kept after submission.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use tower_sessions::Session;

use super::{deadline, title, when};
use crate::auth::csrf::{CsrfForm, NoFields};
use crate::auth::{TeamMember, WebUser};
use crate::db;
use crate::domain::handoff::{Person, State as HandoffState};
use crate::domain::markdown::{MAX_BYTES, to_html};
use crate::error::{AppError, AppResult, Given};
use crate::ops::handoffs::{self as ops, Draft};
use crate::state::AppState;
use crate::web::fmt;
use crate::web::layout::{Layout, fixable, flash, render_with};

type HandoffPath = Path<(String, String, String)>;

pub struct Row {
    pub label: &'static str,
    pub value: String,
}

pub struct VersionLine {
    pub number: i32,
    pub by: String,
    pub at: String,
}

#[derive(Template)]
#[template(path = "team/handoff.html")]
struct HandoffPage {
    layout: Layout,
    team_name: String,
    team_slug: String,
    title: String,
    path: String,
    rota_date: String,
    status: &'static str,
    status_label: &'static str,
    facts: Vec<Row>,
    error: Option<String>,
    html: String,
    has_text: bool,
    can_write: bool,
    can_submit: bool,
    submitted: bool,
    can_acknowledge: bool,
    not_open_yet: Option<String>,
    body: String,
    revision: i32,
    max_kib: usize,
    versions: Vec<VersionLine>,
}

/// What the writer sent, kept when the page comes back with a message.
pub struct Unsaved {
    pub body: String,
    pub revision: Option<i32>,
}

fn name_of(p: &Option<Person>) -> String {
    p.as_ref().map_or_else(|| "nobody".to_owned(), |p| p.name.clone())
}

#[allow(clippy::too_many_arguments)]
async fn handoff_page(
    state: &AppState,
    session: &Session,
    member: &TeamMember<WebUser>,
    rotation: &str,
    date: &str,
    unsaved: Option<Unsaved>,
    error: Option<String>,
    status: StatusCode,
) -> AppResult<Response> {
    let date = Given::Path.date(date)?;
    let user = member.user();
    let tz = user.tz();
    let now = state.clock.now();
    let team = &member.team;
    let mut conn = state.db.acquire().await?;
    let h = ops::find(&mut conn, team, rotation, date).await?;
    let writer = h.people.writer(user.id, member.is_manager());
    let open = now >= h.timing.opens_at;
    let submitted = h.submitted_at().is_some();
    let can_write = open && writer.is_some();
    let can_submit = can_write && !submitted && writer.is_some_and(|w| w.may_submit());
    let can_acknowledge =
        submitted && h.people.incoming_role(user.id).is_some() && h.acknowledged_by(user.id).is_none();
    let (body, revision) = match unsaved {
        Some(u) => (u.body, u.revision.unwrap_or(0)),
        None if h.state() == HandoffState::NotStarted && can_write => (ops::template(&mut conn, team, &h).await?, 0),
        None => (h.body().to_owned(), h.stored.as_ref().map_or(0, |s| s.revision)),
    };
    let versions = match &h.stored {
        Some(s) => db::handoffs::versions(&mut conn, s.id, false).await?,
        None => Vec::new(),
    };
    drop(conn);

    let p = &h.people;
    let mut facts = vec![
        Row {
            label: "Handoff",
            value: format!(
                "{} ({})",
                when(h.timing.due_at, tz),
                fmt::relative(h.timing.due_at, now)
            ),
        },
        Row {
            label: "Outgoing",
            value: format!(
                "{} (primary), {} (secondary)",
                name_of(&p.outgoing_primary),
                name_of(&p.outgoing_secondary)
            ),
        },
        Row {
            label: "Incoming",
            value: format!(
                "{} (primary), {} (secondary)",
                name_of(&p.incoming_primary),
                name_of(&p.incoming_secondary)
            ),
        },
    ];
    if h.timing.recovering {
        facts.push(Row {
            label: "Overdue after",
            value: format!(
                "{}: {} has a recovery day on the handoff day",
                deadline(h.timing.overdue_at, tz),
                name_of(&p.outgoing_primary)
            ),
        });
    }
    if let Some(s) = h.stored.as_ref().filter(|s| s.submitted_at.is_some()) {
        facts.push(Row {
            label: "Submitted",
            value: format!(
                "{} by {}",
                s.submitted_at.map(|at| when(at, tz)).unwrap_or_default(),
                s.submitted_by_name.clone().unwrap_or_default()
            ),
        });
    }
    facts.push(Row {
        label: "Acknowledged",
        value: if h.acknowledgements.is_empty() {
            "not yet".into()
        } else {
            h.acknowledgements
                .iter()
                .map(|a| format!("{} ({}), {}", a.name, a.role, when(a.acknowledged_at, tz)))
                .collect::<Vec<_>>()
                .join("; ")
        },
    });
    let status_now = h.status(now);
    let layout = Layout::new(state, session, format!("Handoff: {}", title(&h)), Some(user)).await?;
    let page = HandoffPage {
        layout,
        team_name: team.name.clone(),
        team_slug: team.slug.clone(),
        title: title(&h),
        path: h.path(&team.slug),
        rota_date: h.boundary.week_start.to_string(),
        status: status_now.as_str(),
        status_label: status_now.label(),
        facts,
        error,
        html: to_html(h.body()),
        has_text: !h.body().trim().is_empty(),
        can_write,
        can_submit,
        submitted,
        can_acknowledge,
        not_open_yet: (!open && writer.is_some()).then(|| {
            format!(
                "You can write this handoff from {}, a day before the handoff.",
                when(h.timing.opens_at, tz)
            )
        }),
        body,
        revision,
        max_kib: MAX_BYTES / 1024,
        versions: versions
            .into_iter()
            .map(|v| VersionLine {
                number: v.number,
                by: v.author_name.unwrap_or_default(),
                at: when(v.saved_at, tz),
            })
            .collect(),
    };
    Ok(render_with(status, &page))
}

pub async fn show_handoff(
    State(state): State<AppState>,
    session: Session,
    Path((_, rotation, date)): HandoffPath,
    member: TeamMember<WebUser>,
) -> AppResult<Response> {
    handoff_page(&state, &session, &member, &rotation, &date, None, None, StatusCode::OK).await
}

#[derive(Deserialize)]
pub struct HandoffForm {
    body: String,
    /// `submit` from the submit button; a draft otherwise.
    action: Option<String>,
    revision: Option<String>,
}

pub async fn save_handoff(
    State(state): State<AppState>,
    session: Session,
    Path((_, rotation, date)): HandoffPath,
    member: TeamMember<WebUser>,
    CsrfForm(form): CsrfForm<HandoffForm>,
) -> AppResult<Response> {
    // Browsers send CRLF line ends; keep what was typed, not the transport.
    let body = form.body.replace("\r\n", "\n");
    let draft = Draft {
        body,
        submit: form.action.as_deref() == Some("submit"),
        expected_revision: form.revision.as_deref().and_then(|r| r.trim().parse().ok()),
    };
    let result = async {
        let date = Given::Path.date(&date)?;
        let mut tx = state.db.begin().await?;
        let h = ops::find(&mut tx, &member.team, &rotation, date).await?;
        let saved = ops::save(
            &mut tx,
            &member.team,
            &h,
            member.user(),
            member.is_manager(),
            &draft,
            state.clock.now(),
            &state.settings.base_url,
        )
        .await?;
        tx.commit().await?;
        Ok::<_, AppError>((h, saved))
    }
    .await;
    match result {
        Ok((h, saved)) => {
            let message = if saved.submitted_now {
                let incoming: Vec<&str> = h.people.incoming().map(|(p, _)| p.name.as_str()).collect();
                format!(
                    "Handoff submitted. It shows on “Now” for {} to read and acknowledge",
                    if incoming.is_empty() {
                        "the incoming on-call".to_owned()
                    } else {
                        incoming.join(" and ")
                    }
                )
            } else if let Some(n) = saved.version {
                format!("Saved as version {n}")
            } else {
                "Draft saved; submit it when it is ready".into()
            };
            flash(&session, message).await;
            Ok(Redirect::to(&h.path(&member.team.slug)).into_response())
        }
        Err(e) => {
            let shown = match &e {
                AppError::PayloadTooLarge(m) => Some((e.status(), m.clone())),
                other => fixable(other),
            };
            match shown {
                Some((status, msg)) => {
                    let unsaved = Unsaved {
                        body: draft.body,
                        revision: draft.expected_revision,
                    };
                    handoff_page(
                        &state,
                        &session,
                        &member,
                        &rotation,
                        &date,
                        Some(unsaved),
                        Some(msg),
                        status,
                    )
                    .await
                }
                None => Err(e),
            }
        }
    }
}

pub async fn acknowledge_handoff(
    State(state): State<AppState>,
    session: Session,
    Path((_, rotation, date)): HandoffPath,
    member: TeamMember<WebUser>,
    CsrfForm(_): CsrfForm<NoFields>,
) -> AppResult<Response> {
    let result = async {
        let day = Given::Path.date(&date)?;
        let mut tx = state.db.begin().await?;
        let h = ops::find(&mut tx, &member.team, &rotation, day).await?;
        ops::acknowledge(&mut tx, &member.team, &h, member.user(), state.clock.now()).await?;
        tx.commit().await?;
        Ok::<_, AppError>(h)
    }
    .await;
    match result {
        Ok(h) => {
            flash(&session, format!("You acknowledged the handoff for {}", title(&h))).await;
            Ok(Redirect::to(&h.path(&member.team.slug)).into_response())
        }
        Err(e) => match fixable(&e) {
            Some((status, msg)) => {
                handoff_page(&state, &session, &member, &rotation, &date, None, Some(msg), status).await
            }
            None => Err(e),
        },
    }
}

#[derive(Template)]
#[template(path = "team/handoff_version.html")]
struct VersionPage {
    layout: Layout,
    title: String,
    path: String,
    number: i32,
    by: String,
    at: String,
    html: String,
}

pub async fn show_version(
    State(state): State<AppState>,
    session: Session,
    Path((_, rotation, date, number)): Path<(String, String, String, i32)>,
    member: TeamMember<WebUser>,
) -> AppResult<Response> {
    let day = Given::Path.date(&date)?;
    let mut conn = state.db.acquire().await?;
    let (h, v) = ops::version(&mut conn, &member.team, &rotation, day, number).await?;
    drop(conn);
    let layout = Layout::new(
        &state,
        &session,
        format!("Version {number}: {}", title(&h)),
        Some(member.user()),
    )
    .await?;
    Ok(render_with(
        StatusCode::OK,
        &VersionPage {
            layout,
            title: title(&h),
            path: h.path(&member.team.slug),
            number,
            by: v.author_name.unwrap_or_default(),
            at: when(v.saved_at, member.user().tz()),
            html: to_html(&v.body),
        },
    ))
}
