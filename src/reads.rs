//! Reads on the hot paths, through the caches when they are on.

use chrono::{DateTime, Duration, NaiveTime, Utc};

use crate::state::AppState;
use std::sync::Arc;

use crate::cache::{DirectorySnapshot, OnCallSnapshot, RotaExtras, Window};
use crate::db;
use crate::db::rotations::{Rotation, Version};
use crate::db::shifts::ShiftView;
use crate::db::teams::{MyTeam, Team, TeamRole};
use crate::db::tokens::ApiToken;
use crate::db::users::User;
use crate::error::AppResult;
use crate::ops::directory::TeamOnCall;

impl AppState {
    /// Who is on call in every team `viewer` may see, at `at`: one read of
    /// every team, kept until someone's shift ends or starts or the
    /// schedule changes, then filtered for the reader.
    pub async fn directory(&self, viewer: &User, at: DateTime<Utc>) -> AppResult<Vec<TeamOnCall>> {
        let all = match self.caches.directory(at) {
            Some(all) => all,
            None => {
                let seen = self.caches.generation();
                let mut conn = self.db.acquire().await?;
                let (teams, until) = crate::ops::directory::everyone(&mut conn, at).await?;
                drop(conn);
                let teams = Arc::new(teams);
                let snapshot = DirectorySnapshot {
                    from: at,
                    until,
                    teams: teams.clone(),
                };
                self.caches.put_directory(seen, snapshot);
                teams
            }
        };
        let member_of: Vec<i64> = if all.iter().any(|t| t.private) && !viewer.is_admin {
            self.my_teams(viewer.id, false).await?.iter().map(|t| t.id).collect()
        } else {
            Vec::new()
        };
        Ok(crate::ops::directory::visible_to(&all, viewer, &member_of))
    }

    /// The live personal token with this hash and its owner.
    pub async fn token_by_hash(&self, hash: &[u8]) -> AppResult<Option<ApiToken>> {
        if let Some(token) = self.caches.token(&hash.to_vec()) {
            return Ok(Some(token));
        }
        let seen = self.caches.generation();
        let mut conn = self.db.acquire().await?;
        let token = db::tokens::by_hash(&mut conn, hash).await?;
        if let Some(t) = &token {
            self.caches.put_token(seen, hash.to_vec(), t.clone());
        }
        Ok(token)
    }

    pub async fn user_by_id(&self, id: i64) -> AppResult<Option<User>> {
        if let Some(user) = self.caches.user(&id) {
            return Ok(Some(user));
        }
        let seen = self.caches.generation();
        let mut conn = self.db.acquire().await?;
        let user = db::users::by_id(&mut conn, id).await?;
        if let Some(u) = &user {
            self.caches.put_user(seen, id, u.clone());
        }
        Ok(user)
    }

    /// The team by slug and the user's role in it (`None`: not a member).
    pub async fn team_access(&self, user_id: i64, slug: &str) -> AppResult<Option<(Team, Option<TeamRole>)>> {
        let key = (user_id, slug.to_owned());
        if let Some(found) = self.caches.access(&key) {
            return Ok(Some(found));
        }
        let seen = self.caches.generation();
        let mut conn = self.db.acquire().await?;
        let found = db::teams::with_role(&mut conn, slug, user_id).await?;
        if let Some(f) = &found {
            self.caches.put_access(seen, key, f.clone());
        }
        Ok(found)
    }

    pub async fn rotations_of(&self, team_id: i64) -> AppResult<Vec<(Rotation, Version)>> {
        if let Some(r) = self.caches.rotations(&team_id) {
            return Ok(r);
        }
        let seen = self.caches.generation();
        let mut conn = self.db.acquire().await?;
        let rotations = db::rotations::for_team(&mut conn, team_id).await?;
        self.caches.put_rotations(seen, team_id, rotations.clone());
        Ok(rotations)
    }

