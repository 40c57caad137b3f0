//! Single sign-on in Chromium, through the real redirects to a local
//! OpenID provider that the test starts (and stops when it ends).

use rota::clock::Clock;

use super::common::oidc_provider::{Misbehave, Person, Provider};
use super::common::{TestApp, spawn_app_configured};
use super::{browser, press, screenshot, t, text, wait_for_text};
use crate::assert_no_sideways_scroll;

const NOW: &str = "2027-03-01T12:00:00Z";

/// Rota pointed at a local provider that signs Ravi in; an admin exists
/// (so the sign-in page is shown) and Ravi is invited into Platform.
async fn invited_ravi() -> (TestApp, Provider) {
    let provider = Provider::start(
        Clock::fixed(t(NOW)),
        Person::new("sub-ravi", "ravi@example.com", "Ravi Kumar"),
    )
    .await;
    let oidc = provider.settings(false);
    let app = spawn_app_configured(t(NOW), |s| s.sign_in.oidc = Some(oidc)).await;
    app.user("admin@example.com", "Ada Admin", "UTC", true).await;
    let team = app.team("platform", "Europe/London").await;
    sqlx::query(
        "INSERT INTO invitations (email, team_id, role, token_hash, expires_at)
         VALUES ('ravi@example.com', $1, 'member', $2, '2027-03-08T00:00:00Z')",
    )
    .bind(team.id)
    .bind(rand::random::<[u8; 32]>().to_vec())
    .execute(&app.db)
    .await
    .expect("invitation");
    (app, provider)
}

async fn accounts(app: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM users")
        .fetch_one(&app.db)
        .await
        .expect("count")
}

#[tokio::test]
async fn an_invited_person_signs_in_with_the_company_provider() {
    let (app, _provider) = invited_ravi().await;
    let Some(b) = browser(390, 844).await else { return };
    let c = &b.client;

    c.goto(&app.url("/login")).await.expect("login page");
    wait_for_text(c, "Sign in with Test ID").await;
    assert_no_sideways_scroll(c, "the sign-in page with SSO").await;
    let axe = super::a11y::axe_source();
    for scheme in ["light", "dark"] {
        super::color_scheme(&b, scheme).await;
        super::a11y::assert_accessible(c, &axe, &format!("the sign-in page with SSO ({scheme})")).await;
    }
    screenshot(c, "phone-login-sso").await;
    press(c, "#sso").await;
    // Rota → the provider → Rota, then the Now page.
    wait_for_text(c, "On call now").await;
    c.goto(&app.url("/profile")).await.expect("profile");
    wait_for_text(c, "Signed in as ravi@example.com").await;
    let member: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM memberships m JOIN users u ON u.id = m.user_id
                        JOIN teams t ON t.id = m.team_id
                        WHERE u.email = 'ravi@example.com' AND t.slug = 'platform')",
    )
    .fetch_one(&app.db)
    .await
    .expect("membership");
    assert!(member, "the invitation put Ravi in Platform");
    b.client.close().await.expect("close");
}

#[tokio::test]
async fn a_forged_id_token_is_refused_in_the_browser() {
    let (app, provider) = invited_ravi().await;
    provider.misbehave(Misbehave::OtherKey);
    let Some(b) = browser(390, 844).await else { return };
    let c = &b.client;

    c.goto(&app.url("/login")).await.expect("login page");
    press(c, "#sso").await;
    wait_for_text(c, "Sign-in refused").await;
    let page = text(c).await;
    assert!(page.contains("its signature is not the provider"), "{page}");
    assert_no_sideways_scroll(c, "the refusal").await;
    let axe = super::a11y::axe_source();
    super::a11y::assert_accessible(c, &axe, "the SSO refusal page").await;
    screenshot(c, "phone-sso-refused").await;
    assert_eq!(accounts(&app).await, 1, "no account was made for Ravi");
    c.goto(&app.url("/profile")).await.expect("profile");
    wait_for_text(c, "Sign in").await;
    b.client.close().await.expect("close");
}

#[tokio::test]
async fn with_passwords_off_only_the_break_glass_admin_uses_one() {
    let provider = Provider::start(Clock::fixed(t(NOW)), Person::new("sub-mo", "mo@example.com", "Mo")).await;
    let oidc = provider.settings(false);
    let app = spawn_app_configured(t(NOW), |s| {
        s.sign_in.oidc = Some(oidc);
        s.sign_in.password = false;
        s.sign_in.break_glass_email = Some("root@example.com".into());
    })
    .await;
    app.user("root@example.com", "Root Admin", "UTC", true).await;
    app.user("mo@example.com", "Mo Member", "UTC", false).await;
    let Some(b) = browser(390, 844).await else { return };
    let c = &b.client;

    c.goto(&app.url("/login")).await.expect("login page");
    wait_for_text(c, "Break-glass sign-in with a password").await;
    let axe = super::a11y::axe_source();
    super::a11y::assert_accessible(c, &axe, "the sign-in page with passwords off").await;
    assert!(
        c.find(fantoccini::Locator::Id("password")).await.is_err(),
        "no password field"
    );
    press(c, "main a[href^='/login?password=1']").await;
    wait_for_text(c, "Sign in with a password").await;
    super::fill(c, "email", "mo@example.com").await;
    super::fill(c, "password", super::common::PASSWORD).await;
    press(c, "form[action='/login'] button").await;
    wait_for_text(c, "Password sign-in is turned off here").await;

    super::fill(c, "email", "root@example.com").await;
    super::fill(c, "password", super::common::PASSWORD).await;
    press(c, "form[action='/login'] button").await;
    wait_for_text(c, "On call now").await;
    b.client.close().await.expect("close");
}
