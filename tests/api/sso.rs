//! Single sign-on against a local OpenID provider, driven through the real
//! redirects (Rota → provider → Rota) by a client that follows each
//! `Location` by hand.

use reqwest::{Client, StatusCode};
use rota::clock::Clock;
use rota::config::SignIn;

use crate::common::oidc_provider::{Misbehave, Person, Provider};
use crate::common::{PASSWORD, TestApp, browser, csrf_of, spawn_app_configured, t};

const NOW: &str = "2027-03-01T12:00:00Z";

/// A provider signing `person` in, and Rota pointed at it; `tune` changes
/// the sign-in settings further.
async fn spawn(person: Person, tune: impl FnOnce(&mut SignIn)) -> (TestApp, Provider) {
    let provider = Provider::start(Clock::fixed(t(NOW)), person).await;
    let oidc = provider.settings(false);
    let app = spawn_app_configured(t(NOW), |s| {
        s.sign_in.oidc = Some(oidc);
        tune(&mut s.sign_in);
    })
    .await;
    (app, provider)
}

fn location(res: &reqwest::Response) -> String {
    res.headers()
        .get(reqwest::header::LOCATION)
        .unwrap_or_else(|| panic!("a redirect, got {}", res.status()))
        .to_str()
        .expect("ascii")
        .to_owned()
}

/// Starts at Rota, visits the provider and comes back; the last answer.
async fn through_sso(app: &TestApp, provider: &Provider, client: &Client, next: &str) -> reqwest::Response {
    let query = serde_urlencoded::to_string([("next", next)]).expect("query");
    let res = client
        .get(app.url(&format!("/auth/oidc/start?{query}")))
        .send()
        .await
        .expect("start");
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "start sends to the provider");
    let to_provider = location(&res);
    assert!(
        to_provider.starts_with(&format!("{}/authorize?", provider.issuer)),
        "{to_provider}"
    );
    assert!(to_provider.contains("code_challenge_method=S256"), "{to_provider}");
    assert!(to_provider.contains("nonce="), "{to_provider}");
    let res = client.get(&to_provider).send().await.expect("provider");
    assert_eq!(res.status(), StatusCode::FOUND, "the provider sends back");
    let back = location(&res);
    assert!(back.starts_with(&app.url("/auth/oidc/callback?")), "{back}");
    client.get(&back).send().await.expect("callback")
}

/// Whom the client's session belongs to, if anyone.
async fn signed_in_as(app: &TestApp, client: &Client) -> Option<String> {
    let res = client.get(app.url("/profile")).send().await.expect("profile");
    if res.status() != StatusCode::OK {
        return None;
    }
    let html = res.text().await.expect("html");
    let marker = "Signed in as ";
    let start = html.find(marker)? + marker.len();
    html[start..].split('<').next().map(str::to_owned)
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(&app.db).await.expect("count")
}

async fn invite(app: &TestApp, email: &str, team_id: Option<i64>, expires: &str) -> i64 {
    sqlx::query_scalar(
        "INSERT INTO invitations (email, team_id, role, token_hash, expires_at)
         VALUES ($1, $2, 'member', $3, $4::timestamptz) RETURNING id",
    )
    .bind(email)
    .bind(team_id)
    .bind(rand::random::<[u8; 32]>().to_vec())
    .bind(expires)
    .fetch_one(&app.db)
    .await
    .expect("invitation")
}

