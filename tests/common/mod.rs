//! The test harness: each test gets its own database on the real Postgres
//! and the real server on a free port, with a clock the test controls.

#![allow(dead_code)]

pub mod oidc_provider;
pub mod pgbouncer;

use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::{DateTime, Utc};
use reqwest::{Client, Response, StatusCode};
use rota::clock::Clock;
use rota::config::Settings;
use rota::db;
use rota::db::teams::{Team, TeamRole};
use rota::db::users::User;
use rota::ops;
use rota::secrets;
use serde_json::{Value, json};
use sqlx::{Connection, PgPool};
use tokio::net::TcpListener;

pub const PASSWORD: &str = "correct horse battery";

/// The server, without the database name.
pub fn server_url() -> String {
    std::env::var("ROTA_TEST_DATABASE_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into())
}

static NEXT_DB: AtomicUsize = AtomicUsize::new(0);

pub struct TestApp {
    pub caches: std::sync::Arc<rota::cache::Caches>,
    pub address: String,
    /// The test's own way in: Postgres itself, as another process or an
    /// admin would reach it (the server may query through PgBouncer:
    /// `state.db`).
    pub db: PgPool,
    pub clock: Clock,
    pub base_url: String,
    /// Set when the app was started with an SMTP server.
    pub mailer: Option<std::sync::Arc<rota::mail::Mailer>>,
    /// What the server sends chat posts through (its outgoing policy).
    pub outgoing: rota::outgoing::Outgoing,
    /// The server's shared state, for tests that start one of its jobs.
    pub state: rota::state::AppState,
}

pub fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).expect("RFC 3339").with_timezone(&Utc)
}

static SWEPT: tokio::sync::OnceCell<()> = tokio::sync::OnceCell::const_new();

/// Drops the databases earlier test runs left behind (their process has
/// ended), so repeated runs do not fill the server.
async fn sweep_old_databases() {
    let Ok(mut admin) = sqlx::PgConnection::connect(&format!("{}/postgres", server_url())).await else {
        return;
    };
    let names: Vec<String> = sqlx::query_scalar("SELECT datname FROM pg_database WHERE datname LIKE 'rota\\_test\\_%'")
        .fetch_all(&mut admin)
        .await
        .unwrap_or_default();
    for name in names {
        let pid = name.split('_').nth(2).and_then(|p| p.parse::<u32>().ok());
        let alive = pid.is_some_and(|p| std::path::Path::new(&format!("/proc/{p}")).exists());
        if !alive {
            let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                .execute(&mut admin)
                .await;
        }
    }
}

/// A server whose clock stands at `now`.
pub async fn spawn_app_at(now: DateTime<Utc>) -> TestApp {
    spawn_app_with(now, None).await
}

/// A server whose clock stands at `now`, sending e-mail to `smtp_url` if given.
pub async fn spawn_app_with(now: DateTime<Utc>, smtp_url: Option<String>) -> TestApp {
    spawn_app_configured(now, |s| s.smtp_url = smtp_url).await
}

/// A server whose clock stands at `now` that may send to the `host:port`
/// entries in `allow_hosts` (as `ROTA_OUTGOING_ALLOW_HOSTS`), such as a
/// test's local receiver.
pub async fn spawn_app_allowing(now: DateTime<Utc>, allow_hosts: &str) -> TestApp {
    let policy = rota::outgoing::Policy::new(false, allow_hosts).expect("allowed hosts");
    spawn_app_configured(now, |s| s.outgoing = policy).await
}

/// A server whose clock stands at `now`, with settings changed by `tune`.
pub async fn spawn_app_tuned(now: DateTime<Utc>, tune: impl FnOnce(&mut Settings)) -> TestApp {
    spawn_app_configured(now, tune).await
}

/// A server whose clock stands at `now`, with settings `configure` changes.
pub async fn spawn_app_configured(now: DateTime<Utc>, configure: impl FnOnce(&mut Settings)) -> TestApp {
    spawn_app_full(now, configure, None, None).await
}

