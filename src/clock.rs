//! The one source of "now", so tests can fix it.

use chrono::{DateTime, Utc};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

#[derive(Clone, Default)]
pub struct Clock(Option<Arc<Fixed>>);

/// A clock that only moves when told, and remembers the waits asked of it.
struct Fixed {
    now: RwLock<DateTime<Utc>>,
    waits: Mutex<Vec<Duration>>,
}

impl Clock {
    pub fn system() -> Self {
        Clock(None)
    }

    /// A clock that stands still at `at` until [`Clock::set`] moves it.
    pub fn fixed(at: DateTime<Utc>) -> Self {
        Clock(Some(Arc::new(Fixed {
            now: RwLock::new(at),
            waits: Mutex::new(Vec::new()),
        })))
    }

    pub fn now(&self) -> DateTime<Utc> {
        match &self.0 {
            None => Utc::now(),
            Some(f) => *f.now.read().unwrap_or_else(|e| e.into_inner()),
        }
    }

    /// Moves a fixed clock; does nothing to the system clock.
    pub fn set(&self, at: DateTime<Utc>) {
        if let Some(f) = &self.0 {
            *f.now.write().unwrap_or_else(|e| e.into_inner()) = at;
        }
    }

    /// Waits `duration` on the system clock. A fixed clock only notes the
    /// wait (see [`Clock::waits`]) and returns at once, so tests that make
    /// Rota wait stay fast and can say how long it would have waited.
    pub async fn wait(&self, duration: Duration) {
        match &self.0 {
            None => tokio::time::sleep(duration).await,
            Some(f) => f.waits.lock().unwrap_or_else(|e| e.into_inner()).push(duration),
        }
    }

    /// The waits asked of a fixed clock so far, in order (none on the
    /// system clock).
    pub fn waits(&self) -> Vec<Duration> {
        match &self.0 {
            None => Vec::new(),
            Some(f) => f.waits.lock().unwrap_or_else(|e| e.into_inner()).clone(),
        }
    }
}
