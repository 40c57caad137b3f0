//! The reminders due, as the notification job will ask for them: the
//! outgoing primary on the handoff morning, the incoming ones once it is
//! submitted; each once, however many processes ask.

use rota::db;
use rota::domain::handoff::ReminderKind;
use rota::ops::handoffs::{DueReminder, reminders_due};

use super::{Team, team_at};
use crate::common::t;

async fn due(team: &Team, now: &str) -> Vec<DueReminder> {
    let mut conn = team.f.app.db.acquire().await.unwrap();
    reminders_due(&mut conn, t(now)).await.unwrap()
}

fn who(list: &[DueReminder]) -> Vec<(ReminderKind, &str)> {
    list.iter().map(|r| (r.kind, r.email.as_str())).collect()
}

#[tokio::test]
async fn the_writer_is_reminded_on_the_morning_and_the_readers_when_it_is_submitted() {
    let team = team_at("2026-11-10T07:00:00Z").await;
    assert!(due(&team, "2026-11-10T07:59:00Z").await.is_empty());

    let morning = due(&team, "2026-11-10T08:00:00Z").await;
    assert_eq!(who(&morning), [(ReminderKind::Write, "p0@example.com")]);
    let r = &morning[0];
    assert_eq!(r.path, super::PAGE);
    assert_eq!(r.overdue_at, t("2026-11-10T10:00:00Z"));

    // Recorded as sent once: a second process finds it taken.
    let mut conn = team.f.app.db.acquire().await.unwrap();
    let sent_at = t("2026-11-10T08:00:00Z");
    for (attempt, first) in [(1, true), (2, false)] {
        let marked = db::handoffs::mark_reminded(
            &mut conn,
            r.rotation_id,
            r.handoff_at,
            r.kind.as_str(),
            r.user_id,
            sent_at,
        )
        .await
        .unwrap();
        assert_eq!(marked, first, "attempt {attempt}");
    }
    drop(conn);
    assert!(due(&team, "2026-11-10T08:05:00Z").await.is_empty());

    team.set_now("2026-11-10T09:00:00Z");
    let (status, _) = team.put(&team.tokens[0], "All quiet", true).await;
    assert_eq!(status, reqwest::StatusCode::OK);
    let submitted = due(&team, "2026-11-10T09:00:00Z").await;
    assert_eq!(
        who(&submitted),
        [
            (ReminderKind::Read, "p1@example.com"),
            (ReminderKind::Read, "p2@example.com")
        ]
    );
    assert_eq!(submitted[0].author.as_deref(), Some("Person 0"));
    team.acknowledge(&team.tokens[1]).await;
    assert_eq!(
        who(&due(&team, "2026-11-10T09:01:00Z").await),
        [(ReminderKind::Read, "p2@example.com")]
    );
}

#[tokio::test]
async fn a_writer_on_a_recovery_day_is_reminded_the_next_working_morning() {
    let team = team_at("2026-11-10T05:00:00Z").await;
    let (status, body) = team
        .f
        .app
        .post_json(
            &team.f.manager_token,
            "/api/v1/teams/platform/pages",
            serde_json::json!({"dedup_key": "n", "summary": "Woken", "fired_at": "2026-11-10T02:00:00Z",
                               "resolved_at": "2026-11-10T02:30:00Z", "responder_email": "p0@example.com"}),
        )
        .await;
    assert_eq!(status, reqwest::StatusCode::CREATED, "{body}");
    assert!(
        due(&team, "2026-11-10T08:00:00Z").await.is_empty(),
        "not on their recovery day"
    );
    assert_eq!(
        who(&due(&team, "2026-11-11T08:00:00Z").await),
        [(ReminderKind::Write, "p0@example.com")]
    );
}
