//! The rota's timeline is a picture of its table: for every week shown,
//! each role's people are the same in both, and what changed the week
//! (covers, overrides, leave, recovery days) is drawn where it falls.

use std::collections::{BTreeMap, BTreeSet};

use reqwest::StatusCode;
use serde_json::json;

use crate::common::{TestApp, spawn_app_at, t};

type People = BTreeMap<(String, String), BTreeSet<String>>;

/// The value of `name="…"` inside the tag `tag`, if it has one.
fn attribute(tag: &str, name: &str) -> Option<String> {
    let marker = format!("{name}=\"");
    let start = tag.find(&marker)? + marker.len();
    tag[start..].split('"').next().map(str::to_owned)
}

/// Every tag in `html` marked with a week, a role and a person.
fn people(html: &str) -> People {
    let mut found = People::new();
    for (at, _) in html.match_indices("data-week=\"") {
        let open = html[..at].rfind('<').expect("inside a tag");
        let tag = html[open..].split('>').next().expect("a tag");
        let (Some(week), Some(role), Some(person)) = (
            attribute(tag, "data-week"),
            attribute(tag, "data-role"),
            attribute(tag, "data-person"),
        ) else {
            continue;
        };
        found.entry((week, role)).or_default().insert(person);
    }
    found
}

/// The page's timeline and its table, apart.
fn parts(page: &str) -> (&str, &str) {
    let timeline = page.find("<div class=\"timeline\"").expect("the page draws a timeline");
    let table = page
        .find("<div class=\"rota-table\"")
        .expect("the page keeps its table");
    assert!(timeline < table, "the timeline comes first");
    let end = table + page[table..].find("</section>").expect("the rotation's section ends");
    (&page[timeline..table], &page[table..end])
}

/// The tags in the timeline drawing something of `kind`.
fn drawn<'a>(timeline: &'a str, kind: &str) -> Vec<&'a str> {
    let marker = format!("data-kind=\"{kind}\"");
    timeline
        .match_indices(&marker)
        .map(|(at, _)| {
            let open = timeline[..at].rfind('<').expect("inside a tag");
            timeline[open..].split('>').next().expect("a tag")
        })
        .collect()
}

