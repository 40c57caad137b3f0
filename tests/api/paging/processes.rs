//! Real `rota serve` processes on the test's database, on the real clock
//! (acceptance 4 and 5): a server killed with SIGKILL loses no step and
//! sends none twice when it starts again, and two servers on one database
//! send every step once. Each process is killed when its `Server` drops,
//! also when an assertion fails.

use std::process::Stdio;
use std::time::Duration as StdDuration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use super::*;

/// The longest a step may be late (the bound).
const ON_TIME: Duration = Duration::seconds(5);

/// A `rota serve` process; killed (SIGKILL) when dropped.
struct Server {
    child: Child,
    url: String,
    /// What it logged, for failure messages.
    log: Arc<Mutex<Vec<String>>>,
}

impl Server {
    /// Starts `rota serve` on `database` (already migrated), allowed to
    /// call `allow` (`host:port`), and waits until it serves.
    async fn start(database: &str, allow: &str) -> Server {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .unwrap()
            .port();
        let url = format!("http://127.0.0.1:{port}");
        let mut child = Command::new(env!("CARGO_BIN_EXE_rota"))
            .arg("serve")
            .env("DATABASE_URL", database)
            .env("ROTA_LISTEN", format!("127.0.0.1:{port}"))
            .env("ROTA_BASE_URL", &url)
            .env("ROTA_OUTGOING_ALLOW_HOSTS", allow)
            .env("ROTA_TOKEN_RATE", "100000")
            .env("ROTA_TOKEN_BURST", "100000")
            .env("ROTA_LOG_FORMAT", "text")
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("rota serve starts");
        let log = Arc::new(Mutex::new(Vec::new()));
        let (serving, ready) = tokio::sync::oneshot::channel();
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let kept = log.clone();
        // Reads the log to its end, so the pipe never fills.
        tokio::spawn(async move {
            let mut serving = Some(serving);
            while let Ok(Some(line)) = lines.next_line().await {
                if line.contains("serving")
                    && let Some(tx) = serving.take()
                {
                    let _ = tx.send(());
                }
                kept.lock().unwrap().push(line);
            }
        });
        let started = tokio::time::timeout(StdDuration::from_secs(60), ready).await;
        let server = Server { child, url, log };
        assert!(
            matches!(started, Ok(Ok(()))),
            "rota serve did not start:\n{}",
            server.log()
        );
        server
    }

    fn log(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }

    /// SIGKILL: no shutdown, no goodbye.
    async fn kill(mut self) {
        self.child.start_kill().unwrap();
        self.child.wait().await.unwrap();
    }

    /// Pages the on-call of `team` through a tool's `token`; the page's id.
    async fn page(&self, token: &str, team: &str, key: &str) -> i64 {
        let res = api()
            .post(format!("{}/api/v1/teams/{team}/pages", self.url))
            .bearer_auth(token)
            .json(&json!({"dedup_key": key, "summary": format!("{key} is down"),
                          "fired_at": Utc::now() - Duration::seconds(1), "notify": true}))
            .send()
            .await
            .unwrap();
        let (status, body) = crate::common::split(res).await;
        assert_eq!(status, StatusCode::CREATED, "{body}\n{}", self.log());
        body["id"].as_i64().unwrap()
    }

    /// Who is `role` of `team` now (the local part of their address).
    async fn on_call(&self, token: &str, team: &str, role: &str) -> String {
        let res = api()
            .get(format!("{}/api/v1/teams/{team}/oncall", self.url))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        let (status, body) = crate::common::split(res).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let email = body["rotations"][0][role]["email"]
            .as_str()
            .unwrap_or_else(|| panic!("nobody is {role} now: {body}\n{}", self.log()));
        email.split('@').next().unwrap().to_owned()
    }
}

/// The URL `rota serve` reaches the test app's database by, its
/// rotations' weeks written up to today (the fixture's clock stands in
/// March 2026; the servers run on the real one).
async fn database_url(app: &TestApp) -> String {
    rota::jobs::extend_schedules(&app.db, Utc::now()).await.unwrap();
    let name = app.db.connect_options().get_database().unwrap().to_owned();
    format!("{}/{name}", crate::common::server_url())
}

impl Receiver {
    /// Waits until `done` holds of what it took, for at most `limit`.
    async fn wait_for(&self, limit: StdDuration, done: impl Fn(&Receiver) -> bool) -> bool {
        let mut changes = self.count.subscribe();
        tokio::time::timeout(limit, async {
            while !done(self) {
                if changes.changed().await.is_err() {
                    return;
                }
            }
        })
        .await
        .is_ok()
    }
}

