//! Invitations: an admin (or a team's manager, into their team, as a
//! member) invites a person by e-mail; the person sets up their account
//! from a single-use link valid for [`INVITATION_VALID`], and joins the
//! invitation's team with its role.
//!
//! Single sign-on accepts an invitation for a person it has identified by
//! a verified e-mail: call [`pending_for_email`] and then [`accept`] for
//! each, inside the transaction that creates or links the account.

use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::PgConnection;

use crate::db::invitations::{Invitation, NewInvitation};
use crate::db::teams::{Team, TeamRole};
use crate::db::{self, users::User};
use crate::domain::links::{self, INVITATION_VALID, LinkProblem};
use crate::domain::validate;
use crate::error::{AppError, AppResult};
use crate::mail::Mailer;
use crate::ops::users::{NewUserInput, create_user, set_up_unclaimed};
use crate::secrets;

/// Who sends an invitation: a signed-in person (whose rights are checked)
/// or the command line on the server (which may do what an admin may).
#[derive(Clone, Copy)]
pub enum Inviter<'a> {
    Person(&'a User),
    CommandLine,
}

impl Inviter<'_> {
    pub fn id(self) -> Option<i64> {
        match self {
            Inviter::Person(u) => Some(u.id),
            Inviter::CommandLine => None,
        }
    }

    pub fn is_admin(self) -> bool {
        match self {
            Inviter::Person(u) => u.is_admin,
            Inviter::CommandLine => true,
        }
    }
}

/// What the inviter asked for.
pub struct Invite<'a> {
    pub email: &'a str,
    /// The team's slug; none or blank: no team.
    pub team: Option<&'a str>,
    /// `member` when absent.
    pub role: Option<TeamRole>,
}

/// A new invitation and the secret of its link, which is not kept: show or
/// send it now, it cannot be had again.
pub struct Issued {
    pub invitation: Invitation,
    pub token: String,
}

/// The link a person opens to accept an invitation.
pub fn link(base_url: &str, token: &str) -> String {
    format!("{base_url}/invite/{token}")
}

/// Invites a person. 422 for a bad address or team, 403 when the inviter
/// may not invite there or as that, 409 when the address already has an
/// account or a pending invitation to the same team.
pub async fn invite(
    conn: &mut PgConnection,
    by: Inviter<'_>,
    input: Invite<'_>,
    now: DateTime<Utc>,
) -> AppResult<Issued> {
    let email = validate::email(input.email)?;
    let role = input.role.unwrap_or(TeamRole::Member);
    let team = match input.team.map(str::trim).filter(|s| !s.is_empty()) {
        None => None,
        Some(slug) => match db::teams::by_slug(conn, slug).await? {
            Some(t) => Some(t),
            None if by.is_admin() => {
                return Err(AppError::Unprocessable(format!(
                    "There is no team \"{slug}\"; give the short name of an existing team, or none"
                )));
            }
            None => {
                return Err(AppError::forbidden(
                    "You can invite people only into the teams you manage",
                ));
            }
        },
    };
    may_invite(conn, by, team.as_ref(), role).await?;
    if team.is_none() && role == TeamRole::Manager {
        return Err(AppError::Unprocessable(
            "A manager needs a team: choose the team they will manage".into(),
        ));
    }
    if let Some(existing) = db::users::by_email(conn, &email).await? {
        return Err(AppError::Conflict(format!(
            "There is already an account for {} ({}); add them to a team from its settings instead",
            existing.email, existing.name
        )));
    }
    let team_id = team.as_ref().map(|t| t.id);
    let pending = db::invitations::pending_for_email(conn, &email, now).await?;
    if pending.iter().any(|i| i.team_id == team_id) {
        return Err(AppError::Conflict(format!(
            "{email} already has a pending invitation{}; re-send or revoke it from the list",
            team.as_ref().map(|t| format!(" to {}", t.name)).unwrap_or_default()
        )));
    }
    let issued = issue(conn, by, &email, team.as_ref(), role, now).await?;
    audit(conn, by, &issued.invitation, "invitation.create", now).await?;
    Ok(issued)
}

