//! Who is on call in every team a person may see (the `/oncall` page and
//! `GET /api/v1/oncall` read the same thing).

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

use crate::db::{self, directory::Row, users::User};
use crate::domain::role::Role;
use crate::error::AppResult;

#[derive(Debug, Clone)]
pub struct Person {
    pub email: String,
    pub name: String,
    pub phone: Option<String>,
    pub chat_handle: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Holder {
    pub person: Person,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Default)]
pub struct RotationOnCall {
    pub slug: String,
    pub name: String,
    pub primary: Option<Holder>,
    pub secondary: Option<Holder>,
    pub next_primary: Option<Holder>,
    pub next_secondary: Option<Holder>,
}

impl RotationOnCall {
    /// When the next holders start: the earlier of the two roles' next shifts.
    pub fn next_starts_at(&self) -> Option<DateTime<Utc>> {
        [&self.next_primary, &self.next_secondary]
            .into_iter()
            .flatten()
            .map(|h| h.starts_at)
            .min()
    }

    fn people(&self) -> impl Iterator<Item = &Person> {
        [&self.primary, &self.secondary, &self.next_primary, &self.next_secondary]
            .into_iter()
            .flatten()
            .map(|h| &h.person)
    }
}

#[derive(Debug, Clone)]
pub struct TeamOnCall {
    pub id: i64,
    pub private: bool,
    pub slug: String,
    pub name: String,
    pub timezone: String,
    pub rotations: Vec<RotationOnCall>,
}

/// Every team, private ones too, at `at`, and the first instant after it
/// when the answer changes (a holder's shift ends or the next one starts):
/// until then the same answer holds, unless the schedule is changed.
pub async fn everyone(
    conn: &mut PgConnection,
    at: DateTime<Utc>,
) -> AppResult<(Vec<TeamOnCall>, Option<DateTime<Utc>>)> {
    let rows = db::directory::rows(conn, at).await?;
    let changes = rows
        .iter()
        .filter_map(|r| if r.is_next { r.starts_at } else { r.ends_at })
        .filter(|t| *t > at)
        .min();
    Ok((group(rows), changes))
}

/// The teams of `all` that a person may see: every team that is not
/// private, and the private ones they belong to (`member_of`); all of them
/// for an admin.
pub fn visible_to(all: &[TeamOnCall], viewer: &User, member_of: &[i64]) -> Vec<TeamOnCall> {
    all.iter()
        .filter(|t| !t.private || viewer.is_admin || member_of.contains(&t.id))
        .cloned()
        .collect()
}

/// Rows (ordered by team, rotation, role) into teams and rotations.
pub fn group(rows: Vec<Row>) -> Vec<TeamOnCall> {
    let mut teams: Vec<TeamOnCall> = Vec::new();
    for row in rows {
        if teams.last().is_none_or(|t| t.slug != row.team_slug) {
            teams.push(TeamOnCall {
                id: row.team_id,
                private: row.team_private,
                slug: row.team_slug.clone(),
                name: row.team_name.clone(),
                timezone: row.team_timezone.clone(),
                rotations: Vec::new(),
            });
        }
        let team = teams.last_mut().expect("pushed above");
        if team.rotations.last().is_none_or(|r| r.slug != row.rotation_slug) {
            team.rotations.push(RotationOnCall {
                slug: row.rotation_slug.clone(),
                name: row.rotation_name.clone(),
                ..RotationOnCall::default()
            });
        }
        let rotation = team.rotations.last_mut().expect("pushed above");
        let (Some(email), Some(name), Some(starts_at), Some(ends_at)) =
            (row.email, row.name, row.starts_at, row.ends_at)
        else {
            continue;
        };
        let holder = Holder {
            person: Person {
                email,
                name,
                phone: row.phone,
                chat_handle: row.chat_handle,
            },
            starts_at,
            ends_at,
        };
        let slot = match (row.role, row.is_next) {
            (Role::Primary, false) => &mut rotation.primary,
            (Role::Secondary, false) => &mut rotation.secondary,
            (Role::Primary, true) => &mut rotation.next_primary,
            (Role::Secondary, true) => &mut rotation.next_secondary,
        };
        *slot = Some(holder);
    }
    teams
}

/// The teams whose name, or a person's name or e-mail on call now or next,
/// contains `query` (any case); all of them for an empty query.
pub fn filter(teams: Vec<TeamOnCall>, query: &str) -> Vec<TeamOnCall> {
    let q = query.trim().to_lowercase();
    if q.is_empty() {
        return teams;
    }
    teams
        .into_iter()
        .filter(|t| {
            t.name.to_lowercase().contains(&q)
                || t.slug.contains(&q)
                || t.rotations
                    .iter()
                    .flat_map(RotationOnCall::people)
                    .any(|p| p.name.to_lowercase().contains(&q) || p.email.contains(&q))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn row(team: &str, rotation: &str, role: Role, next: bool, who: &str) -> Row {
        let at = Utc.with_ymd_and_hms(2026, 12, 1, 10, 0, 0).unwrap();
        Row {
            team_id: team.len() as i64,
            team_private: false,
            team_slug: team.into(),
            team_name: team.to_uppercase(),
            team_timezone: "UTC".into(),
            rotation_slug: rotation.into(),
            rotation_name: rotation.into(),
            role,
            is_next: next,
            email: (!who.is_empty()).then(|| format!("{who}@example.com")),
            name: (!who.is_empty()).then(|| who.into()),
            phone: None,
            chat_handle: None,
            starts_at: Some(at),
            ends_at: Some(at),
        }
    }

    #[test]
    fn rows_group_into_teams_and_rotations_and_filter_by_person_or_team() {
        let rows = vec![
            row("db", "weekly", Role::Primary, false, "ana"),
            row("db", "weekly", Role::Primary, true, "bo"),
            row("db", "weekly", Role::Secondary, false, "cy"),
            row("web", "days", Role::Primary, false, "di"),
            row("web", "nights", Role::Secondary, true, "ed"),
            row("x", "empty", Role::Primary, false, ""),
        ];
        let teams = group(rows);
        assert_eq!(teams.len(), 3);
        assert!(
            teams[2].rotations[0].primary.is_none(),
            "a rotation nobody holds is listed"
        );
        let weekly = &teams[0].rotations[0];
        assert_eq!(weekly.primary.as_ref().unwrap().person.name, "ana");
        assert_eq!(weekly.next_primary.as_ref().unwrap().person.name, "bo");
        assert_eq!(weekly.secondary.as_ref().unwrap().person.name, "cy");
        assert!(weekly.next_secondary.is_none());
        assert_eq!(teams[1].rotations.len(), 2);
        assert!(teams[1].rotations[1].primary.is_none());

        assert_eq!(filter(teams.clone(), "BO").len(), 1, "by a next holder's name");
        assert_eq!(filter(teams.clone(), "ed@example").len(), 1, "by e-mail");
        assert_eq!(filter(teams.clone(), "web")[0].slug, "web", "by team");
        assert!(filter(teams.clone(), "nobody").is_empty());
        assert_eq!(filter(teams, "  ").len(), 3);
    }
}