/// Moves the page's next escalation step to `at` (in the database's
/// clock, which is this machine's) and tells the workers.
async fn step_due(app: &TestApp, page: i64, at_seconds: i64) -> DateTime<Utc> {
    let due: DateTime<Utc> = sqlx::query_scalar(
        "UPDATE escalations SET due_at = now() + make_interval(secs => $2) WHERE page_id = $1 AND due_at IS NOT NULL
         RETURNING due_at",
    )
    .bind(page)
    .bind(at_seconds as f64)
    .fetch_one(&app.db)
    .await
    .expect("the page is still escalating");
    due
}

/// When the receiver took the secondary's push: the page message's
/// `sent` event time is the worker's, so time it here instead.
async fn arrival(rx: &Receiver, topic: &str, before: usize) -> DateTime<Utc> {
    let came = rx
        .wait_for(StdDuration::from_secs(40), |r| r.pages(topic).len() > before)
        .await;
    assert!(came, "{topic} was never paged");
    Utc::now()
}

/// Whether every message of `pages` is settled (none pending or being
/// sent) within a few seconds.
async fn settled(app: &TestApp, pages: &[i64]) -> bool {
    for _ in 0..200 {
        let unsettled: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM page_messages WHERE page_id = ANY($1) AND state IN ('pending', 'sending')",
        )
        .bind(pages)
        .fetch_one(&app.db)
        .await
        .unwrap();
        if unsettled == 0 {
            return true;
        }
        tokio::time::sleep(StdDuration::from_millis(25)).await;
    }
    false
}

#[tokio::test]
async fn a_server_killed_before_the_secondarys_step_pages_them_once_on_time_after_a_restart() {
    let p = setup().await;
    let db = database_url(&p.app).await;
    let allow = p.rx.host_port().to_owned();
    let server = Server::start(&db, &allow).await;
    // The real clock: whoever the rotation names today.
    let (primary, secondary) = (
        server.on_call(&p.manager, "platform", "primary").await,
        server.on_call(&p.manager, "platform", "secondary").await,
    );
    let page = server.page(&p.hook, "platform", "checkout").await;
    assert!(
        p.rx.wait_for(StdDuration::from_secs(5), |r| r.pages(&primary).len() == 1)
            .await,
        "the primary is pushed at once: {:?} {:?}\n{}",
        p.timeline(page).await,
        sqlx::query_as::<_, (Option<DateTime<Utc>>, Option<DateTime<Utc>>, Option<String>)>(
            "SELECT due_at, ended_at, ended_reason FROM escalations WHERE page_id = $1"
        )
        .bind(page)
        .fetch_optional(&p.app.db)
        .await
        .unwrap(),
        server.log()
    );

    // Ten seconds before the secondary's step, the server dies (with
    // nothing in flight: one killed between the provider's answer and its
    // record sends that message again when its claim lapses).
    assert!(settled(&p.app, &[page]).await);
    let due = step_due(&p.app, page, 10).await;
    server.kill().await;
    let server = Server::start(&db, &allow).await;
    let at = arrival(&p.rx, &secondary, 0).await;
    assert!(
        at >= due - Duration::milliseconds(50),
        "not early: due {due}, came {at}"
    );
    assert!(at <= due + ON_TIME, "on time: due {due}, came {at}\n{}", server.log());

    // The step was due while no server ran: at once when one starts.
    let second = server.page(&p.hook, "platform", "payments").await;
    assert!(
        p.rx.wait_for(StdDuration::from_secs(5), |r| r.pages(&primary).len() == 2)
            .await
    );
    assert!(settled(&p.app, &[second]).await);
    server.kill().await;
    step_due(&p.app, second, -30).await;
    let server = Server::start(&db, &allow).await;
    let serving = Utc::now();
    let at = arrival(&p.rx, &secondary, 1).await;
    assert!(at <= serving + ON_TIME, "at once after the start at {serving}: {at}");

    // Once each: the messages are all settled (the worker records each
    // answer just after the receiver gave it), none left to send again.
    assert!(settled(&p.app, &[page, second]).await, "{}", server.log());
    assert_eq!(p.rx.pages(&primary).len(), 2, "{}", server.log());
    assert_eq!(p.rx.pages(&secondary).len(), 2);
    drop(server);
}

