//! A larger generated data set: the API's figures against an independent
//! calculation in plain SQL (classes by `AT TIME ZONE`, percentiles by
//! `percentile_disc`, hours by interval arithmetic).

use std::collections::HashMap;

use reqwest::StatusCode;
use sqlx::Row;

use crate::common::{fixture, t};

/// ~400 pages over 24 weeks across the October clock change, 4 people (one
/// living in New York), two holidays, corrections, deletions, pages nobody
/// answered, and recovery days some of which were worked or withdrawn.
const GENERATE: &str = r#"
SELECT setseed(0.42);
UPDATE users SET timezone = 'America/New_York' WHERE email = 'p3@example.com';
INSERT INTO holidays (team_id, date, name)
SELECT id, d::date, 'Holiday' FROM teams, unnest(ARRAY['2026-12-25', '2026-12-28']) d WHERE slug = 'platform';
WITH g AS (
    SELECT i, timestamptz '2026-09-20T00:00:00Z' + random() * interval '170 days' AS fired,
           random() AS r_ack, random() AS r_role, random() AS r_src, random() AS r_res,
           random() AS r_del, random() AS r_work
    FROM generate_series(1, 420) i
)
INSERT INTO pages (team_id, rotation_id, source, dedup_key, summary, fired_at, acknowledged_at,
                   resolved_at, worked_until, responder_id, responder_role, sla_minutes, deleted_at)
SELECT t.id, r.id, (ARRAY['db', 'web', 'queue', 'disk', 'cron'])[1 + floor(g.r_src * 5)::int],
       'gen-' || g.i, 'generated', g.fired,
       CASE WHEN g.r_ack < 0.85 THEN g.fired + g.r_ack * interval '40 minutes' END,
       CASE WHEN g.r_res < 0.9 THEN g.fired + g.r_res * interval '3 hours' END,
       CASE WHEN g.r_work < 0.08 THEN g.fired + interval '5 hours' END,
       CASE WHEN g.r_role < 0.97 THEN s.user_id END,
       CASE WHEN g.r_role < 0.97 THEN s.role END,
       CASE WHEN g.r_role < 0.97 THEN CASE s.role WHEN 'primary' THEN 5 ELSE 30 END END,
       CASE WHEN g.r_del < 0.05 THEN g.fired END
FROM g
CROSS JOIN teams t
JOIN rotations r ON r.team_id = t.id
JOIN shifts s ON s.rotation_id = r.id
    AND s.role = CASE WHEN g.r_role < 0.75 OR g.r_role >= 0.97 THEN 'primary' ELSE 'secondary' END
    AND g.fired >= s.starts_at AND g.fired < s.ends_at
WHERE t.slug = 'platform';
INSERT INTO recovery_days (team_id, user_id, trigger_kind, trigger_date, day, worked_anyway, state, reason)
SELECT m.team_id, m.user_id, 'night', d, d, random() < 0.2, CASE WHEN random() < 0.1 THEN 'flagged' ELSE 'granted' END, 'generated'
FROM memberships m
CROSS JOIN LATERAL generate_series(date '2026-09-28' + (m.user_id % 5)::int, date '2027-03-20', interval '9 days') AS d
WHERE m.role = 'member';
"#;

/// Each live page of the period with its class, computed without Rota's code.
const CLASSIFIED: &str = r#"
WITH p AS (
    SELECT p.*, coalesce(u.timezone, t.timezone) AS tz, coalesce(p.acknowledged_at, p.fired_at) AS s
    FROM pages p JOIN teams t ON t.id = p.team_id LEFT JOIN users u ON u.id = p.responder_id
    WHERE p.deleted_at IS NULL AND p.fired_at >= $1 AND p.fired_at < $2
), e AS (
    SELECT p.*, greatest(coalesce(p.worked_until, least(coalesce(p.resolved_at, p.s), p.s + interval '12 hours')), p.s) AS e
    FROM p
)
SELECT e.fired_at, e.acknowledged_at, e.responder_id, e.responder_role, e.source, e.sla_minutes,
       extract(epoch FROM e.e - e.s)::float8 AS engaged_s,
       ((e.fired_at AT TIME ZONE 'Europe/London')::date - date '2026-10-05') / 7 AS week,
       CASE
         WHEN EXISTS (
             SELECT 1 FROM generate_series((e.s AT TIME ZONE e.tz)::date, (e.e AT TIME ZONE e.tz)::date + 1, interval '1 day') AS d(day)
             WHERE ((d.day::date - 1) + time '22:00') AT TIME ZONE e.tz < greatest(e.e, e.s + interval '1 second')
               AND (d.day::date + time '08:00') AT TIME ZONE e.tz > e.s)
           THEN 'sleep'
         WHEN extract(isodow FROM e.s AT TIME ZONE e.tz) IN (6, 7) THEN 'weekend'
         WHEN (e.s AT TIME ZONE e.tz)::date IN (SELECT date FROM holidays h WHERE h.team_id = e.team_id) THEN 'holiday'
         ELSE 'working'
       END AS class