#[tokio::test]
async fn the_first_sso_sign_in_links_the_account_with_that_verified_email() {
    let (app, provider) = spawn(Person::new("sub-priya", "Priya@Example.com", "Priya S"), |_| {}).await;
    let priya = app
        .user("priya@example.com", "Priya Shah", "Europe/London", false)
        .await;

    let client = browser();
    let res = through_sso(&app, &provider, &client, "/teams/platform?at=2027-03-02").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        location(&res),
        "/teams/platform?at=2027-03-02",
        "the safe next is followed"
    );
    assert_eq!(signed_in_as(&app, &client).await.as_deref(), Some("priya@example.com"));
    let linked: i64 =
        sqlx::query_scalar("SELECT user_id FROM oidc_identities WHERE issuer = $1 AND subject = 'sub-priya'")
            .bind(&provider.issuer)
            .fetch_one(&app.db)
            .await
            .expect("linked");
    assert_eq!(linked, priya.id);
    let last: Option<chrono::DateTime<chrono::Utc>> =
        sqlx::query_scalar("SELECT last_sign_in_at FROM users WHERE id = $1")
            .bind(priya.id)
            .fetch_one(&app.db)
            .await
            .expect("last sign-in");
    assert_eq!(last, Some(t(NOW)));
    assert_eq!(app.audited("user.sso_link").await.len(), 1);

    // Later the provider knows her by another address: the subject decides.
    provider.sign_in_as(Person::new("sub-priya", "priya.shah@example.com", "Priya S"));
    let again = browser();
    let res = through_sso(&app, &provider, &again, "//evil.example").await;
    assert_eq!(location(&res), "/", "an unsafe next goes home");
    assert_eq!(signed_in_as(&app, &again).await.as_deref(), Some("priya@example.com"));
    assert_eq!(count(&app, "SELECT count(*) FROM users").await, 1, "nobody new");
}

#[tokio::test]
async fn an_invitation_is_accepted_by_signing_in_through_sso() {
    let (app, _provider) = spawn(Person::new("sub-ravi", "ravi@example.com", "Ravi Kumar"), |_| {}).await;
    app.user("admin@example.com", "Ada Admin", "UTC", true).await;
    let team = app.team("platform", "Europe/London").await;
    let invitation = invite(&app, "ravi@example.com", Some(team.id), "2027-03-05T00:00:00Z").await;

    // Through the button on the sign-in page, as a person would.
    let client = browser();
    let page = client
        .get(app.url("/login"))
        .send()
        .await
        .expect("login")
        .text()
        .await
        .expect("html");
    assert!(page.contains("Sign in with Test ID"), "{page}");
    let marker = "id=\"sso\" href=\"";
    let start = page.find(marker).expect("the button") + marker.len();
    let href = page[start..].split('"').next().expect("href").replace("&amp;", "&");
    assert_eq!(href, "/auth/oidc/start?next=%2F");
    let res = client.get(app.url(&href)).send().await.expect("button");
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let res = client.get(location(&res)).send().await.expect("provider");
    let res = client.get(location(&res)).send().await.expect("callback");
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(signed_in_as(&app, &client).await.as_deref(), Some("ravi@example.com"));

    let (id, name, tz, has_password): (i64, String, String, bool) = sqlx::query_as(
        "SELECT id, name, timezone, password_hash IS NOT NULL FROM users WHERE email = 'ravi@example.com'",
    )
    .fetch_one(&app.db)
    .await
    .expect("the new account");
    assert_eq!((name.as_str(), tz.as_str(), has_password), ("Ravi Kumar", "UTC", false));
    let (accepted_by, accepted): (Option<i64>, bool) =
        sqlx::query_as("SELECT accepted_by, accepted_at IS NOT NULL FROM invitations WHERE id = $1")
            .bind(invitation)
            .fetch_one(&app.db)
            .await
            .expect("invitation");
    assert_eq!((accepted_by, accepted), (Some(id), true));
    let role: String = sqlx::query_scalar("SELECT role::text FROM memberships WHERE team_id = $1 AND user_id = $2")
        .bind(team.id)
        .bind(id)
        .fetch_one(&app.db)
        .await
        .expect("a member of the invited team");
    assert_eq!(role, "member");
}

#[tokio::test]
async fn an_expired_or_revoked_invitation_opens_nothing() {
    let (app, provider) = spawn(Person::new("sub-old", "old@example.com", "Old Invite"), |_| {}).await;
    invite(&app, "old@example.com", None, "2027-02-28T00:00:00Z").await;
    let revoked = invite(&app, "old@example.com", None, "2027-03-08T00:00:00Z").await;
    sqlx::query("UPDATE invitations SET revoked_at = now() WHERE id = $1")
        .bind(revoked)
        .execute(&app.db)
        .await
        .expect("revoke");
    let client = browser();
    let res = through_sso(&app, &provider, &client, "/").await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let html = res.text().await.expect("html");
    assert!(
        html.contains("There is no Rota account for old@example.com — ask an admin for an invitation"),
        "{html}"
    );
    assert_eq!(count(&app, "SELECT count(*) FROM users").await, 0);
    assert_eq!(signed_in_as(&app, &client).await, None);
}

