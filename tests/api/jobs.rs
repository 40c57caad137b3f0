use chrono::Duration;

use rota::db::Pools;

use crate::common::{Fixture, fixture, t};

#[tokio::test]
async fn the_extension_job_runs_once_across_processes_and_is_idempotent() {
    let now = t("2026-11-26T12:00:00Z");
    let f = fixture(now, "Europe/London", "2026-11-03", 3).await;
    let count = || async {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM shifts")
            .fetch_one(&f.app.db)
            .await
            .unwrap()
    };
    let initial = count().await;
    // Ten weeks later, two "processes" run the job at once.
    let later = now + Duration::weeks(10);
    let (a, b) = tokio::join!(
        rota::jobs::extend_schedules(&f.app.db, later),
        rota::jobs::extend_schedules(&f.app.db, later)
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    let written = a.unwrap_or(0) + b.unwrap_or(0);
    assert_eq!(written, 20, "ten weeks of two roles, written once: {a:?} {b:?}");
    assert_eq!(count().await, initial + 20);
    assert_eq!(rota::jobs::extend_schedules(&f.app.db, later).await.unwrap(), Some(0));
    let last: chrono::DateTime<chrono::Utc> = sqlx::query_scalar("SELECT max(ends_at) FROM shifts")
        .fetch_one(&f.app.db)
        .await
        .unwrap();
    assert!(last >= later + Duration::weeks(26));
}

#[tokio::test]
async fn while_one_process_runs_the_job_another_skips_it() {
    let now = t("2026-11-26T12:00:00Z");
    let f = fixture(now, "Europe/London", "2026-11-03", 3).await;
    // Another process is in the middle of its run: it holds the job's lock.
    let mut other = f.app.db.begin().await.unwrap();
    sqlx::query("SELECT pg_advisory_xact_lock(x'726f7461'::bigint)")
        .execute(&mut *other)
        .await
        .unwrap();
    let later = now + Duration::weeks(4);
    assert_eq!(
        rota::jobs::extend_schedules(&f.app.db, later).await.unwrap(),
        None,
        "skipped"
    );
    other.rollback().await.unwrap();
    assert_eq!(
        rota::jobs::extend_schedules(&f.app.db, later).await.unwrap(),
        Some(8),
        "four weeks, two roles"
    );
}

#[tokio::test]
async fn the_database_refuses_overlapping_shifts_and_double_roles() {
    let f = fixture(t("2026-11-26T12:00:00Z"), "Europe/London", "2026-11-03", 3).await;
    let overlap = sqlx::query(
        "INSERT INTO shifts (rotation_id, version_id, week_index, role, user_id, starts_at, ends_at)
         SELECT rotation_id, version_id, 999, role, $1, starts_at + interval '1 hour', ends_at FROM shifts WHERE role = 'primary' LIMIT 1",
    )
    .bind(f.manager.id)
    .execute(&f.app.db)
    .await;
    let err = overlap.unwrap_err();
    assert_eq!(err.as_database_error().unwrap().constraint(), Some("shifts_no_overlap"));
    let both = sqlx::query("UPDATE shifts SET user_id = (SELECT user_id FROM shifts p WHERE p.role = 'primary' AND p.starts_at = shifts.starts_at) WHERE role = 'secondary'")
        .execute(&f.app.db)
        .await;
    assert_eq!(
        both.unwrap_err().as_database_error().unwrap().constraint(),
        Some("shifts_one_role_at_a_time")
    );
}

#[tokio::test]
async fn changes_made_by_another_process_reach_the_cached_answers() {
    changes_elsewhere_reach_the_cached_answers(
        fixture(t("2026-11-26T12:00:00Z"), "Europe/London", "2026-11-03", 3).await,
    )
    .await;
}

/// What another process changes reaches this one's cached answers (also
/// run through PgBouncer, `pgbouncer`).
pub(crate) async fn changes_elsewhere_reach_the_cached_answers(f: Fixture) {
    f.app.caches_on().await;
    let token = f.app.token(&f.members[0]).await;
    let oncall = "/api/v1/teams/platform/oncall";
    let (status, first) = f.app.get_json(&token, oncall).await;
    assert_eq!(status, reqwest::StatusCode::OK);
    let (_, again) = f.app.get_json(&token, oncall).await;
    assert_eq!(first, again);

    // Another process hands the current primary shift to the manager.
    f.app
        .change_elsewhere(&format!(
            "UPDATE shifts SET user_id = {} WHERE role = 'primary' AND starts_at <= '2026-11-26T12:00:00Z' AND ends_at > '2026-11-26T12:00:00Z'",
            f.manager.id
        ))
        .await;
    let (_, changed) = f.app.get_json(&token, oncall).await;
    assert_eq!(
        changed["rotations"][0]["primary"]["email"], "manager@example.com",
        "{changed}"
    );

    // And revokes the token.
    f.app.change_elsewhere("UPDATE api_tokens SET revoked_at = now()").await;
    assert_eq!(
        f.app.get_json(&token, oncall).await.0,
        reqwest::StatusCode::UNAUTHORIZED
    );
}

/// Two processes starting at once, each with its own pool on one database,
/// each running the schedule job and the handoff reminders (the start-up
/// that once deadlocked): every run completes, the reminder goes out once
/// and the weeks are written once.
#[tokio::test]
async fn two_processes_running_both_jobs_at_once_neither_deadlock_nor_repeat() {
    let team = crate::handoffs::team_at("2026-11-10T07:00:00Z").await;
    let one: Pools = team.f.app.db.clone().into();
    let options = (*team.f.app.db.connect_options()).clone();
    let two = sqlx::postgres::PgPoolOptions::new()
        .max_connections(4)
        .connect_with(options)
        .await
        .unwrap();
    both_jobs_in_two_processes(&team, one, two.into()).await;
}

/// Two processes, each with its pools, run the schedule job (over `direct`,
/// its lock being session-level) and the handoff reminders (over `db`) at
/// once on `team`'s database, twice (also run through PgBouncer).
pub(crate) async fn both_jobs_in_two_processes(team: &crate::handoffs::Team, one: Pools, two: Pools) {
    let test_db = &team.f.app.db;
    let shifts = || async {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM shifts")
            .fetch_one(test_db)
            .await
            .unwrap()
    };
    let before = shifts().await;
    // The write reminder is due at 08:00; ten more weeks are due later on.
    let due = t("2026-11-10T08:00:00Z");
    let later = due + Duration::weeks(10);
    let run = || async {
        let (e1, r1, e2, r2) = tokio::join!(
            rota::jobs::extend_schedules(&one.direct, later),
            rota::jobs::send_handoff_reminders(&one.db, due, false),
            rota::jobs::extend_schedules(&two.direct, later),
            rota::jobs::send_handoff_reminders(&two.db, due, false),
        );
        (e1.unwrap(), r1.unwrap(), e2.unwrap(), r2.unwrap())
    };
    let (e1, r1, e2, r2) = tokio::time::timeout(std::time::Duration::from_secs(30), run())
        .await
        .expect("both processes finish");
    assert_eq!(r1 + r2, 1, "the reminder is sent once: {r1} + {r2}");
    let written = e1.unwrap_or(0) + e2.unwrap_or(0);
    assert_eq!(written, 20, "ten weeks of two roles, once: {e1:?} {e2:?}");
    assert_eq!(shifts().await, before + 20);
    let reminders: i64 = sqlx::query_scalar("SELECT count(*) FROM notifications WHERE message LIKE 'Handoff due%'")
        .fetch_one(test_db)
        .await
        .unwrap();
    assert_eq!(reminders, 1);
    // Both runs again, later still: nothing left to do, nothing repeated.
    let (e1, r1, e2, r2) = run().await;
    assert_eq!((r1, e1.unwrap_or(0) + e2.unwrap_or(0)), (0, 0));
    assert_eq!(r2, 0);
}

/// The job looks only at rotations whose last week ends before the
/// horizon, and extends exactly those.
#[tokio::test]
async fn the_job_extends_only_the_rotations_short_of_the_horizon() {
    let now = t("2026-11-26T12:00:00Z");
    let f = fixture(now, "Europe/London", "2026-11-03", 3).await;
    let mut conn = f.app.db.acquire().await.unwrap();
    let horizon = now + rota::db::rotations::HORIZON;
    assert!(
        rota::db::rotations::needing_extension(&mut conn, horizon)
            .await
            .unwrap()
            .is_empty()
    );
    let later = rota::db::rotations::needing_extension(&mut conn, horizon + Duration::weeks(1))
        .await
        .unwrap();
    assert_eq!(later.len(), 1, "the fixture's one rotation");
    // Its last week gone, the rotation is due again now.
    sqlx::query("DELETE FROM shifts WHERE week_index = (SELECT max(week_index) FROM shifts)")
        .execute(&mut *conn)
        .await
        .unwrap();
    assert_eq!(
        rota::db::rotations::needing_extension(&mut conn, horizon)
            .await
            .unwrap(),
        later
    );
    drop(conn);
    assert_eq!(rota::jobs::extend_schedules(&f.app.db, now).await.unwrap(), Some(2));
}
