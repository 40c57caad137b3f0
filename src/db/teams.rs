use crate::db::sql::{query, query_as, query_scalar};
use chrono_tz::Tz;
use sqlx::PgConnection;

use crate::secrets;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Team {
    pub id: i64,
    pub slug: String,
    pub name: String,
    pub timezone: String,
    pub calendar_secret: String,
    /// Shown in the on-call directory only to its members.
    #[sqlx(default)]
    pub private: bool,
}

impl Team {
    pub fn tz(&self) -> Tz {
        self.timezone.parse().unwrap_or(Tz::UTC)
    }
}

/// A member's role in a team. Stored as text (see `db::enums`); an unknown
/// stored value is an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum TeamRole {
    Member,
    Manager,
}

impl TeamRole {
    pub fn as_str(self) -> &'static str {
        match self {
            TeamRole::Member => "member",
            TeamRole::Manager => "manager",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "member" => Some(TeamRole::Member),
            "manager" => Some(TeamRole::Manager),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Member {
    pub user_id: i64,
    pub email: String,
    pub name: String,
    pub timezone: String,
    pub role: TeamRole,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MyTeam {
    pub id: i64,
    pub slug: String,
    pub name: String,
    pub timezone: String,
    pub calendar_secret: String,
    pub role: TeamRole,
}

impl MyTeam {
    pub fn tz(&self) -> Tz {
        self.timezone.parse().unwrap_or(Tz::UTC)
    }
}

const COLUMNS: &str = "id, slug, name, timezone, calendar_secret, private";

/// Inserts a team; `None` when the slug is taken.
pub async fn insert(conn: &mut PgConnection, slug: &str, name: &str, timezone: &str) -> sqlx::Result<Option<Team>> {
    query_as(&format!(
        "INSERT INTO teams (slug, name, timezone, calendar_secret) VALUES ($1, $2, $3, $4)
         ON CONFLICT (slug) DO NOTHING RETURNING {COLUMNS}"
    ))
    .bind(slug)
    .bind(name)
    .bind(timezone)
    .bind(secrets::random_secret())
    .fetch_optional(conn)
    .await
}

pub async fn by_id(conn: &mut PgConnection, id: i64) -> sqlx::Result<Option<Team>> {
    query_as(&format!("SELECT {COLUMNS} FROM teams WHERE id = $1"))
        .bind(id)
        .fetch_optional(conn)
        .await
}

pub async fn by_slug(conn: &mut PgConnection, slug: &str) -> sqlx::Result<Option<Team>> {
    query_as(&format!("SELECT {COLUMNS} FROM teams WHERE slug = $1"))
        .bind(slug)
        .fetch_optional(conn)
        .await
}

pub async fn by_calendar_secret(conn: &mut PgConnection, secret: &str) -> sqlx::Result<Option<Team>> {
    query_as(&format!("SELECT {COLUMNS} FROM teams WHERE calendar_secret = $1"))
        .bind(secret)
        .fetch_optional(conn)
        .await
}

pub async fn all(conn: &mut PgConnection) -> sqlx::Result<Vec<Team>> {
    query_as(&format!("SELECT {COLUMNS} FROM teams ORDER BY lower(name), slug"))
        .fetch_all(conn)
        .await
}

#[derive(sqlx::FromRow)]
struct TeamWithRole {
    #[sqlx(flatten)]
    team: Team,
    role: Option<TeamRole>,
}

/// The team and the user's role in it, when they are a member.
pub async fn with_role(
    conn: &mut PgConnection,
    slug: &str,
    user_id: i64,
) -> sqlx::Result<Option<(Team, Option<TeamRole>)>> {
    let row: Option<TeamWithRole> = query_as(
        "SELECT t.id, t.slug, t.name, t.timezone, t.calendar_secret, t.private, m.role
         FROM teams t LEFT JOIN memberships m ON m.team_id = t.id AND m.user_id = $2
         WHERE t.slug = $1",
    )
    .bind(slug)
    .bind(user_id)
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|r| (r.team, r.role)))
}

/// The teams a user belongs to; admins see every team, as managers.
pub async fn for_user(conn: &mut PgConnection, user_id: i64, is_admin: bool) -> sqlx::Result<Vec<MyTeam>> {
    query_as(
        "SELECT t.id, t.slug, t.name, t.timezone, t.calendar_secret,
                COALESCE(m.role, 'manager') AS role
         FROM teams t LEFT JOIN memberships m ON m.team_id = t.id AND m.user_id = $1
         WHERE m.user_id IS NOT NULL OR $2
         ORDER BY lower(t.name)",
    )
    .bind(user_id)
    .bind(is_admin)
    .fetch_all(conn)
    .await
}

pub async fn members(conn: &mut PgConnection, team_id: i64) -> sqlx::Result<Vec<Member>> {
    query_as(
        "SELECT u.id AS user_id, u.email, u.name, u.timezone, m.role
         FROM memberships m JOIN users u ON u.id = m.user_id
         WHERE m.team_id = $1 ORDER BY lower(u.name), u.email",
    )
    .bind(team_id)
    .fetch_all(conn)
    .await
}

/// Adds the user or changes their role; returns the previous role.
pub async fn set_member(
    conn: &mut PgConnection,
    team_id: i64,
    user_id: i64,
    role: TeamRole,
) -> sqlx::Result<Option<TeamRole>> {
    let before: Option<TeamRole> =
        query_scalar("SELECT role FROM memberships WHERE team_id = $1 AND user_id = $2 FOR UPDATE")
            .bind(team_id)
            .bind(user_id)
            .fetch_optional(&mut *conn)
            .await?;
    query(
        "INSERT INTO memberships (team_id, user_id, role) VALUES ($1, $2, $3)
         ON CONFLICT (team_id, user_id) DO UPDATE SET role = EXCLUDED.role",
    )
    .bind(team_id)
    .bind(user_id)
    .bind(role)
    .execute(conn)
    .await?;
    Ok(before)
}

/// Holds the membership row until the transaction ends.
pub async fn lock_membership(conn: &mut PgConnection, team_id: i64, user_id: i64) -> sqlx::Result<()> {
    query("SELECT 1 FROM memberships WHERE team_id = $1 AND user_id = $2 FOR UPDATE")
        .bind(team_id)
        .bind(user_id)
        .execute(conn)
        .await
        .map(drop)
}

pub async fn remove_member(conn: &mut PgConnection, team_id: i64, user_id: i64) -> sqlx::Result<bool> {
    let done = query("DELETE FROM memberships WHERE team_id = $1 AND user_id = $2")
        .bind(team_id)
        .bind(user_id)
        .execute(conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn reset_calendar_secret(conn: &mut PgConnection, team_id: i64) -> sqlx::Result<()> {
    query("UPDATE teams SET calendar_secret = $2 WHERE id = $1")
        .bind(team_id)
        .bind(secrets::random_secret())
        .execute(conn)
        .await
        .map(drop)
}

/// The ids of the team's members.
pub async fn member_ids(conn: &mut PgConnection, team_id: i64) -> sqlx::Result<Vec<i64>> {
    query_scalar("SELECT user_id FROM memberships WHERE team_id = $1")
        .bind(team_id)
        .fetch_all(conn)
        .await
}

/// `user_id`'s role in the team (`manager` or `member`), none if not a member.
pub async fn role_of(conn: &mut PgConnection, team_id: i64, user_id: i64) -> sqlx::Result<Option<TeamRole>> {
    query_scalar("SELECT role FROM memberships WHERE team_id = $1 AND user_id = $2")
        .bind(team_id)
        .bind(user_id)
        .fetch_optional(conn)
        .await
}

/// The slugs of the given teams, as (id, slug).
pub async fn slugs_of(conn: &mut PgConnection, ids: &[i64]) -> sqlx::Result<Vec<(i64, String)>> {
    query_as("SELECT id, slug FROM teams WHERE id = ANY($1)")
        .bind(ids)
        .fetch_all(conn)
        .await
}

/// The members among these e-mail addresses, as (id, email); their
/// memberships stay as they are until the transaction ends.
pub async fn members_by_email(
    conn: &mut PgConnection,
    team_id: i64,
    emails: &[String],
) -> sqlx::Result<Vec<(i64, String)>> {
    query_as(
        "SELECT u.id, u.email FROM users u JOIN memberships m ON m.user_id = u.id
         WHERE m.team_id = $1 AND u.email = ANY($2)
         FOR SHARE OF m",
    )
    .bind(team_id)
    .bind(emails)
    .fetch_all(conn)
    .await
}

/// The id of the member of the team with this e-mail (any case), if any.
pub async fn member_id_by_email(conn: &mut PgConnection, team_id: i64, email: &str) -> sqlx::Result<Option<i64>> {
    query_scalar(
        "SELECT u.id FROM users u JOIN memberships m ON m.user_id = u.id WHERE m.team_id = $1 AND u.email = lower($2)",
    )
    .bind(team_id)
    .bind(email)
    .fetch_optional(conn)
    .await
}

pub async fn set_private(conn: &mut PgConnection, team_id: i64, private: bool) -> sqlx::Result<()> {
    query("UPDATE teams SET private = $2 WHERE id = $1")
        .bind(team_id)
        .bind(private)
        .execute(conn)
        .await
        .map(drop)
}
