//! Storms: many pages firing for one person wake them a few times, not
//! once a page. Per contact method the first three go out alone and the
//! rest as one bundle ("37 more pages firing for platform") with one
//! "acknowledge all" link; SMS and calls go at most once a minute. Every
//! page's timeline still says who was told, how and when.

use std::collections::HashSet;

use super::twilio::{ALEX_PHONE, FROM, SID, confirmed_phone, gather_url, setup_twilio, signed_call_back};
use super::*;

/// What ntfy was asked to push to a topic about pages: the titles of the
/// pages pushed alone, and the bundles.
struct Told {
    singles: Vec<String>,
    bundles: Vec<Value>,
}

impl Told {
    /// Pages told of in all, alone or bundled.
    fn pages(&self) -> usize {
        self.singles.len() + self.bundles.iter().map(bundled).sum::<usize>()
    }
}

fn told(rx: &Receiver, topic: &str) -> Told {
    let (bundles, singles): (Vec<Value>, Vec<Value>) = rx
        .pages(topic)
        .into_iter()
        .partition(|b| b["actions"][0]["label"] == "Acknowledge all");
    Told {
        singles: singles
            .iter()
            .map(|b| b["title"].as_str().unwrap().to_owned())
            .collect(),
        bundles,
    }
}

/// How many pages a bundle's push told of, from its title.
fn bundled(push: &Value) -> usize {
    let title = push["title"].as_str().unwrap();
    assert!(title.contains(" more pages firing"), "{title}");
    title.split(' ').next().unwrap().parse().unwrap()
}

/// The token a bundle's "Acknowledge all" action posts to `/ack`.
fn bundle_token(p: &Paging, push: &Value) -> String {
    let action = &push["actions"][0];
    assert_eq!(action["action"], "http");
    assert_eq!(action["method"], "POST");
    assert_eq!(action["url"], p.app.url("/ack"));
    action["body"].as_str().unwrap().trim_start_matches("token=").to_owned()
}

/// Fires `summary 0` … `summary {n-1}` through the API, each paging; their ids.
async fn fire_many(p: &Paging, summary: &str, range: std::ops::Range<usize>) -> Vec<i64> {
    let mut ids = Vec::new();
    for n in range {
        let report = json!({"dedup_key": format!("{summary}-{n}"), "summary": format!("{summary} {n}"),
                            "fired_at": RECEIVED, "notify": true});
        let (status, body) = p.app.post_json(&p.hook, "/api/v1/teams/platform/pages", report).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        ids.push(body["id"].as_i64().unwrap());
    }
    ids
}

/// How many pages are acknowledged by Alex.
async fn acknowledged_by_alex(p: &Paging, pages: &[i64]) -> i64 {
    sqlx::query_scalar(
        "SELECT count(*) FROM pages p JOIN users u ON u.id = p.acknowledged_by
         WHERE p.id = ANY($1) AND u.email = 'alex@example.com'",
    )
    .bind(pages)
    .fetch_one(&p.app.db)
    .await
    .unwrap()
}

/// `(page, person, step, kind)` of every line on the pages' timelines
/// saying someone was told (sent or delivered), and how many times.
async fn tellings(p: &Paging) -> Vec<(i64, String, i32, String, i64)> {
    sqlx::query_as(
        "SELECT e.page_id, u.email, e.step, e.kind, count(*) FROM page_events e JOIN users u ON u.id = e.user_id
         WHERE e.state IN ('sent', 'delivered') GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4",
    )
    .fetch_all(&p.app.db)
    .await
    .unwrap()
}

