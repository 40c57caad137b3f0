//! How sign-in failures slow down guessing without locking anyone out.
//!
//! Failures are counted over a sliding [`WINDOW`]. Per client address there
//! is a ceiling (the attacker's own address is refused); per account there
//! is only a growing wait before the password is checked, so whoever knows
//! the right password still gets in — an attacker who knows an e-mail
//! cannot keep its owner out.

use std::time::Duration;

use chrono::{DateTime, Utc};

/// The span over which failures count.
pub const WINDOW: chrono::Duration = chrono::Duration::minutes(15);

/// Failures on one account before attempts on it start to wait.
pub const FREE_FAILURES: i64 = 3;

/// The longest wait: long enough to make guessing slow, short enough that
/// the on-call engineer signing in during an incident barely notices.
pub const MAX_WAIT: Duration = Duration::from_secs(10);

/// How long an attempt on an account waits before its password is checked,
/// given the account's failures in the window before it: nothing for the
/// first [`FREE_FAILURES`], then 1 s, 2 s, 4 s, 8 s, then [`MAX_WAIT`].
pub fn account_wait(failures_before: i64) -> Duration {
    if failures_before < FREE_FAILURES {
        return Duration::ZERO;
    }
    let doublings = u32::try_from(failures_before - FREE_FAILURES)
        .unwrap_or(u32::MAX)
        .min(8);
    Duration::from_secs(1u64 << doublings).min(MAX_WAIT)
}

/// When an address that has reached its ceiling may try again: once its
/// oldest failure in the window has left it. At least one second.
pub fn retry_after(oldest_failure: DateTime<Utc>, now: DateTime<Utc>) -> Duration {
    let left = (oldest_failure + WINDOW - now).num_seconds().max(1);
    Duration::from_secs(u64::try_from(left).unwrap_or(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_account_waits_longer_with_each_failure_up_to_a_ceiling() {
        let waits: Vec<u64> = (0..10).map(|n| account_wait(n).as_secs()).collect();
        assert_eq!(waits, [0, 0, 0, 1, 2, 4, 8, 10, 10, 10]);
        assert_eq!(account_wait(i64::MAX), MAX_WAIT);
    }

    #[test]
    fn an_address_may_try_again_when_its_oldest_failure_leaves_the_window() {
        let at = |s: &str| s.parse::<DateTime<Utc>>().expect("instant");
        let oldest = at("2026-12-01T10:00:00Z");
        assert_eq!(retry_after(oldest, at("2026-12-01T10:05:00Z")).as_secs(), 600);
        assert_eq!(retry_after(oldest, at("2026-12-01T10:20:00Z")).as_secs(), 1);
    }
}
