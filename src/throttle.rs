//! Limits per API and integration token, and the once-a-minute record of
//! when each token was last used.
//!
//! Both live in this process: with several `rota serve` processes behind a
//! balancer, each allows a token its rate, which is acceptable for limits
//! this generous (they stop runaway scripts and alert storms, not
//! attackers — a token already is the key). Sign-in failures, which guard
//! against attackers, are counted in Postgres instead (`db::sign_ins`).

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use governor::middleware::NoOpMiddleware;
use governor::nanos::Nanos;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};

use crate::clock::Clock;
use crate::config::{Limits, Rate};

/// A token's last use is written at most this often.
pub const RECORD_USE_EVERY: chrono::Duration = chrono::Duration::minutes(1);

/// Beyond this many tokens the memo of recorded uses starts again.
const MAX_REMEMBERED: usize = 10_000;

/// Confirmation texts and calls one person may start in an hour (per
/// process): adding and removing a phone method again and again must not
/// text any number Rota's sender can reach.
pub const PHONE_TESTS_AN_HOUR: u32 = 5;

/// Rota's clock as governor's, so a test's fixed clock holds the limiters
/// still too and a burst is an exact number of requests.
#[derive(Clone)]
struct AppTime(Clock);

impl governor::clock::Clock for AppTime {
    type Instant = Nanos;

    fn now(&self) -> Nanos {
        let nanos = self.0.now().timestamp_nanos_opt().unwrap_or(0);
        Nanos::from(u64::try_from(nanos).unwrap_or(0))
    }
}

type KeyedLimiter = RateLimiter<i64, DefaultKeyedStateStore<i64>, AppTime, NoOpMiddleware<Nanos>>;

/// Which kind of token a limit or a use is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TokenKind {
    Personal,
    Integration,
}

pub struct Throttle {
    clock: Clock,
    personal: KeyedLimiter,
    integration: KeyedLimiter,
    /// Confirmation texts and calls a person may have sent: each costs
    /// money and goes to any number they type.
    phone_tests: KeyedLimiter,
    recorded: Mutex<HashMap<(TokenKind, i64), DateTime<Utc>>>,
}

fn limiter(rate: Rate, clock: &Clock) -> KeyedLimiter {
    let one = NonZeroU32::MIN;
    let quota = Quota::per_second(NonZeroU32::new(rate.per_second).unwrap_or(one))
        .allow_burst(NonZeroU32::new(rate.burst).unwrap_or(one));
    RateLimiter::new(quota, DefaultKeyedStateStore::default(), AppTime(clock.clone()))
}

impl Throttle {
    pub fn new(limits: &Limits, clock: Clock) -> Self {
        Throttle {
            personal: limiter(limits.personal_token, &clock),
            integration: limiter(limits.integration_token, &clock),
            phone_tests: RateLimiter::new(
                Quota::with_period(std::time::Duration::from_secs(3600 / PHONE_TESTS_AN_HOUR as u64))
                    .unwrap_or(Quota::per_hour(NonZeroU32::MIN))
                    .allow_burst(NonZeroU32::new(PHONE_TESTS_AN_HOUR).unwrap_or(NonZeroU32::MIN)),
                DefaultKeyedStateStore::default(),
                AppTime(clock.clone()),
            ),
            clock,
            recorded: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one request from the token's allowance; `Err` holds how long
    /// to wait before the next one is allowed (whole seconds, at least 1).
    pub fn admit(&self, kind: TokenKind, token_id: i64) -> Result<(), u64> {
        let limiter = match kind {
            TokenKind::Personal => &self.personal,
            TokenKind::Integration => &self.integration,
        };
        limiter.check_key(&token_id).map_err(|not_until| {
            let now = governor::clock::Clock::now(&AppTime(self.clock.clone()));
            let wait = not_until.wait_time_from(now);
            (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1)
        })
    }

    /// Takes one confirmation text or call from the person's allowance
    /// ([`PHONE_TESTS_AN_HOUR`]); `Err` as for [`Throttle::admit`].
    pub fn admit_phone_test(&self, user_id: i64) -> Result<(), u64> {
        self.phone_tests.check_key(&user_id).map_err(|not_until| {
            let now = governor::clock::Clock::now(&AppTime(self.clock.clone()));
            let wait = not_until.wait_time_from(now);
            (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1)
        })
    }

    /// Whether this token's use at `now` should be written: not when this
    /// process wrote it less than [`RECORD_USE_EVERY`] ago, nor when the
    /// database already says so (`last_used_at` as last read). Marks it
    /// written when it answers yes.
    pub fn should_record_use(
        &self,
        kind: TokenKind,
        token_id: i64,
        last_used_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> bool {
        let fresh = |at: DateTime<Utc>| now - at < RECORD_USE_EVERY;
        if last_used_at.is_some_and(fresh) {
            return false;
        }
        let mut recorded = self.recorded.lock().unwrap_or_else(|e| e.into_inner());
        if recorded.get(&(kind, token_id)).is_some_and(|at| fresh(*at)) {
            return false;
        }
        if recorded.len() >= MAX_REMEMBERED {
            recorded.clear();
        }
        recorded.insert((kind, token_id), now);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().expect("instant")
    }

    #[test]
    fn a_token_gets_its_burst_then_waits_for_the_rate() {
        let clock = Clock::fixed(at("2026-12-01T10:00:00Z"));
        let limits = Limits {
            personal_token: Rate {
                per_second: 1,
                burst: 3,
            },
            ..Limits::default()
        };
        let throttle = Throttle::new(&limits, clock.clone());
        for _ in 0..3 {
            assert_eq!(throttle.admit(TokenKind::Personal, 7), Ok(()));
        }
        assert_eq!(throttle.admit(TokenKind::Personal, 7), Err(1));
        // Another token, and the same id as an integration, are apart.
        assert_eq!(throttle.admit(TokenKind::Personal, 8), Ok(()));
        assert_eq!(throttle.admit(TokenKind::Integration, 7), Ok(()));
        clock.set(at("2026-12-01T10:00:01Z"));
        assert_eq!(throttle.admit(TokenKind::Personal, 7), Ok(()));
    }

    #[test]
    fn a_use_is_recorded_at_most_once_a_minute() {
        let clock = Clock::fixed(at("2026-12-01T10:00:00Z"));
        let throttle = Throttle::new(&Limits::default(), clock);
        let t0 = at("2026-12-01T10:00:00Z");
        assert!(throttle.should_record_use(TokenKind::Personal, 1, None, t0));
        let t1 = at("2026-12-01T10:00:59Z");
        assert!(!throttle.should_record_use(TokenKind::Personal, 1, None, t1));
        assert!(throttle.should_record_use(TokenKind::Integration, 1, None, t1));
        // Written by another process a moment ago: not again.
        assert!(!throttle.should_record_use(TokenKind::Personal, 2, Some(t0), t1));
        let t2 = at("2026-12-01T10:01:00Z");
        assert!(throttle.should_record_use(TokenKind::Personal, 1, Some(t0), t2));
    }
}
