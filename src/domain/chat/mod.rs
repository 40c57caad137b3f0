//! Posts to a team's chat channel, in each service's own format: Slack
//! (Block Kit: a section and a button), Mattermost (message attachments)
//! and Microsoft Teams (an Adaptive Card). Pure: a [`Post`] in, the JSON
//! body out.
//!
//! Everything in a [`Post`] is plain text, and people write some of it
//! (summaries, handoff notes, names). Each format escapes it so it shows
//! as typed: no `<!channel>` or `@all` wakes a channel, no Markdown link
//! hides where it goes. Only Rota's own framing (a bold title, the button)
//! is markup.

use serde_json::{Value, json};

/// The chat services Rota posts to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChatKind {
    Slack,
    Mattermost,
    Teams,
}

impl ChatKind {
    pub const ALL: [ChatKind; 3] = [ChatKind::Slack, ChatKind::Mattermost, ChatKind::Teams];

    pub fn as_str(self) -> &'static str {
        match self {
            ChatKind::Slack => "slack",
            ChatKind::Mattermost => "mattermost",
            ChatKind::Teams => "teams",
        }
    }

    pub fn parse(s: &str) -> Option<ChatKind> {
        ChatKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// The service's name, for people.
    pub fn name(self) -> &'static str {
        match self {
            ChatKind::Slack => "Slack",
            ChatKind::Mattermost => "Mattermost",
            ChatKind::Teams => "Microsoft Teams",
        }
    }
}

/// How loudly a post should stand out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    /// A page: someone is being woken.
    Urgent,
    /// News, such as a submitted handoff.
    Info,
}

/// One link button.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Button {
    pub label: String,
    pub url: String,
}

/// What a post says, all of it plain text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Post {
    /// Rota's fixed words for what happened ("Page", "Handoff"): the only
    /// line that never carries anyone's text.
    pub heading: &'static str,
    /// One line: who, what, which team.
    pub title: String,
    /// People's own text (a page's summary, a handoff's note), shown as typed.
    pub text: String,
    /// Short labelled facts.
    pub facts: Vec<(String, String)>,
    pub button: Button,
    pub tone: Tone,
}

/// Most of people's text a post quotes; the rest is a click away.
pub const MAX_TEXT_CHARS: usize = 2_500;
/// Slack refuses a section whose text is over 3,000 characters.
const SLACK_SECTION_CHARS: usize = 3_000;
/// Slack's limit on a button's label.
const SLACK_BUTTON_CHARS: usize = 75;

/// The body to POST to the channel's incoming webhook.
pub fn body(kind: ChatKind, post: &Post) -> Value {
    match kind {
        ChatKind::Slack => slack(post),
        ChatKind::Mattermost => mattermost(post),
        ChatKind::Teams => teams(post),
    }
}

/// `text` cut to [`MAX_TEXT_CHARS`], saying so when it is.
fn excerpt(text: &str) -> String {
    let text = text.trim();
    let mut out: String = text.chars().take(MAX_TEXT_CHARS).collect();
    if out.len() < text.len() {
        out.push_str("\n…");
    }
    out
}

/// Breaks `@word` so no service reads it as a mention (`@all`, `@here`,
/// `@channel`, `@someone`): a zero-width space after the `@`. An `@`
/// inside a word (an e-mail address) is left alone.
pub fn defuse_mentions(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut before: Option<char> = None;
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        out.push(c);
        let starts_word = before.is_none_or(|b| !b.is_alphanumeric());
        if c == '@' && starts_word && chars.peek().is_some_and(|n| n.is_alphanumeric() || *n == '_') {
            out.push('\u{200B}');
        }
        before = Some(c);
    }
    out
}

/// One character as Slack's `mrkdwn` wants it: `&`, `<` and `>` are its
/// control characters (`<!channel>`, `<url|label>`), escaped as Slack says.
fn slack_char(c: char, out: &mut String) {
    match c {
        '&' => out.push_str("&amp;"),
        '<' => out.push_str("&lt;"),
        '>' => out.push_str("&gt;"),
        c => out.push(c),
    }
}

/// `s` escaped for Slack, mentions defused.
pub fn slack_escape(s: &str) -> String {
    slack_escape_within(s, usize::MAX)
}

/// As [`slack_escape`], at most `limit` characters long (an escape is never
/// cut in half).
fn slack_escape_within(s: &str, limit: usize) -> String {
    let mut out = String::new();
    let mut count = 0;
    for c in defuse_mentions(s).chars() {
        let mut one = String::new();
        slack_char(c, &mut one);
        let n = one.chars().count();
        if count + n > limit {
            break;
        }
        count += n;
        out.push_str(&one);
    }
    out
}

