//! Markdown written by people, shown as HTML that cannot run anything.
//!
//! Two layers: raw HTML in the text is shown as the text it is (never
//! interpreted), and what pulldown-cmark produces then goes through ammonia,
//! which keeps only harmless tags and web or mail links. So a script tag,
//! an event handler or a `javascript:`/`data:` link cannot survive either.

use std::collections::HashSet;
use std::sync::LazyLock;

use pulldown_cmark::{CowStr, Event, Options, Parser, Tag, TagEnd, html};

/// The most a handoff may hold: 64 KiB of text.
pub const MAX_BYTES: usize = 64 * 1024;

/// Link schemes a reader may follow.
const URL_SCHEMES: [&str; 3] = ["http", "https", "mailto"];

static CLEANER: LazyLock<ammonia::Builder<'static>> = LazyLock::new(|| {
    let mut b = ammonia::Builder::default();
    b.url_schemes(HashSet::from(URL_SCHEMES))
        .link_rel(Some("noopener noreferrer nofollow"))
        // CSP would block remote images anyway; images become links instead.
        .rm_tags(["img"]);
    b
});

/// The HTML of `markdown`, safe to put in a page as it is.
pub fn to_html(markdown: &str) -> String {
    let options = Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TASKLISTS;
    let events = Parser::new_ext(markdown, options).map(|event| match event {
        // What someone typed as HTML is shown as what they typed.
        Event::Html(raw) | Event::InlineHtml(raw) => Event::Text(raw),
        Event::TaskListMarker(done) => Event::Text(CowStr::Borrowed(if done { "☑ " } else { "☐ " })),
        Event::Start(Tag::Image {
            link_type,
            dest_url,
            title,
            id,
        }) => Event::Start(Tag::Link {
            link_type,
            dest_url,
            title,
            id,
        }),
        Event::End(TagEnd::Image) => Event::End(TagEnd::Link),
        other => other,
    });
    let mut unsafe_html = String::with_capacity(markdown.len() * 3 / 2);
    html::push_html(&mut unsafe_html, events);
    CLEANER.clean(&unsafe_html).to_string()
}

/// Marks where a search match starts and stops in a snippet from the
/// database; private-use characters, so ordinary text does not contain them.
pub const MATCH_START: char = '\u{E000}';
pub const MATCH_STOP: char = '\u{E001}';

/// Words in one fragment of a snippet, and how many come before its match.
const FRAGMENT_WORDS: usize = 35;
const WORDS_BEFORE: usize = 8;
/// Fragments in one snippet.
const FRAGMENTS: usize = 2;

/// Whether a word of the text matches a lexeme of the query (the English
/// stem Postgres made of a query word): the stem begins the word
/// ("disk" in "disks", "export" in "exporter"), or ends in the `i`
/// Snowball makes of a final `y` ("happi" for "happy").
fn matches(word: &str, lexemes: &[String]) -> bool {
    let word = word.to_lowercase();
    lexemes.iter().filter(|l| !l.is_empty()).any(|l| {
        word.starts_with(l.as_str())
            || l.strip_suffix('i')
                .is_some_and(|stem| !stem.is_empty() && word.starts_with(&format!("{stem}y")))
    })
}

/// A search snippet of `body`: up to two fragments of about 35 words
/// around the first matches of the query's `lexemes`, joined by " … ",
/// each match wrapped in [`MATCH_START`] and [`MATCH_STOP`]; the first
/// words when nothing matches. Whitespace is folded to single spaces.
pub fn snippet(body: &str, lexemes: &[String]) -> String {
    // Words: runs of letters and digits, by their byte ranges.
    let mut words: Vec<(usize, usize)> = Vec::new();
    let mut start = None;
    for (i, c) in body.char_indices().chain(std::iter::once((body.len(), ' '))) {
        match (c.is_alphanumeric(), start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                words.push((s, i));
                start = None;
            }
            _ => {}
        }
    }
    let hit: Vec<bool> = words.iter().map(|&(s, e)| matches(&body[s..e], lexemes)).collect();
    let mut fragments: Vec<(usize, usize)> = Vec::new();
    let mut from = 0;
    while fragments.len() < FRAGMENTS {
        let Some(first) = (from..words.len()).find(|&i| hit[i]) else {
            break;
        };
        let begin = first.saturating_sub(WORDS_BEFORE).max(from);
        let end = (begin + FRAGMENT_WORDS).min(words.len());
        fragments.push((begin, end));
        from = end;
    }
    if fragments.is_empty() && !words.is_empty() {
        fragments.push((0, FRAGMENT_WORDS.min(words.len())));
    }
    let mut out = String::new();
    for (n, &(begin, end)) in fragments.iter().enumerate() {
        if n > 0 {
            out.push_str(" … ");
        }
        for i in begin..end {
            let (s, e) = words[i];
            if i > begin {
                // What lies between two words, each run of whitespace as one space.
                let mut space = false;
                for c in body[words[i - 1].1..s].chars() {
                    if c.is_whitespace() {
                        space = true;
                    } else {
                        if space {
                            out.push(' ');
                            space = false;
                        }
                        out.push(c);
                    }
                }
                if space {
                    out.push(' ');
                }
            }
            if hit[i] {
                out.push(MATCH_START);
            }
            out.push_str(&body[s..e]);
            if hit[i] {
                out.push(MATCH_STOP);
            }
        }
    }
    out
}

