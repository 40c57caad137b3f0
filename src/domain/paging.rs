//! Paging rules: contact-method targets, escalation policies and when each
//! step is due, and the signed acknowledge links. Pure: "now" and keys are
//! arguments.

use chrono::{DateTime, Duration, Utc};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

/// How a person is reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum MethodKind {
    Email,
    Ntfy,
    Sms,
    Voice,
    Webhook,
}

impl MethodKind {
    pub const ALL: [MethodKind; 5] = [
        MethodKind::Email,
        MethodKind::Ntfy,
        MethodKind::Sms,
        MethodKind::Voice,
        MethodKind::Webhook,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            MethodKind::Email => "email",
            MethodKind::Ntfy => "ntfy",
            MethodKind::Sms => "sms",
            MethodKind::Voice => "voice",
            MethodKind::Webhook => "webhook",
        }
    }

    pub fn parse(s: &str) -> Option<MethodKind> {
        MethodKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// What the kind's target is, for messages saying what to fix.
    pub fn describe_target(self) -> &'static str {
        match self {
            MethodKind::Email => "an e-mail address",
            MethodKind::Ntfy => "an ntfy topic URL such as https://ntfy.sh/your-topic",
            MethodKind::Sms | MethodKind::Voice => "a phone number in E.164 form, such as +447700900123",
            MethodKind::Webhook => "an http:// or https:// URL",
        }
    }
}

/// Whether `number` is an E.164 phone number: `+`, a country code that does
/// not start with 0, at most 15 digits in all.
pub fn is_e164(number: &str) -> bool {
    let Some(digits) = number.strip_prefix('+') else {
        return false;
    };
    (8..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()) && !digits.starts_with('0')
}

/// An ntfy topic URL split into the server's root (where JSON is
/// published) and the topic: `https://ntfy.sh/alerts` → (`https://ntfy.sh/`,
/// `alerts`). `None` when the last path segment is not a topic name.
pub fn split_ntfy(url: &url::Url) -> Option<(String, String)> {
    let topic = url.path_segments()?.next_back()?.to_owned();
    let valid = (1..=64).contains(&topic.len())
        && topic
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !valid || url.query().is_some() || url.fragment().is_some() {
        return None;
    }
    let mut root = url.clone();
    root.path_segments_mut().ok()?.pop();
    let mut root = root.to_string();
    if !root.ends_with('/') {
        root.push('/');
    }
    Some((root, topic))
}

/// Who a step pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Target {
    Primary,
    Secondary,
    Managers,
}

impl Target {
    pub fn as_str(self) -> &'static str {
        match self {
            Target::Primary => "primary",
            Target::Secondary => "secondary",
            Target::Managers => "managers",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Step {
    pub target: Target,
    /// Minutes after the escalation (or its repeat) starts; each step at
    /// least the one before.
    #[schema(minimum = 0, maximum = 1440)]
    pub after_minutes: i32,
}

/// A team's escalation: its steps in order, and how many times it starts
/// again from the top when nobody acknowledges.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Policy {
    #[schema(min_items = 1, max_items = 10)]
    pub steps: Vec<Step>,
    /// Times it starts again from the top.
    #[schema(minimum = 0, maximum = 10)]
    pub repeat: i32,
}

/// Most steps a policy has.
pub const MAX_STEPS: usize = 10;
/// Most repeats.
pub const MAX_REPEAT: i32 = 10;
/// The latest a step may come, in minutes.
pub const MAX_AFTER: i32 = 1440;

impl Policy {
    /// The default: the primary at once, the secondary when the primary's
    /// SLA has passed, the managers when the secondary's SLA (counted from
    /// when they were paged) has passed; once more from the top.
    pub fn from_slas(primary_sla: i32, secondary_sla: i32) -> Policy {
        Policy {
            steps: vec![
                Step {
                    target: Target::Primary,
                    after_minutes: 0,
                },
                Step {
                    target: Target::Secondary,
                    after_minutes: primary_sla,
                },
                Step {
                    target: Target::Managers,
                    after_minutes: primary_sla + secondary_sla,
                },
            ],
            repeat: 1,
        }
    }

    /// One step at once and nothing after: a drill someone sends themself
    /// (the step's person is theirs, not the primary).
    pub fn only_now() -> Policy {
        Policy {
            steps: vec![Step {
                target: Target::Primary,
                after_minutes: 0,
            }],
            repeat: 0,
        }
    }