#[tokio::test]
async fn forty_pages_at_once_reach_alex_as_three_pushes_and_a_bundle_and_every_timeline_says_so() {
    let p = setup().await;
    let pages = fire_many(&p, "storm", 0..40).await;
    p.at(Duration::zero()).await;
    let first = told(&p.rx, "alex");
    assert_eq!(first.singles.len(), 3, "{:?}", first.singles);
    assert!(
        first.singles[0].contains("storm 0"),
        "the earliest alone: {:?}",
        first.singles
    );
    assert_eq!(first.bundles.len(), 1);
    let bundle = &first.bundles[0];
    assert_eq!(bundle["title"], "37 more pages firing for platform");
    assert_eq!(bundle["priority"], 5);
    let text = bundle["message"].as_str().unwrap();
    assert!(
        text.contains("storm 3 (platform") && text.contains("and 32 more"),
        "{text}"
    );
    assert!(bundle["click"].as_str().unwrap().starts_with(&p.app.url("/ack/all.")));

    // More keep firing: the next bundles go a quarter of a second apart (a burst
    // is told within a second); the unit tests show the wait then growing
    // to a minute as the storm goes on.
    let ms = Duration::milliseconds;
    p.app.clock.set(t(RECEIVED) + ms(100));
    let second = fire_many(&p, "storm", 40..50).await;
    p.at(ms(100)).await;
    p.at(ms(249)).await;
    assert_eq!(
        p.rx.pages("alex").len(),
        4,
        "not before a quarter of a second has passed"
    );
    p.at(ms(250)).await;
    assert_eq!(
        told(&p.rx, "alex").bundles[1]["title"],
        "10 more pages firing for platform"
    );
    p.app.clock.set(t(RECEIVED) + ms(350));
    let third = fire_many(&p, "storm", 50..55).await;
    p.at(ms(350)).await;
    p.at(ms(499)).await;
    assert_eq!(
        p.rx.pages("alex").len(),
        5,
        "not before another quarter of a second has passed"
    );
    p.at(ms(500)).await;
    let all = told(&p.rx, "alex");
    assert_eq!(all.bundles.len(), 3);
    assert_eq!(all.bundles[2]["title"], "5 more pages firing for platform");
    assert_eq!(all.pages(), 55, "every page told");
    assert_eq!(p.rx.pages("alex").len(), 6, "six pushes for fifty-five pages");

    // Each page's timeline says Alex was told by push, once, and when.
    for (i, page) in pages.iter().chain(&second).chain(&third).enumerate() {
        let timeline = p.timeline(*page).await;
        assert_eq!(timeline.len(), 1, "{timeline:?}");
        let e = &timeline[0];
        assert_eq!(
            (&e["email"], &e["step"], &e["kind"]),
            (&json!("alex@example.com"), &json!(0), &json!("ntfy"))
        );
        assert_eq!(e["state"], "delivered");
        let detail = e["detail"].as_str().unwrap();
        let (bundling, at) = match i {
            0..3 => (None, RECEIVED),
            3..40 => (Some("bundling 37 pages"), RECEIVED),
            40..50 => (Some("bundling 10 pages"), "2026-03-03T03:08:00.250Z"),
            _ => (Some("bundling 5 pages"), "2026-03-03T03:08:00.500Z"),
        };
        match bundling {
            None => assert!(!detail.contains("bundling"), "{detail}"),
            Some(words) => assert!(detail.contains(words), "{detail}"),
        }
        assert_eq!(e["at"], json!(at), "{e}");
    }
    let metrics = p.metrics().await;
    assert!(
        metrics.contains("rota_page_bundles_total{kind=\"ntfy\",outcome=\"delivered\"}"),
        "{metrics}"
    );
    assert!(metrics.contains("rota_pages_bundled_total{kind=\"ntfy\"}"), "{metrics}");
}

