//! Drills ("Send a test page"): to the rotation's current primary a drill
//! runs the whole path (the primary, then the secondary at the primary's
//! SLA, acknowledged through the link); to oneself it pages only the
//! sender. Every message says it is a drill, and it counts nowhere: the
//! metrics and recovery days are exactly as they were.

use super::*;

const PAGES: &str = "/api/v1/teams/platform/pages";
/// The night of the drill, for the metrics and the recovery days.
const METRICS: &str = "/api/v1/teams/platform/metrics?from=2026-02-24T00:00:00Z&to=2026-03-10T00:00:00Z";
const RECOVERY: &str = "/api/v1/teams/platform/recovery-days?from=2026-02-24&to=2026-03-31";
/// The handoff of the drill's week, not yet written: its template lists the
/// week's pages.
const HANDOFF: &str = "/api/v1/teams/platform/rotations/weekly/handoffs/2026-03-03";

impl Paging {
    /// What the metrics, the recovery days and the coming handoff's
    /// template say, as the API shows them.
    async fn counted(&self) -> (Value, Value, Value) {
        let (status, metrics) = self.app.get_json(&self.manager, METRICS).await;
        assert_eq!(status, StatusCode::OK, "{metrics}");
        let (status, recovery) = self.app.get_json(&self.manager, RECOVERY).await;
        assert_eq!(status, StatusCode::OK, "{recovery}");
        let (status, handoff) = self.app.get_json(&self.manager, HANDOFF).await;
        assert_eq!(status, StatusCode::OK, "{handoff}");
        assert!(handoff["template"].is_string(), "{handoff}");
        (metrics, recovery, handoff["template"].clone())
    }

    async fn count(&self, table: &str) -> i64 {
        sqlx::query_scalar(&format!("SELECT count(*) FROM {table}"))
            .fetch_one(&self.app.db)
            .await
            .unwrap()
    }

    /// Whether the page is stored as a drill.
    async fn is_drill(&self, page: i64) -> bool {
        sqlx::query_scalar("SELECT drill FROM pages WHERE id = $1")
            .bind(page)
            .fetch_one(&self.app.db)
            .await
            .unwrap()
    }
}

/// Asserts a push is a drill's, said plainly in its title and text.
fn marked(push: &Value) {
    assert!(push["title"].as_str().unwrap().starts_with("DRILL — "), "{push}");
    assert!(
        push["message"].as_str().unwrap().starts_with("DRILL — a test page"),
        "{push}"
    );
}

#[tokio::test]
async fn a_night_time_drill_to_the_primary_runs_the_whole_path_and_counts_nowhere() {
    let p = setup().await;
    let (status, set) = p
        .app
        .send_json(
            reqwest::Method::PUT,
            &p.manager,
            "/api/v1/teams/platform/chat",
            json!({"kind": "slack", "url": format!("{}/chat/slack", p.rx.base)}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{set}");
    // 03:08 in London: a real page now would wake Alex and grant a day.
    let before = p.counted().await;

    let (status, drill) = p.app.post_json(&p.sam, PAGES, json!({"drill": true})).await;
    assert_eq!(status, StatusCode::CREATED, "{drill}");
    assert_eq!(drill["drill"], true);
    assert_eq!(drill["source"], "drill");
    assert_eq!(drill["responder_email"], "alex@example.com");
    assert_eq!(drill["fired_at"], RECEIVED);
    let page = drill["id"].as_i64().unwrap();

    // Alex, the primary, at once, told it is a drill; Sam not yet.
    p.at(Duration::zero()).await;
    let alex = p.rx.pages("alex");
    assert_eq!(alex.len(), 1, "{alex:?}");
    marked(&alex[0]);
    assert!(p.rx.pages("sam").is_empty());
    let chat = p.rx.chats("slack");
    assert_eq!(chat.len(), 1, "{chat:?}");
    assert_eq!(
        chat[0]["text"],
        "*Drill, a test page:* platform is paging Alex (primary)"
    );

    // Unacknowledged at the primary's SLA: Sam, as for a real page.
    p.at(Duration::minutes(5) - Duration::seconds(1)).await;
    assert!(p.rx.pages("sam").is_empty());
    p.at(Duration::minutes(5)).await;
    let sam = p.rx.pages("sam");
    assert_eq!(sam.len(), 1);
    marked(&sam[0]);

    // Sam acknowledges through the link's POST: it ends there.
    p.app.clock.set(t(RECEIVED) + Duration::minutes(7));
    let res = reqwest::Client::new()
        .post(p.app.url("/ack"))
        .form(&[("token", ack_token(&sam[0]))])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        p.acknowledged(page).await,
        (Some(t(RECEIVED) + Duration::minutes(7)), Some("sam@example.com".into()))
    );
    p.at(Duration::hours(3)).await;
    assert_eq!((p.rx.pages("alex").len(), p.rx.pages("sam").len()), (1, 1));
    let who: Vec<(String, i64)> = p
        .timeline(page)
        .await
        .iter()
        .filter(|e| e["kind"] == "ntfy")
        .map(|e| (e["email"].as_str().unwrap().to_owned(), e["step"].as_i64().unwrap()))
        .collect();
    assert_eq!(
        who,
        [("alex@example.com".to_owned(), 0), ("sam@example.com".to_owned(), 1)]
    );

    // The pages list shows it, marked; nothing else counts it.
    let (_, pages) = p
        .app
        .get_json(
            &p.manager,
            "/api/v1/teams/platform/pages?from=2026-03-01T00:00:00Z&to=2026-03-04T00:00:00Z",
        )
        .await;
    assert_eq!(pages[0]["id"], page, "{pages}");
    assert_eq!(pages[0]["drill"], true);
    p.app.settle_recovery().await;
    assert_eq!(
        p.counted().await,
        before,
        "a drill changes no metric and no recovery day"
    );

    // A real page of Alex's the night before, reported late, re-derives
    // Alex's days around both nights: it grants one, the drill none.
    let real = json!({"dedup_key": "disk", "summary": "Disk 90%", "fired_at": "2026-03-02T03:00:00Z",
                      "resolved_at": "2026-03-02T03:20:00Z"});
    let (status, body) = p.app.post_json(&p.hook, PAGES, real).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["responder_email"], "alex@example.com");
    assert!(p.app.settle_recovery().await > 0, "Alex's days were derived again");
    let (_, days) = p.app.get_json(&p.manager, RECOVERY).await;
    let days: Vec<(&str, &str)> = days
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["email"].as_str().unwrap(), d["date"].as_str().unwrap()))
        .collect();
    assert_eq!(days, [("alex@example.com", "2026-03-02")]);
}

