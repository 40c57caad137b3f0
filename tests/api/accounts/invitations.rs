//! Invitations: invite → accept → sign in, through the pages and the API,
//! with and without SMTP; who may invite whom; links that no longer work.

use reqwest::StatusCode;
use serde_json::json;

use super::{NEW_PASSWORD, accept, link_in, mail_arrives, org, page, post_form, role_in, signed_in, sink};
use crate::common::browser;

#[tokio::test]
async fn an_admin_invites_through_the_pages_and_without_smtp_sees_the_link_once() {
    let o = org(None).await;
    let app = &o.app;
    let admin = app.sign_in("admin@example.com").await;
    let (status, html, _) = post_form(
        &admin,
        &app.url("/admin"),
        &app.url("/invitations"),
        &[
            ("email", "New.Person@Example.com"),
            ("team", "platform"),
            ("role", "member"),
            ("back", "admin"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("no SMTP server is set up"), "{html}");
    let link = link_in(app, &html, "invite");

    // Listed as pending on the admin page and the team's settings.
    let (_, admin_page) = page(&admin, &app.url("/admin")).await;
    assert!(admin_page.contains("new.person@example.com"), "{admin_page}");
    assert!(!admin_page.contains(&link), "the link is shown only once");
    let manager = app.sign_in("manager@example.com").await;
    let (_, settings) = page(&manager, &app.url("/teams/platform/settings/members")).await;
    assert!(settings.contains("new.person@example.com"), "{settings}");

    let (_, invite_page) = page(&browser(), &link).await;
    assert!(
        invite_page.contains("Ada Admin invited you to join platform as a member"),
        "{invite_page}"
    );
    let invitee = accept(&link, "Nia New").await;
    assert!(signed_in(app, &invitee).await);
    assert_eq!(
        role_in(app, &o.team, "new.person@example.com").await.as_deref(),
        Some("member")
    );
    // Their own password signs them in from now on.
    let again = app.sign_in_with("new.person@example.com", NEW_PASSWORD).await;
    assert!(signed_in(app, &again).await);
    let zone: String = sqlx::query_scalar("SELECT timezone FROM users WHERE email = 'new.person@example.com'")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(zone, "Europe/Berlin");
    assert_eq!(app.audited("invitation.accept").await.len(), 1);
    // The manager hears of it.
    let (_, inbox) = page(&manager, &app.url("/inbox")).await;
    assert!(inbox.contains("Nia New accepted the invitation"), "{inbox}");

    // The link worked once.
    let (status, used) = page(&browser(), &link).await;
    assert_eq!(status, StatusCode::GONE, "{used}");
    assert!(used.contains("already been used"), "{used}");
    let (_, list) = app.get_json(&o.admin_token, "/api/v1/invitations").await;
    assert_eq!(list, json!([]), "no longer pending");
}

#[tokio::test]
async fn an_invitation_through_the_api_is_e_mailed_when_smtp_is_set_up() {
    let mut sink = sink().await;
    let o = org(Some(sink.url.clone())).await;
    let app = &o.app;
    let (status, body) = app
        .post_json(
            &o.admin_token,
            "/api/v1/invitations",
            json!({"email": "ravi@example.com", "team": "platform", "role": "manager"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert!(body.get("link").is_none(), "e-mailed, not shown: {body}");
    assert_eq!(body["email"], "ravi@example.com");
    assert_eq!(body["role"], "manager");
    assert_eq!(body["expires_at"], "2027-03-08T12:00:00Z");
    let mail = mail_arrives(&mut sink, 1).await;
    assert_eq!(mail[0].to, ["ravi@example.com"]);
    let link = link_in(app, &mail[0].data, "invite");

    let (_, list) = app.get_json(&o.admin_token, "/api/v1/invitations").await;
    assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
    assert_eq!(list[0]["team"], "platform");
    assert_eq!(list[0]["invited_by"], "Ada Admin");

    let ravi = accept(&link, "Ravi Rao").await;
    assert!(signed_in(app, &ravi).await);
    assert_eq!(
        role_in(app, &o.team, "ravi@example.com").await.as_deref(),
        Some("manager")
    );
    let (_, list) = app.get_json(&o.admin_token, "/api/v1/invitations").await;
    assert_eq!(list, json!([]));
}

#[tokio::test]
async fn without_smtp_the_api_answers_the_link_and_refuses_what_cannot_be() {
    let o = org(None).await;
    let app = &o.app;
    let (status, body) = app
        .post_json(
            &o.admin_token,
            "/api/v1/invitations",
            json!({"email": "lena@example.com"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let link = body["link"].as_str().expect("a link without SMTP").to_owned();
    assert!(link.starts_with(&format!("{}/invite/", app.base_url)), "{link}");
    assert_eq!(body["team"], json!(null));
    // Accepted with no team: an account, no membership.
    let lena = accept(&link, "Lena Lang").await;
    assert!(signed_in(app, &lena).await);

    // An existing account: 409 naming it.
    let (status, body) = app
        .post_json(
            &o.admin_token,
            "/api/v1/invitations",
            json!({"email": "P0@example.com", "team": "platform"}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("p0@example.com") && message.contains("Person Zero"),
        "{message}"
    );
    // A pending invitation to the same team: 409 too.
    app.post_json(
        &o.admin_token,
        "/api/v1/invitations",
        json!({"email": "kai@example.com", "team": "platform"}),
    )
    .await;
    let (status, _) = app
        .post_json(
            &o.admin_token,
            "/api/v1/invitations",
            json!({"email": "kai@example.com", "team": "platform"}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    // Bad input: 422, nothing made.
    for bad in [
        json!({"email": "not an address"}),
        json!({"email": "x@example.com", "team": "no-such-team"}),
        json!({"email": "x@example.com", "role": "manager"}),
    ] {
        let (status, body) = app.post_json(&o.admin_token, "/api/v1/invitations", bad.clone()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {body}");
    }
    let (status, _) = app
        .post_json(
            &o.admin_token,
            "/api/v1/invitations",
            json!({"email": "x@example.com", "role": "owner"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (_, list) = app.get_json(&o.admin_token, "/api/v1/invitations").await;
    assert_eq!(list.as_array().unwrap().len(), 1, "only kai's is pending: {list}");
}

#[tokio::test]
async fn a_manager_invites_members_into_their_own_team_only() {
    let o = org(None).await;
    let app = &o.app;
    let other = app.team("payments", "UTC").await;
    let (status, body) = app
        .post_json(
            &o.manager_token,
            "/api/v1/invitations",
            json!({"email": "m1@example.com", "team": "platform"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    for refused in [
        json!({"email": "m2@example.com", "team": "platform", "role": "manager"}),
        json!({"email": "m2@example.com", "team": "payments"}),
        json!({"email": "m2@example.com", "team": "no-such-team"}),
        json!({"email": "m2@example.com"}),
    ] {
        let (status, body) = app
            .post_json(&o.manager_token, "/api/v1/invitations", refused.clone())
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{refused}: {body}");
    }
    // An admin's invitation into another team: not the manager's to see or withdraw.
    let (_, theirs) = app
        .post_json(
            &o.admin_token,
            "/api/v1/invitations",
            json!({"email": "pay@example.com", "team": "payments"}),
        )
        .await;
    let (_, list) = app.get_json(&o.manager_token, "/api/v1/invitations").await;
    let emails: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["email"].as_str().unwrap())
        .collect();
    assert_eq!(emails, ["m1@example.com"]);
    let (status, _) = app
        .send_json(
            reqwest::Method::DELETE,
            &o.manager_token,
            &format!("/api/v1/invitations/{}", theirs["id"]),
            json!(null),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // A plain member may neither invite nor list.
    let member = app.token(&o.member).await;
    let (status, _) = app.get_json(&member, "/api/v1/invitations").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = app
        .post_json(
            &member,
            "/api/v1/invitations",
            json!({"email": "m3@example.com", "team": "platform"}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let _ = other;

    // Through the team settings page, as a member, the link shown once.
    let manager = app.sign_in("manager@example.com").await;
    let (status, html, _) = post_form(
        &manager,
        &app.url("/teams/platform/settings/members"),
        &app.url("/invitations"),
        &[
            ("email", "m4@example.com"),
            ("team", "platform"),
            ("back", "team:platform"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{html}");
    link_in(app, &html, "invite");
    let (status, html, _) = post_form(
        &manager,
        &app.url("/teams/platform/settings/members"),
        &app.url("/invitations"),
        &[
            ("email", "m5@example.com"),
            ("team", "payments"),
            ("back", "team:platform"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{html}");
    assert!(html.contains("only into the teams you manage"), "{html}");
}

#[tokio::test]
async fn revoking_or_re_sending_kills_the_old_link() {
    let o = org(None).await;
    let app = &o.app;
    let (_, first) = app
        .post_json(
            &o.admin_token,
            "/api/v1/invitations",
            json!({"email": "zoe@example.com", "team": "platform"}),
        )
        .await;
    let old = first["link"].as_str().unwrap().to_owned();
    let (status, _) = app
        .send_json(
            reqwest::Method::DELETE,
            &o.admin_token,
            &format!("/api/v1/invitations/{}", first["id"]),
            json!(null),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, html) = page(&browser(), &old).await;
    assert_eq!(status, StatusCode::GONE, "{html}");
    assert!(html.contains("withdrawn"), "{html}");
    // Withdrawn twice: nothing pending any more.
    let (status, _) = app
        .send_json(
            reqwest::Method::DELETE,
            &o.admin_token,
            &format!("/api/v1/invitations/{}", first["id"]),
            json!(null),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Invited again, then re-sent from the team settings: a new link.
    let (_, second) = app
        .post_json(
            &o.admin_token,
            "/api/v1/invitations",
            json!({"email": "zoe@example.com", "team": "platform"}),
        )
        .await;
    let before = second["link"].as_str().unwrap().to_owned();
    let manager = app.sign_in("manager@example.com").await;
    let (status, html, _) = post_form(
        &manager,
        &app.url("/teams/platform/settings/members"),
        &app.url(&format!("/invitations/{}/resend", second["id"])),
        &[("back", "team:platform")],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{html}");
    let after = link_in(app, &html, "invite");
    assert_ne!(after, before);
    let (status, _) = page(&browser(), &before).await;
    assert_eq!(status, StatusCode::GONE);
    // Withdrawn from the page: the new link dies too.
    let (_, list) = app.get_json(&o.admin_token, "/api/v1/invitations").await;
    let id = list[0]["id"].as_i64().unwrap();
    let (status, _, location) = post_form(
        &manager,
        &app.url("/teams/platform/settings/members"),
        &app.url(&format!("/invitations/{id}/revoke")),
        &[("back", "team:platform")],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(location.as_deref(), Some("/teams/platform/settings/members"));
    let (status, _) = page(&browser(), &after).await;
    assert_eq!(status, StatusCode::GONE);
    assert_eq!(app.audited("invitation.revoke").await.len(), 2);
}

#[tokio::test]
async fn expired_and_forged_links_say_what_happened_and_what_to_do() {
    let o = org(None).await;
    let app = &o.app;
    let link = rota::cli::accounts::invite(
        &app.db,
        &app.base_url,
        "late@example.com",
        Some("platform"),
        None,
        app.clock.now(),
    )
    .await
    .expect("invited from the command line");
    let (status, _) = page(&browser(), &link).await;
    assert_eq!(status, StatusCode::OK, "the command line's link works");
    app.clock.set(app.clock.now() + chrono::Duration::days(7));
    let (status, html) = page(&browser(), &link).await;
    assert_eq!(status, StatusCode::GONE, "{html}");
    assert!(html.contains("expired") && html.contains("new invitation"), "{html}");
    // Posting to it changes nothing.
    let client = browser();
    let (status, html, _) = post_form(
        &client,
        &app.url("/login"),
        &link,
        &[("name", "Late"), ("timezone", "UTC"), ("password", NEW_PASSWORD)],
    )
    .await;
    assert_eq!(status, StatusCode::GONE, "{html}");
    let exists: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM users WHERE email = 'late@example.com')")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert!(!exists);

    for forged in ["/invite/forged", "/invite/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"] {
        let (status, html) = page(&browser(), &app.url(forged)).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{html}");
        assert!(html.contains("does not know this link"), "{html}");
    }
}

#[tokio::test]
async fn a_weak_password_keeps_the_form_and_the_link() {
    let o = org(None).await;
    let app = &o.app;
    let link = rota::cli::accounts::invite(&app.db, &app.base_url, "weak@example.com", None, None, app.clock.now())
        .await
        .unwrap();
    let client = browser();
    let (status, html, _) = post_form(
        &client,
        &link,
        &link,
        &[
            ("name", "Wes Weak"),
            ("timezone", "Europe/Paris"),
            ("password", "password1234"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
    assert!(
        html.contains("too easy to guess") && html.contains("Wes Weak"),
        "{html}"
    );
    let (status, html, _) = post_form(
        &client,
        &link,
        &link,
        &[
            ("name", "Wes Weak"),
            ("timezone", "Not/AZone"),
            ("password", NEW_PASSWORD),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
    accept(&link, "Wes Weak").await;
}

/// What single sign-on calls for a person it identified by a verified
/// address: their pending invitations, each accepted for the account.
#[tokio::test]
async fn an_identified_account_accepts_its_pending_invitations() {
    use rota::ops::invitations::{accept, pending_for_email};
    let o = org(None).await;
    let app = &o.app;
    let now = app.clock.now();
    let payments = app.team("payments", "UTC").await;
    for team in ["platform", "payments"] {
        rota::cli::accounts::invite(&app.db, &app.base_url, "sso@example.com", Some(team), None, now)
            .await
            .unwrap();
    }
    let user = app.user("sso@example.com", "Sam Sso", "UTC", false).await;
    let mut conn = app.db.acquire().await.unwrap();
    let pending = pending_for_email(&mut conn, "SSO@example.com", now).await.unwrap();
    assert_eq!(pending.len(), 2);
    for invitation in &pending {
        accept(&mut conn, invitation, &user, now).await.unwrap();
    }
    assert!(
        pending_for_email(&mut conn, "sso@example.com", now)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        role_in(app, &o.team, "sso@example.com").await.as_deref(),
        Some("member")
    );
    assert_eq!(
        role_in(app, &payments, "sso@example.com").await.as_deref(),
        Some("member")
    );
    // Accepted once only; never for another address or a deactivated account.
    let again = accept(&mut conn, &pending[0], &user, now).await.unwrap_err();
    assert_eq!(again.status(), StatusCode::CONFLICT);
    rota::cli::accounts::invite(&app.db, &app.base_url, "other@example.com", None, None, now)
        .await
        .unwrap();
    let theirs = pending_for_email(&mut conn, "other@example.com", now).await.unwrap();
    let wrong = accept(&mut conn, &theirs[0], &user, now).await.unwrap_err();
    assert_eq!(wrong.status(), StatusCode::FORBIDDEN);
    let left = app.user("left@example.com", "Lee Left", "UTC", false).await;
    sqlx::query("UPDATE users SET deactivated_at = now() WHERE id = $1")
        .bind(left.id)
        .execute(&app.db)
        .await
        .unwrap();
    rota::cli::accounts::invite(&app.db, &app.base_url, "left@example.com", Some("platform"), None, now)
        .await
        .expect_err("an existing account, deactivated or not, is not invited");
    sqlx::query(
        "INSERT INTO invitations (email, team_id, token_hash, expires_at) VALUES ('left@example.com', $1, 'x', $2)",
    )
    .bind(o.team.id)
    .bind(now + chrono::Duration::days(1))
    .execute(&app.db)
    .await
    .unwrap();
    let stale = pending_for_email(&mut conn, "left@example.com", now).await.unwrap();
    let refused = accept(&mut conn, &stale[0], &left, now).await.unwrap_err();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert_eq!(role_in(app, &o.team, "left@example.com").await, None);
}