#[tokio::test]
async fn strangers_get_an_account_with_no_team_only_when_auto_create_is_on() {
    let stranger = Person::new("sub-sam", "sam@example.com", "Sam Stranger");
    let (app, provider) = spawn(stranger.clone(), |_| {}).await;
    let res = through_sso(&app, &provider, &browser(), "/").await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN, "auto-create is off by default");
    assert_eq!(count(&app, "SELECT count(*) FROM users").await, 0);
    assert_eq!(count(&app, "SELECT count(*) FROM oidc_identities").await, 0);

    let (app, provider) = spawn(stranger, |s| {
        if let Some(o) = s.oidc.as_mut() {
            o.auto_create = true;
        }
    })
    .await;
    let client = browser();
    let res = through_sso(&app, &provider, &client, "/").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(signed_in_as(&app, &client).await.as_deref(), Some("sam@example.com"));
    assert_eq!(count(&app, "SELECT count(*) FROM memberships").await, 0, "no team");
    assert_eq!(app.audited("user.sso_create").await.len(), 1);
}

#[tokio::test]
async fn forged_or_unfit_id_tokens_are_refused_and_change_nothing() {
    let (app, provider) = spawn(Person::new("sub-priya", "priya@example.com", "Priya"), |s| {
        if let Some(o) = s.oidc.as_mut() {
            o.auto_create = true;
        }
    })
    .await;
    app.user("priya@example.com", "Priya Shah", "UTC", false).await;
    let cases = [
        (Misbehave::OtherKey, "its signature is not the provider"),
        (Misbehave::WrongAudience, "it was meant for another application"),
        (Misbehave::WrongNonce, "it belongs to another sign-in"),
        (Misbehave::Expired, "it has expired"),
        (Misbehave::WrongIssuer, "could not be verified"),
        (Misbehave::UnverifiedEmail, "has not verified your e-mail address"),
        (Misbehave::DeniesAccess, "did not sign you in"),
    ];
    for (how, says) in cases {
        provider.misbehave(how);
        let client = browser();
        let res = through_sso(&app, &provider, &client, "/").await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{how:?}");
        let html = res.text().await.expect("html");
        assert!(html.contains(says), "{how:?}: {html}");
        assert!(html.contains("href=\"/login\""), "{how:?}: the way back");
        assert_eq!(signed_in_as(&app, &client).await, None, "{how:?}");
    }
    assert_eq!(
        count(&app, "SELECT count(*) FROM oidc_identities").await,
        0,
        "nothing linked"
    );
    assert_eq!(count(&app, "SELECT count(*) FROM users").await, 1, "nothing created");
    assert_eq!(
        count(&app, "SELECT count(*) FROM users WHERE last_sign_in_at IS NOT NULL").await,
        0
    );
}

#[tokio::test]
async fn a_provider_that_rotated_its_keys_is_asked_for_them_again() {
    let (app, provider) = spawn(Person::new("sub-priya", "priya@example.com", "Priya"), |_| {}).await;
    app.user("priya@example.com", "Priya Shah", "UTC", false).await;
    let res = through_sso(&app, &provider, &browser(), "/").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "the keys are now cached");
    provider.rotate_keys();
    let client = browser();
    let res = through_sso(&app, &provider, &client, "/").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "the new key is fetched");
    assert_eq!(signed_in_as(&app, &client).await.as_deref(), Some("priya@example.com"));
}

