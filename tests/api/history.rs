//! History and approvals in people's words, on the demo organisation: each
//! change as a sentence with names, never a raw key or an e-mail address
//! where the person has a name.

use crate::common::{spawn_app_at, t};

/// The page's text as a reader sees it, with HTML's escapes undone.
fn unescape(html: &str) -> String {
    html.replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&quot;", "\"")
        .replace("&#34;", "\"")
        .replace("&amp;", "&")
}

#[tokio::test]
async fn the_demo_history_reads_as_sentences_with_names_not_keys_or_addresses() {
    let app = spawn_app_at(t("2026-11-26T12:00:00Z")).await;
    rota::demo::create(&app.db, app.clock.now()).await.unwrap();
    let alex = app.sign_in_with("alex@example.com", rota::demo::PASSWORD).await;
    let history = unescape(&app.page(&alex, "/teams/platform/history").await);

    assert!(history.contains("What happened"), "{history}");
    assert!(
        history
            .contains("Ada Admin created the rotation Platform weekly: handoffs on Tuesdays at 10:00 (Europe/London)"),
        "{history}"
    );
    assert!(history.contains("Ada Admin added Priya Shah to the team."), "{history}");
    assert!(
        history.contains("Ada Admin added Alex Morgan to the team as a manager."),
        "{history}"
    );
    // The demo's Friday-night cover, approved by the admin.
    assert!(history.contains(" as cover — approved by Ada Admin."), "{history}");
    // Handoffs: who wrote, who acknowledged whose.
    assert!(history.contains(" submitted the handoff for the week of "), "{history}");
    assert!(history.contains("'s handoff for the week of "), "{history}");
    assert!(history.contains(" acknowledged "), "{history}");
    for raw in [
        "handoff.acknowledge",
        "handoff.submit",
        "cover.apply",
        "member.add",
        "rotation.create",
    ] {
        assert!(!history.contains(raw), "{raw} shows raw: {history}");
    }
    assert!(
        !history.contains("@example.com"),
        "an address where a name belongs: {history}"
    );
}

#[tokio::test]
async fn the_demo_approval_shows_both_sides_of_the_swap_by_name() {
    let app = spawn_app_at(t("2026-11-26T12:00:00Z")).await;
    rota::demo::create(&app.db, app.clock.now()).await.unwrap();
    // The admin approves in every team, and is part of no swap.
    let ada = app.sign_in_with(rota::demo::ADMIN_EMAIL, rota::demo::PASSWORD).await;
    let approvals = unescape(&app.page(&ada, "/approvals").await);
    assert!(approvals.contains(" swaps their primary week of "), "{approvals}");
    assert!(approvals.contains("'s week of "), "the other side too: {approvals}");
    assert!(approvals.contains(" ⇄ primary, "), "both sides' times: {approvals}");
    assert!(!approvals.contains("@example.com"), "{approvals}");
}
