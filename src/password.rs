//! Argon2id password hashing, off the async runtime's threads, a few at
//! a time: each computation takes 19 MiB of memory, so 64 sign-ins at once
//! would otherwise take over a gigabyte (and the allocator keeps it).

use std::sync::LazyLock;

use tokio::sync::Semaphore;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng};

pub fn hash_blocking(password: &str) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("hashing a password: {e}"))
}

/// How many Argon2 computations run at once: one per core, at most four.
/// More would not finish sooner (each keeps a core busy), only take more
/// memory; the rest wait their turn.
pub fn concurrency() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get()).clamp(1, 4)
}

static PERMITS: LazyLock<Semaphore> = LazyLock::new(|| Semaphore::new(concurrency()));

/// Runs one Argon2 computation on a blocking thread once a permit is free.
async fn bounded<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> anyhow::Result<T> {
    let _permit = PERMITS.acquire().await?;
    Ok(tokio::task::spawn_blocking(work).await?)
}

pub async fn hash(password: String) -> anyhow::Result<String> {
    bounded(move || hash_blocking(&password)).await?
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
    let _ = bounded(|| LazyLock::force(&DUMMY).len()).await;
}

/// Checks a password against a stored hash. An account without one (made
/// for an invitation or single sign-on) never signs in by password: the
/// check still spends the same work on the dummy hash, then says no.
pub async fn verify(password: String, stored: Option<String>) -> anyhow::Result<bool> {
    bounded(move || verify_blocking(&password, stored.as_deref())).await?
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
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::{Duration, Instant};

    use super::*;

    /// Many sign-ins at once queue for a permit rather than each taking a
    /// thread and 19 MiB: never more than `concurrency()` run together.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn password_work_runs_a_few_at_a_time() {
        let active = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..concurrency() * 6)
            .map(|_| {
                let (active, most) = (active.clone(), most.clone());
                tokio::spawn(bounded(move || {
                    let now = active.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(now, Ordering::SeqCst);
                    // Long enough for unbounded work to overlap.
                    std::thread::sleep(Duration::from_millis(20));
                    active.fetch_sub(1, Ordering::SeqCst);
                }))
            })
            .collect();
        for t in tasks {
            t.await.unwrap().unwrap();
        }
        let most = most.load(Ordering::SeqCst);
        assert!((1..=concurrency()).contains(&most), "{most} ran at once");
    }

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
