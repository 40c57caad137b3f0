//! One page: its details and, for its responder or a manager, the form
//! that corrects its times and the button that deletes it (after a page
//! saying what deleting does).

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::Deserialize;
use sqlx::PgConnection;
use tower_sessions::Session;

use super::respond::{TimelineRow, responded_by, timeline};
use super::{PageRow, datetime_local, parse_datetime_local};
use crate::auth::csrf::{CsrfForm, NoFields};
use crate::auth::{TeamMember, WebUser};
use crate::db;
use crate::db::pages::Page;
use crate::domain::schedule::local_to_instant;
use crate::error::{AppError, AppResult};
use crate::ops::classify::Classifier;
use crate::ops::pages::{Correction, correct, delete, may_change};
use crate::state::AppState;
use crate::web::confirm::{Confirm, confirm_page};
use crate::web::fmt;
use crate::web::layout::{Layout, fixable, flash, render_with};

/// The page's times as its correction form shows them (`datetime-local`).
pub struct TimesForm {
    pub fired_at: String,
    pub acknowledged_at: String,
    pub resolved_at: String,
    pub worked_until: String,
}

impl TimesForm {
    fn of(p: &Page, tz: Tz) -> Self {
        TimesForm {
            fired_at: datetime_local(Some(p.fired_at), tz),
            acknowledged_at: datetime_local(p.acknowledged_at, tz),
            resolved_at: datetime_local(p.resolved_at, tz),
            worked_until: datetime_local(p.worked_until, tz),
        }
    }
}

#[derive(Template)]
#[template(path = "team/page.html")]
struct PageView {
    layout: Layout,
    team_name: String,
    team_slug: String,
    zone: String,
    row: PageRow,
    severity: String,
    /// Only web links become links; anything else is shown as text.
    link: Option<String>,
    link_text: Option<String>,
    dedup_key: String,
    fired: String,
    acknowledged: String,
    resolved: String,
    worked_until: String,
    sla_minutes: Option<i32>,
    can_change: bool,
    form: TimesForm,
    error: Option<String>,
    /// Who acknowledged through Rota.
    acknowledged_by: Option<String>,
    /// Who resolved it in Rota (not the alerting tool).
    resolved_by: Option<String>,
    /// Firing still: the Acknowledge button shows.
    open: bool,
    /// Who was paged, when, how, and how it went.
    timeline: Vec<TimelineRow>,
}

/// The page `id` if it is the team's; otherwise 404, as for any page the
/// reader cannot see.
async fn team_page(conn: &mut PgConnection, member: &TeamMember<WebUser>, id: i64) -> AppResult<Page> {
    db::pages::by_id(conn, id)
        .await?
        .filter(|p| p.team_id == member.team.id)
        .ok_or_else(|| AppError::not_found("page"))
}

async fn page_view(
    state: &AppState,
    session: &Session,
    member: &TeamMember<WebUser>,
    id: i64,
    form: Option<TimesForm>,
    error: Option<String>,
    status: StatusCode,
) -> AppResult<Response> {
    let user = member.user();
    let tz = user.tz();
    let mut conn = state.db.acquire().await?;
    let page = team_page(&mut conn, member, id).await?;
    let can_change = match may_change(&mut conn, &page, user.id, user.is_admin).await {
        Ok(may) => may,
        Err(AppError::Forbidden(_)) => false,
        Err(e) => return Err(e),
    };
    let info = Classifier::for_team(&mut conn, &member.team).await?.info(&page);
    let when = |at: Option<DateTime<Utc>>| {
        at.map_or_else(
            || "—".to_owned(),
            |at| format!("{} {}", fmt::local_with_year(at, tz), fmt::zone_abbrev(at, tz)),
        )
    };
    let link = page
        .link
        .clone()
        .filter(|l| l.starts_with("https://") || l.starts_with("http://"));
    let timeline = timeline(&mut conn, page.id, tz).await?;
    let (acknowledged_by, resolved_by) = responded_by(&mut conn, page.id).await?;
    // No connection is held while the layout takes one of its own.
    drop(conn);
    let layout = Layout::new(state, session, page.summary.clone(), Some(user)).await?;
    Ok(render_with(
        status,
        &PageView {
            layout,
            team_name: member.team.name.clone(),
            team_slug: member.team.slug.clone(),
            zone: user.timezone.clone(),
            row: PageRow::new(&page, &info, tz),
            severity: page.severity.clone().unwrap_or_else(|| "—".into()),
            link_text: if link.is_none() { page.link.clone() } else { None },
            link,
            dedup_key: page.dedup_key.clone(),
            fired: when(Some(page.fired_at)),
            acknowledged: when(page.acknowledged_at),
            resolved: when(page.resolved_at),
            worked_until: when(page.worked_until),
            sla_minutes: page.sla_minutes,
            can_change,
            form: form.unwrap_or_else(|| TimesForm::of(&page, tz)),
            error,
            acknowledged_by,
            resolved_by,
            open: page.acknowledged_at.is_none() && page.resolved_at.is_none(),
            timeline,
        },
    ))
}

pub async fn show_page(
    State(state): State<AppState>,
    session: Session,
    Path((_, id)): Path<(String, i64)>,
    member: TeamMember<WebUser>,
) -> AppResult<Response> {
    page_view(&state, &session, &member, id, None, None, StatusCode::OK).await
}

#[derive(Deserialize)]
pub struct TimesFields {
    fired_at: String,
    #[serde(default)]
    acknowledged_at: String,
    #[serde(default)]
    resolved_at: String,
    #[serde(default)]
    worked_until: String,
}

