//! Argon2id password hashing, off the async runtime's threads.

use std::sync::LazyLock;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng};

pub fn hash_blocking(password: &str) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("hashing a password: {e}"))
}

pub async fn hash(password: String) -> anyhow::Result<String> {
    tokio::task::spawn_blocking(move || hash_blocking(&password)).await?
}

/// A hash of a random secret nobody knows, checked against when an account
/// has no password, so an answer takes the same time whether or not an
/// account (or its password) exists. Made once per process, at start-up
/// (see [`prepare`]), never while a request waits.
static DUMMY: LazyLock<String> = LazyLock::new(|| {
    hash_blocking(&crate::secrets::random_secret()).unwrap_or_else(|e| {
        tracing::error!(error = %e, "no dummy password hash");
        String::new()
    })
});

/// Makes the dummy hash now, so the first sign-in does not pay for it.
pub async fn prepare() {
    let _ = tokio::task::spawn_blocking(|| LazyLock::force(&DUMMY).len()).await;
}

/// Checks a password against a stored hash. An account without one (made
/// for an invitation or single sign-on) never signs in by password: the
/// check still spends the same work on the dummy hash, then says no.
pub async fn verify(password: String, stored: Option<String>) -> anyhow::Result<bool> {
    tokio::task::spawn_blocking(move || verify_blocking(&password, stored.as_deref())).await?
}

fn verify_blocking(password: &str, stored: Option<&str>) -> anyhow::Result<bool> {
    let (hash, real) = match stored {
        Some(h) => (h, true),
        None => (DUMMY.as_str(), false),
    };
    let parsed = PasswordHash::new(hash).map_err(|e| anyhow::anyhow!("stored hash: {e}"))?;
    let matches = Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok();
    Ok(real && matches)
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;

    #[test]
    fn an_account_without_a_password_matches_no_password() {
        for guess in ["", "not a real password", "x"] {
            assert!(!verify_blocking(guess, None).unwrap(), "{guess:?}");
        }
        let stored = hash_blocking("a long enough secret").unwrap();
        assert!(verify_blocking("a long enough secret", Some(&stored)).unwrap());
        assert!(!verify_blocking("a wrong secret", Some(&stored)).unwrap());
    }

    /// The dummy hash is made once per process, not on each thread that
    /// checks a password: a fresh thread checking an unknown account does
    /// one Argon2 computation, as for a known one, not two.
    #[test]
    fn checking_an_unknown_account_on_a_fresh_thread_costs_one_hash() {
        LazyLock::force(&DUMMY);
        let stored = hash_blocking("a long enough secret").unwrap();
        let time = |stored: Option<String>| {
            std::thread::spawn(move || {
                let started = Instant::now();
                verify_blocking("guess", stored.as_deref()).unwrap();
                started.elapsed()
            })
            .join()
            .unwrap()
        };
        // The smallest of several runs: noise only ever adds time.
        let known = (0..5).map(|_| time(Some(stored.clone()))).min().unwrap();
        let unknown = (0..5).map(|_| time(None)).min().unwrap();
        assert!(
            unknown.as_secs_f64() < known.as_secs_f64() * 1.5,
            "unknown {unknown:?} vs known {known:?}"
        );
    }
}
