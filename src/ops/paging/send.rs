//! Sending one message by one contact method: e-mail through the SMTP
//! setting, push through ntfy's publish API, the generic webhook (JSON
//! signed with HMAC-SHA256), and SMS and calls through the Twilio setting
//! (`twilio`). Every URL a user gave goes through `outgoing`.

use std::sync::Arc;

use serde_json::json;

use crate::domain::paging::{MethodKind, split_ntfy, webhook_signature};
use crate::domain::storm::BundleLink;
use crate::mail::Mailer;
use crate::ops::paging::twilio::{CallbackUrls, Twilio};
use crate::outgoing::Outgoing;

/// What sends messages, shared by the worker and the requests that send
/// test messages. Cheap to clone.
#[derive(Clone)]
pub struct Pager {
    pub outgoing: Outgoing,
    pub mailer: Option<Arc<Mailer>>,
    /// How people reach Rota, for links in messages.
    pub base_url: String,
    /// SMS and calls, when an administrator set `ROTA_TWILIO_*`.
    pub twilio: Option<Twilio>,
}

/// Tokens for the addresses Twilio calls back about one page message.
pub struct Callbacks {
    /// Digits pressed on the call (`Hook::Gather`).
    pub gather: String,
    /// Delivery status (`Hook::Status`).
    pub status: String,
}

/// What a contact method answers when no SMS provider is set.
pub const NO_PHONE: &str = "This Rota sends no SMS or calls: an administrator sets ROTA_TWILIO_ACCOUNT_SID, ROTA_TWILIO_AUTH_TOKEN and ROTA_TWILIO_FROM";

/// The contact method a message goes to.
pub struct To<'a> {
    pub kind: MethodKind,
    pub target: &'a str,
    pub secret: Option<&'a str>,
    pub email: &'a str,
    pub name: &'a str,
}

/// One message, in every method's terms.
pub struct Message {
    /// `page` or `test`, for webhook receivers.
    pub event: &'static str,
    pub title: String,
    pub body: String,
    /// ntfy priority: 5 wakes a phone, 3 is a normal notification.
    pub priority: u8,
    /// Where a tap on the message goes.
    pub click: Option<String>,
    /// The acknowledge link's token, when the message is about a page.
    pub ack_token: Option<String>,
    /// The page, for webhook receivers.
    pub page: Option<serde_json::Value>,
    /// About a drill: receivers that act on pages can tell (webhooks'
    /// `drill`); the words say so too.
    pub drill: bool,
    /// What a call reads out.
    pub spoken: String,
    /// Where Twilio reports on a page's SMS or call.
    pub callbacks: Option<Callbacks>,
    /// The same for every attempt at one message, so a receiver that got a
    /// retry of what it already took can tell (webhooks' `Idempotency-Key`).
    pub idempotency_key: Option<String>,
}

