//! The journey in the HTML pages: the outgoing primary writes and submits,
//! the incoming primary sees it on "Now" and acknowledges it, the history
//! shows the status and both times, and search finds it.

use reqwest::{Client, StatusCode};

use super::{PAGE, Team, team_at};
use crate::common::csrf_of;

async fn post_form(team: &Team, client: &Client, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
    let (_, page) = team.html(client, PAGE).await;
    let csrf = csrf_of(&page);
    let mut form = vec![("csrf", csrf.as_str())];
    form.extend_from_slice(fields);
    client.post(team.f.app.url(path)).form(&form).send().await.unwrap()
}

/// The history table's row for the handoff.
fn history_row(html: &str) -> &str {
    let start = html
        .find(&format!("href=\"{PAGE}\""))
        .expect("a row links to the handoff");
    let end = start + html[start..].find("</tr>").expect("end of row");
    &html[start..end]
}

#[tokio::test]
async fn write_submit_acknowledge_find() {
    let team = team_at("2026-11-10T08:30:00Z").await;
    let app = &team.f.app;

    // "Now" asks the outgoing primary to write it, and links to it.
    let writer = app.sign_in("p0@example.com").await;
    let (_, now) = team.html(&writer, "/").await;
    assert!(now.contains(&format!("<a href=\"{PAGE}\">Write it</a>")), "{now}");

    // The editor is labelled and starts from the template.
    let (status, page) = team.html(&writer, PAGE).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("<label for=\"body\">"), "{page}");
    assert!(page.contains("<textarea id=\"body\" name=\"body\""));
    assert!(page.contains("## What happened\n\nNo pages this week."), "{page}");
    assert!(
        page.contains("## The coming week&#x27;s swaps and leave")
            || page.contains("## The coming week&#39;s swaps and leave"),
        "{page}"
    );

    let body = "## What happened\n\nQuiet, except the zeppelin dashboard flapped twice.\n\n\
                ## Ongoing issues and what to watch\n\n- [ ] Keep an eye on the zeppelin exporter\n";
    let res = post_form(
        &team,
        &writer,
        PAGE,
        &[("revision", "0"), ("body", body), ("action", "submit")],
    )
    .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()["location"], PAGE);
    let (_, page) = team.html(&writer, PAGE).await;
    assert!(
        page.contains("Handoff submitted. It shows on “Now” for Person 1 and Person 2"),
        "{page}"
    );
    assert!(page.contains("status-submitted"));
    assert!(page.contains("<h2>What happened</h2>"), "rendered: {page}");
    assert!(page.contains("☐ Keep an eye on the zeppelin exporter"));
    let (_, now) = team.html(&writer, "/").await;
    assert!(!now.contains("Write it"), "done: {now}");

    // The incoming primary sees it on "Now" and acknowledges it.
    team.set_now("2026-11-10T09:15:00Z");
    let reader = app.sign_in("p1@example.com").await;
    let (_, now) = team.html(&reader, "/").await;
    assert!(
        now.contains("Person 0 handed over Weekly, week from Tue 10 Nov 2026: read it and acknowledge it."),
        "{now}"
    );
    assert!(now.contains(&format!("<a href=\"{PAGE}\">Read and acknowledge</a>")));
    let (_, page) = team.html(&reader, PAGE).await;
    assert!(page.contains("the zeppelin dashboard flapped twice"));
    assert!(page.contains(&format!("action=\"{PAGE}/acknowledge\"")));
    let res = post_form(&team, &reader, &format!("{PAGE}/acknowledge"), &[]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, page) = team.html(&reader, PAGE).await;
    assert!(page.contains("You acknowledged the handoff for Weekly, week from Tue 10 Nov 2026"));
    assert!(page.contains("status-acknowledged"));
    assert!(page.contains("Person 1 (primary), Tue 10 Nov 2026 09:15 GMT"), "{page}");
    assert!(!page.contains("/acknowledge\""), "no second acknowledgement: {page}");
    let (_, now) = team.html(&reader, "/").await;
    assert!(!now.contains("Read and acknowledge"), "{now}");

    // The history shows the status and both times.
    let (_, history) = team.html(&reader, "/teams/platform/handoffs").await;
    let row = history_row(&history);
    assert!(row.contains("acknowledged"), "{row}");
    assert!(row.contains("Person 0"), "{row}");
    assert!(row.contains("Tue 10 Nov 2026 08:30 GMT"), "submitted: {row}");
    assert!(row.contains("Tue 10 Nov 2026 09:15 GMT"), "acknowledged: {row}");

    // A search for a word in it finds it, with the word highlighted.
    let (status, found) = team.html(&reader, "/teams/platform/handoffs?q=zeppelin").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        found.contains(&format!("<a href=\"{PAGE}\">Weekly, week from Tue 10 Nov 2026</a>")),
        "{found}"
    );
    assert!(found.contains("<mark>zeppelin</mark>"), "{found}");
    assert!(found.contains("<label for=\"q\">"));
    let (_, none) = team.html(&reader, "/teams/platform/handoffs?q=dirigible").await;
    assert!(none.contains("No handoff mentions “dirigible”"), "{none}");

    // And the rota links that week to its handoff.
    let (_, rota) = team.html(&reader, "/teams/platform").await;
    assert!(
        rota.contains(&format!(
            "<a href=\"{PAGE}\">Handoff</a> <span class=\"handoff-status status-acknowledged\">"
        )),
        "{rota}"
    );
}

