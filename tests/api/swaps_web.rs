//! Swaps, covers, overrides, leave and the inbox through the HTML pages,
//! as people use them: forms with their CSRF token, redirects with a
//! one-time message, and what each page then shows.

use reqwest::{Client, StatusCode};

use crate::common::{Fixture, csrf_of, fixture, t};

/// A Europe/London team of four whose weekly rotation began on Tuesday 23
/// February 2027 at 10:00: in week k, Person k%4 is primary and Person
/// (k+1)%4 secondary. The clock stands on Tuesday 2 March 2027, 12:00, in
/// week 1. Week 4 starts on 23 March, week 6 on 6 April (summer time).
async fn platform() -> Fixture {
    fixture(t("2027-03-02T12:00:00Z"), "Europe/London", "2027-02-23", 4).await
}

async fn html(client: &Client, url: String) -> (StatusCode, String) {
    let res = client.get(url).send().await.expect("request");
    (res.status(), res.text().await.expect("body"))
}

/// Posts a form with the page's CSRF token; returns the status and where it redirects.
async fn post(client: &Client, url: String, page: &str, fields: &[(&str, &str)]) -> (StatusCode, String, String) {
    let csrf = csrf_of(page);
    let mut form = vec![("csrf", csrf.as_str())];
    form.extend_from_slice(fields);
    let res = client.post(url).form(&form).send().await.expect("post");
    let status = res.status();
    let to = res
        .headers()
        .get("location")
        .map(|l| l.to_str().expect("location").to_owned())
        .unwrap_or_default();
    (status, to, res.text().await.expect("body"))
}

fn unescape(s: &str) -> String {
    s.replace("&amp;", "&")
        .replace("&#38;", "&")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
}

/// The `attr="…"` value closest before `marker` in the page.
fn attr_before(html: &str, marker: &str, attr: &str) -> String {
    let at = html.find(marker).unwrap_or_else(|| panic!("{marker:?} in {html}"));
    let key = format!("{attr}=\"");
    let start = html[..at].rfind(&key).expect("attribute before the marker") + key.len();
    unescape(html[start..].split('"').next().expect("value"))
}

/// The value of the input with this id.
fn input_value(html: &str, id: &str) -> String {
    let at = html.find(&format!("id=\"{id}\"")).expect("input");
    let start = html[at..].find("value=\"").expect("value") + at + 7;
    html[start..].split('"').next().expect("value").to_owned()
}