#[tokio::test]
async fn a_drill_to_yourself_pages_only_you_and_marks_every_message() {
    let p = setup().await;
    // Sam, the secondary, also takes signed webhooks.
    let (status, body) = p
        .app
        .post_json(
            &p.sam,
            "/api/v1/me/contact-methods",
            json!({"kind": "webhook", "target": format!("{}/hook", p.rx.base)}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let id = body["id"].as_i64().unwrap();
    let code = code_in(p.rx.hooks()[0].body["message"].as_str().unwrap());
    let path = format!("/api/v1/me/contact-methods/{id}/verify");
    assert_eq!(
        p.app.post_json(&p.sam, &path, json!({"code": code})).await.0,
        StatusCode::OK
    );
    let before = p.counted().await;

    let (status, drill) = p
        .app
        .post_json(
            &p.sam,
            PAGES,
            json!({"drill": true, "to": "me", "summary": "Does my phone wake me?"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{drill}");
    assert_eq!(drill["drill"], true);
    assert_eq!(drill["responder_email"], "sam@example.com");
    assert_eq!(drill["summary"], "Does my phone wake me?");
    let page = drill["id"].as_i64().unwrap();

    p.at(Duration::zero()).await;
    let sam = p.rx.pages("sam");
    assert_eq!(sam.len(), 1, "{sam:?}");
    marked(&sam[0]);
    let hooks: Vec<Got> = p.rx.hooks().into_iter().filter(|g| g.body["event"] == "page").collect();
    assert_eq!(hooks.len(), 1);
    assert_eq!(hooks[0].body["drill"], true, "{}", hooks[0].body);
    assert_eq!(hooks[0].body["page"]["drill"], true);
    assert_eq!(hooks[0].body["page"]["id"], page);

    // Nobody else, ever: not the primary, not at any SLA, not the managers.
    p.at(Duration::hours(2)).await;
    assert!(p.rx.pages("alex").is_empty());
    assert_eq!(p.rx.pages("sam").len(), 1);
    let timeline = p.timeline(page).await;
    assert!(!timeline.is_empty());
    assert!(timeline.iter().all(|e| e["email"] == "sam@example.com"), "{timeline:?}");

    let (status, done) = p
        .app
        .post_json(&p.sam, &format!("/api/v1/pages/{page}/acknowledge"), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{done}");
    p.app.settle_recovery().await;
    assert_eq!(
        p.counted().await,
        before,
        "a drill changes no metric and no recovery day"
    );
}

#[tokio::test]
async fn a_drill_that_asks_for_what_does_not_fit_is_refused_and_nothing_is_stored() {
    let p = setup().await;
    let (pages, escalations) = (p.count("pages").await, p.count("escalations").await);
    for (token, body, says) in [
        (&p.sam, json!({"drill": true, "to": "boss"}), "unknown variant"),
        (
            &p.sam,
            json!({"drill": true, "acknowledged_at": RECEIVED}),
            "acknowledged_at",
        ),
        (
            &p.sam,
            json!({"drill": true, "resolved_at": RECEIVED, "fired_at": RECEIVED}),
            "leave out fired_at, resolved_at",
        ),
        (&p.sam, json!({"drill": true, "dedup_key": "again"}), "dedup_key"),
        (&p.sam, json!({"drill": true, "summary": "  "}), "summary needs"),
        (
            &p.sam,
            json!({"drill": true, "rotation": "nightly"}),
            "no rotation called",
        ),
        (
            &p.sam,
            json!({"to": "me", "summary": "x", "dedup_key": "k", "fired_at": RECEIVED}),
            "\"to\" is for drills",
        ),
        (
            &p.sam,
            json!({"summary": "x", "dedup_key": "k"}),
            "fired_at is required",
        ),
        // An integration token is no person: it cannot test "me".
        (
            &p.hook,
            json!({"drill": true, "to": "me"}),
            "integration token is no person",
        ),
        (
            &p.hook,
            json!({"dedup_key": "k", "summary": "x", "fired_at": RECEIVED, "source": "drill"}),
            "kept for drills",
        ),
    ] {
        let (status, res) = p.app.post_json(token, PAGES, body.clone()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {res}");
        let message = res["error"]["message"].as_str().unwrap();
        assert!(message.contains(says), "{body}: {message}");
    }
    assert_eq!(
        (p.count("pages").await, p.count("escalations").await),
        (pages, escalations)
    );
    p.at(Duration::hours(1)).await;
    assert!(p.rx.pages("alex").is_empty() && p.rx.pages("sam").is_empty());

    // The tool's drill to the primary is its to run.
    let (status, drill) = p.app.post_json(&p.hook, PAGES, json!({"drill": true})).await;
    assert_eq!(status, StatusCode::CREATED, "{drill}");
    assert_eq!(drill["summary"], "Test page to the primary");
    p.app.clock.set(t(RECEIVED) + Duration::hours(1));
    p.app.settle_paging().await;
    marked(&p.rx.pages("alex")[0]);
}

#[tokio::test]
async fn the_test_page_buttons_send_drills_from_the_team_page_and_the_profile() {
    let p = setup().await;
    let sam = p.app.sign_in("sam@example.com").await;

    // On the team page, near "Page the on-call": to the current primary.
    let html = p.app.page(&sam, "/teams/platform").await;
    assert!(html.contains("<summary>Send a test page</summary>"), "{html}");
    assert!(html.contains("action=\"/teams/platform/drill\""), "{html}");
    let res = p
        .app
        .post_form(&sam, "/teams/platform", "/teams/platform/drill", &[])
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    assert!(location.starts_with("/teams/platform/pages/"), "{location}");
    let page: i64 = location.rsplit('/').next().unwrap().parse().unwrap();
    assert!(p.is_drill(page).await);
    let view = p.app.page(&sam, &location).await;
    assert!(view.contains("<span class=\"drill\">drill</span>"), "{view}");
    assert!(view.contains("Test page to the primary, sent by Sam"), "{view}");
    p.at(Duration::zero()).await;
    let alex = p.rx.pages("alex");
    assert_eq!(alex.len(), 1, "{alex:?}");
    marked(&alex[0]);
    assert!(p.rx.pages("sam").is_empty());

    // On the profile's contact methods: to oneself, in one's team.
    let html = p.app.page(&sam, "/profile/contact-methods").await;
    assert!(html.contains("action=\"/profile/test-page\""), "{html}");
    let res = p
        .app
        .post_form(
            &sam,
            "/profile/contact-methods",
            "/profile/test-page",
            &[("team", "platform")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    let mine: i64 = location.rsplit('/').next().unwrap().parse().unwrap();
    assert!(mine != page && p.is_drill(mine).await);
    p.at(Duration::zero()).await;
    let pushed = p.rx.pages("sam");
    assert_eq!(pushed.len(), 1, "{pushed:?}");
    marked(&pushed[0]);
    assert!(
        pushed[0]["title"]
            .as_str()
            .unwrap()
            .contains("Test page Sam sent themself")
    );
    assert_eq!(p.rx.pages("alex").len(), 1, "Alex is not paged for Sam's own test");

    // The list shows both, marked.
    let list = p.app.page(&sam, "/teams/platform/pages").await;
    assert_eq!(list.matches("<span class=\"drill\">drill</span>").count(), 2, "{list}");

    // Another's team, or none named with several: refused, nothing sent.
    let res = p
        .app
        .post_form(
            &sam,
            "/profile/contact-methods",
            "/profile/test-page",
            &[("team", "elsewhere")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(p.count("pages").await, 2);
}
