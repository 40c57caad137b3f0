//! Contact methods: test messages and codes, signatures, bad input.

use super::*;

#[tokio::test]
async fn a_generic_webhook_is_signed_with_the_secret_shown_once() {
    let p = setup().await;
    let (status, body) = p
        .app
        .post_json(
            &p.alex,
            "/api/v1/me/contact-methods",
            json!({"kind": "webhook", "label": "pager bridge", "target": format!("{}/hook", p.rx.base)}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let secret = body["secret"].as_str().expect("the secret, once").to_owned();
    let got = p.rx.hooks().pop().expect("a test message");
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(&got.raw);
    let expected = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
    assert_eq!(got.signature.as_deref(), Some(expected.as_str()));
    assert_eq!(got.body["event"], "test");
    assert_eq!(got.authorization, None);
    let (_, list) = p.app.get_json(&p.alex, "/api/v1/me/contact-methods").await;
    assert!(list.to_string().find("secret").is_none(), "{list}");
}

#[tokio::test]
async fn a_protected_ntfy_topic_gets_its_access_token_and_the_token_is_never_shown() {
    let p = setup().await;
    let (status, body) = p
        .app
        .post_json(
            &p.alex,
            "/api/v1/me/contact-methods",
            json!({"kind": "ntfy", "label": "work phone", "target": format!("{}/alex-work", p.rx.base),
                   "token": "tk_protected0123456789"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let got = p.rx.got.lock().unwrap().last().cloned().expect("a test push");
    assert_eq!(got.body["topic"], "alex-work");
    assert_eq!(got.authorization.as_deref(), Some("Bearer tk_protected0123456789"));
    let (_, list) = p.app.get_json(&p.alex, "/api/v1/me/contact-methods").await;
    assert!(!list.to_string().contains("tk_protected"), "{list}");
    // A method without one sends none.
    let without = p.rx.pushes("alex").len();
    assert!(without > 0);
    let plain =
        p.rx.got
            .lock()
            .unwrap()
            .iter()
            .find(|g| g.body["topic"] == "alex")
            .cloned()
            .unwrap();
    assert_eq!(plain.authorization, None);
}

#[tokio::test]
async fn bad_input_is_refused_and_nothing_is_stored() {
    let p = setup().await;
    let before = p.app.get_json(&p.alex, "/api/v1/me/contact-methods").await.1;
    for (body, says) in [
        // Loopback on a port not named in ROTA_OUTGOING_ALLOW_HOSTS.
        (
            json!({"kind": "webhook", "target": "http://127.0.0.1:1/hook"}),
            "ROTA_OUTGOING_ALLOW_HOSTS",
        ),
        (
            json!({"kind": "ntfy", "target": "http://localhost:1/topic"}),
            "ROTA_OUTGOING_ALLOW_HOSTS",
        ),
        (
            json!({"kind": "webhook", "target": "http://169.254.169.254/latest/meta-data"}),
            "never sends",
        ),
        (json!({"kind": "pigeon", "target": "loft 3"}), "kind is one of"),
        (json!({"kind": "sms", "target": "07700 900123"}), "E.164"),
        (json!({"kind": "ntfy", "target": "https://ntfy.sh/"}), "ntfy topic URL"),
    ] {
        let (status, res) = p
            .app
            .post_json(&p.alex, "/api/v1/me/contact-methods", body.clone())
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {res}");
        assert!(
            res["error"]["message"].as_str().unwrap().contains(says),
            "{body}: {res}"
        );
    }
    assert_eq!(p.app.get_json(&p.alex, "/api/v1/me/contact-methods").await.1, before);

    // Rules: negative minutes, an unconfirmed method, someone else's.
    let mine = before[0]["id"].as_i64().unwrap();
    let (_, sms) = p
        .app
        .post_json(
            &p.alex,
            "/api/v1/me/contact-methods",
            json!({"kind": "sms", "target": "+447700900123"}),
        )
        .await;
    assert_eq!(sms["verified"], false);
    let (_, sams) = p.app.get_json(&p.sam, "/api/v1/me/contact-methods").await;
    let put = |rules: Value| {
        p.app
            .send_json(reqwest::Method::PUT, &p.alex, "/api/v1/me/notification-rules", rules)
    };
    assert_eq!(
        put(json!([{"contact_method_id": mine, "after_minutes": 0}])).await.0,
        StatusCode::OK
    );
    for rules in [
        json!([{"contact_method_id": mine, "after_minutes": 2}, {"contact_method_id": mine, "after_minutes": -1}]),
        json!([{"contact_method_id": sms["id"], "after_minutes": 2}]),
        json!([{"contact_method_id": sams[0]["id"], "after_minutes": 0}]),
    ] {
        let (status, res) = put(rules.clone()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{rules}: {res}");
    }
    let (_, rules) = p.app.get_json(&p.alex, "/api/v1/me/notification-rules").await;
    assert_eq!(rules, json!([{"contact_method_id": mine, "after_minutes": 0}]));

    // Escalation: the default follows the SLAs; no steps is refused.
    let path = "/api/v1/teams/platform/escalation";
    let (status, policy) = p.app.get_json(&p.alex, path).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        policy["steps"],
        json!([{"target": "primary", "after_minutes": 0}, {"target": "secondary", "after_minutes": 5},
               {"target": "managers", "after_minutes": 35}])
    );
    assert_eq!(policy["custom"], false);
    let (status, res) = p
        .app
        .send_json(
            reqwest::Method::PUT,
            &p.manager,
            path,
            json!({"steps": [], "repeat": 0}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{res}");
    assert!(res["error"]["message"].as_str().unwrap().contains("at least one step"));
    assert_eq!(p.app.get_json(&p.alex, path).await.1, policy);
    // Members read it; only managers set it.
    let one = json!({"steps": [{"target": "primary", "after_minutes": 0}], "repeat": 0});
    let (status, _) = p.app.send_json(reqwest::Method::PUT, &p.alex, path, one.clone()).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, res) = p.app.send_json(reqwest::Method::PUT, &p.manager, path, one).await;
    assert_eq!(status, StatusCode::OK, "{res}");
    assert_eq!(res["custom"], true);
}

#[tokio::test]
async fn an_email_method_is_confirmed_by_its_code_and_pages_carry_the_acknowledge_link() {
    let (smtp, inbox) = crate::mail::smtp_sink().await;
    let p = setup_with(Some(smtp)).await;
    let (status, body) = p
        .app
        .post_json(
            &p.alex,
            "/api/v1/me/contact-methods",
            json!({"kind": "email", "target": "alex.pager@example.com"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["test_message"], "sent", "{body}");
    let mail = inbox.lock().unwrap().last().cloned().expect("the test message");
    assert!(mail.to.iter().any(|t| t.contains("alex.pager@example.com")), "{mail:?}");
    let code = code_in(&mail.data);
    let id = body["id"].as_i64().unwrap();
    let path = format!("/api/v1/me/contact-methods/{id}/verify");
    let (status, res) = p.app.post_json(&p.alex, &path, json!({"code": "000000"})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{res}");
    let (status, res) = p.app.post_json(&p.alex, &path, json!({"code": code})).await;
    assert_eq!(status, StatusCode::OK, "{res}");
    p.fire().await;
    p.at(Duration::zero()).await;
    let page = inbox.lock().unwrap().last().cloned().unwrap();
    assert!(page.data.contains("Checkout p99 latency"), "{page:?}");
    assert!(page.data.contains(&p.app.url("/ack/")), "{page:?}");
}

#[tokio::test]
async fn a_webhook_page_carries_the_page_the_acknowledge_link_and_one_key_across_retries() {
    let p = setup().await;
    let (_, body) = p
        .app
        .post_json(
            &p.alex,
            "/api/v1/me/contact-methods",
            json!({"kind": "webhook", "target": format!("{}/hook", p.rx.base)}),
        )
        .await;
    let id = body["id"].as_i64().unwrap();
    let code = code_in(p.rx.hooks()[0].body["message"].as_str().unwrap());
    let path = format!("/api/v1/me/contact-methods/{id}/verify");
    assert_eq!(
        p.app.post_json(&p.alex, &path, json!({"code": code})).await.0,
        StatusCode::OK
    );
    // Only the webhook, so the failure is its.
    let (_, list) = p.app.get_json(&p.alex, "/api/v1/me/contact-methods").await;
    let push = list.as_array().unwrap().iter().find(|m| m["kind"] == "ntfy").unwrap()["id"].clone();
    let (status, _) = p
        .app
        .send_json(
            reqwest::Method::DELETE,
            &p.alex,
            &format!("/api/v1/me/contact-methods/{push}"),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    p.rx.failing.store(1, Ordering::SeqCst);
    let page = p.fire().await;
    p.at(Duration::zero()).await;
    p.at(Duration::seconds(10)).await;
    let hooks: Vec<Got> = p.rx.hooks().into_iter().filter(|g| g.body["event"] == "page").collect();
    assert_eq!(hooks.len(), 2, "a first try and a retry");
    assert_eq!(hooks[0].body["page"]["id"], page);
    assert!(
        hooks[0].body["acknowledge_url"]
            .as_str()
            .unwrap()
            .starts_with(&p.app.url("/ack/"))
    );
    assert!(hooks[0].idempotency.is_some());
    assert_eq!(hooks[0].idempotency, hooks[1].idempotency);
    assert!(hooks[0].signature.is_some());
}