/// A server whose clock stands at `now` that queries through `bouncer`
/// (`ROTA_DB_PGBOUNCER`) and listens on Postgres itself
/// (`DATABASE_LISTEN_URL`), with settings `configure` changes. The
/// test's own `db` reaches Postgres itself.
pub async fn spawn_app_through(
    now: DateTime<Utc>,
    bouncer: &pgbouncer::PgBouncer,
    configure: impl FnOnce(&mut Settings),
) -> TestApp {
    spawn_app_full(now, configure, None, Some(bouncer)).await
}

/// A server whose pool holds `size` connections (one of them listens for
/// changes) and gives up waiting for one after `wait`.
pub async fn spawn_app_pooled(now: DateTime<Utc>, size: u32, wait: std::time::Duration) -> TestApp {
    spawn_app_full(now, |_| {}, Some((size, wait)), None).await
}

async fn spawn_app_full(
    now: DateTime<Utc>,
    configure: impl FnOnce(&mut Settings),
    pool_size: Option<(u32, std::time::Duration)>,
    bouncer: Option<&pgbouncer::PgBouncer>,
) -> TestApp {
    SWEPT.get_or_init(sweep_old_databases).await;
    let n = NEXT_DB.fetch_add(1, Ordering::SeqCst);
    let name = format!("rota_test_{}_{}_{}", std::process::id(), n, rand_suffix());
    let url = format!("{}/{name}", server_url());
    let mut pool = db::connect_and_migrate(&url, 8).await.expect("test database");
    if let Some((size, wait)) = pool_size {
        pool.close().await;
        pool = sqlx::postgres::PgPoolOptions::new()
            .max_connections(size)
            .acquire_timeout(wait)
            .connect(&url)
            .await
            .expect("small pool");
    }
    let (target, pools) = match bouncer {
        None => (db::Target::direct(&url), pool.clone().into()),
        Some(bouncer) => {
            let target = db::Target {
                url: bouncer.url(&name),
                listen_url: Some(url.clone()),
                pgbouncer: true,
            };
            let pools = db::connect(&target, 8).await.expect("pools through PgBouncer");
            (target, pools)
        }
    };
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let address = format!("http://127.0.0.1:{port}");
    let mut settings = Settings {
        database_url: target.url,
        database_listen_url: target.listen_url,
        db_pgbouncer: target.pgbouncer,
        listen: listener.local_addr().expect("addr"),
        base_url: address.clone(),
        secure_cookies: false,
        session_idle: std::time::Duration::from_secs(3600),
        session_max_age: std::time::Duration::from_secs(14 * 86_400),
        request_timeout: std::time::Duration::from_secs(30),
        smtp_url: None,
        mail_from: "Rota <rota@example.com>".into(),
        metrics_token: None,
        db_pool_size: 8,
        outgoing: rota::outgoing::Policy::default(),
        sign_in: rota::config::SignIn::default(),
        twilio: None,
        // The test clock stands still, so a token's allowance never refills:
        // only the tests of those limits set a burst.
        limits: rota::config::Limits {
            personal_token: rota::config::Rate {
                per_second: 1_000_000,
                burst: 1_000_000,
            },
            integration_token: rota::config::Rate {
                per_second: 1_000_000,
                burst: 1_000_000,
            },
            ..rota::config::Limits::default()
        },
    };
    configure(&mut settings);
    let clock = Clock::fixed(now);
    let app = rota::startup::Application::with_parts(listener, pools, settings, clock.clone())
        .expect("application")
        .without_jobs();
    let caches = app.state().caches.clone();
    let mailer = app.state().mailer.clone();
    let outgoing = app.state().outgoing.clone();
    let state = app.state().clone();
    tokio::spawn(app.run_until_stopped(std::future::pending()));
    TestApp {
        caches,
        address: address.clone(),
        db: pool,
        clock,
        base_url: address,
        mailer,
        outgoing,
        state,
    }
}

fn rand_suffix() -> String {
    secrets::random_secret()
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(6)
        .collect::<String>()
        .to_lowercase()
}

