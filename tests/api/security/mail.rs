//! Finding 2: a CR/LF in a stored name stopped all e-mail, and a run that
//! stopped mid-queue sent the queue again. A message that cannot be built
//! is marked failed (and shown to admins) while the queue moves on; each
//! e-mail is claimed, sent and recorded on its own; background jobs are
//! supervised.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::{DateTime, Duration, Utc};
use rota::db;

use crate::common::{Fixture, fixture_on, spawn_app_with, t};
use crate::mail::{Inbox, smtp_sink, smtp_sink_stalling_at};

const NOW: &str = "2027-03-01T12:00:00Z";

/// The team with three members and e-mail sent to `smtp_url`.
async fn team_with_mail(smtp_url: String) -> Fixture {
    let app = spawn_app_with(t(NOW), Some(smtp_url)).await;
    let f = fixture_on(app, "Europe/London", "2027-01-05", 3).await;
    let queued: i64 = sqlx::query_scalar("SELECT count(*) FROM notifications WHERE mail_state <> 'none'")
        .fetch_one(&f.app.db)
        .await
        .unwrap();
    assert_eq!(queued, 0, "the fixture queues no e-mail");
    f
}

/// Queues one e-mail to each member in turn: "Notice 0" to p0, and so on.
async fn queue_one_each(f: &Fixture) {
    let mut conn = f.app.db.acquire().await.unwrap();
    for (i, member) in f.members.iter().enumerate() {
        let message = format!("Notice {i}");
        db::notifications::create(&mut conn, f.team.id, &[member.id], (&message, "/inbox"), t(NOW), true)
            .await
            .unwrap();
    }
}

/// Who received what, in order: (recipient, the notice's text).
fn received(inbox: &Inbox) -> Vec<(String, String)> {
    inbox
        .lock()
        .unwrap()
        .iter()
        .map(|m| {
            let notice = m
                .data
                .lines()
                .find(|l| l.starts_with("Notice "))
                .unwrap_or_default()
                .to_owned();
            (m.to.join(","), notice)
        })
        .collect()
}

/// Runs the mail job once at `now` in a task of its own, so a panic shows
/// as this test's failure rather than ending it.
async fn send_due(f: &Fixture, now: DateTime<Utc>) -> usize {
    let (db, mailer) = (f.app.db.clone(), f.app.mailer.clone().expect("SMTP configured"));
    tokio::spawn(async move { rota::mail::send_due(&db, &mailer, now).await })
        .await
        .expect("sending e-mail does not panic")
        .expect("sending e-mail works")
}

