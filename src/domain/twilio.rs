//! Twilio's side of paging, pure: the `X-Twilio-Signature` its callbacks
//! carry, the TwiML Rota answers with, the signed tokens in the callback
//! addresses Rota gives it, and what a delivery status means.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Duration, Utc};
use hmac::{Hmac, Mac};
use sha1::Sha1;
use sha2::Sha256;

use super::paging::ACK_LINK_LIFETIME;

fn signing_mac(auth_token: &str, url: &str, params: &[(String, String)]) -> Hmac<Sha1> {
    let mut mac =
        Hmac::<Sha1>::new_from_slice(auth_token.as_bytes()).unwrap_or_else(|_| unreachable!("HMAC takes any key"));
    mac.update(url.as_bytes());
    // By name (a repeated name by value, as Twilio's own libraries do).
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    sorted.sort();
    for (name, value) in sorted {
        mac.update(name.as_bytes());
        mac.update(value.as_bytes());
    }
    mac
}

/// Twilio's signature of a callback: base64 HMAC-SHA1, keyed with the
/// auth token, of the full URL it called followed by each POST
/// parameter's name and value in name order.
pub fn signature(auth_token: &str, url: &str, params: &[(String, String)]) -> String {
    STANDARD.encode(signing_mac(auth_token, url, params).finalize().into_bytes())
}

/// Whether `given` (the `X-Twilio-Signature` header) is the signature of
/// this callback; compared in constant time.
pub fn signature_holds(auth_token: &str, url: &str, params: &[(String, String)], given: &str) -> bool {
    STANDARD
        .decode(given.trim())
        .is_ok_and(|g| signing_mac(auth_token, url, params).verify_slice(&g).is_ok())
}

/// Text made safe inside XML elements and attribute values.
pub fn xml_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Control characters are not XML (tabs and newlines are).
            c if c.is_control() && !matches!(c, '\t' | '\n' | '\r') => out.push(' '),
            // Nor are these two non-characters: Twilio would refuse the call.
            '\u{FFFE}' | '\u{FFFF}' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// At most `max` characters of `text`, with "…" where it was cut.
pub fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

const XML: &str = r#"<?xml version="1.0" encoding="UTF-8"?>"#;

/// A call that reads `spoken` out and offers "press 1" (posted to
/// `gather_url`); without a gather URL it only reads it, twice.
pub fn call(spoken: &str, gather_url: Option<&str>) -> String {
    let spoken = xml_escape(spoken);
    match gather_url {
        Some(url) => format!(
            r#"{XML}<Response><Gather numDigits="1" action="{}" method="POST"><Say>{spoken} Press 1 to acknowledge.</Say></Gather><Say>Nothing was pressed, so the page is not acknowledged. Goodbye.</Say></Response>"#,
            xml_escape(url)
        ),
        None => format!(r#"{XML}<Response><Say loop="2">{spoken}</Say></Response>"#),
    }
}

/// What a call says in answer to the digits pressed.
pub fn say(text: &str) -> String {
    format!("{XML}<Response><Say>{}</Say></Response>", xml_escape(text))
}

/// The SMS reply to an SMS; none (an empty response) with `None`.
pub fn reply(text: Option<&str>) -> String {
    match text {
        Some(t) => format!("{XML}<Response><Message>{}</Message></Response>", xml_escape(t)),
        None => format!("{XML}<Response></Response>"),
    }
}

/// A code read out digit by digit: "1, 2, 3".
pub fn spell_digits(code: &str) -> String {
    code.chars().map(String::from).collect::<Vec<_>>().join(", ")
}

/// Which callback a token is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hook {
    /// The digits pressed on a page's call.
    Gather,
    /// The delivery status of a page's SMS or call.
    Status,
}

impl Hook {
    fn purpose(self) -> &'static str {
        match self {
            Hook::Gather => "rota-twilio-gather",
            Hook::Status => "rota-twilio-status",
        }
    }

    /// How long Twilio may call back: a call's digits come within the
    /// acknowledge links' lifetime; a carrier may report delivery late.
    fn lifetime(self) -> Duration {
        match self {
            Hook::Gather => ACK_LINK_LIFETIME,
            Hook::Status => Duration::days(7),
        }
    }
}

