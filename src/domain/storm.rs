//! Storms: when many pages fire for one person, they are not woken once a
//! page. Per contact method, the first few messages go out one by one;
//! after that, what is due goes out as one bundle ("14 more pages firing
//! for Platform"), a quarter of a second apart for the first few, then the wait
//! doubling to a minute as the storm goes on (a burst is told within a
//! second, a long storm about once a minute); SMS and calls never more than about once a
//! minute. A bundle's "acknowledge all" link is signed like an acknowledge
//! link. Pure: "now" and keys are arguments.

use chrono::{DateTime, Duration, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::paging::ACK_LINK_LIFETIME;

/// Messages a method sends one by one within [`WINDOW`] before the rest
/// are bundled.
pub const SINGLES: usize = 3;
/// How far back a method's messages count.
pub const WINDOW: Duration = Duration::minutes(5);
/// The least time between two SMS or calls to one method, and the longest
/// wait between two bundles of any method.
pub const GAP: Duration = Duration::seconds(60);
/// The wait before a method's first bundle after its singles, and between
/// its first [`STEADY`] bundles (a burst is told within a second); after
/// those it doubles with each bundle, up to [`GAP`].
pub const FIRST_GAP: Duration = Duration::milliseconds(250);
/// Bundles a method sends [`FIRST_GAP`] apart before the wait grows.
pub const STEADY: usize = 4;
/// Most messages one bundle takes in one round; the rest follow in the
/// next bundle.
pub const MAX_BUNDLE: usize = 500;
/// Summaries a bundle's text lists before "and N more".
pub const LISTED: usize = 5;

/// What a method does with the messages due for it now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plan {
    /// The first this many go out one by one.
    pub singles: usize,
    /// The rest go out now as one bundle (otherwise they wait).
    pub bundle: bool,
    /// When what is not sent now is due again.
    pub wait_until: Option<DateTime<Utc>>,
}

impl Plan {
    /// How many messages it takes now.
    pub fn takes(&self, due: usize) -> usize {
        if self.bundle {
            due.min(self.singles + MAX_BUNDLE)
        } else {
            self.singles.min(due)
        }
    }
}

/// The least time after a method's last message before its next: for SMS
/// and calls always [`GAP`]; for others none until `recent` (messages
/// within [`WINDOW`]) reaches [`SINGLES`], then [`FIRST_GAP`] for
/// [`STEADY`] bundles, then doubling with each bundle up to [`GAP`].
pub fn gap(phone: bool, recent: usize) -> Duration {
    match recent.checked_sub(SINGLES) {
        _ if phone => GAP,
        None => Duration::zero(),
        Some(bundles) if bundles < STEADY => FIRST_GAP,
        Some(bundles) => FIRST_GAP
            .checked_mul(
                1_i32
                    .checked_shl((bundles + 1 - STEADY).min(16) as u32)
                    .unwrap_or(i32::MAX),
            )
            .map_or(GAP, |g| g.min(GAP)),
    }
}

/// The plan for `due` messages of one method (`phone`: SMS or a call) that
/// sent `recent` messages (alone or bundles) within [`WINDOW`], the last
/// at `last`.
pub fn plan(phone: bool, due: usize, recent: usize, last: Option<DateTime<Utc>>, now: DateTime<Utc>) -> Plan {
    let wait = |until| Plan {
        singles: 0,
        bundle: false,
        wait_until: Some(until),
    };
    if let Some(last) = last
        && now < last + gap(phone, recent)
    {
        return wait(last + gap(phone, recent));
    }
    let budget = SINGLES.saturating_sub(recent);
    let singles = if phone {
        // One a minute: the first page on its own when nothing was sent
        // lately, else all that is due in one.
        usize::from(budget > 0 && (recent == 0 || due == 1))
    } else {
        due.min(budget)
    };
    match due - singles {
        0 => Plan {
            singles,
            bundle: false,
            wait_until: None,
        },
        // A bundle of one is that page's own message.
        1 if !phone || singles == 0 => Plan {
            singles: singles + 1,
            bundle: false,
            wait_until: None,
        },
        _ if phone && singles > 0 => Plan {
            singles,
            bundle: false,
            wait_until: Some(now + GAP),
        },
        _ => Plan {
            singles,
            bundle: true,
            wait_until: None,
        },
    }
}

