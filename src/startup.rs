//! Building and running the server, so `main` and the tests start the same
//! thing.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;

use crate::app::router;
use crate::cache::{Caches, spawn_listener};
use crate::clock::Clock;
use crate::config::Settings;
use crate::db::Pools;
use crate::mail::Mailer;
use crate::ops::paging::twilio::Twilio;
use crate::outgoing::Outgoing;
use crate::state::AppState;
use crate::throttle::Throttle;
use crate::{db, jobs};

pub struct Application {
    listener: TcpListener,
    state: AppState,
    run_jobs: bool,
}

impl Application {
    /// Connects (creating and migrating the database if needed) and binds
    /// the listener; `ROTA_LISTEN` port 0 picks a free port.
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let pools = db::connect(&settings.database(), settings.db_pool_size).await?;
        let listener = TcpListener::bind(settings.listen)
            .await
            .map_err(|e| anyhow::anyhow!(e).context(format!("could not listen on {}", settings.listen)))?;
        Self::with_parts(listener, pools, settings, Clock::system())
    }

    /// For tests: existing pools (`PgPool::into()` for one pool for
    /// everything) and listener, and a clock of their choice.
    pub fn with_parts(listener: TcpListener, pools: Pools, settings: Settings, clock: Clock) -> anyhow::Result<Self> {
        let Pools { db, direct } = pools;
        let mailer = Mailer::from_settings(&settings)?.map(Arc::new);
        let outgoing = Outgoing::new(settings.outgoing.clone())?;
        let throttle = Arc::new(Throttle::new(&settings.limits, clock.clone()));
        let sso = match &settings.sign_in.oidc {
            Some(oidc) => Some(Arc::new(crate::ops::sso::Provider::new(
                oidc.clone(),
                &settings.base_url,
            )?)),
            None => None,
        };
        let twilio = settings.twilio.clone().map(Twilio::new).transpose()?;
        let state = AppState::new(crate::state::Shared {
            sso,
            twilio,
            ingest: crate::ops::ingest::Ingest::new(db.clone()),
            db,
            direct,
            caches: Arc::new(Caches::default()),
            settings: Arc::new(settings),
            clock,
            mailer,
            outgoing,
            throttle,
        });
        Ok(Application {
            listener,
            state,
            run_jobs: true,
        })
    }

    /// Leaves the background jobs off (tests run them by hand).
    pub fn without_jobs(mut self) -> Self {
        self.run_jobs = false;
        self
    }

    pub fn port(&self) -> u16 {
        self.listener.local_addr().map(|a| a.port()).unwrap_or(0)
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `shutdown` completes, then finishes in-flight requests.
    pub async fn run_until_stopped(self, shutdown: impl Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
        crate::password::prepare().await;
        let jobs = self.run_jobs.then(|| jobs::spawn(self.state.clone()));
        // LISTEN needs a session: not through PgBouncer.
        let listener = spawn_listener(self.state.direct.clone(), self.state.caches.clone());
        let app = router(self.state);
        tracing::info!(address = %self.listener.local_addr()?, "serving");
        // The peer's address is what sign-in limits count by (`auth::client`).
        let app = app.into_make_service_with_connect_info::<SocketAddr>();
        axum::serve(self.listener, app).with_graceful_shutdown(shutdown).await?;
        listener.abort();
        if let Some(handle) = jobs {
            handle.abort();
        }
        Ok(())
    }
}

/// Completes on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}