#[tokio::test]
async fn edits_after_submission_are_kept_as_versions() {
    let team = team_at("2026-11-10T08:30:00Z").await;
    let app = &team.f.app;
    let (status, _) = team.put(&team.tokens[0], "Version one: all quiet", true).await;
    assert_eq!(status, StatusCode::OK);
    team.set_now("2026-11-10T11:00:00Z");
    let writer = app.sign_in("p0@example.com").await;
    let (_, page) = team.html(&writer, PAGE).await;
    assert!(page.contains("Edit the handoff"), "{page}");
    assert!(!page.contains("value=\"submit\""), "already submitted");
    let res = post_form(
        &team,
        &writer,
        PAGE,
        &[
            ("revision", "1"),
            ("body", "Version two: one more thing\r\n- [ ] restart the cache"),
            ("action", "draft"),
        ],
    )
    .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, page) = team.html(&writer, PAGE).await;
    assert!(page.contains("Saved as version 2"), "{page}");
    assert!(
        page.contains(&format!(
            "<a href=\"{PAGE}/versions/1\">Version 1</a> (as submitted), by Person 0, Tue 10 Nov 2026 08:30 GMT"
        )),
        "{page}"
    );
    assert!(page.contains(&format!(
        "<a href=\"{PAGE}/versions/2\">Version 2</a>, by Person 0, Tue 10 Nov 2026 11:00 GMT"
    )));
    let (status, v1) = team.html(&writer, &format!("{PAGE}/versions/1")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        v1.contains("Version one: all quiet") && !v1.contains("Version two"),
        "{v1}"
    );
    let (_, v2) = team.html(&writer, &format!("{PAGE}/versions/2")).await;
    assert!(v2.contains("Version two: one more thing"));
    let h = team.handoff().await;
    assert_eq!(
        h["body"], "Version two: one more thing\n- [ ] restart the cache",
        "CRLF from the form is stored as LF"
    );
    assert_eq!(h["versions"].as_array().unwrap().len(), 2);
    assert_eq!(h["submitted_at"], "2026-11-10T08:30:00Z", "submission time stands");
    let (status, v) = app
        .get_json(&team.tokens[3], &format!("{}/versions/1", super::API))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(v["body"], "Version one: all quiet");
    assert_eq!(
        app.get_json(&team.tokens[3], &format!("{}/versions/3", super::API))
            .await
            .0,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn too_long_a_handoff_comes_back_with_its_text_and_what_to_do() {
    let team = team_at("2026-11-10T08:30:00Z").await;
    let writer = team.f.app.sign_in("p0@example.com").await;
    let long = "zeppelin ".repeat(8_000);
    let res = post_form(
        &team,
        &writer,
        PAGE,
        &[("revision", "0"), ("body", &long), ("action", "submit")],
    )
    .await;
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let page = res.text().await.unwrap();
    assert!(
        page.contains("The handoff is 71 KiB; it can hold at most 64 KiB"),
        "{page}"
    );
    assert!(
        page.contains(&format!(
            "name=\"body\" rows=\"24\" class=\"markdown\" aria-describedby=\"body-hint\">{long}</textarea>"
        )),
        "the text is kept"
    );
    assert_eq!(team.handoff().await["state"], "not_started", "nothing saved");
}