    /// What is wrong with the policy, in words saying what to fix.
    pub fn problem(&self) -> Option<String> {
        if self.steps.is_empty() {
            return Some(
                "An escalation policy needs at least one step, e.g. {\"target\": \"primary\", \"after_minutes\": 0}"
                    .into(),
            );
        }
        if self.steps.len() > MAX_STEPS {
            return Some(format!("An escalation policy has at most {MAX_STEPS} steps"));
        }
        if !(0..=MAX_REPEAT).contains(&self.repeat) {
            return Some(format!("repeat is between 0 and {MAX_REPEAT}"));
        }
        if let Some(s) = self.steps.iter().find(|s| !(0..=MAX_AFTER).contains(&s.after_minutes)) {
            return Some(format!(
                "after_minutes is between 0 and {MAX_AFTER}; the {} step has {}",
                s.target.as_str(),
                s.after_minutes
            ));
        }
        if self.steps.windows(2).any(|w| w[1].after_minutes < w[0].after_minutes) {
            return Some("List the steps in the order they happen: each after_minutes at least the one before".into());
        }
        None
    }

    /// How many steps there are, repeats included.
    pub fn total_steps(&self) -> i32 {
        self.steps.len() as i32 * (self.repeat + 1)
    }

    /// How long one pass takes before the next starts from the top: the
    /// last step, then as long again as it waited after the step before
    /// (at least five minutes), so the last people paged get their turn.
    pub fn round(&self) -> Duration {
        let last = self.steps.last().map_or(0, |s| s.after_minutes);
        let before = match self.steps.len() {
            0 | 1 => 0,
            n => self.steps[n - 2].after_minutes,
        };
        Duration::minutes(i64::from(last + (last - before).max(5)))
    }

    /// Step `n` (counted across repeats): what it is and when it is due
    /// for an escalation started at `started`. `None` past the last.
    pub fn step(&self, n: i32, started: DateTime<Utc>) -> Option<(Step, DateTime<Utc>)> {
        if n < 0 || n >= self.total_steps() {
            return None;
        }
        let per_round = self.steps.len() as i32;
        let step = self.steps[(n % per_round) as usize];
        let due = started + self.round() * (n / per_round) + Duration::minutes(i64::from(step.after_minutes));
        Some((step, due))
    }
}

/// Whom a drill ("Send a test page") pages.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum DrillTo {
    /// The rotation's primary now, then the team's escalation policy
    /// exactly as for a real page: the whole path.
    #[default]
    Primary,
    /// Only the caller, by their own notification rules, in one step.
    Me,
}

/// How long an acknowledge link works.
pub const ACK_LINK_LIFETIME: Duration = Duration::hours(24);

/// What an acknowledge link stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AckLink {
    pub page_id: i64,
    pub user_id: i64,
    pub expires: i64,
}

fn ack_mac(key: &[u8], link: &AckLink) -> Hmac<Sha256> {
    // Hmac accepts keys of any length.
    let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap_or_else(|_| unreachable!("HMAC takes any key"));
    // The purpose is signed too: a token for anything else never passes.
    mac.update(format!("rota-ack:{}:{}:{}", link.page_id, link.user_id, link.expires).as_bytes());
    mac
}

impl AckLink {
    pub fn new(page_id: i64, user_id: i64, now: DateTime<Utc>) -> AckLink {
        AckLink {
            page_id,
            user_id,
            expires: (now + ACK_LINK_LIFETIME).timestamp(),
        }
    }

    /// The token: the page, the person, the expiry and the signature.
    pub fn sign(&self, key: &[u8]) -> String {
        let sig = hex::encode(ack_mac(key, self).finalize().into_bytes());
        format!("{}.{}.{}.{sig}", self.page_id, self.user_id, self.expires)
    }

    /// The link a token stands for, if it is signed with `key`; `Err` says
    /// why not (expired or not genuine).
    pub fn verify(token: &str, key: &[u8], now: DateTime<Utc>) -> Result<AckLink, &'static str> {
        let mut parts = token.split('.');
        let mut num = || parts.next().and_then(|p| p.parse::<i64>().ok());
        let (Some(page_id), Some(user_id), Some(expires)) = (num(), num(), num()) else {
            return Err("This acknowledge link is not one Rota made; open the link from the message again");
        };
        let (Some(sig), None) = (parts.next(), parts.next()) else {
            return Err("This acknowledge link is not one Rota made; open the link from the message again");
        };
        let link = AckLink {
            page_id,
            user_id,
            expires,
        };
        let genuine = hex::decode(sig).is_ok_and(|s| ack_mac(key, &link).verify_slice(&s).is_ok());
        if !genuine {
            return Err("This acknowledge link is not one Rota made; open the link from the message again");
        }
        if now.timestamp() >= expires {
            return Err("This acknowledge link has expired; acknowledge the page in Rota instead");
        }
        Ok(link)
    }
}