FROM e
"#;

const FROM: &str = "2026-10-04T23:00:00Z"; // Monday 5 October, local midnight (BST)
const TO: &str = "2027-03-01T00:00:00Z"; // Monday 1 March, local midnight (GMT)

#[tokio::test]
async fn figures_from_a_generated_data_set_equal_an_independent_sql_calculation() {
    let f = fixture(t("2027-03-10T12:00:00Z"), "Europe/London", "2026-09-01", 4).await;
    sqlx::raw_sql(GENERATE).execute(&f.app.db).await.expect("generate");
    let (status, r) = f
        .app
        .get_json(
            &f.manager_token,
            &format!("/api/v1/teams/platform/metrics?from={FROM}&to={TO}"),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{r}");
    let c = &r["current"];
    let (from, to) = (t(FROM), t(TO));
    let rows = sqlx::query(CLASSIFIED)
        .bind(from)
        .bind(to)
        .fetch_all(&f.app.db)
        .await
        .expect("classified");
    assert!(rows.len() > 250, "a sizeable data set: {}", rows.len());
    assert_eq!(c["pages"].as_u64().unwrap() as usize, rows.len());

    // Pages per week and per class.
    let mut weeks = vec![0u64; 21];
    let mut classes: HashMap<String, u64> = HashMap::new();
    for row in &rows {
        weeks[row.get::<i32, _>("week") as usize] += 1;
        *classes.entry(row.get("class")).or_default() += 1;
    }
    let api_weeks: Vec<u64> = c["weeks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["pages"].as_u64().unwrap())
        .collect();
    assert_eq!(api_weeks, weeks);
    for class in c["out_of_hours"].as_array().unwrap() {
        let name = class["class"].as_str().unwrap();
        assert_eq!(
            class["pages"].as_u64().unwrap(),
            classes.get(name).copied().unwrap_or(0),
            "{name}"
        );
    }
    assert!(
        classes.get("holiday").copied().unwrap_or(0) > 0,
        "the holidays saw pages"
    );
    assert!(classes.get("sleep").copied().unwrap_or(0) > 0);

    // Acknowledgement percentiles and SLA by role, by percentile_disc.
    for role in c["roles"].as_array().unwrap() {
        let name = role["role"].as_str().unwrap();
        let sql: (i64, i64, Option<i64>, Option<i64>, i64) = sqlx::query_as(
            "SELECT count(*), count(acknowledged_at),
                    percentile_disc(0.5) WITHIN GROUP (ORDER BY trunc(extract(epoch FROM acknowledged_at - fired_at))::bigint),
                    percentile_disc(0.9) WITHIN GROUP (ORDER BY trunc(extract(epoch FROM acknowledged_at - fired_at))::bigint),
                    count(*) FILTER (WHERE acknowledged_at - fired_at <= sla_minutes * interval '1 minute')
             FROM pages WHERE deleted_at IS NULL AND fired_at >= $1 AND fired_at < $2 AND responder_role = $3",
        )
        .bind(from)
        .bind(to)
        .bind(name)
        .fetch_one(&f.app.db)
        .await
        .expect("roles");
        assert_eq!(role["pages"].as_i64(), Some(sql.0), "{name}");
        assert_eq!(role["acknowledged"].as_i64(), Some(sql.1), "{name}");
        assert_eq!(role["ack_p50_seconds"].as_i64(), sql.2, "{name}");
        assert_eq!(role["ack_p90_seconds"].as_i64(), sql.3, "{name}");
        assert_eq!(role["within_sla"].as_i64(), Some(sql.4), "{name}");
    }

    // Per person: hours on call by interval arithmetic, pages and sleep from
    // the SQL classes, recovery days by date.
    let hours: Vec<(String, String, f64)> = sqlx::query_as(
        "SELECT u.email, s.role, sum(extract(epoch FROM least(s.ends_at, $2) - greatest(s.starts_at, $1)))::float8 / 3600
         FROM shifts s JOIN users u ON u.id = s.user_id
         WHERE s.ends_at > $1 AND s.starts_at < $2 GROUP BY u.email, s.role",
    )
    .bind(from)
    .bind(to)
    .fetch_all(&f.app.db)
    .await
    .expect("hours");
    let recovery: Vec<(String, i64, i64, i64)> = sqlx::query_as(
        "SELECT u.email, count(*),
                count(*) FILTER (WHERE NOT r.worked_anyway AND r.day < date '2027-03-10'),
                count(*) FILTER (WHERE r.worked_anyway)
         FROM recovery_days r JOIN users u ON u.id = r.user_id
         WHERE r.state = 'granted' AND r.day BETWEEN '2026-10-05' AND '2027-02-28' GROUP BY u.email",
    )
    .fetch_all(&f.app.db)
    .await
    .expect("recovery");
    let emails: HashMap<i64, String> = sqlx::query_as::<_, (i64, String)>("SELECT id, email FROM users")
        .fetch_all(&f.app.db)
        .await
        .expect("users")
        .into_iter()
        .collect();
    let people = c["people"].as_array().unwrap();
    assert_eq!(people.len(), 4);
    let answered = rows
        .iter()
        .filter(|r| r.get::<Option<i64>, _>("responder_id").is_some())
        .count() as f64;
    for p in people {
        let email = p["email"].as_str().unwrap();
        let mine: Vec<_> = rows
            .iter()
            .filter(|r| r.get::<Option<i64>, _>("responder_id").map(|id| emails[&id].as_str()) == Some(email))
            .collect();
        let class = |r: &&sqlx::postgres::PgRow| r.get::<String, _>("class");
        assert_eq!(p["pages"].as_u64().unwrap() as usize, mine.len(), "{email}");
        assert_eq!(
            p["sleep_interruptions"].as_u64().unwrap() as usize,
            mine.iter().filter(|r| class(r) == "sleep").count(),
            "{email}"
        );
        let ooh: f64 = mine
            .iter()
            .filter(|r| class(r) != "working")
            .map(|r| r.get::<f64, _>("engaged_s"))
            .sum::<f64>()
            / 3600.0;
        close(p["hours_engaged_out_of_hours"].as_f64().unwrap(), ooh, email);
        for (role, field) in [("primary", "hours_primary"), ("secondary", "hours_secondary")] {
            let h = hours
                .iter()
                .find(|(e, r, _)| e == email && r == role)
                .map_or(0.0, |x| x.2);
            close(p[field].as_f64().unwrap(), h, email);
            close(p[field.replace("hours", "weeks")].as_f64().unwrap(), h / 168.0, email);
        }
        let rec = recovery.iter().find(|(e, ..)| e == email).cloned().unwrap_or_default();
        assert_eq!(p["recovery_granted"].as_i64(), Some(rec.1), "{email}");
        assert_eq!(p["recovery_taken"].as_i64(), Some(rec.2), "{email}");
        assert_eq!(p["recovery_worked_anyway"].as_i64(), Some(rec.3), "{email}");
        close(p["share"].as_f64().unwrap(), mine.len() as f64 / answered, email);
    }

    // What wakes us: sources in order of sleep interruptions.
    let mut by_source: HashMap<String, (u64, u64)> = HashMap::new();
    for row in &rows {
        let e = by_source.entry(row.get("source")).or_default();
        e.1 += 1;
        if row.get::<String, _>("class") == "sleep" {
            e.0 += 1;
        }
    }
    let api_sources = c["sources"].as_array().unwrap();
    for s in api_sources {
        let want = by_source[s["source"].as_str().unwrap()];
        assert_eq!(
            (s["sleep_interruptions"].as_u64().unwrap(), s["pages"].as_u64().unwrap()),
            want
        );
    }
    let ranked: Vec<u64> = api_sources
        .iter()
        .map(|s| s["sleep_interruptions"].as_u64().unwrap())
        .collect();
    assert!(ranked.windows(2).all(|w| w[0] >= w[1]), "{ranked:?}");
}

fn close(api: f64, sql: f64, what: &str) {
    assert!((api - sql).abs() <= 0.006, "{what}: the API says {api}, SQL {sql}");
}