#[tokio::test]
async fn a_callback_that_does_not_belong_to_this_browser_is_refused() {
    let (app, _provider) = spawn(Person::new("sub-priya", "priya@example.com", "Priya"), |_| {}).await;
    app.user("priya@example.com", "Priya Shah", "UTC", false).await;

    // A callback with no sign-in started here.
    let client = browser();
    let res = client
        .get(app.url("/auth/oidc/callback?code=abc&state=xyz"))
        .send()
        .await
        .expect("callback");
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(
        res.text()
            .await
            .expect("html")
            .contains("No sign-in is waiting in this browser")
    );

    // The provider's answer with its state changed.
    let res = client.get(app.url("/auth/oidc/start")).send().await.expect("start");
    let res = client.get(location(&res)).send().await.expect("provider");
    let back = location(&res);
    let (head, _) = back.split_once("&state=").expect("state last");
    let res = client
        .get(format!("{head}&state=forged"))
        .send()
        .await
        .expect("callback");
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(res.text().await.expect("html").contains("state does not match"));
    // The real answer after that is refused too: the sign-in was used up.
    let res = client.get(&back).send().await.expect("callback");
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_eq!(signed_in_as(&app, &client).await, None);
    assert_eq!(count(&app, "SELECT count(*) FROM oidc_identities").await, 0);
}

#[tokio::test]
async fn a_deactivated_account_is_refused_through_sso() {
    let (app, provider) = spawn(Person::new("sub-lee", "lee@example.com", "Lee"), |_| {}).await;
    let lee = app.user("lee@example.com", "Lee Left", "UTC", false).await;
    sqlx::query("UPDATE users SET deactivated_at = now() WHERE id = $1")
        .bind(lee.id)
        .execute(&app.db)
        .await
        .expect("deactivate");
    let client = browser();
    let res = through_sso(&app, &provider, &client, "/").await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(res.text().await.expect("html").contains("has been deactivated"));
    assert_eq!(count(&app, "SELECT count(*) FROM oidc_identities").await, 0);
    assert_eq!(signed_in_as(&app, &client).await, None);
}

#[tokio::test]
async fn a_provider_that_cannot_be_reached_gets_a_clear_page_not_a_crash() {
    // A port nothing listens on: Rota still starts and serves.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("port");
    let issuer = format!("http://{}", closed.local_addr().expect("addr"));
    drop(closed);
    let app = spawn_app_configured(t(NOW), |s| {
        s.sign_in.oidc = Some(rota::config::Oidc {
            issuer,
            client_id: "x".into(),
            client_secret: "y".into(),
            name: "Down ID".into(),
            auto_create: false,
        });
    })
    .await;
    let page = browser().get(app.url("/login")).send().await.expect("login");
    assert_eq!(page.status(), StatusCode::SEE_OTHER, "no account yet: set-up first");
    let res = browser().get(app.url("/auth/oidc/start")).send().await.expect("start");
    assert_eq!(res.status(), StatusCode::BAD_GATEWAY);
    assert!(res.text().await.expect("html").contains("Down ID could not be reached"));
}

/// Signs in through the break-glass password form.
async fn password_sign_in(app: &TestApp, email: &str, password: &str) -> (Client, reqwest::Response) {
    let client = browser();
    let page = client
        .get(app.url("/login?password=1"))
        .send()
        .await
        .expect("login")
        .text()
        .await
        .expect("html");
    let res = client
        .post(app.url("/login"))
        .form(&[
            ("csrf", csrf_of(&page).as_str()),
            ("email", email),
            ("password", password),
            ("next", "/"),
        ])
        .send()
        .await
        .expect("sign in");
    (client, res)
}

#[tokio::test]
async fn with_passwords_off_only_the_break_glass_admin_may_use_one() {
    let (app, provider) = spawn(Person::new("sub-mo", "mo@example.com", "Mo"), |s| {
        s.password = false;
        s.break_glass_email = Some("root@example.com".into());
    })
    .await;
    app.user("root@example.com", "Root Admin", "UTC", true).await;
    app.user("mo@example.com", "Mo Member", "UTC", false).await;

    let login = browser()
        .get(app.url("/login"))
        .send()
        .await
        .expect("login")
        .text()
        .await
        .expect("html");
    assert!(login.contains("Sign in with Test ID"), "{login}");
    assert!(
        !login.contains("name=\"password\""),
        "the password form is hidden: {login}"
    );
    assert!(login.contains("/login?password=1"), "a break-glass link: {login}");
    let glass = browser()
        .get(app.url("/login?password=1"))
        .send()
        .await
        .expect("login")
        .text()
        .await
        .expect("html");
    assert!(glass.contains("name=\"password\""), "{glass}");

    // The right password of anyone else is refused, with the way to go.
    for (email, password) in [("mo@example.com", PASSWORD), ("root@example.com", "not the password")] {
        let (client, res) = password_sign_in(&app, email, password).await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{email}");
        let html = res.text().await.expect("html");
        assert!(
            html.contains("Password sign-in is turned off here: use “Sign in with Test ID”"),
            "{html}"
        );
        assert_eq!(signed_in_as(&app, &client).await, None);
    }

    // The break-glass admin's password still works; Mo comes through SSO.
    let (root, res) = password_sign_in(&app, "root@example.com", PASSWORD).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(signed_in_as(&app, &root).await.as_deref(), Some("root@example.com"));
    let mo = browser();
    let res = through_sso(&app, &provider, &mo, "/").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(signed_in_as(&app, &mo).await.as_deref(), Some("mo@example.com"));
}

