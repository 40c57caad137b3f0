//! The three formats' shapes, and people's text kept as text.

use super::*;

const NASTY: &str = "<!channel> @all *bold* [click](https://evil.example) <https://evil.example|here> & done";

fn post(text: &str) -> Post {
    Post {
        heading: "Page",
        title: "Platform is paging Alex (primary)".into(),
        text: text.into(),
        facts: vec![("Fired".into(), "2026-03-03 03:07 UTC".into())],
        button: Button {
            label: "Acknowledge".into(),
            url: "https://rota.example/ack/1.2.3.abc".into(),
        },
        tone: Tone::Urgent,
    }
}

#[test]
fn kinds_round_trip_and_unknown_ones_are_refused() {
    for k in ChatKind::ALL {
        assert_eq!(ChatKind::parse(k.as_str()), Some(k));
    }
    assert_eq!(ChatKind::parse("discord"), None);
    assert_eq!(ChatKind::parse("Slack"), None);
}

#[test]
fn mentions_are_broken_but_addresses_kept() {
    assert_eq!(defuse_mentions("@all"), "@\u{200B}all");
    assert_eq!(defuse_mentions("hi @here."), "hi @\u{200B}here.");
    assert_eq!(defuse_mentions("alex@example.com"), "alex@example.com");
    assert_eq!(defuse_mentions("a @ b"), "a @ b");
}

#[test]
fn slack_is_a_section_with_escaped_text_and_a_button() {
    let b = body(ChatKind::Slack, &post(NASTY));
    let section = &b["blocks"][0];
    assert_eq!(section["type"], "section");
    assert_eq!(section["text"]["type"], "mrkdwn");
    assert_eq!(section["text"]["verbatim"], true);
    let text = section["text"]["text"].as_str().unwrap();
    assert!(
        text.starts_with("*Page:* Platform is paging Alex (primary)\n\n"),
        "{text}"
    );
    assert!(text.contains("&lt;!channel&gt; @\u{200B}all"), "{text}");
    assert!(text.contains("&lt;https://evil.example|here&gt; &amp; done"), "{text}");
    assert!(!text.contains("<!channel>") && !text.contains("<https"), "{text}");
    assert_eq!(section["fields"][0]["text"], "*Fired*\n2026-03-03 03:07 UTC");
    let actions = &b["blocks"][1];
    assert_eq!(actions["type"], "actions");
    let button = &actions["elements"][0];
    assert_eq!(button["type"], "button");
    assert_eq!(
        button["text"],
        json!({"type": "plain_text", "text": "Acknowledge", "emoji": false})
    );
    assert_eq!(button["url"], "https://rota.example/ack/1.2.3.abc");
    assert_eq!(b["text"], "*Page:* Platform is paging Alex (primary)");
}

#[test]
fn slack_sections_stay_within_slacks_limit_without_cutting_an_escape() {
    let b = body(ChatKind::Slack, &post(&"&".repeat(3_000)));
    let text = b["blocks"][0]["text"]["text"].as_str().unwrap();
    assert!(text.chars().count() <= SLACK_SECTION_CHARS, "{}", text.len());
    assert!(text.ends_with("&amp;"));
}

#[test]
fn mattermost_is_an_attachment_with_escaped_markdown() {
    let b = body(ChatKind::Mattermost, &post(NASTY));
    let a = &b["attachments"][0];
    assert_eq!(a["fallback"], "Page: Platform is paging Alex (primary)");
    assert_eq!(a["color"], "#d0021b");
    assert_eq!(a["title"], "Platform is paging Alex (primary)");
    assert_eq!(a["title_link"], "https://rota.example/ack/1.2.3.abc");
    let text = a["text"].as_str().unwrap();
    assert!(
        text.starts_with(
            "\\<!channel\\> @\u{200B}all \\*bold\\* \\[click\\](https://evil.example) \\<https://evil.example\\|here\\> \\& done"
        ),
        "{text}"
    );
    assert!(
        text.ends_with("\n\n[Acknowledge](https://rota.example/ack/1.2.3.abc)"),
        "{text}"
    );
    assert_eq!(
        a["fields"][0],
        json!({"short": true, "title": "Fired", "value": "2026-03-03 03:07 UTC"})
    );
}

#[test]
fn markdown_lines_cannot_become_headings_quotes_or_lists() {
    assert_eq!(
        markdown_escape("# Big\n> quote\n- item\n1. first\n  + x\n==="),
        "\\# Big\n\\> quote\n\\- item\n1\\. first\n  \\+ x\n\\==="
    );
    assert_eq!(markdown_escape("1.5 s p99"), "1\\.5 s p99");
    assert_eq!(markdown_escape("plain words, 42 ms"), "plain words, 42 ms");
}

#[test]
fn teams_is_an_adaptive_card_whose_peoples_text_is_never_markdown() {
    let b = body(ChatKind::Teams, &post(NASTY));
    assert_eq!(b["type"], "message");
    let a = &b["attachments"][0];
    assert_eq!(a["contentType"], "application/vnd.microsoft.card.adaptive");
    let card = &a["content"];
    assert_eq!(card["type"], "AdaptiveCard");
    assert_eq!(card["version"], "1.4");
    assert_eq!(card["$schema"], "http://adaptivecards.io/schemas/adaptive-card.json");
    assert_eq!(card["body"][0]["type"], "TextBlock");
    assert_eq!(card["body"][0]["text"], "Page");
    let runs: Vec<&Value> = card["body"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["type"] == "RichTextBlock")
        .flat_map(|b| b["inlines"].as_array().unwrap())
        .collect();
    assert!(runs.iter().all(|r| r["type"] == "TextRun"));
    assert_eq!(runs[0]["text"], "Platform is paging Alex (primary)");
    assert_eq!(runs[1]["text"], NASTY.replace("@all", "@\u{200B}all"));
    assert_eq!(
        card["actions"],
        json!([{"type": "Action.OpenUrl", "title": "Acknowledge", "url": "https://rota.example/ack/1.2.3.abc"}])
    );
}

#[test]
fn long_text_is_cut_and_says_so() {
    let b = body(ChatKind::Teams, &post(&"x".repeat(MAX_TEXT_CHARS + 1)));
    let text = b["attachments"][0]["content"]["body"][2]["inlines"][0]["text"]
        .as_str()
        .unwrap();
    assert!(text.ends_with("x\n…"));
    assert_eq!(text.chars().count(), MAX_TEXT_CHARS + 2);
}
