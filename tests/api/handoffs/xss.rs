//! A corpus of XSS payloads renders inert, in the API's `html`, on the
//! handoff page and in search snippets; and the pages carry the CSP.

use reqwest::StatusCode;

use super::{PAGE, team_at};

const PAYLOADS: &[&str] = &[
    "<script>alert('script')</script>",
    "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
    "[click](javascript:alert('js'))",
    "[click](JaVaScRiPt:alert('js2'))",
    "[click](  javascript:alert('js3'))",
    "[click](java&#x09;script:alert('entity'))",
    "[data](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "<a href=\"javascript:alert('a')\">raw link</a>",
    "<img src=x onerror=alert('img')>",
    "![pic](x\" onerror=\"alert('md-img'))",
    "![pic](javascript:alert('img-js'))",
    "<svg onload=alert('svg')>",
    "<svg><script>alert('svg-script')</script></svg>",
    "<iframe src=\"https://evil.example\"></iframe>",
    "<div><b>broken <i>nesting</div></b> <p onclick=alert('click')>x",
    "<<script>script>alert('nested')<</script>/script>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert('mxss')>",
    "<style>body{display:none}</style>",
    "<form action=\"https://evil.example\"><input name=password></form>",
    "<a href=\"vbscript:msgbox('vb')\">vb</a>",
    "[ok](https://example.com/?q=\"><script>alert('attr')</script>)",
    "`<script>alert('code')</script>`",
];

/// Tags ammonia may leave, and the attributes they may carry.
const TAGS: &[&str] = &[
    "a",
    "p",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "ul",
    "ol",
    "li",
    "strong",
    "em",
    "code",
    "pre",
    "blockquote",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
    "del",
    "hr",
    "br",
    "div",
    "span",
    "b",
    "i",
    "u",
    "s",
    "sub",
    "sup",
    "small",
    "dl",
    "dt",
    "dd",
    "kbd",
    "abbr",
    "cite",
    "q",
    "details",
    "summary",
];
const ATTRIBUTES: &[&str] = &["href", "rel", "title", "style", "align"];

/// A link a browser would not run: a web or mail address, or one without
/// a scheme (relative), read as a browser reads it (entities decoded, tabs
/// and line breaks dropped).
fn assert_safe_link(href: &str, html: &str) {
    let url: String = href
        .replace("&amp;", "&")
        .replace("&#x27;", "'")
        .replace("&quot;", "\"")
        .chars()
        .filter(|c| !matches!(c, '\t' | '\n' | '\r'))
        .collect::<String>()
        .trim()
        .to_ascii_lowercase();
    let scheme = url
        .split_once(':')
        .map(|(s, _)| s)
        .filter(|s| s.chars().next().is_some_and(|c| c.is_ascii_alphabetic()))
        .filter(|s| s.chars().all(|c| c.is_ascii_alphanumeric() || "+.-".contains(c)));
    assert!(
        matches!(scheme, None | Some("http" | "https" | "mailto")),
        "a dangerous link survived: {href} in {html}"
    );
}

/// Every tag in `html` is harmless: an allowed element, allowed attributes,
/// only web or mail links.
fn assert_inert(html: &str) {
    let mut rest = html;
    while let Some(open) = rest.find('<') {
        let tag = &rest[open + 1..];
        let close = tag.find('>').unwrap_or_else(|| panic!("unclosed tag in {html}"));
        let inner = tag[..close].trim_start_matches('/').trim_end_matches('/');
        let mut parts = inner.splitn(2, char::is_whitespace);
        let name = parts.next().unwrap_or_default().to_ascii_lowercase();
        assert!(TAGS.contains(&name.as_str()), "<{inner}> survived in {html}");
        let attrs = parts.next().unwrap_or_default();
        for attr in attrs.split("\" ").filter(|a| !a.trim().is_empty()) {
            let (key, value) = attr.split_once('=').unwrap_or((attr, ""));
            let key = key.trim().to_ascii_lowercase();
            assert!(
                ATTRIBUTES.contains(&key.as_str()),
                "attribute {key} survived in <{inner}>"
            );
            assert!(key != "style", "style survived in <{inner}>");
            if key == "href" {
                assert_safe_link(value.trim_matches('"'), html);
            }
        }
        rest = &tag[close + 1..];
    }
}

#[tokio::test]
async fn xss_payloads_render_inert_and_the_csp_header_is_present() {
    let team = team_at("2026-11-10T08:30:00Z").await;
    // Each payload on its own, so none hides inside another's raw HTML block.
    for payload in PAYLOADS {
        let body = format!("marker zeppelin, a [fine link](https://example.com/ok)\n\n{payload}\n");
        let (status, saved) = team.put(&team.tokens[0], &body, false).await;
        assert_eq!(status, StatusCode::OK, "{saved}");
        assert_eq!(saved["body"], body, "the text is kept as written");
        let html = saved["html"].as_str().unwrap();
        assert_inert(html);
        assert!(
            html.contains(r#"<a href="https://example.com/ok""#),
            "{payload}: safe markup survives: {html}"
        );
    }
    // Shown as text, not run: the words are still there to read.
    let (_, saved) = team.put(&team.tokens[0], PAYLOADS[0], false).await;
    assert_eq!(
        saved["html"].as_str().unwrap().trim_end(),
        "&lt;script&gt;alert('script')&lt;/script&gt;"
    );

    // All of them at once, submitted, on the page and in search.
    let body = PAYLOADS.join("\n\nmarker zeppelin\n\n");
    let (status, saved) = team.put(&team.tokens[0], &body, true).await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    assert_inert(saved["html"].as_str().unwrap());

    // The page shows the same, between its own (trusted) markup.
    let reader = team.f.app.sign_in("p1@example.com").await;
    let res = reader.get(team.f.app.url(PAGE)).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let csp = res.headers()["content-security-policy"].to_str().unwrap().to_owned();
    assert_eq!(csp, rota::app::CSP);
    assert!(csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"));
    let page = res.text().await.unwrap();
    let start = page.find("<article class=\"handoff\"").unwrap();
    let inner_start = start + page[start..].find('>').unwrap() + 1;
    let end = page.rfind("</article>").unwrap();
    assert_inert(&page[inner_start..end]);
    assert!(!page.contains("<script"), "no script anywhere in the page");

    // Search snippets are escaped text with only <mark> added.
    let (status, found) = team
        .f
        .app
        .get_json(&team.tokens[2], "/api/v1/teams/platform/handoffs?q=zeppelin")
        .await;
    assert_eq!(status, StatusCode::OK, "{found}");
    let snippet = found[0]["snippet"].as_str().unwrap();
    assert!(snippet.contains("<mark>zeppelin</mark>"), "{snippet}");
    let without_marks = snippet.replace("<mark>", "").replace("</mark>", "");
    assert!(
        !without_marks.contains('<') && !without_marks.contains('>'),
        "{snippet}"
    );
    let (_, results) = team.html(&reader, "/teams/platform/handoffs?q=script+alert").await;
    let start = results.find("<ol class=\"matches\">").expect("results");
    let end = start + results[start..].find("</ol>").unwrap();
    let snippets = &results[start..end];
    assert!(snippets.contains("<mark>"), "{snippets}");
    assert!(
        snippets.contains("&#39;") || snippets.contains("&lt;"),
        "escaped: {snippets}"
    );
    assert!(!snippets.contains("<script"), "{snippets}");
}
