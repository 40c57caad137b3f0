//! Password reset: by e-mail from "Forgot your password?", by an admin, and
//! on the command line. A reset ends every session and leaves tokens alone.

use reqwest::StatusCode;

use super::{NEW_PASSWORD, link_in, mail_arrives, org, page, post_form, signed_in, sink};
use crate::common::{PASSWORD, browser, spawn_app_tuned, t};

#[tokio::test]
async fn a_reset_by_e_mail_ends_every_session_and_keeps_tokens() {
    let mut sink = sink().await;
    let o = org(Some(sink.url.clone())).await;
    let app = &o.app;
    let token = app.token(&o.member).await;
    let elsewhere = app.sign_in("p0@example.com").await;
    assert!(signed_in(app, &elsewhere).await);

    let (_, login) = page(&browser(), &app.url("/login")).await;
    assert!(login.contains("href=\"/forgot-password\""), "{login}");
    let client = browser();
    let (status, html, _) = post_form(
        &client,
        &app.url("/forgot-password"),
        &app.url("/forgot-password"),
        &[("email", "P0@example.com")],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("If there is an account for"), "{html}");
    let mail = mail_arrives(&mut sink, 1).await;
    assert_eq!(mail[0].to, ["p0@example.com"]);
    let link = link_in(app, &mail[0].data, "reset");

    let (status, html) = page(&client, &link).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(
        html.contains("signs you out everywhere") && html.contains("API tokens keep working"),
        "{html}"
    );
    let (status, html, location) = post_form(&client, &link, &link, &[("password", NEW_PASSWORD)]).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{html}");
    assert_eq!(location.as_deref(), Some("/"));
    assert!(signed_in(app, &client).await, "signed in with the new password");

    // The other session is over; the token still works.
    assert!(!signed_in(app, &elsewhere).await);
    let (status, me) = app.get_json(&token, "/api/v1/me").await;
    assert_eq!(status, StatusCode::OK, "{me}");
    // The new password signs in, the old one does not.
    app.sign_in_with("p0@example.com", NEW_PASSWORD).await;
    let (status, _, _) = post_form(
        &browser(),
        &app.url("/login"),
        &app.url("/login"),
        &[("email", "p0@example.com"), ("password", PASSWORD), ("next", "/")],
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(app.audited("password.reset").await.len(), 1);

    // The link worked once.
    let (status, html) = page(&browser(), &link).await;
    assert_eq!(status, StatusCode::GONE, "{html}");
    assert!(html.contains("already been used"), "{html}");
}

#[tokio::test]
async fn forgot_password_answers_the_same_for_an_unknown_address() {
    let mut sink = sink().await;
    let o = org(Some(sink.url.clone())).await;
    let app = &o.app;
    let client = browser();
    let ask = |email: &'static str| {
        let client = client.clone();
        let url = app.url("/forgot-password");
        async move {
            let (status, html, _) = post_form(&client, &url, &url, &[("email", email)]).await;
            (status, html.replace(email, "ADDRESS"))
        }
    };
    let unknown = ask("nobody@example.com").await;
    let deactivated_user = app.user("gone@example.com", "Gone Away", "UTC", false).await;
    sqlx::query("UPDATE users SET deactivated_at = now() WHERE id = $1")
        .bind(deactivated_user.id)
        .execute(&app.db)
        .await
        .unwrap();
    let deactivated = ask("gone@example.com").await;
    let known = ask("p0@example.com").await;
    assert_eq!(unknown.0, StatusCode::OK);
    assert_eq!(unknown, known);
    assert_eq!(deactivated, known);
    // Only the known, active account got a link.
    let mail = mail_arrives(&mut sink, 1).await;
    assert_eq!(mail.len(), 1);
    assert_eq!(mail[0].to, ["p0@example.com"]);
    let links: i64 = sqlx::query_scalar("SELECT count(*) FROM password_resets")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(links, 1);
}

#[tokio::test]
async fn forgot_password_is_throttled_per_address() {
    let (sink_url, _inbox) = crate::mail::smtp_sink().await;
    let app = spawn_app_tuned(t("2027-03-01T12:00:00Z"), |s| {
        s.smtp_url = Some(sink_url);
        s.limits.sign_in_failures = 2;
    })
    .await;
    app.user("p0@example.com", "Person Zero", "UTC", false).await;
    let client = browser();
    let url = app.url("/forgot-password");
    for _ in 0..2 {
        let (status, _, _) = post_form(&client, &url, &url, &[("email", "p0@example.com")]).await;
        assert_eq!(status, StatusCode::OK);
    }
    let (status, html, _) = post_form(&client, &url, &url, &[("email", "p0@example.com")]).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{html}");
    assert!(html.contains("Too many reset requests"), "{html}");
    // Sign-in has its own allowance.
    app.sign_in("p0@example.com").await;
}

