//! Who is paged when: the primary at once, the secondary after the
//! primary's SLA, acknowledging ends it, skips for leave and recovery days.

use super::*;

#[tokio::test]
async fn the_primary_is_pushed_at_once_and_the_secondary_after_the_primary_sla() {
    let p = setup().await;
    let page = p.fire().await;
    p.at(Duration::zero()).await;
    let alex = p.rx.pages("alex");
    assert_eq!(alex.len(), 1, "{alex:?}");
    assert!(
        alex[0]["title"].as_str().unwrap().contains("Checkout p99 latency"),
        "{}",
        alex[0]
    );
    assert!(alex[0]["click"].as_str().unwrap().starts_with(&p.app.url("/ack/")));
    assert!(p.rx.pages("sam").is_empty());

    // Nobody acknowledges: Sam at the primary's SLA, not a second before.
    p.at(Duration::minutes(5) - Duration::seconds(1)).await;
    assert!(p.rx.pages("sam").is_empty());
    p.at(Duration::minutes(5)).await;
    let sam = p.rx.pages("sam");
    assert_eq!(sam.len(), 1);
    assert_eq!(p.rx.pages("alex").len(), 1, "Alex is not paged twice");

    // Sam acknowledges with the action's POST, signed in nowhere.
    p.app.clock.set(t(RECEIVED) + Duration::minutes(6));
    let res = reqwest::Client::new()
        .post(p.app.url("/ack"))
        .form(&[("token", ack_token(&sam[0]))])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let answer = res.text().await.unwrap();
    assert!(answer.contains("UTC by Sam"), "by name, not address: {answer}");
    assert_eq!(
        p.acknowledged(page).await,
        (Some(t(RECEIVED) + Duration::minutes(6)), Some("sam@example.com".into()))
    );

    // Nothing more: not the managers at 35 minutes, not a repeat.
    p.at(Duration::hours(3)).await;
    assert_eq!((p.rx.pages("alex").len(), p.rx.pages("sam").len()), (1, 1));
    let timeline = p.timeline(page).await;
    let who: Vec<(&str, i64, &str)> = timeline
        .iter()
        .map(|e| {
            (
                e["email"].as_str().unwrap(),
                e["step"].as_i64().unwrap(),
                e["state"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        who,
        [
            ("alex@example.com", 0, "delivered"),
            ("sam@example.com", 1, "delivered")
        ]
    );
    assert_eq!(timeline[1]["at"], json!("2026-03-03T03:13:00Z"));
    assert_eq!(timeline[1]["kind"], "ntfy");
}

#[tokio::test]
async fn the_primary_acknowledging_in_time_means_the_secondary_is_never_paged() {
    let p = setup().await;
    let page = p.fire().await;
    p.at(Duration::zero()).await;
    p.app.clock.set(t("2026-03-03T03:09:37Z"));
    let (status, body) = p
        .app
        .post_json(&p.alex, &format!("/api/v1/pages/{page}/acknowledge"), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["acknowledged_by"], "alex@example.com");
    assert_eq!(body["acknowledged_at"], "2026-03-03T03:09:37Z");
    p.at(Duration::hours(2)).await;
    assert!(p.rx.pages("sam").is_empty());
    // Acknowledged 2 min 25 s after it fired: the primary's SLA is met.
    let (_, pages) = p
        .app
        .get_json(
            &p.manager,
            "/api/v1/teams/platform/pages?from=2026-03-01T00:00:00Z&to=2026-03-04T00:00:00Z",
        )
        .await;
    assert_eq!(pages[0]["sla"], "met", "{pages}");
    // Resolving ends it for good; a second resolve conflicts. The page
    // says who acknowledged and who resolved.
    let path = format!("/api/v1/pages/{page}/resolve");
    let (status, body) = p.app.post_json(&p.sam, &path, json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        (&body["acknowledged_by"], &body["resolved_by"]),
        (&json!("alex@example.com"), &json!("sam@example.com"))
    );
    assert_eq!(p.app.post_json(&p.alex, &path, json!({})).await.0, StatusCode::CONFLICT);
    let mona = p.app.sign_in("mona@example.com").await;
    let html = mona
        .get(p.app.url(&format!("/teams/platform/pages/{page}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let resolved = html.split("<dt>Resolved</dt>").nth(1).expect("the Resolved row");
    assert!(resolved.split("</dd>").next().unwrap().ends_with(" by Sam"), "{html}");
}

#[tokio::test]
async fn opening_the_acknowledge_link_changes_nothing() {
    let p = setup().await;
    let page = p.fire().await;
    p.at(Duration::zero()).await;
    let link = p.rx.pages("alex")[0]["click"].as_str().unwrap().to_owned();
    // A mail scanner or chat unfurler follows the link, twice.
    for _ in 0..2 {
        let res = reqwest::Client::new().get(&link).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        let html = res.text().await.unwrap();
        assert!(html.contains("<button type=\"submit\">Acknowledge</button>"), "{html}");
        assert!(html.contains("method=\"post\""));
    }
    assert_eq!(p.acknowledged(page).await, (None, None));
    // The link signs nobody in: a browser that opened it, and pressed its
    // button, is still asked to sign in for anything else.
    let browser = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    assert_eq!(browser.get(&link).send().await.unwrap().status(), StatusCode::OK);
    let signed_out = |res: reqwest::Response| {
        let to = res.headers().get("location").map(|l| l.to_str().unwrap().to_owned());
        res.status().is_redirection() && to.is_some_and(|l| l.contains("/login"))
    };
    assert!(signed_out(browser.get(p.app.url("/profile")).send().await.unwrap()));
    p.at(Duration::minutes(5)).await;
    assert_eq!(p.rx.pages("sam").len(), 1, "the escalation went on");
    // A forged or altered token is refused.
    let res = reqwest::Client::new()
        .post(p.app.url("/ack"))
        .form(&[("token", format!("{page}.1.99999999999.00"))])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(p.acknowledged(page).await, (None, None));
}

#[tokio::test]
async fn a_page_reported_with_notify_pages_and_one_without_does_not() {
    let p = setup().await;
    let report = |key: &str, notify: bool| json!({"dedup_key": key, "summary": format!("disk full {key}"), "fired_at": RECEIVED, "notify": notify});
    let (status, body) = p
        .app
        .post_json(&p.hook, "/api/v1/teams/platform/pages", report("quiet", false))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    p.at(Duration::zero()).await;
    assert!(p.rx.pages("alex").is_empty());
    let (status, body) = p
        .app
        .post_json(&p.hook, "/api/v1/teams/platform/pages", report("loud", true))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    p.at(Duration::zero()).await;
    let pages = p.rx.pages("alex");
    assert_eq!(pages.len(), 1);
    assert!(pages[0]["title"].as_str().unwrap().contains("disk full loud"));
    // Escalating by hand pages the next step now.
    let id = body["id"].as_i64().unwrap();
    let (status, body) = p
        .app
        .post_json(&p.alex, &format!("/api/v1/pages/{id}/escalate"), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    p.at(Duration::seconds(1)).await;
    assert_eq!(p.rx.pages("sam").len(), 1);
}

#[tokio::test]
async fn a_primary_on_leave_is_skipped_to_the_secondary_and_the_skip_is_on_the_timeline() {
    let p = setup().await;
    let (status, body) = p
        .app
        .send_json(
            reqwest::Method::PUT,
            &p.alex,
            "/api/v1/me/leave/2026-03-03",
            json!({"end_date": "2026-03-04"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let page = p.fire().await;
    p.at(Duration::zero()).await;
    assert!(p.rx.pages("alex").is_empty());
    assert_eq!(p.rx.pages("sam").len(), 1, "the secondary at once, not at 5 minutes");
    let timeline = p.timeline(page).await;
    assert_eq!(timeline[0]["state"], "skipped", "{timeline:?}");
    assert_eq!(timeline[0]["email"], "alex@example.com");
    assert!(timeline[0]["detail"].as_str().unwrap().contains("on leave"));
    assert_eq!(timeline[1]["state"], "delivered");
    assert_eq!(timeline[1]["email"], "sam@example.com");
}

/// A day off earned by the night that ends that morning starts when the
/// night ends (the team's sleep hours end at 08:00): a second page that
/// night still reaches the primary; one that morning skips them. A day off
/// earned by an earlier night is off from midnight.
#[tokio::test]
async fn a_primary_on_a_recovery_day_off_is_skipped() {
    let p = setup().await;
    let grant = |trigger: &'static str| {
        sqlx::query(
            "INSERT INTO recovery_days (team_id, user_id, trigger_kind, trigger_date, day, reason)
             SELECT t.id, u.id, 'night', $1::date, '2026-03-03', 'a night page'
             FROM teams t, users u WHERE t.slug = 'platform' AND u.email = 'alex@example.com'",
        )
        .bind(trigger)
        .execute(&p.app.db)
    };
    // Earned by the night of Saturday 28 February: Tuesday is off all day.
    grant("2026-03-01").await.unwrap();
    let earlier = p.fire().await;
    p.at(Duration::zero()).await;
    assert!(p.rx.pages("alex").is_empty(), "off from midnight");
    assert!(
        p.timeline(earlier).await[0]["detail"]
            .as_str()
            .unwrap()
            .contains("recovery day off")
    );
    let (status, body) = p
        .app
        .post_json(&p.alex, &format!("/api/v1/pages/{earlier}/resolve"), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    sqlx::query("DELETE FROM recovery_days")
        .execute(&p.app.db)
        .await
        .unwrap();

    // Earned by the night that ends on Tuesday morning.
    grant("2026-03-03").await.unwrap();
    let (status, body) = p
        .app
        .post_json(
            &p.hook,
            "/api/v1/teams/platform/pages",
            json!({"dedup_key": "night", "summary": "Disk full", "fired_at": RECEIVED, "notify": true}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let night = body["id"].as_i64().unwrap();
    p.app.settle_paging().await;
    assert_eq!(p.rx.pages("alex").len(), 1, "03:08 is still the night");
    let (status, body) = p
        .app
        .post_json(&p.alex, &format!("/api/v1/pages/{night}/resolve"), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let morning = t("2026-03-03T08:30:00Z");
    p.app.clock.set(morning);
    let (status, body) = p
        .app
        .post_json(
            &p.hook,
            "/api/v1/teams/platform/pages",
            json!({"dedup_key": "morning", "summary": "Queue backed up", "fired_at": morning, "notify": true}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let page = body["id"].as_i64().unwrap();
    p.app.settle_paging().await;
    assert_eq!(p.rx.pages("alex").len(), 1, "not paged on the day off");
    assert_eq!(p.rx.pages("sam").len(), 2, "the first page's and this one");
    let timeline = p.timeline(page).await;
    assert!(
        timeline[0]["detail"].as_str().unwrap().contains("recovery day off"),
        "{timeline:?}"
    );
}

#[tokio::test]
async fn an_override_made_after_the_page_fired_is_followed_at_the_next_step() {
    let p = setup().await;
    let page = p.fire().await;
    p.at(Duration::zero()).await;
    assert_eq!(p.rx.pages("alex").len(), 1);
    // Sam is taken ill: the manager puts herself in as secondary.
    let mona = p.manager.clone();
    confirmed_push(&p, &mona, "mona").await;
    p.app.clock.set(t(RECEIVED) + Duration::minutes(2));
    let (status, body) = p
        .app
        .post_json(
            &p.manager,
            "/api/v1/teams/platform/overrides",
            json!({"rotation": "weekly", "role": "secondary", "email": "mona@example.com",
                   "starts_at": "2026-03-03T03:10:00Z", "ends_at": "2026-03-03T10:00:00Z", "reason": "Sam is ill"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    // Sam is told the override took his shift.
    let told = notifications(&p, &p.sam).await;
    assert!(
        told.iter()
            .any(|m| m.starts_with("Your shift moved: Mona now holds secondary")),
        "{told:?}"
    );
    p.at(Duration::minutes(5)).await;
    assert!(p.rx.pages("sam").is_empty());
    assert_eq!(p.rx.pages("mona").len(), 1);
    let timeline = p.timeline(page).await;
    assert_eq!(timeline[1]["email"], "mona@example.com", "{timeline:?}");
}

#[tokio::test]
async fn a_swap_approved_for_this_week_sends_the_next_page_to_the_new_primary() {
    let p = setup().await;
    // This Tuesday morning, before the 10:00 handover: Sam is primary in
    // the week that starts today, Alex secondary. They trade roles (a week
    // already started takes a cover instead): Sam asks, Alex accepts,
    // Mona approves.
    let (_, shifts) = p
        .app
        .get_json(
            &p.manager,
            "/api/v1/teams/platform/shifts?from=2026-03-03T10:00:00Z&to=2026-03-03T11:00:00Z",
        )
        .await;
    let of = |role: &str, email: &str| {
        let s = shifts
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["role"] == role)
            .unwrap_or_else(|| panic!("no {role} in {shifts}"));
        assert_eq!(s["email"], email, "{shifts}");
        s["id"].clone()
    };
    let (status, asked) = p
        .app
        .post_json(
            &p.sam,
            "/api/v1/teams/platform/swaps",
            json!({"shift_id": of("primary", "sam@example.com"),
                   "counterpart_shift_id": of("secondary", "alex@example.com")}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{asked}");
    let id = asked["id"].as_i64().unwrap();
    let (status, body) = p
        .app
        .post_json(&p.alex, &format!("/api/v1/swaps/{id}/accept"), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = p
        .app
        .post_json(&p.manager, &format!("/api/v1/swaps/{id}/approve"), json!({}))
        .await;
    assert_eq!((status, &body["state"]), (StatusCode::OK, &json!("applied")), "{body}");
    // Both are told their shift moved.
    for who in [&p.alex, &p.sam] {
        let told = notifications(&p, who).await;
        assert!(
            told.iter()
                .any(|m| m.contains("was approved by Mona: your shift moved")),
            "{told:?}"
        );
    }

    // At 11:00 a page fires: Alex, primary by the swap, is told; Sam,
    // primary by the rotation, is not.
    let at = Duration::minutes(7 * 60 + 52);
    p.app.clock.set(t(RECEIVED) + at);
    let (status, body) = p
        .app
        .post_json(
            &p.hook,
            "/api/v1/teams/platform/pages",
            json!({"dedup_key": "after-swap", "summary": "Queue backing up", "notify": true,
                   "fired_at": "2026-03-03T11:00:00Z"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let page = body["id"].as_i64().unwrap();
    p.at(at).await;
    assert_eq!(p.rx.pages("alex").len(), 1, "Alex is told of the page");
    assert!(p.rx.pages("sam").is_empty(), "Sam is not");
    let timeline = p.timeline(page).await;
    assert_eq!(timeline[0]["email"], "alex@example.com", "{timeline:?}");
}

#[tokio::test]
async fn an_alertmanager_page_rota_did_not_page_has_no_acknowledgement_data_not_a_miss() {
    let p = setup().await;
    // Paged by Rota and never acknowledged: a miss, as Alex was told.
    let paged = p.fire().await;
    p.at(Duration::zero()).await;
    // Logged afterwards as Alertmanager's, never paged (from before Rota
    // paged, say): nobody could have acknowledged it.
    let (status, body) = p
        .app
        .post_json(
            &p.hook,
            "/api/v1/teams/platform/pages",
            json!({"dedup_key": "old-disk", "summary": "Disk full", "source": "alertmanager",
                   "fired_at": "2026-03-02T02:00:00Z", "resolved_at": "2026-03-02T02:40:00Z"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let silent = body["id"].as_i64().unwrap();
    assert_eq!(body["acknowledgement_data"], json!(false), "{body}");
    assert_eq!(body["sla"], "unacknowledged", "the API's values stay as they were");

    let (status, pages) = p
        .app
        .get_json(
            &p.manager,
            "/api/v1/teams/platform/pages?from=2026-03-01T00:00:00Z&to=2026-03-04T00:00:00Z",
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{pages}");
    let data: Vec<(i64, bool)> = pages
        .as_array()
        .unwrap()
        .iter()
        .map(|x| (x["id"].as_i64().unwrap(), x["acknowledgement_data"].as_bool().unwrap()))
        .collect();
    assert!(
        data.contains(&(paged, true)) && data.contains(&(silent, false)),
        "{data:?}"
    );

    let (status, m) = p
        .app
        .get_json(
            &p.manager,
            "/api/v1/teams/platform/metrics?from=2026-03-01T00:00:00Z&to=2026-03-08T00:00:00Z",
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{m}");
    let primary = &m["current"]["roles"][0];
    assert_eq!(primary["role"], "primary");
    assert_eq!(
        (
            primary["pages"].as_u64(),
            primary["within_sla"].as_u64(),
            primary["no_acknowledgement_data"].as_u64(),
            primary["within_sla_share"].as_f64()
        ),
        (Some(2), Some(0), Some(1), Some(0.0)),
        "the paged page is the one miss; the silent one counts neither way: {primary}"
    );

    // The pages list says so in words.
    let mona = p.app.sign_in("mona@example.com").await;
    let html = p
        .app
        .page(&mona, "/teams/platform/pages?from=2026-03-01&to=2026-03-03")
        .await;
    assert!(html.contains("no acknowledgement data"), "{html}");
}

/// The messages in the app for the holder of `token`.
async fn notifications(p: &Paging, token: &str) -> Vec<String> {
    let (status, list) = p.app.get_json(token, "/api/v1/me/notifications").await;
    assert_eq!(status, StatusCode::OK, "{list}");
    list.as_array()
        .unwrap()
        .iter()
        .map(|n| n["message"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn alertmanager_resolving_the_alert_ends_the_escalation() {
    let p = setup().await;
    let page = p.fire().await;
    p.at(Duration::zero()).await;
    assert_eq!(p.rx.pages("alex").len(), 1);
    // Two minutes on, the alert clears: Alertmanager sends it resolved.
    p.app.clock.set(t(RECEIVED) + Duration::minutes(2));
    let body = sample("alertmanager-resolved.json").replace("2026-03-03T04:52:00.000Z", "2026-03-03T03:10:00.000Z");
    assert_eq!(p.alertmanager(&body).await, page, "the same page");
    // Past the primary's SLA nobody else is paged, and the escalation is over.
    p.at(Duration::minutes(6)).await;
    assert!(p.rx.pages("sam").is_empty());
    assert_eq!(p.rx.pages("alex").len(), 1);
    let due: Option<DateTime<Utc>> = sqlx::query_scalar("SELECT due_at FROM escalations WHERE page_id = $1")
        .bind(page)
        .fetch_one(&p.app.db)
        .await
        .unwrap();
    assert_eq!(due, None, "ended");
}

#[tokio::test]
async fn a_teams_own_policy_pages_its_managers_and_repeats_from_the_top() {
    let p = setup().await;
    confirmed_push(&p, &p.manager, "mona").await;
    let (status, body) = p
        .app
        .send_json(
            reqwest::Method::PUT,
            &p.manager,
            "/api/v1/teams/platform/escalation",
            json!({"steps": [{"target": "primary", "after_minutes": 0},
                             {"target": "managers", "after_minutes": 1}],
                   "repeat": 1}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    p.fire().await;
    let told = |who: &str| p.rx.pages(who).len();
    p.at(Duration::zero()).await;
    assert_eq!((told("alex"), told("mona")), (1, 0));
    p.at(Duration::seconds(59)).await;
    assert_eq!(told("mona"), 0, "not before the manager's minute");
    p.at(Duration::minutes(1)).await;
    assert_eq!(told("mona"), 1, "the managers after a minute");
    // Then once more from the top: a round is the last step's minute and
    // five more, so the primary again at six minutes and the managers at
    // seven; then nothing more.
    p.at(Duration::seconds(359)).await;
    assert_eq!(told("alex"), 1);
    p.at(Duration::minutes(6)).await;
    assert_eq!(told("alex"), 2);
    p.at(Duration::minutes(7)).await;
    assert_eq!(told("mona"), 2);
    p.at(Duration::hours(2)).await;
    assert_eq!(
        (told("alex"), told("mona"), told("sam")),
        (2, 2, 0),
        "no secondary in this policy"
    );
}
