//! The team's chat channel: a page posts once, as its escalation starts,
//! in the service's own format (Slack blocks with a button, Mattermost
//! attachments, a Teams Adaptive Card), with a button to the page in Rota;
//! what people typed never comes through as a mention or as markup. The
//! receiver's `/chat/{kind}` stands for each service's incoming webhook.

use super::*;

const CHAT: &str = "/api/v1/teams/platform/chat";

/// A summary written to cause trouble in each service.
const NASTY: &str = "<!channel> @all **bold** [x](https://evil.example) <https://evil.example|click>";

impl Paging {
    fn chat_url(&self, kind: &str) -> String {
        format!("{}/chat/{kind}", self.rx.base)
    }

    /// Sets the team's channel as a manager does.
    async fn set_chat(&self, kind: &str) -> Value {
        let (status, body) = self
            .app
            .send_json(
                reqwest::Method::PUT,
                &self.manager,
                CHAT,
                json!({"kind": kind, "url": self.chat_url(kind)}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body
    }

    /// A page reported with `summary` that pages the on-call.
    async fn fire_with(&self, key: &str, summary: &str) {
        let report = json!({"dedup_key": key, "summary": summary, "fired_at": RECEIVED, "notify": true});
        let (status, body) = self
            .app
            .post_json(&self.hook, "/api/v1/teams/platform/pages", report)
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }

    async fn chat_setting(&self, token: &str) -> Value {
        let (status, body) = self.app.get_json(token, CHAT).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body
    }
}

#[tokio::test]
async fn a_page_posts_once_to_the_slack_channel_with_its_acknowledge_link() {
    let p = setup().await;
    let set = p.set_chat("slack").await;
    assert_eq!(
        set,
        json!({"kind": "slack", "url": p.chat_url("slack"), "host": "127.0.0.1"})
    );
    let page = p.fire().await;
    p.at(Duration::zero()).await;
    let posts = p.rx.chats("slack");
    assert_eq!(posts.len(), 1, "{posts:?}");
    let post = &posts[0];
    assert_eq!(post["text"], "*Page:* platform is paging Alex (primary)");
    let blocks = post["blocks"].as_array().unwrap();
    assert_eq!(blocks.len(), 2);
    assert_eq!(blocks[0]["type"], "section");
    assert_eq!(blocks[0]["text"]["type"], "mrkdwn");
    assert_eq!(
        blocks[0]["text"]["text"],
        "*Page:* platform is paging Alex (primary)\n\nCheckout p99 latency above 2s for 10 minutes"
    );
    assert_eq!(
        blocks[0]["fields"],
        json!([
            {"type": "mrkdwn", "text": "*Fired*\n2026-03-03 03:07 UTC", "verbatim": true},
            {"type": "mrkdwn", "text": "*Source*\nalertmanager", "verbatim": true},
        ])
    );
    assert_eq!(blocks[1]["type"], "actions");
    let button = &blocks[1]["elements"][0];
    assert_eq!(button["type"], "button");
    assert_eq!(button["text"]["text"], "Acknowledge in Rota");
    // The page view, never a person's acknowledge link: everyone reading
    // the channel would hold that.
    let path = format!("/teams/platform/pages/{page}");
    assert_eq!(button["url"].as_str().unwrap(), p.app.url(&path));
    assert!(!post.to_string().contains("/ack/"), "{post}");

    // A chat unfurler (or anyone) GETting the link acknowledges nothing.
    let res = reqwest::Client::new().get(p.app.url(&path)).send().await.unwrap();
    assert!(res.status().is_success() || res.status().is_redirection());
    assert_eq!(p.acknowledged(page).await, (None, None));

    // On the page's timeline, as the channel, not a person.
    let timeline = p.timeline(page).await;
    let chat: Vec<&Value> = timeline.iter().filter(|e| e["kind"] == "chat").collect();
    assert_eq!(chat.len(), 1, "{timeline:?}");
    assert_eq!(chat[0]["state"], "delivered");
    assert_eq!(chat[0]["email"], Value::Null);
    assert_eq!(chat[0]["step"], 0);
    let detail = chat[0]["detail"].as_str().unwrap();
    assert!(
        detail.starts_with("Posted to the team's Slack channel (paging Alex (primary)): Slack answered 200"),
        "{detail}"
    );
    let manager = p.app.sign_in("mona@example.com").await;
    let html = manager
        .get(p.app.url(&format!("/teams/platform/pages/{page}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("<td>Team chat channel</td><td>1</td><td>chat</td><td>delivered</td>"),
        "{html}"
    );

    // The escalation goes on (Sam at five minutes) without posting again.
    p.at(Duration::minutes(5)).await;
    assert_eq!(p.rx.pages("sam").len(), 1);
    assert_eq!(p.rx.chats("slack").len(), 1);

    // The button's page: whoever signs in acknowledges, as themselves.
    p.app.clock.set(t(RECEIVED) + Duration::minutes(6));
    let sam = p.app.sign_in("sam@example.com").await;
    let html = sam.get(p.app.url(&path)).send().await.unwrap().text().await.unwrap();
    let csrf = crate::common::csrf_of(&html);
    let res = sam
        .post(p.app.url(&format!("{path}/acknowledge")))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        p.acknowledged(page).await,
        (Some(t(RECEIVED) + Duration::minutes(6)), Some("sam@example.com".into()))
    );
}

#[tokio::test]
async fn each_service_gets_its_own_format_and_peoples_text_stays_text() {
    let p = setup().await;

    p.set_chat("slack").await;
    p.fire_with("slack", NASTY).await;
    p.at(Duration::zero()).await;
    let slack = &p.rx.chats("slack")[0];
    let section = &slack["blocks"][0]["text"];
    assert_eq!(section["verbatim"], true, "no auto-linking or name parsing");
    let text = section["text"].as_str().unwrap();
    assert!(
        text.ends_with(
            "&lt;!channel&gt; @\u{200B}all **bold** [x](https://evil.example) &lt;https://evil.example|click&gt;"
        ),
        "{text}"
    );
    assert!(!text.contains("<!channel>") && !text.contains("<https"), "{text}");
    assert!(!slack["text"].as_str().unwrap().contains('<'));

    p.set_chat("mattermost").await;
    p.fire_with("mattermost", NASTY).await;
    p.at(Duration::zero()).await;
    let mattermost = &p.rx.chats("mattermost")[0];
    let a = &mattermost["attachments"][0];
    let keys: Vec<&str> = a.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys, ["color", "fallback", "fields", "text", "title", "title_link"]);
    assert_eq!(a["fallback"], "Page: platform is paging Alex (primary)");
    assert_eq!(a["color"], "#d0021b");
    assert_eq!(a["title"], "platform is paging Alex (primary)");
    let ack = a["title_link"].as_str().unwrap();
    assert!(ack.starts_with(&p.app.url("/teams/platform/pages/")), "{ack}");
    assert_eq!(
        a["text"],
        format!(
            "\\<!channel\\> @\u{200B}all \\*\\*bold\\*\\* \\[x\\](https://evil.example) \\<https://evil.example\\|click\\>\n\n[Acknowledge in Rota]({ack})"
        )
    );
    assert_eq!(
        a["fields"][1],
        json!({"short": true, "title": "Source", "value": "api"})
    );
    assert_eq!(mattermost["text"], "**Page:** platform is paging Alex (primary)");

    p.set_chat("teams").await;
    p.fire_with("teams", NASTY).await;
    p.at(Duration::zero()).await;
    let teams = &p.rx.chats("teams")[0];
    assert_eq!(teams["type"], "message");
    let a = &teams["attachments"][0];
    assert_eq!(a["contentType"], "application/vnd.microsoft.card.adaptive");
    let card = &a["content"];
    assert_eq!(card["type"], "AdaptiveCard");
    assert_eq!(card["version"], "1.4");
    assert_eq!(card["$schema"], "http://adaptivecards.io/schemas/adaptive-card.json");
    assert_eq!(card["body"][0]["type"], "TextBlock");
    assert_eq!(card["body"][0]["text"], "Page");
    // People's words are TextRuns, which Teams never reads as Markdown.
    assert_eq!(card["body"][2]["type"], "RichTextBlock");
    assert_eq!(
        card["body"][2]["inlines"][0],
        json!({"type": "TextRun", "text": NASTY.replace("@all", "@\u{200B}all")})
    );
    let action = &card["actions"][0];
    assert_eq!(action["type"], "Action.OpenUrl");
    assert_eq!(action["title"], "Acknowledge in Rota");
    assert!(
        action["url"]
            .as_str()
            .unwrap()
            .starts_with(&p.app.url("/teams/platform/pages/"))
    );

    // Each page posted once, each to the channel set when it started.
    assert_eq!(
        (
            p.rx.chats("slack").len(),
            p.rx.chats("mattermost").len(),
            p.rx.chats("teams").len()
        ),
        (1, 1, 1)
    );
}

#[tokio::test]
async fn two_workers_post_each_page_to_the_channel_once() {
    let p = setup().await;
    p.set_chat("slack").await;
    for n in 0..20 {
        p.fire_with(&format!("storm-{n}"), &format!("storm {n}")).await;
    }
    let (a, b) = tokio::join!(p.app.settle_paging(), p.app.settle_paging());
    assert!(a.steps + b.steps >= 20, "{a:?} {b:?}");
    let posts = p.rx.chats("slack");
    let mut summaries: Vec<String> = posts
        .iter()
        .map(|b| b["blocks"][0]["text"]["text"].as_str().unwrap().to_owned())
        .collect();
    summaries.sort();
    summaries.dedup();
    assert_eq!((posts.len(), summaries.len()), (20, 20), "each page once");
}

#[tokio::test]
async fn a_chat_server_answering_500_is_retried_and_the_failure_shown() {
    let p = setup().await;
    p.set_chat("teams").await;
    let page = p.fire().await;
    // The push to Alex and the post both fail once.
    p.rx.failing.store(2, Ordering::SeqCst);
    p.at(Duration::zero()).await;
    assert_eq!(p.rx.chats("teams").len(), 1);
    p.at(Duration::seconds(9)).await;
    assert_eq!(p.rx.chats("teams").len(), 1, "not before its time");
    p.at(Duration::seconds(10)).await;
    let posts = p.rx.chats("teams");
    assert_eq!(posts.len(), 2);
    let chat: Vec<(String, String)> = p
        .timeline(page)
        .await
        .iter()
        .filter(|e| e["kind"] == "chat")
        .map(|e| {
            (
                e["state"].as_str().unwrap().into(),
                e["detail"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(chat.len(), 2, "{chat:?}");
    assert_eq!(chat[0].0, "failed");
    assert!(
        chat[0].1.contains("Microsoft Teams answered 500") && chat[0].1.contains("trying again in 10 s"),
        "{chat:?}"
    );
    assert_eq!(chat[1].0, "delivered");
}

#[tokio::test]
async fn a_page_acknowledged_before_its_post_goes_out_is_not_posted() {
    let p = setup().await;
    p.set_chat("slack").await;
    let page = p.fire().await;
    p.rx.failing.store(2, Ordering::SeqCst);
    p.at(Duration::zero()).await;
    let (status, body) = p
        .app
        .post_json(&p.alex, &format!("/api/v1/pages/{page}/acknowledge"), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    p.at(Duration::minutes(1)).await;
    assert_eq!(p.rx.chats("slack").len(), 1, "the failed post is not retried");
}

#[tokio::test]
async fn bad_kinds_and_addresses_are_refused_and_change_nothing() {
    let p = setup().await;
    p.set_chat("mattermost").await;
    let before = p.chat_setting(&p.manager).await;
    let refused = [
        (
            json!({"kind": "discord", "url": p.chat_url("slack")}),
            "kind is one of slack, mattermost, teams",
        ),
        (json!({"url": p.chat_url("slack")}), "kind is one of"),
        (json!({"kind": "slack"}), "url is empty"),
        (
            json!({"kind": "slack", "url": "javascript:alert(1)"}),
            "not a web address",
        ),
        (
            json!({"kind": "teams", "url": "http://169.254.169.254/latest/meta-data"}),
            "Rota cannot post to this address",
        ),
        (
            json!({"kind": "slack", "url": "http://127.0.0.1:9/hook"}),
            "ROTA_OUTGOING_ALLOW_HOSTS",
        ),
        (
            json!({"kind": "slack", "url": "http://localhost:9/hook"}),
            "Rota cannot post to this address",
        ),
    ];
    for (body, says) in refused {
        let (status, answer) = p
            .app
            .send_json(reqwest::Method::PUT, &p.manager, CHAT, body.clone())
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {answer}");
        let message = answer["error"]["message"].as_str().unwrap();
        assert!(message.contains(says), "{body}: {message}");
    }
    // Members see which service, not the address (it holds a secret), and
    // cannot change it.
    let (status, _) = p
        .app
        .send_json(
            reqwest::Method::PUT,
            &p.alex,
            CHAT,
            json!({"kind": "slack", "url": p.chat_url("slack")}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = p.app.send_json(reqwest::Method::DELETE, &p.alex, CHAT, json!({})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        p.chat_setting(&p.alex).await,
        json!({"kind": "mattermost", "url": null, "host": "127.0.0.1"})
    );
    assert_eq!(p.chat_setting(&p.manager).await, before);

    // Removed: nothing more is posted.
    let (status, _) = p
        .app
        .send_json(reqwest::Method::DELETE, &p.manager, CHAT, json!({}))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        p.chat_setting(&p.manager).await,
        json!({"kind": null, "url": null, "host": null})
    );
    p.fire().await;
    p.at(Duration::zero()).await;
    assert_eq!(p.rx.pages("alex").len(), 1);
    assert!(p.rx.got.lock().unwrap().iter().all(|g| !g.path.starts_with("/chat")));
}

#[tokio::test]
async fn a_manager_sets_the_channel_with_the_settings_form() {
    let p = setup().await;
    let manager = p.app.sign_in("mona@example.com").await;
    let page = "/teams/platform/settings/integrations";
    let html = p.app.page(&manager, page).await;
    assert!(html.contains(r#"<select id="chat-kind" name="kind">"#), "{html}");
    assert!(
        html.contains(r#"<option value="teams">Microsoft Teams</option>"#),
        "{html}"
    );

    let res = p
        .app
        .post_form(
            &manager,
            page,
            "/teams/platform/chat",
            &[("kind", "teams"), ("url", "http://169.254.169.254/x")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.text().await.unwrap().contains("Rota cannot post to this address"));
    assert_eq!(p.chat_setting(&p.manager).await["kind"], Value::Null);

    let url = p.chat_url("teams");
    let res = p
        .app
        .post_form(
            &manager,
            page,
            "/teams/platform/chat",
            &[("kind", "teams"), ("url", &url)],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        p.chat_setting(&p.manager).await,
        json!({"kind": "teams", "url": url, "host": "127.0.0.1"})
    );
    let html = p.app.page(&manager, page).await;
    assert!(html.contains(r#"<option value="teams" selected>"#), "{html}");

    let history = p.app.page(&manager, "/teams/platform/history").await;
    assert!(
        history.contains("set a Microsoft Teams channel for handoffs and pages"),
        "{history}"
    );
}