/// A browser-like client that keeps cookies and does not follow redirects.
pub fn browser() -> Client {
    Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

pub fn api() -> Client {
    Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

/// Pulls the CSRF token out of a page.
pub fn csrf_of(html: &str) -> String {
    let marker = "name=\"csrf\" value=\"";
    let start = html.find(marker).expect("page has a CSRF field") + marker.len();
    html[start..].split('"').next().expect("token").to_owned()
}

impl TestApp {
    /// The page at `path` as `client` sees it.
    pub async fn page(&self, client: &Client, path: &str) -> String {
        let res = client.get(self.url(path)).send().await.expect("page");
        res.text().await.expect("html")
    }

    /// Posts `fields` to `action` with the CSRF token of the page `form_page`.
    pub async fn post_form(&self, client: &Client, form_page: &str, action: &str, fields: &[(&str, &str)]) -> Response {
        let csrf = csrf_of(&self.page(client, form_page).await);
        let mut form = vec![("csrf", csrf.as_str())];
        form.extend_from_slice(fields);
        client.post(self.url(action)).form(&form).send().await.expect("post")
    }

    /// Tries the sign-in form; the client and the answer, whatever it was.
    pub async fn try_sign_in(&self, email: &str, password: &str) -> (Client, Response) {
        let client = browser();
        let fields = [("email", email), ("password", password), ("next", "/")];
        let res = self.post_form(&client, "/login", "/login", &fields).await;
        (client, res)
    }

    /// Runs `change` as another process would (plain SQL) and waits until
    /// this server has heard of it and dropped its caches.
    pub async fn change_elsewhere(&self, sql: &str) {
        let mut clears = self.caches.clears();
        let before = *clears.borrow_and_update();
        sqlx::query(sql).execute(&self.db).await.expect("change");
        tokio::time::timeout(std::time::Duration::from_secs(10), clears.wait_for(|n| *n > before))
            .await
            .expect("the change notification arrives")
            .expect("caches alive");
    }

    /// Waits until the server listens for changes, so its caches are on.
    pub async fn caches_on(&self) {
        let mut listening = self.caches.listening();
        tokio::time::timeout(std::time::Duration::from_secs(10), listening.wait_for(|on| *on))
            .await
            .expect("the server listens for changes")
            .expect("caches alive");
    }

    /// Runs the recovery job until its queue is empty, as the server's job
    /// would within a second: the recovery days of the pages tools reported
    /// so far are derived when this returns. Returns how many it derived.
    /// Runs over the server's own pool (through PgBouncer if it uses one).
    pub async fn settle_recovery(&self) -> usize {
        rota::jobs::recovery::drain(&self.state.db, self.clock.now())
            .await
            .expect("the recovery job runs")
    }

    /// Runs the paging worker until nothing is due at the clock's time, as
    /// the server's worker would when woken: due escalation steps are paged
    /// and due messages sent when this returns. Runs over the server's own
    /// pool (through PgBouncer if it uses one).
    pub async fn settle_paging(&self) -> rota::jobs::paging::Round {
        let round = rota::jobs::paging::drain(&self.state.db, &self.state.pager(), self.clock.now())
            .await
            .expect("the paging worker runs");
        // As the server does once the messages' NOTIFY reaches it (a
        // statement trigger, checked by `cache::every_table_…`): the Now
        // page's "Paging you" reads them.
        self.caches.clear_tables(&["page_messages"]);
        round
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    pub async fn user(&self, email: &str, name: &str, tz: &str, admin: bool) -> User {
        let mut conn = self.db.acquire().await.expect("conn");
        ops::users::create_user(
            &mut conn,
            ops::users::NewUserInput {
                email,
                name,
                timezone: Some(tz),
                password: Some(PASSWORD),
                is_admin: admin,
            },
        )
        .await
        .expect("user")
    }

    pub async fn token(&self, user: &User) -> String {
        let token = secrets::new_api_token();
        let mut conn = self.db.acquire().await.expect("conn");
        db::tokens::insert(&mut conn, user.id, "test", &secrets::token_hash(&token))
            .await
            .expect("token");
        token
    }

    pub async fn team(&self, slug: &str, tz: &str) -> Team {
        let mut conn = self.db.acquire().await.expect("conn");
        ops::teams::create_team(&mut conn, slug, slug, tz).await.expect("team")
    }

    pub async fn add(&self, team: &Team, user: &User, role: TeamRole) {
        let mut conn = self.db.acquire().await.expect("conn");
        ops::members::set_member(&mut conn, team, user.id, &user.email, role, self.clock.now())
            .await
            .expect("member");
    }

    /// Signs `email` in through the real form and returns the client.
    pub async fn sign_in(&self, email: &str) -> Client {
        self.sign_in_with(email, PASSWORD).await
    }

    pub async fn sign_in_with(&self, email: &str, password: &str) -> Client {
        let client = browser();
        let page = client
            .get(self.url("/login"))
            .send()
            .await
            .expect("login page")
            .text()
            .await
            .expect("html");
        let csrf = csrf_of(&page);
        let res = client
            .post(self.url("/login"))
            .form(&[
                ("csrf", csrf.as_str()),
                ("email", email),
                ("password", password),
                ("next", "/"),
            ])
            .send()
            .await
            .expect("sign in");
        assert_eq!(
            res.status(),
            StatusCode::SEE_OTHER,
            "sign-in for {email} should redirect"
        );
        client
    }

    pub async fn get_json(&self, token: &str, path: &str) -> (StatusCode, Value) {
        let res = api()
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .expect("request");
        split(res).await
    }

    pub async fn send_json(
        &self,
        method: reqwest::Method,
        token: &str,
        path: &str,
        body: Value,
    ) -> (StatusCode, Value) {
        let res = api()
            .request(method, self.url(path))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .expect("request");
        split(res).await
    }

    pub async fn post_json(&self, token: &str, path: &str, body: Value) -> (StatusCode, Value) {
        self.send_json(reqwest::Method::POST, token, path, body).await
    }

    pub async fn patch_json(&self, token: &str, path: &str, body: Value) -> (StatusCode, Value) {
        self.send_json(reqwest::Method::PATCH, token, path, body).await
    }

    /// The audit entries with `action`, oldest first.
    pub async fn audited(&self, action: &str) -> Vec<Audited> {
        sqlx::query_as("SELECT team_id, actor_id, before, after FROM audit_log WHERE action = $1 ORDER BY id")
            .bind(action)
            .fetch_all(&self.db)
            .await
            .expect("audit log")
    }
}

/// One audit entry: the team it belongs to (none for a person's own
/// account), who made the change, and what it was before and after.
#[derive(Debug, sqlx::FromRow)]
pub struct Audited {
    pub team_id: Option<i64>,
    pub actor_id: Option<i64>,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

pub async fn split(res: Response) -> (StatusCode, Value) {
    let status = res.status();
    let text = res.text().await.expect("body");
    let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, value)
}

/// A team with a manager, members and a weekly rotation, for the common case.
pub struct Fixture {
    pub app: TestApp,
    pub team: Team,
    pub manager: User,
    pub members: Vec<User>,
    pub manager_token: String,
}

pub async fn fixture(now: DateTime<Utc>, tz: &str, start_date: &str, people: usize) -> Fixture {
    fixture_on(spawn_app_at(now).await, tz, start_date, people).await
}

/// The same fixture on an app started some other way.
pub async fn fixture_on(app: TestApp, tz: &str, start_date: &str, people: usize) -> Fixture {
    let team = app.team("platform", tz).await;
    let manager = app.user("manager@example.com", "Mona Manager", tz, false).await;
    app.add(&team, &manager, TeamRole::Manager).await;
    let mut members = Vec::new();
    for i in 0..people {
        let u = app
            .user(&format!("p{i}@example.com"), &format!("Person {i}"), tz, false)
            .await;
        app.add(&team, &u, TeamRole::Member).await;
        members.push(u);
    }
    let manager_token = app.token(&manager).await;
    let participants: Vec<String> = members.iter().map(|m| m.email.clone()).collect();
    let (status, body) = app
        .post_json(
            &manager_token,
            "/api/v1/teams/platform/rotations",
            json!({"slug": "weekly", "name": "Weekly", "start_date": start_date, "participants": participants}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    Fixture {
        app,
        team,
        manager,
        members,
        manager_token,
    }
}

/// The URL of a database that does not exist yet, named like the others so
/// a later run drops it (for restores, which create their own).
pub fn fresh_database_url() -> String {
    let n = NEXT_DB.fetch_add(1, Ordering::SeqCst);
    format!(
        "{}/rota_test_{}_{}_{}",
        server_url(),
        std::process::id(),
        n,
        rand_suffix()
    )
}