#[tokio::test]
async fn a_line_break_in_a_stored_name_fails_only_that_mail_and_the_queue_moves_on() {
    let (url, inbox) = smtp_sink().await;
    let f = team_with_mail(url).await;
    // Stored before names refused control characters.
    sqlx::query("UPDATE users SET name = $1 WHERE email = 'p1@example.com'")
        .bind("Lena\r\nBcc: x@evil.example")
        .execute(&f.app.db)
        .await
        .unwrap();
    queue_one_each(&f).await;

    assert_eq!(send_due(&f, t(NOW)).await, 2);
    assert_eq!(
        received(&inbox),
        [
            ("p0@example.com".to_owned(), "Notice 0".to_owned()),
            ("p2@example.com".to_owned(), "Notice 2".to_owned())
        ]
    );
    for mail in inbox.lock().unwrap().iter() {
        assert!(!mail.data.to_ascii_lowercase().contains("bcc:"), "{}", mail.data);
        assert!(!mail.to.iter().any(|to| to.contains("evil")), "{:?}", mail.to);
    }
    let (state, error): (String, Option<String>) = sqlx::query_as(
        "SELECT n.mail_state, n.mail_error FROM notifications n JOIN users u ON u.id = n.user_id
         WHERE u.email = 'p1@example.com'",
    )
    .fetch_one(&f.app.db)
    .await
    .unwrap();
    assert_eq!(state, "failed");
    let error = error.expect("a reason");
    assert!(error.contains("name contains a line break"), "{error}");

    // Given up for good; nothing else goes out again, however late.
    assert_eq!(send_due(&f, t(NOW) + Duration::days(2)).await, 0);
    assert_eq!(inbox.lock().unwrap().len(), 2);

    // An admin sees it, and why.
    f.app.user("admin@example.com", "Ada Admin", "UTC", true).await;
    let admin = f.app.sign_in("admin@example.com").await;
    let page = admin
        .get(f.app.url("/admin"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("E-mail that could not be sent"), "{page}");
    assert!(page.contains("p1@example.com"), "{page}");
    assert!(page.contains("name contains a line break"), "{page}");
}

#[tokio::test]
async fn a_run_that_stops_mid_queue_never_sends_again_what_it_recorded() {
    // The mail server stops answering at the third message, and the run
    // stops there, as when the process is killed.
    let sink = smtp_sink_stalling_at(Some(3)).await;
    let f = team_with_mail(sink.url.clone()).await;
    queue_one_each(&f).await;
    let mailer = f.app.mailer.clone().expect("SMTP configured");
    tokio::select! {
        r = rota::mail::send_due(&f.app.db, &mailer, t(NOW)) => panic!("the run ended: {r:?}"),
        () = sink.stalled.notified() => {}
    }
    sink.release.notify_one();
    let first_two = [
        ("p0@example.com".to_owned(), "Notice 0".to_owned()),
        ("p1@example.com".to_owned(), "Notice 1".to_owned()),
    ];
    assert_eq!(received(&sink.inbox), first_two);

    // The next run sends nothing again; the interrupted message waits for
    // its claim (2 minutes) to lapse, then goes out once.
    assert_eq!(send_due(&f, t(NOW)).await, 0);
    assert_eq!(received(&sink.inbox), first_two);
    assert_eq!(send_due(&f, t(NOW) + Duration::minutes(5)).await, 1);
    assert_eq!(send_due(&f, t(NOW) + Duration::hours(1)).await, 0);
    let mut all = first_two.to_vec();
    all.push(("p2@example.com".to_owned(), "Notice 2".to_owned()));
    assert_eq!(received(&sink.inbox), all);
}

#[tokio::test]
async fn a_message_whose_sending_keeps_being_interrupted_is_given_up() {
    let (url, inbox) = smtp_sink().await;
    let f = team_with_mail(url).await;
    let mut conn = f.app.db.acquire().await.unwrap();
    db::notifications::create(
        &mut conn,
        f.team.id,
        &[f.members[0].id],
        ("Notice 0", "/inbox"),
        t(NOW),
        true,
    )
    .await
    .unwrap();
    // It is claimed six times by processes that die mid-send.
    let mut at = t(NOW);
    for _ in 0..6 {
        let claimed = db::notifications::claim_mail(&mut conn, at, rota::mail::LEASE, 6)
            .await
            .unwrap()
            .expect("due");
        assert_eq!(claimed.email, "p0@example.com");
        at += rota::mail::LEASE;
    }
    drop(conn);
    // Meanwhile the others' notices were queued.
    queue_one_each(&f).await;
    assert_eq!(send_due(&f, at).await, 3);
    let to: Vec<String> = received(&inbox).into_iter().map(|(to, _)| to).collect();
    assert_eq!(
        to,
        ["p0@example.com", "p1@example.com", "p2@example.com"],
        "its later notice, and the others'"
    );
    let error: String = sqlx::query_scalar(
        "SELECT n.mail_error FROM notifications n JOIN users u ON u.id = n.user_id
         WHERE u.email = 'p0@example.com' AND n.mail_state = 'failed'",
    )
    .fetch_one(&f.app.db)
    .await
    .unwrap();
    assert!(error.contains("interrupted 6 times"), "{error}");
}

#[tokio::test]
async fn two_processes_sending_at_once_send_each_message_once() {
    let (url, inbox) = smtp_sink().await;
    let f = team_with_mail(url).await;
    queue_one_each(&f).await;
    queue_one_each(&f).await;
    let mailer = f.app.mailer.clone().expect("SMTP configured");
    let (a, b) = tokio::join!(
        rota::mail::send_due(&f.app.db, &mailer, t(NOW)),
        rota::mail::send_due(&f.app.db, &mailer, t(NOW))
    );
    assert_eq!(a.unwrap() + b.unwrap(), 6);
    let mut got = received(&inbox);
    got.sort();
    let mut want: Vec<(String, String)> = (0..3)
        .flat_map(|i| vec![(format!("p{i}@example.com"), format!("Notice {i}")); 2])
        .collect();
    want.sort();
    assert_eq!(got, want);
}

#[tokio::test]
async fn a_job_that_panics_is_restarted_and_the_panic_is_counted_in_metrics() {
    let app = crate::common::spawn_app_at(t(NOW)).await;
    let starts = Arc::new(AtomicUsize::new(0));
    let (running, mut restarted) = tokio::sync::mpsc::unbounded_channel();
    let job = tokio::spawn(rota::jobs::supervise::supervise(
        "test_panics_once",
        std::time::Duration::ZERO,
        move || {
            let run = starts.fetch_add(1, Ordering::SeqCst);
            let running = running.clone();
            async move {
                assert!(run > 0, "the first run fails");
                let _ = running.send(run);
                std::future::pending::<()>().await;
            }
        },
    ));
    let run = tokio::time::timeout(std::time::Duration::from_secs(10), restarted.recv())
        .await
        .expect("the job was started again");
    assert_eq!(run, Some(1));
    let metrics = reqwest::get(app.url("/metrics")).await.unwrap().text().await.unwrap();
    assert!(
        metrics.contains("rota_job_panics_total{job=\"test_panics_once\"} 1"),
        "{metrics}"
    );
    for job in ["send_mail", "extend_schedules", "handoff_reminders", "handoff_webhooks"] {
        assert!(
            metrics.contains(&format!("rota_job_panics_total{{job=\"{job}\"}}")),
            "{job}: {metrics}"
        );
    }
    job.abort();
}