/// `s` as CommonMark shows literally (Mattermost): a backslash before each
/// character that could start markup (emphasis, links, images, code,
/// HTML, tables, entities), and before what starts a heading, quote or
/// list at the start of a line; mentions defused.
pub fn markdown_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 16);
    for (i, line) in defuse_mentions(s).split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let body = line.trim_start();
        out.push_str(&line[..line.len() - body.len()]);
        let mut chars = body.chars().peekable();
        // An ordered list marker: digits, then `.` or `)`.
        let digits: String = body.chars().take_while(char::is_ascii_digit).collect();
        if !digits.is_empty() && matches!(body[digits.len()..].chars().next(), Some('.' | ')')) {
            out.push_str(&digits);
            out.push('\\');
            chars = body[digits.len()..].chars().peekable();
        } else if matches!(body.chars().next(), Some('-' | '+' | '=')) {
            out.push('\\');
        }
        for c in chars {
            if matches!(
                c,
                '\\' | '*' | '_' | '`' | '~' | '[' | ']' | '<' | '>' | '#' | '|' | '&'
            ) {
                out.push('\\');
            }
            out.push(c);
        }
    }
    out
}

fn slack(post: &Post) -> Value {
    let title = slack_escape(&post.title);
    let heading = format!("*{}:* {title}", post.heading);
    let text = excerpt(&post.text);
    let room = SLACK_SECTION_CHARS.saturating_sub(heading.chars().count() + 2);
    let mut section = heading.clone();
    if !text.is_empty() {
        section.push_str("\n\n");
        section.push_str(&slack_escape_within(&text, room));
    }
    let mut first = json!({
        "type": "section",
        // verbatim: Slack neither links bare URLs nor parses names in it.
        "text": {"type": "mrkdwn", "text": section, "verbatim": true},
    });
    if !post.facts.is_empty() {
        first["fields"] = post
            .facts
            .iter()
            .take(10)
            .map(|(label, value)| {
                json!({
                    "type": "mrkdwn",
                    "text": format!("*{}*\n{}", slack_escape(label), slack_escape_within(value, 1_900)),
                    "verbatim": true,
                })
            })
            .collect();
    }
    let label: String = post.button.label.chars().take(SLACK_BUTTON_CHARS).collect();
    let mut button = json!({
        "type": "button",
        "text": {"type": "plain_text", "text": label, "emoji": false},
        "url": post.button.url,
    });
    if post.tone == Tone::Urgent {
        button["style"] = json!("danger");
    }
    json!({
        // The notification's words, where blocks are not shown.
        "text": heading,
        "blocks": [first, {"type": "actions", "elements": [button]}],
    })
}

fn mattermost(post: &Post) -> Value {
    // Titles (the attachment's and its fields') are shown as plain text;
    // the attachment's text and the fields' values are Markdown.
    let title = defuse_mentions(&post.title);
    let text = excerpt(&post.text);
    let mut body = String::new();
    if !text.is_empty() {
        body.push_str(&markdown_escape(&text));
        body.push_str("\n\n");
    }
    body.push_str(&format!(
        "[{}]({})",
        markdown_escape(&post.button.label),
        link_target(&post.button.url)
    ));
    let fields: Vec<Value> = post
        .facts
        .iter()
        .map(|(label, value)| json!({"short": true, "title": defuse_mentions(label), "value": markdown_escape(value)}))
        .collect();
    json!({
        "text": format!("**{}:** {}", post.heading, markdown_escape(&post.title)),
        "attachments": [{
            "fallback": format!("{}: {title}", post.heading),
            "color": match post.tone {
                Tone::Urgent => "#d0021b",
                Tone::Info => "#2d6cdf",
            },
            "title": title,
            "title_link": post.button.url,
            "text": body,
            "fields": fields,
        }],
    })
}

/// A URL as a Markdown link's target: the characters that would end it
/// early are percent-encoded.
fn link_target(url: &str) -> String {
    url.replace('(', "%28").replace(')', "%29").replace(' ', "%20")
}

/// A run of plain text in a Teams card: a `TextRun` is never read as
/// Markdown (a `TextBlock` is, and its escapes differ between Teams
/// clients), so people's text goes in these.
fn text_run(text: &str, bold: bool) -> Value {
    let mut run = json!({"type": "TextRun", "text": defuse_mentions(text)});
    if bold {
        run["weight"] = json!("Bolder");
    }
    run
}

fn teams(post: &Post) -> Value {
    let mut body = vec![
        json!({
            "type": "TextBlock",
            "text": post.heading,
            "weight": "Bolder",
            "size": "Medium",
            "color": match post.tone {
                Tone::Urgent => "Attention",
                Tone::Info => "Accent",
            },
            "wrap": true,
        }),
        json!({"type": "RichTextBlock", "inlines": [text_run(&post.title, true)]}),
    ];
    let text = excerpt(&post.text);
    if !text.is_empty() {
        body.push(json!({"type": "RichTextBlock", "inlines": [text_run(&text, false)]}));
    }
    for (label, value) in &post.facts {
        body.push(json!({
            "type": "RichTextBlock",
            "spacing": "Small",
            "inlines": [text_run(&format!("{label}: "), true), text_run(value, false)],
        }));
    }
    json!({
        "type": "message",
        "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive",
            "contentUrl": null,
            "content": {
                "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                "type": "AdaptiveCard",
                "version": "1.4",
                "body": body,
                "actions": [{
                    "type": "Action.OpenUrl",
                    "title": post.button.label,
                    "url": post.button.url,
                }],
            },
        }],
    })
}

#[cfg(test)]
mod tests;
