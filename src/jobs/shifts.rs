//! Shift notifications: the day before a shift and at its start, each
//! person is told once, in the app (and by e-mail where it is set up):
//! "You are primary for Platform (Weekly) from Tue 10 Mar 10:00". Swaps,
//! covers and overrides already tell the people they put on or take off.

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use sqlx::PgPool;

use crate::db;
use crate::db::shift_notices::Notice;
use crate::ops::notify;

/// How far ahead the day-before notice goes out.
pub const AHEAD: Duration = Duration::hours(24);
/// A shift starting sooner than this gets no day-before notice (whoever
/// made it, with a cover or an override, has told the person).
pub const SOON: Duration = Duration::hours(1);
/// A start notice later than this (no process ran) is not worth sending.
pub const LATE: Duration = Duration::minutes(15);
/// Claims are kept this long, then forgotten.
const KEEP: Duration = Duration::days(3);

/// What the person reads, times in their own zone.
pub fn message(n: &Notice) -> String {
    let tz: Tz = n.timezone.parse().unwrap_or(chrono_tz::UTC);
    let what = format!("{} for {} ({})", n.role, n.team_name, n.rotation_name);
    match n.kind.as_str() {
        "start" => format!(
            "Your shift has started: you are {what} until {}",
            notify::when(n.ends_at, tz)
        ),
        _ => format!(
            "You are {what} from {} to {}",
            notify::when(n.starts_at, tz),
            notify::when(n.ends_at, tz)
        ),
    }
}

/// Tells everyone whose shift starts within a day, or has just started,
/// who has not been told: how many were told.
pub async fn send_shift_notices(pool: &PgPool, now: DateTime<Utc>, mail: bool) -> anyhow::Result<usize> {
    let mut tx = pool.begin().await?;
    let due = db::shift_notices::claim_due(&mut tx, now, (SOON, AHEAD), LATE).await?;
    for n in &due {
        let link = format!("/teams/{}", n.team_slug);
        db::notifications::create(&mut tx, n.team_id, &[n.user_id], (&message(n), &link), now, mail).await?;
    }
    db::shift_notices::prune(&mut tx, now - KEEP).await?;
    tx.commit().await?;
    Ok(due.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_notice_names_the_role_the_team_and_the_times_in_the_persons_zone() {
        let at = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
        let mut n = Notice {
            user_id: 1,
            team_id: 1,
            team_slug: "platform".into(),
            team_name: "Platform".into(),
            rotation_name: "Weekly".into(),
            role: "primary".into(),
            starts_at: at("2026-03-31T09:00:00Z"),
            ends_at: at("2026-04-07T09:00:00Z"),
            timezone: "Europe/London".into(),
            kind: "eve".into(),
        };
        assert_eq!(
            message(&n),
            "You are primary for Platform (Weekly) from Tue 31 Mar 10:00 to Tue 7 Apr 10:00"
        );
        n.kind = "start".into();
        n.timezone = "Asia/Tokyo".into();
        assert_eq!(
            message(&n),
            "Your shift has started: you are primary for Platform (Weekly) until Tue 7 Apr 18:00"
        );
    }
}