/// A signed token in a callback address, standing for one page message
/// (and so one page and one person) and one purpose, until it expires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HookToken {
    pub hook: Hook,
    pub message_id: i64,
    pub expires: i64,
}

fn hook_mac(key: &[u8], t: &HookToken) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap_or_else(|_| unreachable!("HMAC takes any key"));
    mac.update(format!("{}:{}:{}", t.hook.purpose(), t.message_id, t.expires).as_bytes());
    mac
}

impl HookToken {
    pub fn new(hook: Hook, message_id: i64, now: DateTime<Utc>) -> HookToken {
        HookToken {
            hook,
            message_id,
            expires: (now + hook.lifetime()).timestamp(),
        }
    }

    pub fn sign(&self, key: &[u8]) -> String {
        let sig = hex::encode(hook_mac(key, self).finalize().into_bytes());
        format!("{}.{}.{sig}", self.message_id, self.expires)
    }

    /// The page message a token for `hook` stands for; `Err` says why not.
    pub fn verify(hook: Hook, token: &str, key: &[u8], now: DateTime<Utc>) -> Result<i64, &'static str> {
        let forged = "This callback address is not one Rota made";
        let mut parts = token.split('.');
        let mut num = || parts.next().and_then(|p| p.parse::<i64>().ok());
        let (Some(message_id), Some(expires)) = (num(), num()) else {
            return Err(forged);
        };
        let (Some(sig), None) = (parts.next(), parts.next()) else {
            return Err(forged);
        };
        let t = HookToken {
            hook,
            message_id,
            expires,
        };
        if !hex::decode(sig).is_ok_and(|s| hook_mac(key, &t).verify_slice(&s).is_ok()) {
            return Err(forged);
        }
        if now.timestamp() >= expires {
            return Err("This call is too old to acknowledge the page; acknowledge it in Rota instead");
        }
        Ok(message_id)
    }
}

/// What a `MessageStatus` or `CallStatus` says about a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    Delivered,
    Failed,
    /// On its way (queued, sent, ringing, …): nothing to record yet.
    Underway,
}

