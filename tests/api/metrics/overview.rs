//! The admins' overview, fifty teams a page.

use reqwest::StatusCode;

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
