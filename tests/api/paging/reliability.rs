//! Retries with backoff, the running worker woken by NOTIFY, exactly once
//! with two workers, and a sender dying mid-send.

use super::*;

#[tokio::test]
async fn a_provider_answering_500_is_retried_with_backoff_and_the_failure_is_on_the_timeline() {
    let p = setup().await;
    p.rx.failing.store(2, Ordering::SeqCst);
    let page = p.fire().await;
    p.at(Duration::zero()).await;
    assert_eq!(p.rx.pages("alex").len(), 1);
    // Not again before the wait.
    p.at(Duration::seconds(9)).await;
    assert_eq!(p.rx.pages("alex").len(), 1);
    p.at(Duration::seconds(10)).await;
    assert_eq!(p.rx.pages("alex").len(), 2);
    p.at(Duration::seconds(29)).await;
    assert_eq!(p.rx.pages("alex").len(), 2);
    p.at(Duration::seconds(30)).await;
    assert_eq!(p.rx.pages("alex").len(), 3);
    let states: Vec<(String, String)> = p
        .timeline(page)
        .await
        .iter()
        .map(|e| {
            (
                e["state"].as_str().unwrap().to_owned(),
                e["detail"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(states.len(), 3, "{states:?}");
    assert_eq!(states[0].0, "failed");
    assert!(
        states[0].1.contains("500") && states[0].1.contains("trying again in 10 s"),
        "{states:?}"
    );
    assert!(states[1].1.contains("trying again in 20 s"), "{states:?}");
    assert_eq!(states[2].0, "delivered");
    // And in Rota's own metrics.
    let metrics = p.metrics().await;
    assert!(
        metrics.contains("rota_page_messages_total{kind=\"ntfy\",outcome=\"retrying\"}"),
        "{metrics}"
    );
    // The next rule is still on time: Sam at five minutes.
    p.at(Duration::minutes(5)).await;
    assert_eq!(p.rx.pages("sam").len(), 1);
}

#[tokio::test]
async fn the_running_worker_wakes_on_notify_and_pushes_the_primary_within_a_second() {
    let p = setup().await;
    let worker = tokio::spawn(rota::jobs::paging::run(p.app.state.clone()));
    let mut count = p.rx.count.subscribe();
    let before = *count.borrow_and_update();
    let started = std::time::Instant::now();
    p.fire().await;
    tokio::time::timeout(std::time::Duration::from_secs(1), count.wait_for(|n| *n > before))
        .await
        .expect("Alex's push within a second")
        .unwrap();
    assert!(started.elapsed() < std::time::Duration::from_secs(1));
    assert_eq!(p.rx.pages("alex").len(), 1);
    // Now idle until the next step (5 minutes away): a new page wakes it.
    let before = *count.borrow_and_update();
    let report = json!({"dedup_key": "disk", "summary": "Disk full", "fired_at": RECEIVED, "notify": true});
    let (status, body) = p.app.post_json(&p.hook, "/api/v1/teams/platform/pages", report).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    tokio::time::timeout(std::time::Duration::from_secs(1), count.wait_for(|n| *n > before))
        .await
        .expect("the second push within a second")
        .unwrap();
    assert_eq!(p.rx.pages("alex").len(), 2);
    worker.abort();
}

#[tokio::test]
async fn two_workers_on_one_database_send_every_message_once() {
    let p = setup().await;
    for n in 0..40 {
        let report = json!({"dedup_key": format!("storm-{n}"), "summary": format!("storm {n}"),
                            "fired_at": RECEIVED, "notify": true});
        let (status, body) = p.app.post_json(&p.hook, "/api/v1/teams/platform/pages", report).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    // Two processes' workers, at the same moments.
    for after in [Duration::zero(), Duration::minutes(5)] {
        p.app.clock.set(t(RECEIVED) + after);
        let (a, b) = tokio::join!(p.app.settle_paging(), p.app.settle_paging());
        assert!(a.steps + b.steps >= 40, "{a:?} {b:?}");
    }
    // A storm: each person hears of the first three alone and of the rest
    // in one bundle (`storms`), and of each page once.
    for topic in ["alex", "sam"] {
        let pushes = p.rx.pages(topic);
        assert_eq!(pushes.len(), 4, "{pushes:?}");
        let mut titles: Vec<String> = pushes.iter().map(|b| b["title"].to_string()).collect();
        titles.sort();
        titles.dedup();
        assert_eq!(titles.len(), 4, "each message once");
        assert!(
            titles.contains(&"\"37 more pages firing for platform\"".to_owned()),
            "{titles:?}"
        );
    }
    let told: Vec<(String, i32, i64)> = sqlx::query_as(
        "SELECT u.email, e.step, count(*) FROM page_events e JOIN users u ON u.id = e.user_id
         GROUP BY 1, 2 HAVING count(*) = count(DISTINCT e.page_id) ORDER BY 1",
    )
    .fetch_all(&p.app.db)
    .await
    .unwrap();
    assert_eq!(
        told,
        [("alex@example.com".into(), 0, 40), ("sam@example.com".into(), 1, 40)],
        "each page told to each once"
    );
}

#[tokio::test]
async fn a_message_whose_sender_died_mid_send_goes_out_once_when_its_claim_lapses() {
    let p = setup().await;
    let page = p.fire().await;
    // A process runs the step and claims the message, then dies before
    // sending it (its claim is committed; nothing was sent).
    let mut tx = p.app.db.begin().await.unwrap();
    rota::ops::paging::escalate_due(&mut tx, p.app.clock.now())
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let mut conn = p.app.db.acquire().await.unwrap();
    let claimed = rota::ops::paging::storm::claim(&mut conn, p.app.clock.now(), Duration::minutes(1), 10)
        .await
        .unwrap();
    assert_eq!(claimed.sends.len(), 1);
    drop(conn);
    // Another process finds nothing to send while the claim holds.
    p.at(Duration::seconds(59)).await;
    assert!(p.rx.pages("alex").is_empty());
    // When it lapses, the message goes out, once.
    p.at(Duration::seconds(60)).await;
    p.at(Duration::seconds(61)).await;
    assert_eq!(p.rx.pages("alex").len(), 1);
    assert_eq!(p.timeline(page).await.len(), 1);
}

/// The worker holds a page's escalation while it writes rows that refer
/// to the page; an acknowledgement locks the page and then ends the
/// escalation. Neither may wait on the other in a cycle (Postgres would
/// abort one: a 500 to the person acknowledging).
#[tokio::test]
async fn an_acknowledgement_while_the_worker_holds_the_escalation_waits_for_it_without_a_deadlock() {
    let p = setup().await;
    let page = p.fire().await;
    // The worker's side: the escalation claimed, as `claim_due_steps` does.
    let mut worker = p.app.db.begin().await.unwrap();
    sqlx::query("SELECT 1 FROM escalations WHERE page_id = $1 FOR UPDATE")
        .bind(page)
        .execute(&mut *worker)
        .await
        .unwrap();
    // Alex acknowledges: it locks the page, then waits for the escalation.
    let (url, token) = (p.app.url(&format!("/api/v1/pages/{page}/acknowledge")), p.alex.clone());
    let ack = tokio::spawn(async move {
        let res = api().post(url).bearer_auth(token).send().await.unwrap();
        crate::common::split(res).await
    });
    let mut waiting = false;
    for _ in 0..400 {
        waiting = sqlx::query_scalar::<_, bool>(
            "SELECT EXISTS (SELECT 1 FROM pg_stat_activity
                            WHERE datname = current_database() AND wait_event_type = 'Lock')",
        )
        .fetch_one(&p.app.db)
        .await
        .unwrap();
        if waiting {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert!(waiting, "the acknowledgement waits for the escalation");
    // The worker writes the page's timeline (a row referring to the page)
    // and commits: it must not wait for the acknowledgement's page lock.
    rota::db::paging::event(
        &mut worker,
        page,
        p.app.clock.now(),
        None,
        Some(0),
        None,
        "skipped",
        "test",
    )
    .await
    .expect("the worker is not deadlocked");
    worker.commit().await.unwrap();
    let (status, body) = ack.await.unwrap();
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(p.acknowledged(page).await.1.as_deref(), Some("alex@example.com"));
}

/// A provider that takes a push and never answers holds its send for up to
/// the send limit; the running worker meanwhile pages someone else at once.
#[tokio::test]
async fn a_provider_that_hangs_delays_no_one_elses_page() {
    let p = setup().await;
    *p.rx.hanging.lock().unwrap() = Some("alex".into());
    let worker = tokio::spawn(rota::jobs::paging::run(p.app.state.clone()));
    let mut count = p.rx.count.subscribe();
    p.fire().await;
    tokio::time::timeout(
        std::time::Duration::from_secs(5),
        count.wait_for(|_| !p.rx.pages("alex").is_empty()),
    )
    .await
    .expect("Alex's push is taken (and never answered)")
    .unwrap();
    // Sam sends himself a test page while Alex's push still hangs.
    let started = std::time::Instant::now();
    let (status, body) = p
        .app
        .post_json(
            &p.sam,
            "/api/v1/teams/platform/pages",
            json!({"drill": true, "to": "me"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    tokio::time::timeout(
        std::time::Duration::from_secs(5),
        count.wait_for(|_| !p.rx.pages("sam").is_empty()),
    )
    .await
    .expect("Sam's push does not wait for Alex's provider")
    .unwrap();
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    worker.abort();
}

/// Resolves no name: the receivers are reached by address.
struct NoDns;

impl reqwest::dns::Resolve for NoDns {
    fn resolve(&self, _: reqwest::dns::Name) -> reqwest::dns::Resolving {
        Box::pin(async { Ok(Box::new(std::iter::empty()) as reqwest::dns::Addrs) })
    }
}

/// A provider that takes a push and never answers: the send is cut off at
/// its time limit (here 300 ms), retried with backoff, the failure on the
/// page's timeline and in `/metrics`, and the next rule still on time.
#[tokio::test]
async fn a_provider_that_hangs_is_cut_off_at_the_time_limit_and_retried() {
    let p = setup().await;
    *p.rx.hanging.lock().unwrap() = Some("alex".into());
    let page = p.fire().await;
    let allowed = p.rx.base.trim_start_matches("http://");
    let pager = rota::ops::paging::Pager {
        outgoing: rota::outgoing::Outgoing::with_resolver(
            rota::outgoing::Policy::new(false, allowed).unwrap(),
            std::time::Duration::from_millis(300),
            Arc::new(NoDns),
        )
        .unwrap(),
        ..p.app.state.pager()
    };
    let run = |after: Duration| {
        let (db, pager) = (p.app.db.clone(), &pager);
        async move {
            rota::jobs::paging::drain(&db, pager, t(RECEIVED) + after)
                .await
                .unwrap()
        }
    };
    let started = std::time::Instant::now();
    let round = run(Duration::zero()).await;
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "cut off, not waited out"
    );
    assert_eq!((round.sent, round.failed), (0, 1), "{round:?}");
    assert_eq!(p.rx.pages("alex").len(), 1, "the provider took it and never answered");
    let timeline = p.timeline(page).await;
    assert_eq!(timeline[0]["state"], "failed", "{timeline:?}");
    let detail = timeline[0]["detail"].as_str().unwrap();
    assert!(detail.contains("trying again in 10 s"), "{detail}");

    // The provider answers again: the retry goes at ten seconds.
    *p.rx.hanging.lock().unwrap() = None;
    assert_eq!(run(Duration::seconds(9)).await.sent, 0);
    assert_eq!(run(Duration::seconds(10)).await.sent, 1);
    assert_eq!(p.rx.pages("alex").len(), 2);
    assert_eq!(p.timeline(page).await[1]["state"], "delivered");
    let metrics = p.metrics().await;
    assert!(
        metrics.contains("rota_page_messages_total{kind=\"ntfy\",outcome=\"retrying\"}"),
        "{metrics}"
    );
    // The next rule is still on time: Sam at five minutes.
    run(Duration::minutes(5)).await;
    assert_eq!(p.rx.pages("sam").len(), 1);
}