#[tokio::test]
async fn a_swap_asked_accepted_and_approved_through_the_pages_changes_the_rota_only_when_approved() {
    let f = platform().await;
    let ana = f.app.sign_in("p0@example.com").await;
    let (_, rota) = html(&ana, f.app.url("/teams/platform")).await;
    let form_url = attr_before(&rota, "your primary shift from Tue 23 Mar 2027 10:00", "href");
    assert!(form_url.starts_with("/teams/platform/swaps/new?shift="), "{form_url}");
    assert!(
        rota.contains("/teams/platform/history"),
        "the rota links to its history"
    );
    assert!(!rota.contains("Override…"), "members do not override");

    let (status, form) = html(&ana, f.app.url(&form_url)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        form.contains("primary in Weekly, Tue 23 Mar 10:00 GMT to Tue 30 Mar 10:00 BST"),
        "{form}"
    );
    let theirs = attr_before(
        &form,
        ">Person 2: primary, Tue 6 Apr 10:00 to Tue 13 Apr 10:00 BST",
        "value",
    );

    // Asking for someone's week without choosing one keeps what was typed.
    let (status, _, again) = post(
        &ana,
        f.app.url(&form_url),
        &form,
        &[("kind", "swap"), ("counterpart_shift", ""), ("note", "Family wedding")],
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(again.contains("Choose the week you would take in exchange"), "{again}");
    assert!(again.contains(">Family wedding</textarea>"), "{again}");

    let (status, to, _) = post(
        &ana,
        f.app.url(&form_url),
        &form,
        &[
            ("kind", "swap"),
            ("counterpart_shift", &theirs),
            ("note", "Family wedding"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(to.starts_with("/swaps/"), "{to}");
    let (_, request) = html(&ana, f.app.url(&to)).await;
    assert!(request.contains("Request sent to Person 2"), "{request}");
    assert!(
        request.contains(">proposed</span> Waiting for Person 2 to accept or decline."),
        "{request}"
    );
    assert!(request.contains("Cancel request"), "the requester may cancel");
    assert!(!request.contains(">Approve</button>"), "{request}");

    // Ben (Person 2) hears of it and accepts.
    let ben = f.app.sign_in("p2@example.com").await;
    let (_, now) = html(&ben, f.app.url("/")).await;
    assert!(
        now.contains("Inbox (1)"),
        "the nav counts the unread notification: {now}"
    );
    assert!(now.contains("Requests waiting for your answer (1)"), "{now}");
    let (_, mine) = html(&ben, f.app.url("/swaps")).await;
    assert!(mine.contains("Waiting for you (1)"), "{mine}");
    assert!(mine.contains(&format!("href=\"{to}\"")), "{mine}");
    let (_, inbox) = html(&ben, f.app.url("/inbox")).await;
    assert!(inbox.contains("Person 0 asks to swap weeks"), "{inbox}");
    assert!(inbox.contains(&format!("href=\"{to}\"")), "{inbox}");
    let (status, back, _) = post(&ben, f.app.url("/inbox/read"), &inbox, &[]).await;
    assert_eq!((status, back.as_str()), (StatusCode::SEE_OTHER, "/inbox"));
    let (_, inbox) = html(&ben, f.app.url("/inbox")).await;
    assert!(
        !inbox.contains("Inbox (") && inbox.contains("1 notification marked as read"),
        "{inbox}"
    );

    let (_, request) = html(&ben, f.app.url(&to)).await;
    assert!(
        request.contains(">Accept</button>") && request.contains(">Decline</button>"),
        "{request}"
    );
    let (status, back, _) = post(&ben, f.app.url(&format!("{to}/accept")), &request, &[]).await;
    assert_eq!((status, back.as_str()), (StatusCode::SEE_OTHER, to.as_str()));
    let (_, request) = html(&ben, f.app.url(&to)).await;
    assert!(
        request.contains("Accepted: a manager of platform approves it next"),
        "{request}"
    );
    assert!(request.contains(">accepted</span>"), "{request}");

    // A member who is not a manager cannot approve it.
    let cy = f.app.sign_in("p1@example.com").await;
    let (_, seen) = html(&cy, f.app.url(&to)).await;
    assert!(!seen.contains(">Approve</button>"), "{seen}");
    let (status, _, refused) = post(&cy, f.app.url(&format!("{to}/approve")), &seen, &[]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(
        refused.contains("Only a manager of the team or an admin can approve"),
        "{refused}"
    );

    // Not yet approved: the rota is as it was.
    let boss = f.app.sign_in("manager@example.com").await;
    let (_, before) = html(&boss, f.app.url("/teams/platform")).await;
    assert!(!before.contains("swapped with"), "{before}");
    assert!(before.contains("Override…"), "managers may override");
    let (_, now) = html(&boss, f.app.url("/")).await;
    assert!(
        now.contains("Approvals (1)") && now.contains("Approval needed (1)"),
        "{now}"
    );
    let (_, approvals) = html(&boss, f.app.url("/approvals")).await;
    assert!(approvals.contains(&format!("href=\"{to}\"")), "{approvals}");
    // Both sides, as a sentence: whose week goes where.
    assert!(
        unescape(&approvals).contains("Person 0 swaps their primary week of 23 Mar with Person 2's week of 6 Apr"),
        "{approvals}"
    );
    assert!(
        approvals.contains(
            "primary, Tue 23 Mar 10:00 GMT to Tue 30 Mar 10:00 BST ⇄ primary, Tue 6 Apr 10:00 to Tue 13 Apr 10:00 BST"
        ),
        "{approvals}"
    );

    let (_, request) = html(&boss, f.app.url(&to)).await;
    let (status, back, _) = post(
        &boss,
        f.app.url(&format!("{to}/approve")),
        &request,
        &[("reason", "Fine by me")],
    )
    .await;
    assert_eq!((status, back.as_str()), (StatusCode::SEE_OTHER, to.as_str()));
    let (_, request) = html(&boss, f.app.url(&to)).await;
    assert!(request.contains("Approved: the rota has changed"), "{request}");
    assert!(
        request.contains("Approved by Mona Manager: the rota has changed.") && !request.contains("manager@example.com"),
        "the decider by name: {request}"
    );
    assert!(
        request.contains(">applied</span>") && request.contains("Fine by me"),
        "{request}"
    );
    let (_, approvals) = html(&boss, f.app.url("/approvals")).await;
    assert!(approvals.contains("Nothing waits for your approval"), "{approvals}");
    let (_, team) = html(&ana, f.app.url("/teams/platform/swaps")).await;
    assert!(
        team.contains("Decided or expired") && team.contains(&format!("href=\"{to}\"")),
        "{team}"
    );

    let (_, after) = html(&boss, f.app.url("/teams/platform")).await;
    assert!(after.contains("Person 2 (swapped with Person 0)"), "{after}");
    assert!(after.contains("Person 0 (swapped with Person 2)"), "{after}");
    let (_, history) = html(&boss, f.app.url("/teams/platform/history")).await;
    let history = unescape(&history);
    assert!(
        history.contains(
            "Person 0 swapped their primary week of 23 Mar with Person 2's week of 6 Apr — approved by Mona Manager."
        ),
        "{history}"
    );
    assert!(
        !history.contains("@example.com") && !history.contains("swap.apply"),
        "{history}"
    );
}

#[tokio::test]
async fn leave_over_a_shift_shows_it_needs_cover_to_its_holder_and_the_manager() {
    let f = platform().await;
    // Person 1 is secondary in week 4, 23 to 30 March.
    let cy = f.app.sign_in("p1@example.com").await;
    let (_, leave) = html(&cy, f.app.url("/leave")).await;
    assert!(leave.contains("No leave recorded"), "{leave}");
    let (status, _, refused) = post(
        &cy,
        f.app.url("/leave"),
        &leave,
        &[("start_date", "2027-03-26"), ("end_date", "2027-03-24")],
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        refused.contains("The leave must end on or after its first day"),
        "{refused}"
    );
    assert!(refused.contains("value=\"2027-03-26\""), "the input is kept: {refused}");
    let (status, to, _) = post(
        &cy,
        f.app.url("/leave"),
        &leave,
        &[("start_date", "2027-03-24"), ("end_date", "2027-03-26")],
    )
    .await;
    assert_eq!((status, to.as_str()), (StatusCode::SEE_OTHER, "/leave"));
    let (_, leave) = html(&cy, f.app.url("/leave")).await;
    assert!(
        leave.contains("Leave recorded: Wed 24 Mar 2027 to Fri 26 Mar 2027. One of your shifts falls in it"),
        "{leave}"
    );

    let (_, now) = html(&cy, f.app.url("/")).await;
    assert!(now.contains("Needs cover"), "{now}");
    assert!(
        now.contains("Your secondary shift in platform · Weekly, Tue 23 Mar 10:00 to Tue 30 Mar 10:00, falls in your leave (24 Mar to 26 Mar)"),
        "{now}"
    );
    assert!(now.contains(">Ask for cover</button>"), "{now}");

    let boss = f.app.sign_in("manager@example.com").await;
    let (_, managing) = html(&boss, f.app.url("/")).await;
    assert!(
        managing.contains("Person 1&#39;s secondary shift in platform · Weekly"),
        "{managing}"
    );
    let override_url = attr_before(&managing, "Override…<span class=\"vh\"> to cover this shift", "href");
    assert!(
        override_url.starts_with("/teams/platform/overrides/new?shift="),
        "{override_url}"
    );
    let (_, rota) = html(&boss, f.app.url("/teams/platform")).await;
    assert!(rota.contains("needs cover: on leave 24 Mar to 26 Mar"), "{rota}");

    // Person 1 asks the team with one click, for the part in the leave.
    let shift = attr_before(&now, ">Ask for cover</button>", "value");
    let (status, to, _) = post(
        &cy,
        f.app.url("/teams/platform/swaps/cover"),
        &now,
        &[("shift", &shift)],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(to.starts_with("/swaps/"), "{to}");
    let (_, request) = html(&cy, f.app.url(&to)).await;
    assert!(
        request.contains("Cover asked for: everyone in platform can volunteer"),
        "{request}"
    );
    assert!(
        request.contains("secondary, Wed 24 Mar 00:00 to Sat 27 Mar 00:00 GMT"),
        "{request}"
    );
    assert!(request.contains("On leave 24 Mar to 26 Mar 2027"), "{request}");
    let (_, now) = html(&cy, f.app.url("/")).await;
    assert!(
        now.contains(&format!("Cover requested: see request #{}", &to[7..])),
        "{now}"
    );
    let dan = f.app.sign_in("p3@example.com").await;
    let (_, open) = html(&dan, f.app.url(&to)).await;
    assert!(open.contains(">Volunteer to cover</button>"), "{open}");

    // Or the manager overrides: the form starts from the shift and the leave.
    let (status, form) = html(&boss, f.app.url(&override_url)).await;
    assert_eq!(status, StatusCode::OK, "{form}");
    assert_eq!(input_value(&form, "starts_at"), "2027-03-24T00:00");
    assert_eq!(input_value(&form, "ends_at"), "2027-03-27T00:00");
    assert_eq!(input_value(&form, "reason"), "Person 1 is on leave");
    let (status, to, _) = post(
        &boss,
        f.app.url("/teams/platform/overrides/new"),
        &form,
        &[
            ("rotation", "weekly"),
            ("role", "secondary"),
            ("email", "p3@example.com"),
            ("starts_at", "2027-03-24T00:00"),
            ("ends_at", "2027-03-27T00:00"),
            ("reason", "Person 1 is on leave"),
        ],
    )
    .await;
    assert_eq!((status, to.as_str()), (StatusCode::SEE_OTHER, "/teams/platform"));
    let (_, rota) = html(&boss, f.app.url("/teams/platform")).await;
    assert!(
        rota.contains("Override saved: Person 3 is secondary in Weekly"),
        "{rota}"
    );
    assert!(
        rota.contains("Person 3 (Wed 00:00–Sat 00:00, covering Person 1)"),
        "{rota}"
    );
    let (_, history) = html(&boss, f.app.url("/teams/platform/history")).await;
    assert!(
        history.contains(
            "Mona Manager gave Person 3 the secondary shift from Wed 24 Mar 00:00 to Sat 27 Mar 00:00, in place of Person 1."
        ),
        "{history}"
    );
    assert!(history.contains("Override; reason: Person 1 is on leave"), "{history}");
}

/// A recovery day taken off during one's own on-call week leaves the shift
/// uncovered as leave does (paging skips the person that day): the holder
/// and the manager are told it needs cover; taken at home, it does not.
#[tokio::test]
async fn a_recovery_day_off_in_ones_own_week_needs_cover_as_leave_does() {
    let f = platform().await;
    // Person 1 is secondary in week 4, 23 to 30 March; a page earned them
    // Thursday 25 March off.
    let p1: i64 = sqlx::query_scalar("SELECT id FROM users WHERE email = 'p1@example.com'")
        .fetch_one(&f.app.db)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO recovery_days (team_id, user_id, trigger_kind, trigger_date, day, reason)
         VALUES ($1, $2, 'night', '2027-03-24', '2027-03-25', 'a page at 03:10')",
    )
    .bind(f.team.id)
    .bind(p1)
    .execute(&f.app.db)
    .await
    .unwrap();
    f.app.caches.clear();
    let cy = f.app.sign_in("p1@example.com").await;
    let (_, now) = html(&cy, f.app.url("/")).await;
    assert!(now.contains("Needs cover"), "{now}");
    assert!(
        now.contains("Your secondary shift in platform · Weekly, Tue 23 Mar 10:00 to Tue 30 Mar 10:00, falls on your recovery day off (25 Mar)"),
        "{now}"
    );
    let boss = f.app.sign_in("manager@example.com").await;
    let (_, rota) = html(&boss, f.app.url("/teams/platform")).await;
    assert!(rota.contains("needs cover: on a recovery day off 25 Mar"), "{rota}");
    assert!(
        rota.contains("needs cover: recovery day off</text>"),
        "the timeline: {rota}"
    );

    // Person 1 asks the team with one click, for the day.
    let shift = attr_before(&now, ">Ask for cover</button>", "value");
    let (status, to, _) = post(
        &cy,
        f.app.url("/teams/platform/swaps/cover"),
        &now,
        &[("shift", &shift)],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(to.starts_with("/swaps/"), "{to}");
    let (_, request) = html(&cy, f.app.url(&to)).await;
    assert!(request.contains("On a recovery day off 25 Mar 2027"), "{request}");

    // Taken at home, the person is reachable: nothing needs cover.
    sqlx::query("UPDATE recovery_days SET form = 'home' WHERE user_id = $1")
        .bind(p1)
        .execute(&f.app.db)
        .await
        .unwrap();
    f.app.caches.clear();
    let (_, now) = html(&cy, f.app.url("/")).await;
    assert!(!now.contains("falls on your recovery day off"), "{now}");
    let (_, rota) = html(&boss, f.app.url("/teams/platform")).await;
    assert!(!rota.contains("needs cover: on a recovery day off"), "{rota}");
    assert!(!rota.contains("needs cover: recovery day off"), "{rota}");
}
