//! Single-use links sent by e-mail: an invitation to set up an account, and
//! a password reset. What decides whether one still works, and how long each
//! kind lives.

use chrono::{DateTime, Duration, Utc};

/// How long an invitation link works.
pub const INVITATION_VALID: Duration = Duration::days(7);

/// How long a password reset link works: short, since it is as good as the
/// password for whoever reads the mailbox.
pub const RESET_VALID: Duration = Duration::hours(1);

/// Why a link no longer works. `Unknown` covers a mistyped or forged link
/// (Rota stores only the SHA-256 of each link's secret, so it cannot say
/// more).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkProblem {
    Unknown,
    Expired {
        at: DateTime<Utc>,
    },
    Used,
    /// Withdrawn by whoever sent it, or replaced by a newer link.
    Revoked,
}

/// What is known of a stored link when it is opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stored {
    pub expires_at: DateTime<Utc>,
    pub used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// Whether a stored link works at `now`. Used and revoked say so whatever
/// the time, since that tells its holder more than "expired" would.
pub fn check(link: Stored, now: DateTime<Utc>) -> Result<(), LinkProblem> {
    if link.used_at.is_some() {
        Err(LinkProblem::Used)
    } else if link.revoked_at.is_some() {
        Err(LinkProblem::Revoked)
    } else if link.expires_at <= now {
        Err(LinkProblem::Expired { at: link.expires_at })
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().expect("instant")
    }

    #[test]
    fn a_link_works_until_it_expires_is_used_or_revoked() {
        let sent = at("2026-12-01T10:00:00Z");
        let link = Stored {
            expires_at: sent + INVITATION_VALID,
            used_at: None,
            revoked_at: None,
        };
        assert_eq!(check(link, sent), Ok(()));
        assert_eq!(check(link, at("2026-12-08T09:59:59Z")), Ok(()));
        assert_eq!(
            check(link, at("2026-12-08T10:00:00Z")),
            Err(LinkProblem::Expired {
                at: at("2026-12-08T10:00:00Z")
            })
        );
        let used = Stored {
            used_at: Some(sent),
            ..link
        };
        assert_eq!(check(used, at("2027-01-01T00:00:00Z")), Err(LinkProblem::Used));
        let revoked = Stored {
            revoked_at: Some(sent),
            ..link
        };
        assert_eq!(check(revoked, sent), Err(LinkProblem::Revoked));
    }
}