#[tokio::test]
async fn without_smtp_the_forgot_page_says_whom_to_ask_and_an_admin_gets_a_link() {
    let o = org(None).await;
    let app = &o.app;
    let (status, html) = page(&browser(), &app.url("/forgot-password")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("cannot send e-mail") && html.contains("Ask an admin"),
        "{html}"
    );

    let admin = app.sign_in("admin@example.com").await;
    let (status, html, _) = post_form(
        &admin,
        &app.url("/admin"),
        &app.url("/admin/reset-links"),
        &[("email", "p0@example.com")],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("shown only this once"), "{html}");
    let link = link_in(app, &html, "reset");
    let client = browser();
    let (status, _, _) = post_form(&client, &link, &link, &[("password", NEW_PASSWORD)]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    app.sign_in_with("p0@example.com", NEW_PASSWORD).await;
    assert_eq!(app.audited("password.reset_link").await.len(), 1);
}

#[tokio::test]
async fn an_admin_reset_link_is_e_mailed_when_smtp_is_set_up() {
    let mut sink = sink().await;
    let o = org(Some(sink.url.clone())).await;
    let app = &o.app;
    let admin = app.sign_in("admin@example.com").await;
    let (status, html, _) = post_form(
        &admin,
        &app.url("/admin"),
        &app.url("/admin/reset-links"),
        &[("email", "p0@example.com")],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("An e-mail with the link went to"), "{html}");
    assert!(!html.contains("/reset/"), "not shown when e-mailed: {html}");
    let mail = mail_arrives(&mut sink, 1).await;
    assert_eq!(mail[0].to, ["p0@example.com"]);
    link_in(app, &mail[0].data, "reset");
}

#[tokio::test]
async fn the_command_line_prints_a_link_or_sets_the_password() {
    use rota::cli::accounts::{Reset, reset_password};
    let o = org(None).await;
    let app = &o.app;
    let elsewhere = app.sign_in("p0@example.com").await;
    let now = app.clock.now();
    let Reset::Link(link) = reset_password(&app.db, &app.base_url, "p0@example.com", None, now)
        .await
        .unwrap()
    else {
        panic!("a link without ROTA_PASSWORD");
    };
    let (status, _) = page(&browser(), &link).await;
    assert_eq!(status, StatusCode::OK);

    let done = reset_password(&app.db, &app.base_url, "P0@example.com", Some(NEW_PASSWORD), now)
        .await
        .unwrap();
    assert_eq!(done, Reset::Set("p0@example.com".into()));
    assert!(!signed_in(app, &elsewhere).await, "the reset ended the session");
    app.sign_in_with("p0@example.com", NEW_PASSWORD).await;

    // Refused: a weak password, an unknown or deactivated account.
    let weak = reset_password(&app.db, &app.base_url, "p0@example.com", Some("password"), now).await;
    assert!(weak.unwrap_err().to_string().contains("12 characters"));
    let unknown = reset_password(&app.db, &app.base_url, "nobody@example.com", None, now).await;
    assert!(unknown.unwrap_err().to_string().contains("no active account"));
    sqlx::query("UPDATE users SET deactivated_at = now() WHERE email = 'p0@example.com'")
        .execute(&app.db)
        .await
        .unwrap();
    assert!(
        reset_password(&app.db, &app.base_url, "p0@example.com", None, now)
            .await
            .is_err()
    );
    // And its earlier link no longer works.
    let (status, _) = page(&browser(), &link).await;
    assert!(status.is_client_error(), "{status}");
}

#[tokio::test]
async fn expired_and_forged_reset_links_say_what_to_do() {
    use rota::cli::accounts::{Reset, reset_password};
    let o = org(None).await;
    let app = &o.app;
    let Reset::Link(link) = reset_password(&app.db, &app.base_url, "p0@example.com", None, app.clock.now())
        .await
        .unwrap()
    else {
        panic!("a link");
    };
    app.clock.set(app.clock.now() + chrono::Duration::minutes(61));
    let (status, html) = page(&browser(), &link).await;
    assert_eq!(status, StatusCode::GONE, "{html}");
    assert!(
        html.contains("expired") && html.contains("Forgot your password?"),
        "{html}"
    );
    let (status, html, _) = post_form(&browser(), &app.url("/login"), &link, &[("password", NEW_PASSWORD)]).await;
    assert_eq!(status, StatusCode::GONE, "{html}");
    let (status, html) = page(&browser(), &app.url("/reset/forged")).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{html}");
    assert!(html.contains("does not know this link"), "{html}");
    // The old password still works: nothing changed.
    app.sign_in("p0@example.com").await;
}