/// A manager's override of the secondary for a week in January (the
/// demo has none): someone who holds neither role that week takes it.
async fn override_a_january_week(app: &TestApp, table: &People) -> String {
    let everyone = ["Alex Morgan", "Priya Shah", "Sam Okafor", "Jo Lee", "Ravi Patel"];
    let emails = ["alex", "priya", "sam", "jo", "ravi"];
    let week = "2027-01-12";
    let busy: BTreeSet<&String> = ["primary", "secondary"]
        .iter()
        .flat_map(|r| &table[&(week.to_owned(), (*r).to_owned())])
        .collect();
    let free = everyone
        .iter()
        .position(|p| !busy.contains(&(*p).to_owned()))
        .expect("someone is free that week");
    let mut conn = app.db.acquire().await.expect("conn");
    let alex = rota::db::users::by_email(&mut conn, "alex@example.com")
        .await
        .expect("query")
        .expect("the demo manager");
    drop(conn);
    let token = app.token(&alex).await;
    let (status, body) = app
        .post_json(
            &token,
            "/api/v1/teams/platform/overrides",
            json!({"rotation": "weekly", "role": "secondary", "email": format!("{}@example.com", emails[free]),
                   "starts_at": "2027-01-12T10:00:00Z", "ends_at": "2027-01-19T10:00:00Z", "reason": "ill"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    everyone[free].to_owned()
}

#[tokio::test]
async fn the_timeline_shows_the_same_people_as_the_table_for_every_week_of_the_demo() {
    let app = spawn_app_at(t("2026-11-26T12:00:00Z")).await;
    rota::demo::create(&app.db, app.clock.now()).await.expect("demo");
    let priya = app.sign_in_with("priya@example.com", rota::demo::PASSWORD).await;
    let before = app.page(&priya, "/teams/platform").await;
    let stand_in = override_a_january_week(&app, &people(parts(&before).1)).await;

    let page = app.page(&priya, "/teams/platform").await;
    let (timeline, table) = parts(&page);
    let (in_timeline, in_table) = (people(timeline), people(table));
    let weeks: BTreeSet<&String> = in_table.keys().map(|(week, _)| week).collect();
    assert_eq!(
        weeks.len(),
        17,
        "four weeks before this one and twelve after: {weeks:?}"
    );
    assert_eq!(in_table.len(), 34, "both roles of every week: {in_table:?}");
    for ((week, role), names) in &in_table {
        assert!(!names.is_empty(), "someone holds the {role} role in the week of {week}");
        assert_eq!(
            in_timeline.get(&(week.clone(), role.clone())),
            Some(names),
            "the {role} role in the week of {week}"
        );
    }
    assert_eq!(in_timeline, in_table, "the timeline draws nobody the table leaves out");
    let january = &in_table[&("2027-01-12".to_owned(), "secondary".to_owned())];
    assert_eq!(january, &BTreeSet::from([stand_in.clone()]), "the override is in both");
    assert!(
        drawn(timeline, "override")
            .iter()
            .any(|tag| tag.contains("data-week=\"2027-01-12\"") && tag.contains(&stand_in)),
        "the override is drawn as one"
    );
}

#[tokio::test]
async fn covers_leave_and_recovery_days_are_drawn_where_they_fall_with_now_and_my_weeks_marked() {
    let app = spawn_app_at(t("2026-11-26T12:00:00Z")).await;
    rota::demo::create(&app.db, app.clock.now()).await.expect("demo");
    let priya = app.sign_in_with("priya@example.com", rota::demo::PASSWORD).await;
    let page = app.page(&priya, "/teams/platform").await;
    let (timeline, table) = parts(&page);
    let in_table = people(table);

    // The demo's Friday-night cover: its holder also holds the rest of the week.
    let covers = drawn(timeline, "cover");
    assert_eq!(covers.len(), 1, "{covers:?}");
    let week = attribute(covers[0], "data-week").expect("a week");
    let names = &in_table[&(week.clone(), "primary".to_owned())];
    assert_eq!(
        names.len(),
        2,
        "the cover and the holder in the week of {week}: {names:?}"
    );
    assert!(table.contains("covering"), "the table says who covers whom");

    // Leave over a shift: in the week, and for the person, the table says needs cover.
    let leave = drawn(timeline, "leave");
    assert!(!leave.is_empty(), "the demo's leave is drawn");
    for tag in &leave {
        let (week, person) = (
            attribute(tag, "data-week").unwrap(),
            attribute(tag, "data-person").unwrap(),
        );
        let row = table
            .split("<span class=\"part\"")
            .find(|p| p.contains(&format!("data-week=\"{week}\"")) && p.contains(&format!("data-person=\"{person}\"")))
            .unwrap_or_else(|| panic!("{person} holds a shift in the week of {week}"));
        assert!(row.contains("needs cover"), "{row}");
    }

    // Every recovery day the page lists is drawn, named.
    let listed: BTreeSet<String> = page
        .split("<span class=\"recovery\">Recovery day</span> ")
        .skip(1)
        .map(|li| li.split(',').next().unwrap().to_owned())
        .collect();
    let recovery: BTreeSet<String> = drawn(timeline, "recovery")
        .iter()
        .map(|tag| attribute(tag, "data-person").unwrap())
        .collect();
    assert!(!listed.is_empty(), "the demo's night pages granted recovery days");
    assert_eq!(recovery, listed);

    // A line for now, and the reader's own weeks outlined and starred.
    assert_eq!(timeline.matches("class=\"tl-now\"").count(), 1);
    let mine: Vec<&str> = timeline.split("tl-mine\"").skip(1).collect();
    assert!(!mine.is_empty(), "Priya's weeks are highlighted");
    for m in &mine {
        let bar = m.split("</g>").next().unwrap();
        assert!(
            bar.starts_with(" data-week") && bar.contains("data-person=\"Priya Shah\""),
            "{bar}"
        );
        if bar.contains("<text") {
            assert!(
                bar.contains(">★ Priya"),
                "her name is starred, not only coloured: {bar}"
            );
        }
    }
    assert!(timeline.contains(">★ Priya"), "{timeline}");
}

#[tokio::test]
async fn on_a_phone_the_table_opens_at_this_week_with_the_earlier_ones_folded() {
    let app = spawn_app_at(t("2026-11-26T12:00:00Z")).await;
    rota::demo::create(&app.db, app.clock.now()).await.expect("demo");
    let priya = app.sign_in_with("priya@example.com", rota::demo::PASSWORD).await;
    let page = app.page(&priya, "/teams/platform").await;
    let (_, table) = parts(&page);
    let (earlier, rest) = table.split_once("</details>").expect("the earlier weeks are folded");
    assert!(earlier.contains("<summary>Earlier weeks (4)</summary>"), "{earlier}");
    assert_eq!(earlier.matches("<tr class=").count(), 4);
    assert!(!earlier.contains("class=\"current"), "this week is not folded");
    let first = rest.split("<tr class=").nth(1).expect("a first week");
    assert!(first.starts_with("\"current"), "the table opens at this week: {first}");
    assert!(first.contains("Tue 24 Nov 2026 10:00"), "{first}");

    // Asked for another date, the weeks before it are the folded ones.
    let later = app.page(&priya, "/teams/platform?at=2027-02-01").await;
    let (_, table) = parts(&later);
    let (_, rest) = table.split_once("</details>").expect("folded");
    let first = rest.split("<tr class=").nth(1).expect("a first week");
    assert!(first.contains("Tue 26 Jan 2027 10:00"), "{first}");
}
