//! The admins' overview, fifty teams a page.

use reqwest::StatusCode;

use rota::db::teams::TeamRole;

use super::hand_built;

#[tokio::test]
async fn the_overview_shows_fifty_teams_a_page_and_refuses_pages_that_are_not_there() {
    let (f, _) = hand_built().await;
    // 54 more teams: 55 in all, two pages.
    sqlx::query(
        "INSERT INTO teams (slug, name, timezone, calendar_secret)
         SELECT 'z' || lpad(i::text, 2, '0'), 'Zeta ' || lpad(i::text, 2, '0'), 'UTC', 'secret-' || i
         FROM generate_series(1, 54) i",
    )
    .execute(&f.app.db)
    .await
    .unwrap();
    let _admin = f.app.user("root@example.com", "Root", "UTC", true).await;
    let admin = f.app.sign_in("root@example.com").await;
    let get = |path: &str| {
        let (admin, url) = (admin.clone(), f.app.url(path));
        async move {
            let res = admin.get(url).send().await.unwrap();
            (res.status(), res.text().await.unwrap())
        }
    };
    let rows = |html: &str| html.matches("<th scope=\"row\">").count();

    let (status, first) = get("/admin/metrics?weeks=52").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(rows(&first), 50, "{first}");
    assert!(first.contains("Page 1 of 2"), "{first}");
    assert!(first.contains("<th scope=\"row\">platform</th><td data-label=\"Slug\">platform</td>"));
    assert!(first.contains("page=2"), "a link to the next page");

    let (status, second) = get("/admin/metrics?weeks=52&page=2").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(rows(&second), 5, "{second}");
    assert!(second.contains("<th scope=\"row\">Zeta 54</th>"), "{second}");
    assert!(!second.contains("<th scope=\"row\">platform</th>"));

    let (status, csv) = get("/admin/metrics/teams.csv?weeks=52&page=2").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(csv.lines().count(), 1 + 5, "{csv}");

    for bad in ["0", "-1", "two", "1.5", "99999999999"] {
        let (status, _) = get(&format!("/admin/metrics?page={bad}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "page={bad}");
    }
    let (status, _) = get("/admin/metrics?page=3").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = get("/admin/metrics/teams.csv?page=3").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

/// The overview reads every team of a page in one set of queries, over all
/// their periods at once; a team in another zone must still get exactly
/// the figures it gets alone. Pages every seven hours for two years in a
/// team on London time and one on Tokyo time put pages on both sides of
/// each team's own period edges.
#[tokio::test]
async fn the_overview_gives_each_team_in_its_own_zone_the_figures_it_has_alone() {
    let (f, _) = hand_built().await;
    let tokyo = f.app.team("tokyo", "Asia/Tokyo").await;
    for team_id in [f.team.id, tokyo.id] {
        sqlx::query(
            "INSERT INTO pages (team_id, source, dedup_key, summary, fired_at, acknowledged_at, resolved_at,
                                responder_id, responder_role, sla_minutes)
             SELECT $1, 'grid', 'g' || i, 'grid', t, t + interval '3 minutes', t + interval '40 minutes',
                    $2, 'primary', 5
             FROM generate_series(0, 2500) i,
                  LATERAL (SELECT timestamptz '2025-02-01 00:00Z' + i * interval '7 hours' AS t) x",
        )
        .bind(team_id)
        .bind(f.members[0].id)
        .execute(&f.app.db)
        .await
        .unwrap();
    }
    let root = f.app.user("root@example.com", "Root", "UTC", true).await;
    f.app.add(&f.team, &root, TeamRole::Member).await;
    f.app.add(&tokyo, &root, TeamRole::Member).await;
    let token = f.app.token(&root).await;
    let paths = [
        "/api/v1/teams/platform/metrics?weeks=52",
        "/api/v1/teams/tokyo/metrics?weeks=52",
    ];
    let mut alone = Vec::new();
    for path in paths {
        f.app.caches.clear();
        let (status, body) = f.app.get_json(&token, path).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        alone.push(body);
    }
    assert!(alone[0]["current"]["pages"].as_u64().unwrap() > 1000, "{}", alone[0]);
    assert!(alone[1]["previous"]["pages"].as_u64().unwrap() > 1000, "{}", alone[1]);
    assert_ne!(
        alone[0]["current"]["out_of_hours"], alone[1]["current"]["out_of_hours"],
        "the zones tell nights differently"
    );

    f.app.caches.clear();
    let admin = f.app.sign_in("root@example.com").await;
    let res = admin.get(f.app.url("/admin/metrics?weeks=52")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    // Without the pages (and without telling the caches), each team's
    // figures can only come from what the overview worked out.
    let mut conn = f.app.db.acquire().await.unwrap();
    sqlx::query("SET session_replication_role = replica")
        .execute(&mut *conn)
        .await
        .unwrap();
    sqlx::query("DELETE FROM pages").execute(&mut *conn).await.unwrap();
    sqlx::query("SET session_replication_role = DEFAULT")
        .execute(&mut *conn)
        .await
        .unwrap();
    drop(conn);
    for (path, alone) in paths.iter().zip(&alone) {
        let (status, body) = f.app.get_json(&token, path).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(&body, alone, "{path}");
    }
}