/// Page ids a webhook request told of (one page, or a bundle's pages).
fn told_pages(body: &Value) -> Vec<i64> {
    let one = body["page"]["id"].as_i64();
    let bundled = body["pages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p["id"].as_i64());
    one.into_iter().chain(bundled).collect()
}

/// Every (page, person) pair the receiver's webhooks told, with how often.
fn told(rx: &Receiver) -> std::collections::HashMap<(i64, i64), usize> {
    let mut told = std::collections::HashMap::new();
    for g in rx.got.lock().unwrap().iter() {
        let Some(person) = g.path.strip_prefix("/hook/").and_then(|p| p.parse().ok()) else {
            continue;
        };
        for page in told_pages(&g.body) {
            *told.entry((page, person)).or_insert(0) += 1;
        }
    }
    told
}

#[tokio::test]
async fn two_servers_on_one_database_tell_every_step_of_200_pages_across_20_teams_once() {
    let p = setup().await;
    let db = &p.app.db;
    // Twenty teams, each with its primary and secondary (webhooks to the
    // receiver, confirmed), Mona managing them all.
    sqlx::query(
        "WITH t AS (
            INSERT INTO teams (slug, name, timezone, calendar_secret)
            SELECT 'team-' || i, 'Team ' || i, 'Europe/London', md5('t' || i) FROM generate_series(1, 20) i
            RETURNING id, slug),
         u AS (
            INSERT INTO users (email, name, timezone, password_hash, calendar_secret)
            SELECT 'p' || i || '@example.com', 'Person ' || i, 'Europe/London',
                   (SELECT password_hash FROM users WHERE email = 'mona@example.com'), md5('u' || i)
            FROM generate_series(1, 40) i
            RETURNING id, email)
         INSERT INTO memberships (team_id, user_id, role)
         SELECT t.id, u.id, 'member' FROM t JOIN u
           ON t.slug = 'team-' || ((substr(u.email, 2, strpos(u.email, '@') - 2)::int + 1) / 2)
         UNION ALL
         SELECT t.id, (SELECT id FROM users WHERE email = 'mona@example.com'), 'manager' FROM t",
    )
    .execute(db)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO contact_methods (user_id, kind, label, target, secret, verified_at, created_at)
         SELECT id, 'webhook', 'hook', $1 || '/hook/' || id, 'secret', now(), now()
         FROM users WHERE email ~ '^p[0-9]+@'",
    )
    .bind(&p.rx.base)
    .execute(db)
    .await
    .unwrap();
    let mut tokens = Vec::new();
    for i in 1..=20 {
        let (a, b) = (2 * i - 1, 2 * i);
        let (status, body) = p
            .app
            .post_json(
                &p.manager,
                &format!("/api/v1/teams/team-{i}/rotations"),
                json!({"slug": "weekly", "name": "Weekly", "start_date": "2026-02-24",
                       "participants": [format!("p{a}@example.com"), format!("p{b}@example.com")],
                       "primary_sla_minutes": 5, "secondary_sla_minutes": 30}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let (status, body) = p
            .app
            .post_json(
                &p.manager,
                &format!("/api/v1/teams/team-{i}/integration-tokens"),
                json!({"label": "tool"}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        tokens.push((format!("team-{i}"), body["token"].as_str().unwrap().to_owned()));
    }
    let url = database_url(&p.app).await;
    let allow = p.rx.host_port().to_owned();
    let (one, two) = tokio::join!(Server::start(&url, &allow), Server::start(&url, &allow));
    let servers = [one, two];

    // 200 pages at once, half through each server.
    let mut posts = tokio::task::JoinSet::new();
    for n in 0..200 {
        let (team, token) = tokens[n % 20].clone();
        let base = servers[n % 2].url.clone();
        posts.spawn(async move {
            let res = api()
                .post(format!("{base}/api/v1/teams/{team}/pages"))
                .bearer_auth(&token)
                .json(
                    &json!({"dedup_key": format!("alert-{n}"), "summary": format!("alert {n}"),
                              "fired_at": Utc::now() - Duration::seconds(1), "notify": true}),
                )
                .send()
                .await
                .unwrap();
            let (status, body) = crate::common::split(res).await;
            assert_eq!(status, StatusCode::CREATED, "{body}");
            body["id"].as_i64().unwrap()
        });
    }
    let pages: Vec<i64> = posts.join_all().await;
    let waited = StdDuration::from_secs(60);
    let logs = || servers.iter().map(Server::log).collect::<Vec<_>>().join("\n---\n");
    assert!(
        p.rx.wait_for(waited, |r| told(r).len() >= 200).await,
        "every primary told: {} of 200\n{}",
        told(&p.rx).len(),
        logs()
    );
    assert!(settled(&p.app, &pages).await);

    // Every secondary's step falls due at once; both servers hear of it.
    sqlx::query("UPDATE escalations SET due_at = now() WHERE due_at IS NOT NULL")
        .execute(db)
        .await
        .unwrap();
    sqlx::query("SELECT pg_notify('rota_paging', '')")
        .execute(db)
        .await
        .unwrap();
    assert!(
        p.rx.wait_for(waited, |r| told(r).len() >= 400).await,
        "every secondary told: {} of 400\n{}",
        told(&p.rx).len(),
        logs()
    );
    assert!(settled(&p.app, &pages).await);
    let told = told(&p.rx);
    let twice: Vec<_> = told.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "told more than once: {twice:?}");
    assert_eq!(told.len(), 400, "each page's primary and secondary, once each");
    // Each page told exactly the two people its team's steps named.
    let expected: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM page_messages WHERE page_id = ANY($1) AND state IN ('sent', 'delivered')",
    )
    .bind(&pages)
    .fetch_one(db)
    .await
    .unwrap();
    assert_eq!(expected, 400);
}