/// A search snippet as HTML: the text escaped, and only the matches marked
/// with `<mark>`, always balanced whatever the text held.
pub fn snippet_html(snippet: &str) -> String {
    let mut out = String::with_capacity(snippet.len() + 32);
    let mut open = false;
    for c in snippet.chars() {
        match c {
            MATCH_START if !open => {
                out.push_str("<mark>");
                open = true;
            }
            MATCH_STOP if open => {
                out.push_str("</mark>");
                open = false;
            }
            MATCH_START | MATCH_STOP => {}
            other => push_escaped(&mut out, other),
        }
    }
    if open {
        out.push_str("</mark>");
    }
    out
}

/// `text` with the characters HTML gives meaning to escaped.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        push_escaped(&mut out, c);
    }
    out
}

fn push_escaped(out: &mut String, c: char) {
    match c {
        '&' => out.push_str("&amp;"),
        '<' => out.push_str("&lt;"),
        '>' => out.push_str("&gt;"),
        '"' => out.push_str("&quot;"),
        '\'' => out.push_str("&#39;"),
        other => out.push(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_becomes_html() {
        let html =
            to_html("## Ongoing\n\n- [ ] watch **disk** on `db-1`\n- [x] done\n\n[runbook](https://example.com/rb)");
        assert!(html.contains("<h2>Ongoing</h2>"), "{html}");
        assert!(
            html.contains("☐ watch <strong>disk</strong> on <code>db-1</code>"),
            "{html}"
        );
        assert!(html.contains("☑ done"), "{html}");
        assert!(
            html.contains(r#"<a href="https://example.com/rb" rel="noopener noreferrer nofollow">runbook</a>"#),
            "{html}"
        );
    }

    #[test]
    fn raw_html_is_shown_not_run() {
        let html = to_html("<script>alert(1)</script>\n\nhi <img src=x onerror=alert(1)>");
        assert!(!html.contains("<script"), "{html}");
        assert!(!html.contains("<img"), "{html}");
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), "{html}");
    }

    #[test]
    fn dangerous_links_lose_their_target() {
        for md in [
            "[x](javascript:alert(1))",
            "[x](JaVaScRiPt:alert(1))",
            "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
            "[x](vbscript:msgbox(1))",
            "<javascript:alert(1)>",
            "![x](javascript:alert(1))",
        ] {
            let html = to_html(md);
            assert!(!html.to_lowercase().contains("href=\"javascript"), "{md} → {html}");
            assert!(!html.contains("href=\"data:"), "{md} → {html}");
            assert!(!html.contains("href=\"vbscript"), "{md} → {html}");
        }
    }

    #[test]
    fn images_become_links() {
        let html = to_html("![graph](https://grafana.example.com/d/1)");
        assert!(!html.contains("<img"), "{html}");
        assert!(html.contains(r#"href="https://grafana.example.com/d/1""#), "{html}");
        assert!(html.contains(">graph</a>"), "{html}");
    }

    #[test]
    fn a_snippet_marks_the_words_of_each_stem_around_the_first_matches() {
        let lex = |l: &[&str]| l.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let m = |w: &str| format!("{MATCH_START}{w}{MATCH_STOP}");
        assert_eq!(
            snippet(
                "Two  disks\nfilled up; the Exporter is happy.",
                &lex(&["disk", "export", "happi"])
            ),
            format!("Two {} filled up; the {} is {}", m("disks"), m("Exporter"), m("happy"))
        );
        // Around the first match, then the next one after that fragment.
        let long: String = (0..100).map(|i| format!("w{i} ")).collect::<String>() + "kafka lag";
        let s = snippet(&format!("kafka {long}"), &lex(&["kafka"]));
        assert!(s.starts_with(&m("kafka")), "{s}");
        assert!(
            s.contains(&format!(" … w92 w93 w94 w95 w96 w97 w98 w99 {} lag", m("kafka"))),
            "{s}"
        );
        assert_eq!(s.split_whitespace().filter(|w| w.contains(MATCH_START)).count(), 2);
        // Nothing matched (a stem Snowball makes irregularly): the first words.
        let first = snippet(&long, &lex(&["zeppelin"]));
        assert!(first.starts_with("w0 w1") && first.ends_with("w34"), "{first}");
        assert_eq!(snippet("", &lex(&["disk"])), "");
    }

    #[test]
    fn snippets_mark_only_matches_and_escape_the_rest() {
        let s = format!("a <b>{MATCH_START}disk{MATCH_STOP}</b> & {MATCH_START}full");
        assert_eq!(
            snippet_html(&s),
            "a &lt;b&gt;<mark>disk</mark>&lt;/b&gt; &amp; <mark>full</mark>"
        );
        let stray = format!("{MATCH_STOP}x{MATCH_START}{MATCH_START}y");
        assert_eq!(snippet_html(&stray), "x<mark>y</mark>");
    }
}