/// Invites a person an import put on one of `team`'s rotations, as a
/// member: their account exists already (no password, never used), and
/// the link sets it up (see [`accept_with_password`]).
pub async fn invite_imported(
    conn: &mut PgConnection,
    by: Inviter<'_>,
    user: &User,
    team: &Team,
    now: DateTime<Utc>,
) -> AppResult<Issued> {
    let issued = issue(conn, by, &user.email, Some(team), TeamRole::Member, now).await?;
    audit(conn, by, &issued.invitation, "invitation.create", now).await?;
    Ok(issued)
}

/// Whether `by` may invite into `team` as `role`.
async fn may_invite(conn: &mut PgConnection, by: Inviter<'_>, team: Option<&Team>, role: TeamRole) -> AppResult<()> {
    let Inviter::Person(user) = by else { return Ok(()) };
    if user.is_admin {
        return Ok(());
    }
    let Some(team) = team else {
        return Err(AppError::forbidden(
            "Only admins can invite someone without a team; as a manager, invite them into your team",
        ));
    };
    if db::teams::role_of(conn, team.id, user.id).await? != Some(TeamRole::Manager) {
        return Err(AppError::forbidden(
            "You can invite people only into the teams you manage",
        ));
    }
    if role == TeamRole::Manager {
        return Err(AppError::forbidden(
            "Managers invite members; once they have joined, an admin or you can make them a manager in the team settings",
        ));
    }
    Ok(())
}

/// Writes a new invitation with a fresh link.
async fn issue(
    conn: &mut PgConnection,
    by: Inviter<'_>,
    email: &str,
    team: Option<&Team>,
    role: TeamRole,
    now: DateTime<Utc>,
) -> AppResult<Issued> {
    let token = secrets::random_secret();
    let hash = secrets::token_hash(&token);
    let new = NewInvitation {
        email,
        team_id: team.map(|t| t.id),
        role,
        invited_by: by.id(),
        token_hash: &hash,
        created_at: now,
        expires_at: now + INVITATION_VALID,
    };
    let id = db::invitations::insert(conn, &new).await?;
    let invitation = db::invitations::by_id(conn, id)
        .await?
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("invitation {id} vanished")))?;
    Ok(Issued { invitation, token })
}

async fn audit(
    conn: &mut PgConnection,
    by: Inviter<'_>,
    inv: &Invitation,
    action: &str,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let after = json!({"email": inv.email, "role": inv.role.as_str(), "expires_at": inv.expires_at});
    match (inv.team_id, by.id()) {
        (Some(team), actor) => db::audit::record(conn, team, actor, now, action, None, Some(after)).await?,
        (None, Some(actor)) => db::audit::record_personal(conn, actor, now, action, None, Some(after)).await?,
        (None, None) => tracing::info!(action, email = %inv.email, "by the command line"),
    }
    Ok(())
}

/// The pending invitations `user` may see and withdraw: every one for an
/// admin, those into the teams they manage for a manager; 403 for anyone
/// else.
pub async fn visible_to(conn: &mut PgConnection, user: &User, now: DateTime<Utc>) -> AppResult<Vec<Invitation>> {
    if user.is_admin {
        return Ok(db::invitations::pending(conn, None, now).await?);
    }
    let managed: Vec<i64> = db::teams::for_user(conn, user.id, false)
        .await?
        .into_iter()
        .filter(|t| t.role == TeamRole::Manager)
        .map(|t| t.id)
        .collect();
    if managed.is_empty() {
        return Err(AppError::forbidden("Only admins and team managers can see invitations"));
    }
    Ok(db::invitations::pending(conn, Some(&managed), now).await?)
}

/// The invitations into one team that are still pending.
pub async fn pending_in_team(conn: &mut PgConnection, team: &Team, now: DateTime<Utc>) -> AppResult<Vec<Invitation>> {
    Ok(db::invitations::pending(conn, Some(&[team.id]), now).await?)
}

/// The invitation `id` if `by` may manage it and it is neither accepted
/// nor revoked; 404 otherwise (an invitation elsewhere is not revealed).
async fn manageable(conn: &mut PgConnection, by: Inviter<'_>, id: i64) -> AppResult<Invitation> {
    let missing = || {
        AppError::NotFound(format!(
            "There is no pending invitation {id} that you manage; it may have been accepted or revoked already"
        ))
    };
    let inv = db::invitations::by_id(conn, id).await?.ok_or_else(missing)?;
    if inv.accepted_at.is_some() || inv.revoked_at.is_some() {
        return Err(missing());
    }
    let allowed = match by {
        Inviter::CommandLine => true,
        Inviter::Person(u) if u.is_admin => true,
        Inviter::Person(u) => match inv.team_id {
            Some(team) => db::teams::role_of(conn, team, u.id).await? == Some(TeamRole::Manager),
            None => false,
        },
    };
    if allowed { Ok(inv) } else { Err(missing()) }
}