impl TimesFields {
    fn values(&self) -> TimesForm {
        TimesForm {
            fired_at: self.fired_at.clone(),
            acknowledged_at: self.acknowledged_at.clone(),
            resolved_at: self.resolved_at.clone(),
            worked_until: self.worked_until.clone(),
        }
    }

    /// What changed. A field still showing what the form showed keeps its
    /// stored value, so the seconds an alerting tool sent are not lost.
    fn correction(&self, before: &TimesForm, tz: Tz) -> AppResult<Correction> {
        let instant = |what: &str, s: &str| -> AppResult<Option<DateTime<Utc>>> {
            if s.trim().is_empty() {
                return Ok(None);
            }
            let local = parse_datetime_local(what, s)?;
            Ok(Some(local_to_instant(tz, local.date(), local.time())))
        };
        let changed = |what: &str, sent: &str, shown: &str| -> AppResult<Option<Option<DateTime<Utc>>>> {
            if sent.trim() == shown {
                Ok(None)
            } else {
                instant(what, sent).map(Some)
            }
        };
        let fired_at = match changed("time it fired", &self.fired_at, &before.fired_at)? {
            Some(None) => {
                return Err(AppError::Unprocessable(
                    "A page needs the time it fired; only the other times may be left empty".into(),
                ));
            }
            other => other.flatten(),
        };
        Ok(Correction {
            fired_at,
            acknowledged_at: changed("acknowledgement", &self.acknowledged_at, &before.acknowledged_at)?,
            resolved_at: changed("resolve", &self.resolved_at, &before.resolved_at)?,
            worked_until: changed("end of work", &self.worked_until, &before.worked_until)?,
        })
    }
}

/// The page, if the reader may change it: 403 for other members.
async fn changeable(conn: &mut PgConnection, member: &TeamMember<WebUser>, id: i64) -> AppResult<Page> {
    let page = team_page(conn, member, id).await?;
    let user = member.user();
    if may_change(conn, &page, user.id, user.is_admin).await? {
        Ok(page)
    } else {
        Err(AppError::not_found("page"))
    }
}

pub async fn correct_page(
    State(state): State<AppState>,
    session: Session,
    Path((_, id)): Path<(String, i64)>,
    member: TeamMember<WebUser>,
    CsrfForm(form): CsrfForm<TimesFields>,
) -> AppResult<Response> {
    let tz = member.user().tz();
    let result = async {
        let mut tx = state.db.begin().await?;
        let page = changeable(&mut tx, &member, id).await?;
        let correction = form.correction(&TimesForm::of(&page, tz), tz)?;
        correct(&mut tx, page.id, &correction, member.user().id, state.clock.now()).await?;
        tx.commit().await?;
        Ok::<_, AppError>(())
    }
    .await;
    match result {
        Ok(()) => {
            flash(&session, "Page corrected; recovery days were brought up to date").await;
            Ok(Redirect::to(&format!("/teams/{}/pages/{id}", member.team.slug)).into_response())
        }
        Err(e) => match fixable(&e) {
            Some((status, msg)) => {
                page_view(&state, &session, &member, id, Some(form.values()), Some(msg), status).await
            }
            None => Err(e),
        },
    }
}

/// What deleting the page will do, with a button that does it. Changes
/// nothing.
pub async fn confirm_delete(
    State(state): State<AppState>,
    session: Session,
    Path((_, id)): Path<(String, i64)>,
    member: TeamMember<WebUser>,
) -> AppResult<Response> {
    let mut conn = state.db.acquire().await?;
    let page = changeable(&mut conn, &member, id).await?;
    drop(conn);
    let tz = member.user().tz();
    let slug = &member.team.slug;
    let responder = page.responder_name.clone();
    let confirm = Confirm {
        heading: format!("Delete the page “{}”?", page.summary),
        intro: format!(
            "It fired {} from {}{}.",
            fmt::local_with_year(page.fired_at, tz),
            page.source,
            responder
                .as_ref()
                .map(|r| format!(", answered by {r}"))
                .unwrap_or_default()
        ),
        consequences: vec![
            format!(
                "It leaves {}'s list of pages and its metrics, with its paging timeline.",
                member.team.name
            ),
            match &responder {
                Some(r) => format!(
                    "{r}'s recovery days are worked out again without it: a recovery day it earned goes, unless another page earns it."
                ),
                None => "Nobody's recovery days change: it has no responder.".into(),
            },
            "The team's history records the deletion with the page's times. It cannot be undone.".into(),
        ],
        warnings: Vec::new(),
        action: format!("/teams/{slug}/pages/{}/delete", page.id),
        fields: Vec::new(),
        button: "Delete this page".into(),
        cancel: format!("/teams/{slug}/pages/{}", page.id),
    };
    confirm_page(&state, &session, member.user(), confirm).await
}

pub async fn delete_page(
    State(state): State<AppState>,
    session: Session,
    Path((_, id)): Path<(String, i64)>,
    member: TeamMember<WebUser>,
    CsrfForm(_): CsrfForm<NoFields>,
) -> AppResult<Response> {
    let mut tx = state.db.begin().await?;
    let page = changeable(&mut tx, &member, id).await?;
    delete(&mut tx, page.id, member.user().id, state.clock.now()).await?;
    tx.commit().await?;
    flash(
        &session,
        format!(
            "Page \"{}\" deleted; recovery days were brought up to date",
            page.summary
        ),
    )
    .await;
    Ok(Redirect::to(&format!("/teams/{}/pages", member.team.slug)).into_response())
}