#[tokio::test]
async fn with_passwords_off_reset_and_invitation_links_set_no_password() {
    let (app, _provider) = spawn(Person::new("sub-mo", "mo@example.com", "Mo"), |s| {
        s.password = false;
        s.break_glass_email = Some("root@example.com".into());
    })
    .await;
    let mo = app.user("mo@example.com", "Mo Member", "UTC", false).await;
    let token = rota::secrets::random_secret();
    sqlx::query(
        "INSERT INTO password_resets (user_id, token_hash, expires_at) VALUES ($1, $2, $3::timestamptz + interval '1 hour')",
    )
    .bind(mo.id)
    .bind(rota::secrets::token_hash(&token))
    .bind(NOW)
    .execute(&app.db)
    .await
    .unwrap();
    let client = browser();
    let res = app
        .post_form(
            &client,
            &format!("/reset/{token}"),
            &format!("/reset/{token}"),
            &[("password", "plum-violin-gravel-47")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(res.text().await.unwrap().contains("Passwords are turned off here"));
    assert_eq!(signed_in_as(&app, &client).await, None);
    let (_, res) = password_sign_in(&app, "mo@example.com", PASSWORD).await;
    assert_eq!(
        res.status(),
        StatusCode::FORBIDDEN,
        "the old password is unchanged and still refused"
    );

    let token = rota::secrets::random_secret();
    sqlx::query(
        "INSERT INTO invitations (email, role, token_hash, expires_at) VALUES ('new@example.com', 'member', $1, $2::timestamptz + interval '1 day')",
    )
    .bind(rota::secrets::token_hash(&token))
    .bind(NOW)
    .execute(&app.db)
    .await
    .unwrap();
    let page = app.page(&client, &format!("/invite/{token}")).await;
    assert!(page.contains("Accept with Test ID"), "{page}");
    assert!(!page.contains("name=\"password\""), "no password form: {page}");
    // The page has no form to post; a hand-made post is refused all the same.
    let csrf = csrf_of(&app.page(&client, "/login?password=1").await);
    let res = client
        .post(app.url(&format!("/invite/{token}")))
        .form(&[
            ("csrf", csrf.as_str()),
            ("name", "New Person"),
            ("timezone", "UTC"),
            ("password", "plum-violin-gravel-47"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        count(&app, "SELECT count(*) FROM users WHERE email = 'new@example.com'").await,
        0
    );
}

#[tokio::test]
async fn an_account_linked_at_the_provider_is_not_handed_to_another_subject_with_its_address() {
    let (app, provider) = spawn(Person::new("sub-new", "priya@example.com", "Priya"), |_| {}).await;
    let priya = app.user("priya@example.com", "Priya Shah", "UTC", false).await;
    sqlx::query("INSERT INTO oidc_identities (issuer, subject, user_id) VALUES ($1, 'sub-old', $2)")
        .bind(&provider.issuer)
        .bind(priya.id)
        .execute(&app.db)
        .await
        .unwrap();
    let client = browser();
    let res = through_sso(&app, &provider, &client, "/").await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(res.text().await.unwrap().contains("already linked to another sign-in"));
    assert_eq!(signed_in_as(&app, &client).await, None);
    assert_eq!(count(&app, "SELECT count(*) FROM oidc_identities").await, 1);
}