/// Withdraws a pending invitation: its link stops working.
pub async fn revoke(conn: &mut PgConnection, by: Inviter<'_>, id: i64, now: DateTime<Utc>) -> AppResult<Invitation> {
    let inv = manageable(conn, by, id).await?;
    db::invitations::revoke(conn, inv.id, now).await?;
    audit(conn, by, &inv, "invitation.revoke", now).await?;
    Ok(inv)
}

/// Sends a pending (or expired) invitation again: a new link valid for
/// [`INVITATION_VALID`] from now, and the old link stops working.
pub async fn resend(conn: &mut PgConnection, by: Inviter<'_>, id: i64, now: DateTime<Utc>) -> AppResult<Issued> {
    let old = manageable(conn, by, id).await?;
    db::invitations::revoke(conn, old.id, now).await?;
    let team = match old.team_id {
        Some(t) => db::teams::by_id(conn, t).await?,
        None => None,
    };
    let issued = issue(conn, by, &old.email, team.as_ref(), old.role, now).await?;
    audit(conn, by, &issued.invitation, "invitation.resend", now).await?;
    Ok(issued)
}

/// The invitation behind a link, if the link still works.
pub async fn open(
    conn: &mut PgConnection,
    token: &str,
    now: DateTime<Utc>,
) -> AppResult<Result<Invitation, LinkProblem>> {
    let Some(inv) = db::invitations::by_hash(conn, &secrets::token_hash(token)).await? else {
        return Ok(Err(LinkProblem::Unknown));
    };
    let stored = links::Stored {
        expires_at: inv.expires_at,
        used_at: inv.accepted_at,
        revoked_at: inv.revoked_at,
    };
    Ok(links::check(stored, now).map(|()| inv))
}

/// What the invitee chooses when setting up their account.
pub struct Setup<'a> {
    pub name: &'a str,
    pub timezone: &'a str,
    pub password: &'a str,
}

/// Sets up the invitee's account from the link and accepts the invitation
/// (and any other pending one for the same address). `Err` inside: the
/// link does not work; an `AppError`: the form needs correcting (422), or
/// the address has an account by now (409).
pub async fn accept_with_password(
    conn: &mut PgConnection,
    token: &str,
    setup: Setup<'_>,
    now: DateTime<Utc>,
) -> AppResult<Result<User, LinkProblem>> {
    let inv = match open(conn, token, now).await? {
        Ok(inv) => inv,
        Err(problem) => return Ok(Err(problem)),
    };
    let input = NewUserInput {
        email: &inv.email,
        name: setup.name,
        timezone: Some(setup.timezone),
        password: Some(setup.password),
        is_admin: false,
    };
    // An import may have made the account already, to put them on a rota.
    let user = match db::users::unclaimed_by_email(conn, &inv.email).await? {
        Some(made) => set_up_unclaimed(conn, &made, setup.name, setup.timezone, setup.password).await?,
        None => create_user(conn, input).await.map_err(|e| match e {
            AppError::Conflict(_) => AppError::Conflict(format!(
                "There is already an account for {}: sign in with it, or reset its password from the sign-in page",
                inv.email
            )),
            other => other,
        })?,
    };
    accept(conn, &inv, &user, now).await?;
    for other in pending_for_email(conn, &user.email, now).await? {
        accept(conn, &other, &user, now).await?;
    }
    Ok(Ok(user))
}

/// The invitations still pending for an address (any case), oldest first.
/// For single sign-on: a person identified by this verified address
/// accepts each with [`accept`].
pub async fn pending_for_email(conn: &mut PgConnection, email: &str, now: DateTime<Utc>) -> AppResult<Vec<Invitation>> {
    Ok(db::invitations::pending_for_email(conn, email, now).await?)
}