/// Teams a bundle's title names before "and N more teams".
const TITLE_TEAMS: usize = 3;

/// A bundle's title: "14 more pages firing for Platform", or with several
/// teams "14 more pages firing — Platform, Storage".
pub fn title(count: usize, teams: &[String]) -> String {
    let pages = if count == 1 { "page" } else { "pages" };
    match teams {
        [one] => format!("{count} more {pages} firing for {one}"),
        _ if teams.len() > TITLE_TEAMS => format!(
            "{count} more {pages} firing — {} and {} more teams",
            teams[..TITLE_TEAMS].join(", "),
            teams.len() - TITLE_TEAMS
        ),
        _ => format!("{count} more {pages} firing — {}", teams.join(", ")),
    }
}

/// What a bundle's "acknowledge all" link stands for: one bundle, one
/// person, until it expires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BundleLink {
    pub bundle_id: i64,
    pub user_id: i64,
    pub expires: i64,
}

/// Bundle tokens start so; an acknowledge link's starts with a number.
const PREFIX: &str = "all.";

fn mac(key: &[u8], link: &BundleLink) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap_or_else(|_| unreachable!("HMAC takes any key"));
    // Its own purpose: an acknowledge link's signature never passes here.
    mac.update(format!("rota-ack-bundle:{}:{}:{}", link.bundle_id, link.user_id, link.expires).as_bytes());
    mac
}

const NOT_GENUINE: &str = "This acknowledge link is not one Rota made; open the link from the message again";

impl BundleLink {
    pub fn new(bundle_id: i64, user_id: i64, now: DateTime<Utc>) -> BundleLink {
        BundleLink {
            bundle_id,
            user_id,
            expires: (now + ACK_LINK_LIFETIME).timestamp(),
        }
    }

    /// Whether `token` claims to be a bundle's (genuine or not).
    pub fn is_bundle(token: &str) -> bool {
        token.starts_with(PREFIX)
    }

    pub fn sign(&self, key: &[u8]) -> String {
        let sig = hex::encode(mac(key, self).finalize().into_bytes());
        format!("{PREFIX}{}.{}.{}.{sig}", self.bundle_id, self.user_id, self.expires)
    }

    /// The link a token stands for, if signed with `key` and current;
    /// `Err` says why not.
    pub fn verify(token: &str, key: &[u8], now: DateTime<Utc>) -> Result<BundleLink, &'static str> {
        let rest = token.strip_prefix(PREFIX).ok_or(NOT_GENUINE)?;
        let parts: Vec<&str> = rest.split('.').collect();
        let [bundle_id, user_id, expires, sig] = parts[..] else {
            return Err(NOT_GENUINE);
        };
        let (Ok(bundle_id), Ok(user_id), Ok(expires)) = (bundle_id.parse(), user_id.parse(), expires.parse()) else {
            return Err(NOT_GENUINE);
        };
        let link = BundleLink {
            bundle_id,
            user_id,
            expires,
        };
        if !hex::decode(sig).is_ok_and(|s| mac(key, &link).verify_slice(&s).is_ok()) {
            return Err(NOT_GENUINE);
        }
        if now.timestamp() >= expires {
            return Err("This acknowledge link has expired; acknowledge the pages in Rota instead");
        }
        Ok(link)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::paging::AckLink;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-03-03T03:08:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    fn sends(singles: usize, bundle: bool) -> Plan {
        Plan {
            singles,
            bundle,
            wait_until: None,
        }
    }

    #[test]
    fn a_quiet_method_sends_the_first_few_alone_and_bundles_the_rest() {
        assert_eq!(plan(false, 1, 0, None, now()), sends(1, false));
        assert_eq!(plan(false, 3, 0, None, now()), sends(3, false));
        // A bundle of one is just that page's message.
        assert_eq!(plan(false, 4, 0, None, now()), sends(4, false));
        assert_eq!(plan(false, 40, 0, None, now()), sends(3, true));
        assert_eq!(plan(false, 40, 2, Some(now()), now()), sends(1, true));
        assert_eq!(plan(false, 40, 0, None, now()).takes(40), 40);
        assert_eq!(plan(false, 900, 0, None, now()).takes(900), SINGLES + MAX_BUNDLE);
    }