    /// Who holds each role of the team's rotations at `at`.
    pub async fn on_call(&self, team_id: i64, at: DateTime<Utc>) -> AppResult<Vec<ShiftView>> {
        if let Some(shifts) = self.caches.on_call(team_id, at) {
            return Ok(shifts);
        }
        let seen = self.caches.generation();
        let rotations = self.rotations_of(team_id).await?;
        let mut conn = self.db.acquire().await?;
        let shifts = db::shifts::on_call(&mut conn, team_id, at).await?;
        // The answer holds until the first of these shifts ends, if every
        // role of every rotation is filled (an empty role could fill sooner).
        if !shifts.is_empty() && shifts.len() == rotations.len() * 2 {
            let from = shifts.iter().map(|s| s.starts_at).max().unwrap_or(at);
            let until = shifts.iter().map(|s| s.ends_at).min().unwrap_or(at);
            self.caches.put_on_call(
                seen,
                team_id,
                OnCallSnapshot {
                    from,
                    until,
                    shifts: shifts.clone(),
                },
            );
        }
        Ok(shifts)
    }

    /// The team's shifts overlapping `[from, to)`.
    pub async fn shifts_between(
        &self,
        team_id: i64,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> AppResult<Vec<ShiftView>> {
        if let Some(shifts) = self.caches.window(team_id, from, to) {
            return Ok(shifts);
        }
        // Fetch a little wider, so the next reader a moment later still fits.
        let (wide_from, wide_to) = (from - Duration::weeks(1), to + Duration::weeks(1));
        let seen = self.caches.generation();
        let mut conn = self.db.acquire().await?;
        let shifts = db::shifts::for_team(&mut conn, team_id, wide_from, wide_to, None).await?;
        self.caches.put_window(
            seen,
            team_id,
            Window {
                from: wide_from,
                to: wide_to,
                shifts: shifts.clone(),
            },
        );
        Ok(shifts
            .into_iter()
            .filter(|s| s.ends_at > from && s.starts_at < to)
            .collect())
    }

    /// The rota page's extras for the team over whole UTC days around
    /// `[from, to)`, so every reader of the same weeks shares one answer.
    pub async fn rota_extras(&self, team: &Team, from: DateTime<Utc>, to: DateTime<Utc>) -> AppResult<Arc<RotaExtras>> {
        let (first, last) = (from.date_naive(), to.date_naive() + Duration::days(1));
        let key = (team.id, first, last);
        if let Some(found) = self.caches.rota_extras(&key) {
            return Ok(found);
        }
        let seen = self.caches.generation();
        let (a, b) = (
            first.and_time(NaiveTime::MIN).and_utc(),
            last.and_time(NaiveTime::MIN).and_utc(),
        );
        let mut conn = self.db.acquire().await?;
        let needs_cover = db::leave::needs_cover(&mut conn, &[team.id], a, b).await?;
        // Recovery days are dates in the team's zone: a day either side.
        let recovery =
            db::recovery::for_team(&mut conn, team.id, first - Duration::days(1), last + Duration::days(1)).await?;
        let rotations = crate::ops::handoffs::rotation_rules(&mut conn, Some(&[team.id])).await?;
        let handoffs = crate::ops::handoffs::between(&mut conn, &rotations, a, b).await?;
        let unpageable = db::contact_methods::unpageable_in_team(&mut conn, team.id).await?;
        let extras = Arc::new(RotaExtras {
            needs_cover,
            recovery,
            handoffs,
            unpageable,
        });
        self.caches.put_rota_extras(seen, key, extras.clone());
        Ok(extras)
    }

    /// The teams `user_id` belongs to, with their role; with `every_team`
    /// (an admin), every team, as a manager where not a member.
    pub async fn my_teams(&self, user_id: i64, every_team: bool) -> AppResult<Arc<Vec<MyTeam>>> {
        let key = (user_id, every_team);
        if let Some(found) = self.caches.my_teams(&key) {
            return Ok(found);
        }
        let seen = self.caches.generation();
        let mut conn = self.db.acquire().await?;
        let teams = Arc::new(db::teams::for_user(&mut conn, user_id, every_team).await?);
        self.caches.put_my_teams(seen, key, teams.clone());
        Ok(teams)
    }

    /// Unread notifications and, for a manager or admin, approvals waiting.
    pub async fn nav_counts(&self, user: &User) -> AppResult<(i64, Option<i64>)> {
        if let Some(found) = self.caches.nav_counts(&user.id) {
            return Ok(found);
        }
        let seen = self.caches.generation();
        let mut conn = self.db.acquire().await?;
        let counts = db::notifications::nav_counts(&mut conn, user.id, user.is_admin, self.clock.now()).await?;
        self.caches.put_nav_counts(seen, user.id, counts);
        Ok(counts)
    }
}
