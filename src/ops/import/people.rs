//! The people an import names: found by e-mail (any case) and added to
//! the team, or, when Rota does not know them, given an account that is
//! not set up yet and an invitation to set it up.

use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::PgConnection;

use crate::db::{self, teams::Team, teams::TeamRole, users::User};
use crate::domain::import::Person;
use crate::error::{AppError, AppResult};
use crate::ops::invitations::{self, Inviter, Issued};
use crate::ops::users::{NewUserInput, create_user};

/// How a person came into the team.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum How {
    /// Already a member.
    Member,
    /// An existing account, added as a member.
    Added,
    /// New to Rota: an account waiting to be set up, and an invitation.
    Invited,
}

impl How {
    pub fn words(self) -> &'static str {
        match self {
            How::Member => "already a member",
            How::Added => "added to the team",
            How::Invited => "invited (new to Rota)",
        }
    }
}

/// One person in the report.
#[derive(Debug, Clone)]
pub struct Joined {
    pub user: User,
    pub how: How,
}

/// Finds or invites everyone, in order. Refused (409) when someone has
/// left (a deactivated account): they cannot be put on a rota.
pub async fn join(
    conn: &mut PgConnection,
    by: Inviter<'_>,
    team: &Team,
    people: &[Person],
    now: DateTime<Utc>,
) -> AppResult<(Vec<Joined>, Vec<Issued>)> {
    let emails: Vec<String> = people.iter().map(|p| p.email.clone()).collect();
    let known = db::users::by_emails(conn, &emails).await?;
    let left: Vec<String> = known
        .iter()
        .filter(|u| !u.is_active())
        .map(|u| u.email.clone())
        .collect();
    if !left.is_empty() {
        return Err(AppError::Conflict(format!(
            "{} left (the account is deactivated), so cannot be on a rota; an admin can reactivate the account, \
             or take them out of the schedule and export it again. Nothing was imported.",
            left.join(", ")
        )));
    }
    let members = db::teams::member_ids(conn, team.id).await?;
    let (mut joined, mut issued) = (Vec::new(), Vec::new());
    for person in people {
        let found = known.iter().find(|u| u.email == person.email).cloned();
        let (user, how) = match found {
            Some(u) if members.contains(&u.id) => (u, How::Member),
            Some(u) => (u, How::Added),
            None => (unset_account(conn, team, person).await?, How::Invited),
        };
        if how != How::Member {
            db::teams::set_member(conn, team.id, user.id, TeamRole::Member).await?;
            db::audit::record(
                conn,
                team.id,
                by.id(),
                now,
                "member.add",
                None,
                Some(json!({"email": user.email, "role": "member", "imported": true})),
            )
            .await?;
        }
        if how == How::Invited {
            issued.push(invitations::invite_imported(conn, by, &user, team, now).await?);
        }
        joined.push(Joined { user, how });
    }
    Ok((joined, issued))
}

/// An account for someone new, as the other tool names them, in their own
/// zone (else the team's), with no password: the invitation sets it up.
async fn unset_account(conn: &mut PgConnection, team: &Team, person: &Person) -> AppResult<User> {
    let local_part = person.email.split('@').next().unwrap_or_default().to_owned();
    let name = person
        .name
        .as_deref()
        .filter(|n| crate::domain::validate::name(n).is_ok())
        .map_or(local_part, str::to_owned);
    let tz = person.timezone.unwrap_or_else(|| team.tz());
    create_user(
        conn,
        NewUserInput {
            email: &person.email,
            name: &name,
            timezone: Some(tz.name()),
            password: None,
            is_admin: false,
        },
    )
    .await
}