    #[test]
    fn a_storming_method_waits_longer_between_bundles_up_to_a_minute() {
        assert_eq!(gap(false, 2), Duration::zero());
        assert_eq!(gap(false, 3), Duration::milliseconds(250));
        assert_eq!(gap(false, 4), Duration::milliseconds(250));
        assert_eq!(gap(false, 6), Duration::milliseconds(250));
        assert_eq!(gap(false, 7), Duration::milliseconds(500));
        assert_eq!(gap(false, 8), Duration::seconds(1));
        assert_eq!(gap(false, 10), Duration::seconds(4));
        assert_eq!(gap(false, 13), Duration::seconds(32));
        assert_eq!(gap(false, 14), GAP);
        assert_eq!(gap(false, 1_000), GAP);
        assert_eq!(gap(true, 0), GAP);
        let last = now() - Duration::milliseconds(700);
        let waiting = plan(false, 10, 8, Some(last), now());
        assert_eq!(waiting.wait_until, Some(last + Duration::seconds(1)));
        assert_eq!(waiting.takes(10), 0);
        assert_eq!(plan(false, 10, 3, Some(last), now()), sends(0, true));
        assert_eq!(
            plan(false, 1, 8, Some(now() - Duration::seconds(1)), now()),
            sends(1, false)
        );
        // Below the storm, no waiting.
        assert_eq!(plan(false, 1, 2, Some(now()), now()), sends(1, false));
    }

    #[test]
    fn sms_and_calls_go_once_a_minute_the_first_alone_then_bundled() {
        let texted = now() - Duration::seconds(59);
        assert_eq!(plan(true, 1, 1, Some(texted), now()).wait_until, Some(texted + GAP));
        assert_eq!(plan(true, 1, 0, None, now()), sends(1, false));
        // Many at once on a quiet phone: the first now, the rest in a minute.
        let first = plan(true, 40, 0, None, now());
        assert_eq!((first.singles, first.bundle), (1, false));
        assert_eq!(first.wait_until, Some(now() + GAP));
        assert_eq!(first.takes(40), 1);
        // A minute later the rest go in one.
        assert_eq!(plan(true, 39, 1, Some(now() - GAP), now()), sends(0, true));
        assert_eq!(plan(true, 1, 1, Some(now() - GAP), now()), sends(1, false));
        assert_eq!(plan(true, 1, 5, Some(now() - GAP), now()), sends(1, false));
    }

    #[test]
    fn titles_name_the_team_or_the_teams() {
        assert_eq!(title(14, &["Platform".into()]), "14 more pages firing for Platform");
        assert_eq!(
            title(2, &["Platform".into(), "Storage".into()]),
            "2 more pages firing — Platform, Storage"
        );
        let five: Vec<String> = ["A", "B", "C", "D", "E"].map(String::from).into();
        assert_eq!(title(9, &five), "9 more pages firing — A, B, C and 2 more teams");
    }

    #[test]
    fn bundle_links_are_signed_single_purpose_and_expire() {
        let token = BundleLink::new(12, 3, now()).sign(b"key");
        assert!(BundleLink::is_bundle(&token));
        assert_eq!(BundleLink::verify(&token, b"key", now()).unwrap().bundle_id, 12);
        assert!(BundleLink::verify(&token, b"other", now()).is_err());
        assert!(BundleLink::verify(&token.replacen("12.", "13.", 1), b"key", now()).is_err());
        assert!(BundleLink::verify(&token, b"key", now() + ACK_LINK_LIFETIME).is_err());
        // Neither passes for the other.
        let page = AckLink::new(12, 3, now()).sign(b"key");
        assert!(!BundleLink::is_bundle(&page));
        assert!(BundleLink::verify(&format!("all.{page}"), b"key", now()).is_err());
        assert!(AckLink::verify(&token, b"key", now()).is_err());
        assert!(BundleLink::verify("all.1.2", b"key", now()).is_err());
    }
}
