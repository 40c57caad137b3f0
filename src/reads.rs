//! Reads on the hot paths, through the caches when they are on.

use chrono::{DateTime, Duration, Utc};

use crate::app::AppState;
use crate::cache::{OnCallSnapshot, Window};
use crate::db;
use crate::db::rotations::{Rotation, Version};
use crate::db::shifts::ShiftView;
use crate::db::teams::Team;
use crate::db::users::User;
use crate::error::AppResult;

impl AppState {
    pub async fn user_by_token_hash(&self, hash: &[u8]) -> AppResult<Option<User>> {
        if let Some(user) = self.caches.token(&hash.to_vec()) {
            return Ok(Some(user));
        }
        let seen = self.caches.generation();
        let mut conn = self.db.acquire().await?;
        let user = db::tokens::user_for(&mut conn, hash).await?;
        if let Some(u) = &user {
            self.caches.put_token(seen, hash.to_vec(), u.clone());
        }
        Ok(user)
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
    pub async fn team_access(&self, user_id: i64, slug: &str) -> AppResult<Option<(Team, Option<String>)>> {
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
}
