//! What every handler and job shares: the pool, the caches, the settings,
//! the clock and the outgoing senders. Apart from the router (`app`), so
//! that handlers and jobs do not import the module that imports them.

use std::sync::Arc;

use sqlx::PgPool;

use crate::cache::Caches;
use crate::clock::Clock;
use crate::config::Settings;
use crate::mail::Mailer;
use crate::ops::Ctx;
use crate::outgoing::Outgoing;
use crate::throttle::Throttle;

/// Cloned for every extractor of every request: one reference count to
/// bump, not one per shared part (each a contended atomic on two cores).
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl AppState {
    pub fn new(shared: Shared) -> Self {
        AppState(Arc::new(shared))
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// What `AppState` holds.
pub struct Shared {
    /// For queries: Postgres itself, or PgBouncer in front of it.
    pub db: PgPool,
    /// Straight to Postgres (`DATABASE_LISTEN_URL`) for what needs a
    /// session of its own: LISTEN and the schedule job's lock. The same
    /// pool as `db` unless `DATABASE_LISTEN_URL` is set.
    pub direct: PgPool,
    pub caches: Arc<Caches>,
    pub settings: Arc<Settings>,
    pub clock: Clock,
    /// Set when `ROTA_SMTP_URL` is: notifications also go out by e-mail.
    pub mailer: Option<Arc<Mailer>>,
    /// Sends requests to user-given URLs (chat webhooks) under the
    /// outgoing policy in the settings.
    pub outgoing: Outgoing,
    /// Per-token limits and the record of token use.
    pub throttle: Arc<Throttle>,
    /// The writers that record tools' new pages in batches.
    pub ingest: crate::ops::ingest::Ingest,
    /// The single sign-on provider, when `ROTA_OIDC_ISSUER` is set.
    pub sso: Option<Arc<crate::ops::sso::Provider>>,
    /// SMS and calls, when `ROTA_TWILIO_*` are set.
    pub twilio: Option<crate::ops::paging::twilio::Twilio>,
}

impl AppState {
    /// What sends pages and test messages.
    pub fn pager(&self) -> crate::ops::paging::Pager {
        crate::ops::paging::Pager {
            outgoing: self.outgoing.clone(),
            mailer: self.mailer.clone(),
            base_url: self.settings.base_url.clone(),
            twilio: self.twilio.clone(),
        }
    }

    /// Refuses (429) a confirmation text or call beyond the person's
    /// hourly allowance, before the method is stored. Other kinds, and
    /// phone methods while no provider is set (nothing is sent), pass.
    pub fn admit_phone_test(&self, user_id: i64, kind: &str) -> crate::error::AppResult<()> {
        if self.twilio.is_none() || !matches!(kind.trim(), "sms" | "voice") {
            return Ok(());
        }
        self.throttle
            .admit_phone_test(user_id)
            .map_err(|retry_after_secs| crate::error::AppError::RateLimited {
                message: format!(
                    "You have started {} confirmation texts or calls this hour; add this number again in {} minutes",
                    crate::throttle::PHONE_TESTS_AN_HOUR,
                    retry_after_secs.div_ceil(60)
                ),
                retry_after_secs,
            })
    }

    /// What the use cases in `ops` need besides a connection.
    pub fn ctx(&self) -> Ctx {
        Ctx {
            clock: self.clock.clone(),
            mail: self.mailer.is_some(),
        }
    }
}