/// How it went: `Ok((state, detail))` with `sent` or `delivered`;
/// `Err(detail)` is a failure worth trying again.
pub type Sent = Result<(&'static str, String), String>;

impl Pager {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url.trim_end_matches('/'))
    }

    /// The page people open from an acknowledge link.
    pub fn ack_url(&self, token: &str) -> String {
        self.url(&format!("/ack/{token}"))
    }

    pub async fn send(&self, to: &To<'_>, m: &Message) -> Sent {
        match to.kind {
            MethodKind::Email => self.email(to, m).await,
            MethodKind::Ntfy => self.ntfy(to, m).await,
            MethodKind::Webhook => self.webhook(to, m).await,
            MethodKind::Sms | MethodKind::Voice => self.phone(to, m).await,
        }
    }

    async fn phone(&self, to: &To<'_>, m: &Message) -> Sent {
        let Some(twilio) = &self.twilio else {
            return Err(NO_PHONE.into());
        };
        let urls = m.callbacks.as_ref().map(|c| CallbackUrls {
            gather: self.url(&format!("/api/v1/hooks/twilio/gather/{}", c.gather)),
            status: self.url(&format!("/api/v1/hooks/twilio/status/{}", c.status)),
        });
        let ack = m.ack_token.as_deref().map(|t| self.ack_url(t));
        twilio.send(to.kind, to.target, m, ack.as_deref(), urls.as_ref()).await
    }

    async fn email(&self, to: &To<'_>, m: &Message) -> Sent {
        let Some(mailer) = &self.mailer else {
            return Err("This Rota has no mail server set (ROTA_SMTP_URL)".into());
        };
        let mut body = m.body.clone();
        if let Some(token) = &m.ack_token {
            body.push_str(&format!(
                "\n\nAcknowledge (opens a page with one button): {}\n",
                self.ack_url(token)
            ));
        }
        mailer
            .send_now(to.target, to.name, &m.title, &body)
            .await
            .map(|()| ("sent", "the mail server accepted it".to_owned()))
            .map_err(|e| format!("the mail server refused it: {e}"))
    }

    /// ntfy's JSON publishing: a POST to the server's root naming the
    /// topic, with an `http` action that acknowledges.
    async fn ntfy(&self, to: &To<'_>, m: &Message) -> Sent {
        let parsed = url::Url::parse(to.target).ok();
        let Some((root, topic)) = parsed.as_ref().and_then(split_ntfy) else {
            return Err("the ntfy topic URL is not valid".into());
        };
        let mut body = json!({
            "topic": topic,
            "title": m.title,
            "message": m.body,
            "priority": m.priority,
            "tags": ["rotating_light"],
        });
        if let Some(click) = &m.click {
            body["click"] = json!(click);
        }
        if let Some(token) = &m.ack_token {
            body["actions"] = json!([{
                "action": "http",
                "label": if BundleLink::is_bundle(token) { "Acknowledge all" } else { "Acknowledge" },
                "url": self.url("/ack"),
                "method": "POST",
                "headers": {"Content-Type": "application/x-www-form-urlencoded"},
                "body": format!("token={token}"),
                "clear": true,
            }]);
        }
        let mut headers = Vec::new();
        if let Some(secret) = to.secret {
            headers.push(("Authorization", format!("Bearer {secret}")));
        }
        self.post("ntfy", &root, &body, &headers, None).await
    }

    async fn webhook(&self, to: &To<'_>, m: &Message) -> Sent {
        let mut body = json!({
            "event": m.event,
            "title": m.title,
            "message": m.body,
            "drill": m.drill,
        });
        match (&m.page, m.event) {
            // A bundle's fields sit beside the event: `bundle` and `pages`.
            (Some(serde_json::Value::Object(fields)), "page_bundle") => {
                for (name, value) in fields {
                    body[name] = value.clone();
                }
            }
            (Some(page), _) => body["page"] = page.clone(),
            (None, _) => {}
        }
        if let Some(token) = &m.ack_token {
            body["acknowledge_url"] = json!(self.ack_url(token));
        }
        let headers: Vec<(&str, String)> = m
            .idempotency_key
            .iter()
            .map(|k| ("Idempotency-Key", k.clone()))
            .collect();
        self.post("the webhook", to.target, &body, &headers, to.secret).await
    }

    /// Posts `body` to a team's chat channel (`service` names it in the
    /// answer).
    pub async fn chat(&self, service: &str, url: &str, body: &serde_json::Value) -> Sent {
        self.post(service, url, body, &[], None).await
    }

    async fn post(
        &self,
        who: &str,
        url: &str,
        body: &serde_json::Value,
        headers: &[(&str, String)],
        signed_with: Option<&str>,
    ) -> Sent {
        let bytes = serde_json::to_vec(body).map_err(|e| e.to_string())?;
        let mut headers = headers.to_vec();
        if let Some(secret) = signed_with {
            headers.push(("X-Rota-Signature", webhook_signature(secret, &bytes)));
        }
        let response = self
            .outgoing
            .post_signed(url, bytes, &headers)
            .await
            .map_err(|f| f.to_string())?;
        let status = response.status();
        if status.is_success() {
            Ok(("delivered", format!("{who} answered {status}")))
        } else {
            Err(format!("{who} answered {status}"))
        }
    }
}
