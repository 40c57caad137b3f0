//! Shift notifications: the day before a shift and at its start, each
//! person told once, also with two processes running the job at once.
//! The team is named "platform". Week 1 starts Tuesday 3 March 2026 10:00 London (GMT): Sam primary,
//! Alex secondary.

use rota::jobs::shifts::send_shift_notices;

use super::*;

async fn told(p: &Paging, token: &str) -> Vec<String> {
    let (status, list) = p.app.get_json(token, "/api/v1/me/notifications").await;
    assert_eq!(status, StatusCode::OK, "{list}");
    list.as_array()
        .unwrap()
        .iter()
        .map(|n| n["message"].as_str().unwrap().to_owned())
        .filter(|m| m.contains("platform (Weekly)"))
        .collect()
}

#[tokio::test]
async fn people_are_told_the_day_before_and_at_the_start_of_their_shift_once() {
    let p = setup().await;
    let db = &p.app.db;
    // More than a day ahead: nothing yet.
    assert_eq!(
        send_shift_notices(db, t("2026-03-02T09:59:00Z"), false).await.unwrap(),
        0
    );

    // A day ahead, two processes at once: each person told once.
    let eve = t("2026-03-02T10:00:00Z");
    let (a, b) = tokio::join!(send_shift_notices(db, eve, false), send_shift_notices(db, eve, false));
    assert_eq!(a.unwrap() + b.unwrap(), 2);
    assert_eq!(
        told(&p, &p.sam).await,
        ["You are primary for platform (Weekly) from Tue 3 Mar 10:00 to Tue 10 Mar 10:00"]
    );
    assert_eq!(
        told(&p, &p.alex).await,
        ["You are secondary for platform (Weekly) from Tue 3 Mar 10:00 to Tue 10 Mar 10:00"]
    );
    assert_eq!(
        send_shift_notices(db, t("2026-03-03T09:00:00Z"), false).await.unwrap(),
        0
    );

    // At the start, once more each, with e-mail where it is set up.
    let start = t("2026-03-03T10:00:30Z");
    assert_eq!(send_shift_notices(db, start, true).await.unwrap(), 2);
    assert_eq!(
        send_shift_notices(db, start + Duration::minutes(1), true)
            .await
            .unwrap(),
        0
    );
    let sam = told(&p, &p.sam).await;
    assert_eq!(sam.len(), 2, "{sam:?}");
    assert!(
        sam.contains(
            &"Your shift has started: you are primary for platform (Weekly) until Tue 10 Mar 10:00".to_owned()
        ),
        "{sam:?}"
    );
    let mailed: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM notifications WHERE mail_state = 'pending' AND message LIKE 'Your shift has started%'",
    )
    .fetch_one(db)
    .await
    .unwrap();
    assert_eq!(mailed, 2);
}

#[tokio::test]
async fn a_start_missed_by_more_than_a_quarter_of_an_hour_is_not_announced_late() {
    let p = setup().await;
    // No process ran from before the eve until 10:16 on the day.
    let late = t("2026-03-03T10:16:00Z");
    assert_eq!(send_shift_notices(&p.app.db, late, false).await.unwrap(), 0);
    assert!(told(&p, &p.sam).await.is_empty());
}

#[tokio::test]
async fn a_shift_starting_within_the_hour_gets_its_start_notice_only() {
    let p = setup().await;
    // The first run is half an hour before the start (a new install, say).
    assert_eq!(
        send_shift_notices(&p.app.db, t("2026-03-03T09:30:00Z"), false)
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        send_shift_notices(&p.app.db, t("2026-03-03T10:00:00Z"), false)
            .await
            .unwrap(),
        2
    );
    assert_eq!(
        told(&p, &p.sam).await,
        ["Your shift has started: you are primary for platform (Weekly) until Tue 10 Mar 10:00"]
    );
}
