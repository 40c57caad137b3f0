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
