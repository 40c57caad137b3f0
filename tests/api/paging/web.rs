//! The pages: the page view's timeline and button, the profile's contact
//! methods, the team settings' "cannot be paged".

use super::*;

#[tokio::test]
async fn the_page_view_shows_who_was_paged_and_acknowledges_with_one_button() {
    let p = setup().await;
    let page = p.fire().await;
    p.at(Duration::zero()).await;
    let sam = p.app.sign_in("sam@example.com").await;
    let path = format!("/teams/platform/pages/{page}");
    let html = sam.get(p.app.url(&path)).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("Who was paged"), "{html}");
    assert!(html.contains("<td>Alex</td>") && html.contains("delivered"), "{html}");
    assert!(!html.contains("alex@example.com"), "names, not addresses: {html}");
    let csrf = crate::common::csrf_of(&html);
    let res = sam
        .post(p.app.url(&format!("{path}/acknowledge")))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(p.acknowledged(page).await.1.as_deref(), Some("sam@example.com"));
    let html = sam.get(p.app.url(&path)).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("by Sam"), "{html}");
    assert!(!html.contains("/acknowledge\""), "no button once acknowledged");
}

#[tokio::test]
async fn the_now_page_lists_the_page_paging_you_and_acknowledges_it() {
    let p = setup().await;
    let page = p.fire().await;
    let now_page = |who: &'static str| {
        let p = &p;
        async move {
            let client = p.app.sign_in(who).await;
            let html = client.get(p.app.url("/")).send().await.unwrap().text().await.unwrap();
            (client, html)
        }
    };
    // Not before anyone was told of it.
    let (_, html) = now_page("alex@example.com").await;
    assert!(!html.contains("Paging you"), "{html}");
    p.at(Duration::zero()).await;
    let (alex, html) = now_page("alex@example.com").await;
    let action = format!("action=\"/teams/platform/pages/{page}/acknowledge\"");
    assert!(html.contains("Paging you") && html.contains(&action), "{html}");
    // Sam, not told yet, is not asked.
    let (_, html) = now_page("sam@example.com").await;
    assert!(!html.contains("Paging you"), "{html}");

    let res = alex
        .post(p.app.url(&format!("/teams/platform/pages/{page}/acknowledge")))
        .form(&[("csrf", crate::common::csrf_of(&html_of(&alex, &p).await).as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(p.acknowledged(page).await.1.as_deref(), Some("alex@example.com"));
    let html = html_of(&alex, &p).await;
    assert!(!html.contains("Paging you"), "gone once acknowledged: {html}");
}

/// The Now page as `client` sees it.
async fn html_of(client: &reqwest::Client, p: &Paging) -> String {
    client.get(p.app.url("/")).send().await.unwrap().text().await.unwrap()
}

#[tokio::test]
async fn a_person_adds_confirms_and_removes_a_push_method_on_their_profile() {
    let p = setup().await;
    let alex = p.app.sign_in("alex@example.com").await;
    let page = || async {
        alex.get(p.app.url("/profile/contact-methods"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    };
    let html = page().await;
    let csrf = crate::common::csrf_of(&html);
    // A refused address re-renders the page saying what to fix.
    let res = alex
        .post(p.app.url("/profile/contact-methods"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("kind", "webhook"),
            ("target", "http://169.254.169.254/x"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.text().await.unwrap().contains("never sends"));
    let target = format!("{}/alex-laptop", p.rx.base);
    let res = alex
        .post(p.app.url("/profile/contact-methods"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("kind", "ntfy"),
            ("label", "laptop"),
            ("target", &target),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let html = page().await;
    assert!(
        html.contains("A test message went to laptop") && html.contains("waiting for its code"),
        "{html}"
    );
    assert!(!html.contains("None is confirmed yet"), "Alex's phone is confirmed");
    let (_, list) = p.app.get_json(&p.alex, "/api/v1/me/contact-methods").await;
    let id = list
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["label"] == "laptop")
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let code = code_in(p.rx.pushes("alex-laptop")[0]["message"].as_str().unwrap());
    let res = alex
        .post(p.app.url(&format!("/profile/contact-methods/{id}/verify")))
        .form(&[("csrf", csrf.as_str()), ("code", code.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert!(page().await.contains("laptop is confirmed"));
    let res = alex
        .post(p.app.url(&format!("/profile/contact-methods/{id}/delete")))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert!(!page().await.contains("alex-laptop"));
}

#[tokio::test]
async fn the_team_page_and_settings_flag_who_cannot_be_paged() {
    let p = setup().await;
    let mona = p.app.sign_in("mona@example.com").await;
    let read = |client: &reqwest::Client, path: &str| {
        let url = p.app.url(path);
        let client = client.clone();
        async move { client.get(url).send().await.unwrap().text().await.unwrap() }
    };
    // Alex and Sam confirmed a push method in setup; Mona has none.
    for path in ["/teams/platform/settings/members", "/teams/platform"] {
        let html = read(&mona, path).await;
        assert!(html.contains("Mona cannot be paged"), "{path}: {html}");
        assert!(!html.contains("Alex cannot") && !html.contains("Sam cannot"), "{path}");
    }
    let html = read(&mona, "/teams/platform").await;
    assert!(html.contains("/profile/contact-methods\">Add yours"), "{html}");
    // Alex reads the same flag, without the link that is Mona's to follow.
    let alex = p.app.sign_in("alex@example.com").await;
    let html = read(&alex, "/teams/platform").await;
    assert!(
        html.contains("Mona cannot be paged") && !html.contains("Add yours"),
        "{html}"
    );
}

#[tokio::test]
async fn managers_set_the_escalation_on_a_page_and_members_read_it() {
    let p = setup().await;
    let mona = p.app.sign_in("mona@example.com").await;
    let url = p.app.url("/teams/platform/escalation");
    let html = mona.get(&url).send().await.unwrap().text().await.unwrap();
    assert!(
        html.contains("The secondary, after 5 minutes") && html.contains("from the rotation"),
        "{html}"
    );
    let csrf = crate::common::csrf_of(&html);
    let res = mona
        .post(&url)
        .form(&[("csrf", csrf.as_str()), ("steps", "boss 3"), ("repeat", "0")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.text().await.unwrap().contains("primary, secondary or managers"));
    let res = mona
        .post(&url)
        .form(&[
            ("csrf", csrf.as_str()),
            ("steps", "primary 0\r\nmanagers 10"),
            ("repeat", "2"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, policy) = p.app.get_json(&p.alex, "/api/v1/teams/platform/escalation").await;
    assert_eq!(
        policy,
        json!({"steps": [{"target": "primary", "after_minutes": 0}, {"target": "managers", "after_minutes": 10}],
               "repeat": 2, "custom": true})
    );
    let alex = p.app.sign_in("alex@example.com").await;
    let html = alex.get(&url).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("managers, after 10 minutes") && !html.contains("Save the escalation"));
}

#[tokio::test]
async fn a_person_sets_when_each_method_is_used_on_their_profile() {
    let p = setup().await;
    let alex = p.app.sign_in("alex@example.com").await;
    let url = p.app.url("/profile/contact-methods");
    let html = alex.get(&url).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("When each is used"), "{html}");
    let csrf = crate::common::csrf_of(&html);
    let (_, list) = p.app.get_json(&p.alex, "/api/v1/me/contact-methods").await;
    let id = list[0]["id"].as_i64().unwrap();
    let field = format!("after_{id}");
    let rules = p.app.url("/profile/notification-rules");
    let res = alex
        .post(&rules)
        .form(&[("csrf", csrf.as_str()), (field.as_str(), "0, soon")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let res = alex
        .post(&rules)
        .form(&[("csrf", csrf.as_str()), (field.as_str(), "0, 10")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, saved) = p.app.get_json(&p.alex, "/api/v1/me/notification-rules").await;
    assert_eq!(
        saved,
        json!([{"contact_method_id": id, "after_minutes": 0}, {"contact_method_id": id, "after_minutes": 10}])
    );
    // Unacknowledged, Alex's phone is pushed again after ten minutes.
    p.fire().await;
    p.at(Duration::zero()).await;
    p.at(Duration::minutes(4)).await;
    assert_eq!(p.rx.pages("alex").len(), 1);
    p.at(Duration::minutes(10)).await;
    assert_eq!(p.rx.pages("alex").len(), 2);
    let html = alex.get(&url).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("value=\"0, 10\""), "{html}");
}

#[tokio::test]
async fn someone_with_no_confirmed_method_is_told_nobody_can_page_them() {
    let p = setup().await;
    let (status, _) = p
        .app
        .post_json(
            &p.manager,
            "/api/v1/me/contact-methods",
            json!({"kind": "sms", "target": "+447700900123"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let mona = p.app.sign_in("mona@example.com").await;
    let html = mona
        .get(p.app.url("/profile/contact-methods"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("None is confirmed yet: nobody can page you"), "{html}");
}

#[tokio::test]
async fn a_member_pages_the_on_call_from_the_team_page() {
    let p = setup().await;
    let sam = p.app.sign_in("sam@example.com").await;
    let html = sam
        .get(p.app.url("/teams/platform"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("<summary>Page the on-call</summary>"), "{html}");
    assert!(html.contains("action=\"/teams/platform/page-oncall\""), "{html}");
    let csrf = crate::common::csrf_of(&html);
    let pages = || async {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM pages")
            .fetch_one(&p.app.db)
            .await
            .unwrap()
    };
    let before = pages().await;

    // Nothing to say, or another team's rotation: refused, nothing paged.
    for (message, rotation) in [("   ", ""), ("Checkout is down", "no-such-rotation")] {
        let res = sam
            .post(p.app.url("/teams/platform/page-oncall"))
            .form(&[("csrf", csrf.as_str()), ("message", message), ("rotation", rotation)])
            .send()
            .await
            .unwrap();
        assert_eq!(
            res.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{message:?} {rotation:?}"
        );
    }
    assert_eq!(pages().await, before);

    let res = sam
        .post(p.app.url("/teams/platform/page-oncall"))
        .form(&[("csrf", csrf.as_str()), ("message", "Checkout is down")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    assert!(location.starts_with("/teams/platform/pages/"), "{location}");
    let page: i64 = location.rsplit('/').next().unwrap().parse().unwrap();

    // The primary is paged by their rules, as for a tool's alert.
    p.at(Duration::zero()).await;
    let pushed = p.rx.pages("alex");
    assert_eq!(pushed.len(), 1, "{pushed:?} {:?}", p.timeline(page).await);
    assert!(
        pushed[0].to_string().contains("Checkout is down (paged by Sam)"),
        "{pushed:?}"
    );
    let html = sam
        .get(p.app.url(&location))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("Who was paged") && html.contains("<td>Alex</td>"),
        "{html}"
    );
    // Unacknowledged past the primary's SLA, the secondary is next.
    p.at(Duration::minutes(5)).await;
    assert_eq!(p.rx.pages("sam").len(), 1);
    assert_eq!(p.acknowledged(page).await, (None, None));
}