/// The signature of a generic webhook's body: `sha256=<hex HMAC-SHA256>`.
pub fn webhook_signature(secret: &str, body: &[u8]) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap_or_else(|_| unreachable!("HMAC takes any key"));
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// How long to wait after `attempts` failed attempts to send a message:
/// 10 s, doubling, at most two minutes. `None`: give up.
pub fn retry_delay(attempts: i32) -> Option<Duration> {
    if attempts >= MAX_SEND_ATTEMPTS {
        return None;
    }
    let doublings = attempts.clamp(1, 5) - 1;
    Some((Duration::seconds(10) * 2_i32.pow(doublings as u32)).min(Duration::minutes(2)))
}

/// Attempts per message before it is given up.
pub const MAX_SEND_ATTEMPTS: i32 = 5;

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn phone_numbers_are_e164() {
        assert!(is_e164("+447700900123"));
        assert!(is_e164("+14155550100"));
        for bad in [
            "447700900123",
            "+0447700900",
            "+44 7700 900123",
            "+1234",
            "+1234567890123456",
            "+44770090012a",
        ] {
            assert!(!is_e164(bad), "{bad}");
        }
    }

    #[test]
    fn ntfy_urls_split_into_server_and_topic() {
        let u = |s: &str| url::Url::parse(s).unwrap();
        assert_eq!(
            split_ntfy(&u("https://ntfy.sh/alerts")),
            Some(("https://ntfy.sh/".into(), "alerts".into()))
        );
        assert_eq!(
            split_ntfy(&u("http://127.0.0.1:9000/push/alex_1")),
            Some(("http://127.0.0.1:9000/push/".into(), "alex_1".into()))
        );
        assert_eq!(split_ntfy(&u("https://ntfy.sh/")), None);
        assert_eq!(split_ntfy(&u("https://ntfy.sh/a b")), None);
        assert_eq!(split_ntfy(&u("https://ntfy.sh/a?x=1")), None);
    }

    #[test]
    fn the_default_follows_the_slas_and_repeats_after_the_managers_turn() {
        let p = Policy::from_slas(5, 30);
        assert_eq!(p.problem(), None);
        let start = at("2026-03-03T03:07:00Z");
        let due: Vec<_> = (0..p.total_steps()).map(|n| p.step(n, start).unwrap()).collect();
        assert_eq!(due[0], (p.steps[0], start));
        assert_eq!(due[1].1, at("2026-03-03T03:12:00Z"));
        assert_eq!(due[2].1, at("2026-03-03T03:42:00Z"));
        // The managers get the secondary's 30 minutes, then the top again.
        assert_eq!(due[3], (p.steps[0], at("2026-03-03T04:12:00Z")));
        assert_eq!(p.step(6, start), None);
    }

    #[test]
    fn policies_without_steps_or_out_of_order_are_refused() {
        let mut p = Policy::from_slas(5, 30);
        p.steps.swap(0, 1);
        assert!(p.problem().is_some());
        assert!(
            Policy {
                steps: vec![],
                repeat: 0
            }
            .problem()
            .is_some()
        );
        let neg = Policy {
            steps: vec![Step {
                target: Target::Primary,
                after_minutes: -1,
            }],
            repeat: 0,
        };
        assert!(neg.problem().is_some());
    }

    #[test]
    fn ack_links_are_signed_single_purpose_and_expire() {
        let now = at("2026-03-03T03:07:00Z");
        let token = AckLink::new(7, 3, now).sign(b"key");
        assert_eq!(AckLink::verify(&token, b"key", now).unwrap().page_id, 7);
        assert!(AckLink::verify(&token, b"other", now).is_err());
        assert!(AckLink::verify(&token.replacen("7.", "8.", 1), b"key", now).is_err());
        assert!(AckLink::verify(&token, b"key", now + ACK_LINK_LIFETIME).is_err());
        assert!(AckLink::verify("junk", b"key", now).is_err());
    }

    #[test]
    fn sending_backs_off_and_gives_up() {
        assert_eq!(retry_delay(1), Some(Duration::seconds(10)));
        assert_eq!(retry_delay(2), Some(Duration::seconds(20)));
        assert_eq!(retry_delay(MAX_SEND_ATTEMPTS), None);
    }
}