/// Accepts `invitation` for `user`, whose account already exists (created
/// from the link, or by single sign-on): marks it accepted and adds them to
/// its team with its role (never lowering a role they already hold), audits
/// it and tells the team's managers. 403 when the addresses differ or the
/// account is deactivated; 409 when the invitation is no longer pending
/// (accepted, revoked or expired meanwhile).
pub async fn accept(
    conn: &mut PgConnection,
    invitation: &Invitation,
    user: &User,
    now: DateTime<Utc>,
) -> AppResult<()> {
    if !invitation.email.eq_ignore_ascii_case(user.email.trim()) {
        return Err(AppError::forbidden(format!(
            "This invitation is for {}, not {}",
            invitation.email, user.email
        )));
    }
    if !db::invitations::account_is_active(conn, user.id).await? {
        return Err(AppError::forbidden(format!(
            "The account for {} is deactivated; an admin must reactivate it before it can join a team",
            user.email
        )));
    }
    if !db::invitations::mark_accepted(conn, invitation.id, user.id, now).await? {
        return Err(AppError::Conflict(format!(
            "The invitation for {} is no longer pending; ask for a new one",
            invitation.email
        )));
    }
    let Some(team_id) = invitation.team_id else {
        let after = json!({"email": user.email});
        db::audit::record_personal(conn, user.id, now, "invitation.accept", None, Some(after)).await?;
        return Ok(());
    };
    let before = db::teams::role_of(conn, team_id, user.id).await?;
    let role = match before {
        Some(TeamRole::Manager) => TeamRole::Manager,
        _ => invitation.role,
    };
    if before != Some(role) {
        db::teams::set_member(conn, team_id, user.id, role).await?;
    }
    db::audit::record(
        conn,
        team_id,
        Some(user.id),
        now,
        "invitation.accept",
        before.map(|r| json!({"email": user.email, "role": r.as_str()})),
        Some(json!({"email": user.email, "role": role.as_str()})),
    )
    .await?;
    let managers: Vec<i64> = db::teams::members(conn, team_id)
        .await?
        .into_iter()
        .filter(|m| m.role == TeamRole::Manager && m.user_id != user.id)
        .map(|m| m.user_id)
        .collect();
    let team_name = invitation.team_name.as_deref().unwrap_or("the team");
    let message = format!("{} accepted the invitation and joined {team_name}", user.name);
    let link = invitation
        .team_slug
        .as_ref()
        .map_or_else(|| "/".to_owned(), |s| format!("/teams/{s}/settings"));
    db::notifications::create(conn, team_id, &managers, (&message, &link), now, false).await?;
    Ok(())
}

/// How the link reached (or did not reach) the invitee.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// E-mailed.
    Mailed,
    /// No SMTP is set up: the inviter passes the link on.
    NoMail,
    /// The mail server refused or could not be reached: the inviter passes
    /// the link on. Holds why.
    MailFailed(String),
}

impl Delivery {
    /// Whether the inviter must be shown the link.
    pub fn shows_link(&self) -> bool {
        !matches!(self, Delivery::Mailed)
    }
}

/// E-mails the link to the invitee now, when Rota can send e-mail.
pub async fn deliver(mailer: Option<&Mailer>, inv: &Invitation, link: &str) -> Delivery {
    let Some(mailer) = mailer else { return Delivery::NoMail };
    let who = inv.invited_by_name.as_deref().unwrap_or("An admin");
    let into = inv
        .team_name
        .as_ref()
        .map(|t| format!(" to join {t} as a {}", inv.role.as_str()))
        .unwrap_or_default();
    let subject = format!("{who} invited you to Rota{into}");
    let body = format!(
        "{who} invited you to Rota, the team's on-call rota{into}.\n\n\
         Set up your account (your name, time zone and a password) here:\n\n{link}\n\n\
         The link works once, until {} UTC. If it has expired, ask {who} for a new one.\n\
         If you did not expect this, ignore this e-mail.\n",
        inv.expires_at.format("%a %-d %b %Y %H:%M")
    );
    match mailer.send_now(&inv.email, "", &subject, &body).await {
        Ok(()) => Delivery::Mailed,
        Err(why) => {
            tracing::warn!(invitation = inv.id, error = %why, "the invitation e-mail could not be sent");
            Delivery::MailFailed(why)
        }
    }
}
