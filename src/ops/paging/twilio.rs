//! SMS and voice calls through a Twilio-compatible REST API: a form POST
//! to `/2010-04-01/Accounts/{sid}/Messages.json` or `Calls.json` with HTTP
//! Basic authentication. The API URL is the administrator's setting, so
//! requests to it do not go through `outgoing` (as the single sign-on
//! issuer's do not). Twilio's callbacks come back to `api::twilio`.

use std::sync::Arc;
use std::time::Duration;

use crate::config;
use crate::domain::paging::MethodKind;
use crate::domain::twilio::{call, shorten};
use crate::ops::paging::send::{Message, Sent};

/// Twilio answers within this or the attempt has failed (the worker's
/// limit per send is longer).
const TIMEOUT: Duration = Duration::from_secs(10);
/// The longest SMS body Twilio takes is 1,600 characters; the summary is
/// cut well before, so the link always fits.
const MAX_SMS_TEXT: usize = 1_000;
/// Inline TwiML may be 4,000 characters; the page read out is cut before.
const MAX_SPOKEN: usize = 1_000;

/// Where Rota's callbacks for one page message go (full URLs).
pub struct CallbackUrls {
    pub gather: String,
    pub status: String,
}

/// Sends through the provider the administrator set. Cheap to clone.
#[derive(Clone)]
pub struct Twilio {
    settings: Arc<config::Twilio>,
    http: reqwest::Client,
}

impl Twilio {
    pub fn new(settings: config::Twilio) -> anyhow::Result<Twilio> {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(TIMEOUT)
            .user_agent(concat!("Rota/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Twilio {
            settings: Arc::new(settings),
            http,
        })
    }

    /// Sends `m` to the number `to` as an SMS or a call. `ack_url` is the
    /// acknowledge link of a page; `callbacks` where Twilio tells Rota
    /// about it (pages only: a test message has nothing to record).
    pub async fn send(
        &self,
        kind: MethodKind,
        to: &str,
        m: &Message,
        ack_url: Option<&str>,
        callbacks: Option<&CallbackUrls>,
    ) -> Sent {
        let (resource, content) = match kind {
            MethodKind::Voice => (
                "Calls",
                (
                    "Twiml",
                    call(&shorten(&m.spoken, MAX_SPOKEN), callbacks.map(|c| c.gather.as_str())),
                ),
            ),
            _ => {
                let mut text = shorten(&m.body, MAX_SMS_TEXT);
                if let Some(link) = ack_url {
                    text.push_str(&format!("\n\nReply 1 to acknowledge, or open {link}"));
                }
                ("Messages", ("Body", text))
            }
        };
        let mut form = vec![("To", to.to_owned()), ("From", self.settings.from.clone()), content];
        if let Some(c) = callbacks {
            form.push(("StatusCallback", c.status.clone()));
        }
        let s = &self.settings;
        let url = format!("{}/2010-04-01/Accounts/{}/{resource}.json", s.api_url, s.account_sid);
        let mut request = self
            .http
            .post(url)
            .basic_auth(&s.account_sid, Some(&s.auth_token))
            .form(&form);
        if let Some(key) = &m.idempotency_key {
            // The same on every retry of one message, under the name Twilio
            // gives its own webhooks' key. Twilio's Messages and Calls API
            // promises no idempotency: a retry after a timeout may text or
            // call twice (a compatible provider that honours it will not).
            request = request.header("I-Twilio-Idempotency-Token", key);
        }
        let response = request.send().await.map_err(|e| {
            tracing::warn!(error = %e.without_url(), "the SMS and voice provider did not answer");
            format!(
                "the SMS and voice provider did not answer within {} seconds",
                TIMEOUT.as_secs()
            )
        })?;
        let status = response.status();
        // A created resource (`sid`, `status` a word) or an error
        // (`message`, `code`, `status` a number).
        let answer: serde_json::Value = response.json().await.unwrap_or_default();
        let text = |field: &str| answer.get(field).and_then(|v| v.as_str()).map(|v| shorten(v, 300));
        if status.is_success() {
            let sid = text("sid").unwrap_or_else(|| "no sid".into());
            let state = text("status").unwrap_or_else(|| "accepted".into());
            let what = if kind == MethodKind::Voice { "call" } else { "SMS" };
            return Ok(("sent", format!("Twilio took the {what}: {sid} ({state})")));
        }
        let mut why = format!("Twilio answered {status}");
        if let Some(message) = text("message") {
            why.push_str(&format!(": {message}"));
        }
        if let Some(code) = answer.get("code").and_then(serde_json::Value::as_i64) {
            why.push_str(&format!(" (error {code})"));
        }
        Err(why)
    }
}