pub fn delivery(status: &str) -> Delivery {
    match status {
        "delivered" | "read" | "completed" => Delivery::Delivered,
        "failed" | "undelivered" | "no-answer" | "busy" | "canceled" => Delivery::Failed,
        _ => Delivery::Underway,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(n, v)| ((*n).to_owned(), (*v).to_owned())).collect()
    }

    /// The worked example of Twilio's webhook security documentation.
    #[test]
    fn xml_escape_leaves_nothing_xml_forbids() {
        assert_eq!(
            xml_escape("a<b>&\"'\u{0}\u{FFFE}\u{FFFF}\tz"),
            "a&lt;b&gt;&amp;&quot;&apos;   \tz"
        );
    }

    #[test]
    fn the_signature_is_twilios_documented_example() {
        let url = "https://mycompany.com/myapp.php?foo=1&bar=2";
        let p = params(&[
            ("Digits", "1234"),
            ("To", "+18005551212"),
            ("From", "+14158675310"),
            ("Caller", "+14158675310"),
            ("CallSid", "CA1234567890ABCDE"),
        ]);
        assert_eq!(signature("12345", url, &p), "GvWf1cFY/Q7PnoempGyD5oXAezc=");
        assert!(signature_holds("12345", url, &p, "GvWf1cFY/Q7PnoempGyD5oXAezc="));
        assert!(!signature_holds("12346", url, &p, "GvWf1cFY/Q7PnoempGyD5oXAezc="));
        assert!(!signature_holds(
            "12345",
            &url.replace("https", "http"),
            &p,
            "GvWf1cFY/Q7PnoempGyD5oXAezc="
        ));
        let mut changed = p.clone();
        changed[0].1 = "1".into();
        assert!(!signature_holds("12345", url, &changed, "GvWf1cFY/Q7PnoempGyD5oXAezc="));
        assert!(!signature_holds("12345", url, &p, ""));
        assert!(!signature_holds("12345", url, &p, "not base64!"));
    }

    /// A voice request from the request validator tests of Twilio's Ruby
    /// library: many parameters, some empty.
    #[test]
    fn the_signature_matches_twilios_library_on_a_real_voice_request() {
        let p = params(&[
            ("ToState", "California"),
            ("CalledState", "California"),
            ("Direction", "inbound"),
            ("FromState", "CA"),
            ("AccountSid", "ACba8bc05eacf94afdae398e642c9cc32d"),
            ("Caller", "+14153595711"),
            ("CallerZip", "94108"),
            ("CallerCountry", "US"),
            ("From", "+14153595711"),
            ("FromCity", "SAN FRANCISCO"),
            ("CallerCity", "SAN FRANCISCO"),
            ("To", "+14157669926"),
            ("FromZip", "94108"),
            ("FromCountry", "US"),
            ("ToCity", ""),
            ("CallStatus", "ringing"),
            ("CalledCity", ""),
            ("CallerState", "CA"),
            ("CalledZip", ""),
            ("ToZip", ""),
            ("ToCountry", "US"),
            ("CallSid", "CA136d09cd59a3c0ec8dbff44da5c03f31"),
            ("CalledCountry", "US"),
            ("Called", "+14157669926"),
            ("ApiVersion", "2010-04-01"),
            ("ApplicationSid", "AP44efecad51364e80b133bb7c07eb8204"),
        ]);
        let url = "http://twiliotests.heroku.com/validate/voice";
        assert_eq!(
            signature("2bd9e9638872de601313dc77410d3b23", url, &p),
            "oVb2kXoVy8GEfwBDjR8bk/ZZ6eA="
        );
    }

    #[test]
    fn twiml_escapes_what_it_reads_out() {
        let xml = call("Disk <full> & \"hot\"", Some("https://rota.example.com/g?a=1&b=2"));
        assert!(
            xml.contains("Disk &lt;full&gt; &amp; &quot;hot&quot; Press 1 to acknowledge."),
            "{xml}"
        );
        assert!(
            xml.contains(r#"action="https://rota.example.com/g?a=1&amp;b=2""#),
            "{xml}"
        );
        assert!(!call("code", None).contains("Gather"));
        assert_eq!(xml_escape("a\u{0}b"), "a b");
        assert!(reply(None).ends_with("<Response></Response>"));
        assert!(reply(Some("1 < 2")).contains("<Message>1 &lt; 2</Message>"));
        assert_eq!(spell_digits("042"), "0, 4, 2");
        assert_eq!(shorten("abcdef", 4), "abc…");
        assert_eq!(shorten("abc", 4), "abc");
    }

    #[test]
    fn hook_tokens_are_signed_single_purpose_and_expire() {
        let now = DateTime::from_timestamp(1_772_507_232, 0).unwrap();
        let token = HookToken::new(Hook::Gather, 42, now).sign(b"key");
        assert_eq!(HookToken::verify(Hook::Gather, &token, b"key", now), Ok(42));
        assert!(HookToken::verify(Hook::Status, &token, b"key", now).is_err());
        assert!(HookToken::verify(Hook::Gather, &token, b"other", now).is_err());
        assert!(HookToken::verify(Hook::Gather, &token.replacen("42.", "43.", 1), b"key", now).is_err());
        assert!(HookToken::verify(Hook::Gather, &token, b"key", now + ACK_LINK_LIFETIME).is_err());
        assert!(HookToken::verify(Hook::Gather, "junk", b"key", now).is_err());
        let status = HookToken::new(Hook::Status, 42, now).sign(b"key");
        assert_eq!(
            HookToken::verify(Hook::Status, &status, b"key", now + Duration::days(6)),
            Ok(42)
        );
    }

    #[test]
    fn final_statuses_are_delivered_or_failed() {
        assert_eq!(delivery("delivered"), Delivery::Delivered);
        assert_eq!(delivery("completed"), Delivery::Delivered);
        for failed in ["failed", "undelivered", "no-answer", "busy"] {
            assert_eq!(delivery(failed), Delivery::Failed, "{failed}");
        }
        for underway in ["queued", "sent", "ringing", "in-progress", ""] {
            assert_eq!(delivery(underway), Delivery::Underway, "{underway}");
        }
    }
}