#[tokio::test]
async fn acknowledging_the_bundle_acknowledges_its_pages_and_the_secondary_is_never_paged_for_them() {
    let p = setup().await;
    let pages = fire_many(&p, "storm", 0..40).await;
    p.at(Duration::zero()).await;
    let bundle = told(&p.rx, "alex").bundles.pop().expect("a bundle");
    let token = bundle_token(&p, &bundle);

    // The phone's action button: a POST, signed in nowhere.
    p.app.clock.set(t(RECEIVED) + Duration::minutes(2));
    let res = reqwest::Client::new()
        .post(p.app.url("/ack"))
        .form(&[("token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let html = res.text().await.unwrap();
    assert!(html.contains("Acknowledged 37 pages."), "{html}");
    assert_eq!(acknowledged_by_alex(&p, &pages[3..]).await, 37);
    assert_eq!(
        acknowledged_by_alex(&p, &pages[..3]).await,
        0,
        "the pages pushed alone are open"
    );
    assert_eq!(
        p.acknowledged(pages[39]).await,
        (
            Some(t(RECEIVED) + Duration::minutes(2)),
            Some("alex@example.com".into())
        )
    );
    // Each as a single acknowledgement is: audited one by one.
    let audited: i64 =
        sqlx::query_scalar("SELECT count(DISTINCT after->>'page') FROM audit_log WHERE action = 'page.acknowledge'")
            .fetch_one(&p.app.db)
            .await
            .unwrap();
    assert_eq!(audited, 37);

    // Sam is paged at five minutes for the three open pages only.
    p.at(Duration::minutes(5)).await;
    p.at(Duration::minutes(6)).await;
    let sam = told(&p.rx, "sam");
    assert!(sam.bundles.is_empty(), "{:?}", sam.bundles);
    let mut titles = sam.singles.clone();
    titles.sort();
    assert_eq!(
        titles,
        ["platform: storm 0", "platform: storm 1", "platform: storm 2"],
        "{titles:?}"
    );
    // Pressing again acknowledges nothing more.
    let res = reqwest::Client::new()
        .post(p.app.url("/ack"))
        .form(&[("token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.text().await.unwrap().contains("Nothing was left to acknowledge"));
}

#[tokio::test]
async fn opening_the_bundle_link_changes_nothing_and_a_forged_one_is_refused() {
    let p = setup().await;
    let pages = fire_many(&p, "storm", 0..40).await;
    p.at(Duration::zero()).await;
    let bundle = told(&p.rx, "alex").bundles.pop().expect("a bundle");
    let link = bundle["click"].as_str().unwrap().to_owned();
    // A mail scanner or chat unfurler follows the link, twice.
    for _ in 0..2 {
        let res = reqwest::Client::new().get(&link).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(res.headers()["referrer-policy"], "no-referrer");
        let html = res.text().await.unwrap();
        assert!(
            html.contains("<button type=\"submit\">Acknowledge all 37 pages</button>"),
            "{html}"
        );
        assert!(html.contains("method=\"post\""));
        assert!(html.contains("storm 39") && html.contains("open"), "{html}");
        assert!(!html.contains("storm 0<"), "only the bundled pages: {html}");
    }
    assert_eq!(acknowledged_by_alex(&p, &pages).await, 0);

    // Altered: another bundle's number, or a page link's shape.
    let token = bundle_token(&p, &bundle);
    let parts: Vec<&str> = token.split('.').collect();
    let other = format!("all.{}.{}", parts[1].parse::<i64>().unwrap() + 1, parts[2..].join("."));
    for forged in [other, token.trim_start_matches("all.").to_owned()] {
        let res = reqwest::Client::new()
            .post(p.app.url("/ack"))
            .form(&[("token", forged.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{forged}");
    }
    assert_eq!(acknowledged_by_alex(&p, &pages).await, 0);
    // The escalation went on: Sam hears of all forty.
    p.at(Duration::minutes(5)).await;
    assert_eq!(told(&p.rx, "sam").pages(), 40);
}

/// Alex reached by `kind` (`sms` or `voice`) alone; how many texts
/// Twilio was asked for so far (the tests).
async fn phone_only(p: &Paging, api: &super::twilio::TwilioApi, kind: &str) -> usize {
    let phone = confirmed_phone(p, api, kind).await;
    let (status, body) = p
        .app
        .send_json(
            reqwest::Method::PUT,
            &p.alex,
            "/api/v1/me/notification-rules",
            json!([{"contact_method_id": phone, "after_minutes": 0}]),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    api.messages().len()
}

async fn sms_only(p: &Paging, api: &super::twilio::TwilioApi) -> usize {
    phone_only(p, api, "sms").await
}

#[tokio::test]
async fn a_storm_texts_alex_once_now_and_the_rest_in_one_sms_a_minute_later() {
    let (p, api) = setup_twilio().await;
    let before = sms_only(&p, &api).await;
    let mut pages = fire_many(&p, "storm", 0..1).await;
    p.at(Duration::zero()).await;
    assert_eq!(api.messages().len(), before + 1);
    assert!(api.messages()[before].form["Body"].contains("storm 0"));
    // Nine more within the minute: none texted yet.
    for n in 1..10 {
        let after = Duration::seconds(5 * n as i64);
        p.app.clock.set(t(RECEIVED) + after);
        pages.extend(fire_many(&p, "storm", n..n + 1).await);
        p.at(after).await;
    }
    p.at(Duration::seconds(59)).await;
    assert_eq!(api.messages().len(), before + 1, "one SMS a minute");
    p.at(Duration::seconds(60)).await;
    let texts = api.messages();
    assert_eq!(texts.len(), before + 2);
    let bundle = &texts[before + 1];
    let body = &bundle.form["Body"];
    assert!(body.starts_with("9 more pages firing for platform:"), "{body}");
    assert!(
        body.contains("storm 1 (platform") && body.contains("and 4 more"),
        "{body}"
    );
    assert!(body.contains("Reply 1 to acknowledge"), "{body}");
    assert!(body.contains(&p.app.url("/ack/all.")), "{body}");
    assert!(
        bundle
            .idempotency
            .as_deref()
            .is_some_and(|k| k.starts_with("rota-page-bundle-"))
    );
    // Nothing lost: every page says Alex was texted, once.
    let texted: Vec<(i64, String, i32, String, i64)> = tellings(&p).await;
    assert_eq!(texted.len(), 10, "{texted:?}");
    assert!(
        texted
            .iter()
            .all(|(_, who, step, kind, n)| who == "alex@example.com" && *step == 0 && kind == "sms" && *n == 1)
    );

    // Alex replies 1 to the bundle: its nine pages are acknowledged.
    p.app.clock.set(t(RECEIVED) + Duration::seconds(90));
    let reply = [
        ("MessageSid", "SM9"),
        ("AccountSid", SID),
        ("From", ALEX_PHONE),
        ("To", FROM),
        ("Body", "1"),
    ];
    let (status, _, twiml) = signed_call_back(&p.app.url("/api/v1/hooks/twilio/sms"), &reply).await;
    assert_eq!(status, StatusCode::OK, "{twiml}");
    assert!(twiml.contains("Acknowledged all 9 pages"), "{twiml}");
    assert_eq!(acknowledged_by_alex(&p, &pages[1..]).await, 9);
    assert_eq!(acknowledged_by_alex(&p, &pages[..1]).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_workers_on_one_database_tell_each_page_once_by_each_method_in_a_storm() {
    let (p, api) = setup_twilio().await;
    confirmed_phone(&p, &api, "sms").await;
    let before = api.messages().len();
    // Alex has a push and an SMS method, both used at once.
    let pages = fire_many(&p, "storm", 0..40).await;
    // The steps have run: eighty messages are due when both processes look.
    let mut tx = p.app.db.begin().await.unwrap();
    let steps = rota::ops::paging::escalate_due(&mut tx, p.app.clock.now())
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(steps, 40);
    for after in [0, 30, 60, 90, 120] {
        p.app.clock.set(t(RECEIVED) + Duration::seconds(after));
        // Two processes' workers, on two threads, at the same moment.
        let worker = || {
            let (db, pager, now) = (p.app.state.db.clone(), p.app.state.pager(), p.app.clock.now());
            tokio::spawn(async move { rota::jobs::paging::drain(&db, &pager, now).await })
        };
        let (a, b) = tokio::join!(worker(), worker());
        a.unwrap().unwrap();
        b.unwrap().unwrap();
    }
    // One SMS now and one a minute later; a few pushes.
    let texts = api.messages();
    assert_eq!(texts.len(), before + 2, "{texts:?}");
    assert!(texts[before + 1].form["Body"].starts_with("39 more pages firing"));
    let pushed = told(&p.rx, "alex");
    assert_eq!((pushed.singles.len(), pushed.bundles.len()), (3, 1));
    let singles: HashSet<&String> = pushed.singles.iter().collect();
    assert_eq!(singles.len(), 3, "each page alone once");
    assert_eq!(pushed.pages(), 40);
    // Each page told to Alex once by each method, at the first step.
    let told = tellings(&p).await;
    let expected: Vec<(i64, String, i32, String, i64)> = pages
        .iter()
        .flat_map(|page| ["ntfy", "sms"].map(|kind| (*page, "alex@example.com".to_owned(), 0, kind.to_owned(), 1)))
        .collect();
    assert_eq!(told, expected);
    let attempts: Vec<i32> = sqlx::query_scalar("SELECT DISTINCT attempts FROM page_messages")
        .fetch_all(&p.app.db)
        .await
        .unwrap();
    assert_eq!(attempts, [1], "no message claimed twice");
}

#[tokio::test]
async fn while_one_process_decides_what_alex_is_sent_another_sends_alex_nothing() {
    let (p, api) = setup_twilio().await;
    let before = sms_only(&p, &api).await;
    fire_many(&p, "storm", 0..5).await;
    let mut tx = p.app.db.begin().await.unwrap();
    rota::ops::paging::escalate_due(&mut tx, p.app.clock.now())
        .await
        .unwrap();
    tx.commit().await.unwrap();
    // One process holds Alex's phone while it decides what to send.
    let mut deciding = p.app.db.begin().await.unwrap();
    let held = rota::db::storm::lock_due_methods(&mut deciding, p.app.clock.now(), 10)
        .await
        .unwrap();
    assert_eq!(held.len(), 1);
    // Another process's worker leaves Alex alone meanwhile.
    p.app.settle_paging().await;
    assert_eq!(api.messages().len(), before, "no second voice deciding for Alex");
    // The first stops without sending (its claim was never committed):
    // nothing is lost, and Alex gets one text now.
    deciding.rollback().await.unwrap();
    p.at(Duration::zero()).await;
    assert_eq!(api.messages().len(), before + 1);
    p.at(Duration::seconds(60)).await;
    assert_eq!(api.messages().len(), before + 2);
    assert!(api.messages()[before + 1].form["Body"].starts_with("4 more pages firing"));
}

#[tokio::test]
async fn a_bundle_whose_sender_died_mid_send_goes_out_once_as_the_same_bundle() {
    let p = setup().await;
    fire_many(&p, "storm", 0..40).await;
    let mut tx = p.app.db.begin().await.unwrap();
    rota::ops::paging::escalate_due(&mut tx, p.app.clock.now())
        .await
        .unwrap();
    tx.commit().await.unwrap();
    // A process claims Alex's messages, then dies before sending.
    let mut conn = p.app.db.acquire().await.unwrap();
    let claim = rota::ops::paging::storm::claim(&mut conn, p.app.clock.now(), Duration::minutes(1), 10)
        .await
        .unwrap();
    drop(conn);
    let bundle = claim
        .sends
        .iter()
        .find_map(|s| s.bundle.map(|id| (id, s.messages.len())))
        .expect("a bundle");
    assert_eq!((claim.sends.len(), bundle.1), (4, 37));
    p.at(Duration::seconds(59)).await;
    assert!(p.rx.pages("alex").is_empty(), "not while the claim holds");
    p.at(Duration::seconds(60)).await;
    p.at(Duration::seconds(61)).await;
    let pushed = told(&p.rx, "alex");
    assert_eq!((pushed.singles.len(), pushed.bundles.len()), (3, 1));
    let token = bundle_token(&p, &pushed.bundles[0]);
    assert!(
        token.starts_with(&format!("all.{}.", bundle.0)),
        "the same bundle: {token}"
    );
}

#[tokio::test]
async fn pressing_1_on_a_bundled_call_acknowledges_its_pages_and_its_status_is_on_each() {
    let (p, api) = setup_twilio().await;
    phone_only(&p, &api, "voice").await;
    let pages = fire_many(&p, "storm", 0..3).await;
    p.at(Duration::zero()).await;
    assert_eq!(api.calls().len(), 2, "the test call and the first page's");
    p.at(Duration::seconds(60)).await;
    let calls = api.calls();
    assert_eq!(calls.len(), 3);
    let twiml = &calls[2].form["Twiml"];
    assert!(twiml.contains("2 more pages firing for platform"), "{twiml}");
    assert!(twiml.contains("acknowledges all of them"), "{twiml}");

    // The call was answered: both pages' timelines say so.
    let status = calls[2].form["StatusCallback"].clone();
    let completed = [("CallSid", "CA3"), ("CallStatus", "completed")];
    assert_eq!(signed_call_back(&status, &completed).await.0, StatusCode::NO_CONTENT);
    for page in &pages[1..] {
        let timeline = p.timeline(*page).await;
        let states: Vec<&Value> = timeline.iter().map(|e| &e["state"]).collect();
        assert_eq!(states, [&json!("sent"), &json!("delivered")], "{timeline:?}");
    }

    p.app.clock.set(t(RECEIVED) + Duration::seconds(75));
    let pressed = [("CallSid", "CA3"), ("Digits", "1")];
    let (status, _, twiml) = signed_call_back(&gather_url(&api), &pressed).await;
    assert_eq!(status, StatusCode::OK, "{twiml}");
    assert!(twiml.contains("Acknowledged all 2 pages"), "{twiml}");
    assert_eq!(acknowledged_by_alex(&p, &pages[1..]).await, 2);
    assert_eq!(
        acknowledged_by_alex(&p, &pages[..1]).await,
        0,
        "the first page had its own call"
    );
}
