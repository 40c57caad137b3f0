//! PgBouncer in transaction mode (issue 16, point 5): the server queries
//! through a PgBouncer of the test's own (Debian's 1.18, which passes
//! prepared statements through untouched) and listens on Postgres itself,
//! as `ROTA_DB_PGBOUNCER=true` with `DATABASE_LISTEN_URL` configures it.
//! The caches, the jobs and the tools' webhooks run here the scenarios
//! their own modules run against Postgres directly.
//!
//! The PgBouncer shares a few server connections among all its clients, so
//! a named statement from one client meets another's on the same server
//! connection: the first test shows that plain sqlx fails that way there.

use rota::db::{self, Pools, Target};
use sqlx::{ConnectOptions, Connection};

use crate::common::pgbouncer::PgBouncer;
use crate::common::{TestApp, fixture_on, spawn_app_through, t};

/// Server connections the test PgBouncer shares among its clients (the
/// server's pool alone holds 8): fewer than its clients, as in production.
const SERVERS: u32 = 3;

/// A server querying through `bouncer`; the test's own pool (`db`) reaches
/// Postgres itself.
async fn app_through(bouncer: &PgBouncer, now: &str) -> TestApp {
    let app = spawn_app_through(t(now), bouncer, |_| {}).await;
    assert_eq!(
        app.state.db.connect_options().get_port(),
        bouncer.port(),
        "the server queries through PgBouncer"
    );
    assert_ne!(app.state.direct.connect_options().get_port(), bouncer.port());
    app
}

/// Another process's pools on `app`'s database, through `bouncer` too.
async fn another_process(app: &TestApp, bouncer: &PgBouncer) -> Pools {
    let direct = app.db.connect_options();
    let name = direct.get_database().expect("a database name");
    let target = Target {
        url: bouncer.url(name),
        listen_url: Some(format!("{}/{name}", crate::common::server_url())),
        pgbouncer: true,
    };
    db::connect(&target, 4).await.expect("the other process's pools")
}

#[tokio::test]
async fn named_statements_clash_through_pgbouncer_and_rotas_statements_do_not() {
    let Some(bouncer) = PgBouncer::start(1).await else {
        return;
    };
    let options = bouncer
        .url("postgres")
        .parse::<sqlx::postgres::PgConnectOptions>()
        .expect("url")
        // PgBouncer refuses this startup parameter (Rota leaves it out too).
        .extra_float_digits(None);
    let mut one = options.connect().await.expect("first client");
    let mut two = options.connect().await.expect("second client");
    // Plain sqlx names each client's first statement `sqlx_s_1`; both
    // clients share the one server connection.
    let first: i32 = sqlx::query_scalar("SELECT $1::int4")
        .bind(1)
        .fetch_one(&mut one)
        .await
        .expect("the first client's statement");
    assert_eq!(first, 1);
    let clash = sqlx::query_scalar::<_, i32>("SELECT $1::int4")
        .bind(2)
        .fetch_one(&mut two)
        .await
        .expect_err("the second client's statement of the same name");
    assert!(clash.to_string().contains("already exists"), "{clash}");

    one.close().await.expect("close");
    two.close().await.expect("close");

    // Rota's statements, through PgBouncer: unnamed, each in a transaction,
    // from two new clients on the same server connection.
    db::sql::use_pgbouncer();
    let mut three = options.connect().await.expect("third client");
    let mut four = options.connect().await.expect("fourth client");
    for (n, client) in [3, 4, 3].into_iter().enumerate() {
        let conn = if client == 3 { &mut three } else { &mut four };
        let n = i32::try_from(n).expect("small");
        let got: i32 = db::sql::query_scalar("SELECT $1::int4")
            .bind(n)
            .fetch_one(conn)
            .await
            .expect("an unnamed statement");
        assert_eq!(got, n);
        assert!(!conn.is_in_transaction());
    }
    three.close().await.expect("close");
    four.close().await.expect("close");
}

#[tokio::test]
async fn changes_made_elsewhere_reach_the_cached_answers_through_pgbouncer() {
    let Some(bouncer) = PgBouncer::start(SERVERS).await else {
        return;
    };
    let app = app_through(&bouncer, "2026-11-26T12:00:00Z").await;
    let f = fixture_on(app, "Europe/London", "2026-11-03", 3).await;
    crate::jobs::changes_elsewhere_reach_the_cached_answers(f).await;
}

#[tokio::test]
async fn a_webhook_delivery_keeps_who_is_on_call_through_pgbouncer() {
    let Some(bouncer) = PgBouncer::start(SERVERS).await else {
        return;
    };
    let app = app_through(&bouncer, "2026-03-04T12:00:00Z").await;
    let f = fixture_on(app, "Europe/London", "2026-02-24", 3).await;
    crate::cache::webhook_delivery_keeps_who_is_on_call(f).await;
}

#[tokio::test]
async fn two_processes_run_both_jobs_once_through_pgbouncer() {
    let Some(bouncer) = PgBouncer::start(SERVERS).await else {
        return;
    };
    let app = app_through(&bouncer, "2026-11-10T07:00:00Z").await;
    let two = another_process(&app, &bouncer).await;
    let one = Pools {
        db: app.state.db.clone(),
        direct: app.state.direct.clone(),
    };
    let team = crate::handoffs::team_on(app).await;
    crate::jobs::both_jobs_in_two_processes(&team, one, two).await;
}

#[tokio::test]
async fn a_storm_of_webhook_pages_drained_by_two_jobs_through_pgbouncer() {
    let Some(bouncer) = PgBouncer::start(SERVERS).await else {
        return;
    };
    let app = app_through(&bouncer, "2026-03-03T06:00:00Z").await;
    let team = crate::recovery::team_with_alex_on(app, "Europe/London").await;
    crate::ingest::storm_drained_by_two_jobs(team).await;
}

#[tokio::test]
async fn a_batch_of_webhook_pages_is_announced_through_pgbouncer() {
    let Some(bouncer) = PgBouncer::start(SERVERS).await else {
        return;
    };
    let app = app_through(&bouncer, "2026-03-03T06:00:00Z").await;
    let team = crate::recovery::team_with_alex_on(app, "Europe/London").await;
    crate::ingest::batch_announced_once_committed(team).await;
}

#[tokio::test]
async fn every_page_and_answer_is_served_through_pgbouncer() {
    let Some(bouncer) = PgBouncer::start(SERVERS).await else {
        return;
    };
    let app = app_through(&bouncer, "2026-03-04T12:00:00Z").await;
    let f = fixture_on(app, "Europe/London", "2026-02-24", 3).await;
    crate::pool::every_page_and_answer_is_served(f).await;
}

#[tokio::test]
async fn pgbouncer_without_a_direct_url_is_refused_with_what_to_set() {
    let target = Target {
        url: format!("{}/postgres", crate::common::server_url()),
        listen_url: None,
        pgbouncer: true,
    };
    let error = db::connect(&target, 2).await.expect_err("refused").to_string();
    assert!(error.contains("DATABASE_LISTEN_URL"), "{error}");
    assert!(error.contains("Postgres itself"), "{error}");
}
