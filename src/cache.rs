//! In-process caches for the hot read paths: who a token or session is,
//! which teams they may see, and who is on call.
//!
//! They are correct across several `rota serve` processes because every
//! change to the tables behind them fires a Postgres NOTIFY (migration
//! 0002) that makes each process drop its caches. The caches are only used
//! while this process is listening; a lost connection turns them off until
//! the listener is back. A write request also drops this process's caches
//! as soon as it has been answered, so its own next read is fresh.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use sqlx::postgres::PgListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::db::integrations::Integration;
use crate::db::leave::NeedsCover;
use crate::db::recovery::RecoveryDay;
use crate::db::rotations::{Rotation, Version};
use crate::db::shifts::ShiftView;
use crate::db::teams::Team;
use crate::db::tokens::ApiToken;
use crate::db::users::User;
use crate::ops::handoffs::Handoff;

pub const CHANNEL: &str = "rota_changed";

/// A safety net: nothing is kept longer than this even if a notification
/// were missed.
const TTL: Duration = Duration::from_secs(30);
/// Beyond this many entries a map starts again, bounding memory.
const MAX_ENTRIES: usize = 10_000;

struct Map<K, V> {
    entries: RwLock<HashMap<K, (V, Instant)>>,
}

impl<K: Eq + Hash, V: Clone> Map<K, V> {
    fn new() -> Self {
        Map {
            entries: RwLock::new(HashMap::new()),
        }
    }

    fn get(&self, key: &K) -> Option<V> {
        let entries = self.entries.read().unwrap_or_else(|e| e.into_inner());
        entries
            .get(key)
            .filter(|(_, at)| at.elapsed() < TTL)
            .map(|(v, _)| v.clone())
    }

    /// Keeps `value` unless the caches were cleared since generation `seen`
    /// (the value may then predate the change that cleared them).
    fn put(&self, generation: &AtomicU64, seen: u64, key: K, value: V) {
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        if generation.load(Ordering::Acquire) != seen {
            return;
        }
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(key, (value, Instant::now()));
    }

    fn clear(&self) {
        self.entries.write().unwrap_or_else(|e| e.into_inner()).clear();
    }
}

/// Who was on call in a team over `[from, until)`: the same answer for any
/// instant in that span, until the schedule changes.
#[derive(Clone)]
pub struct OnCallSnapshot {
    pub from: DateTime<Utc>,
    pub until: DateTime<Utc>,
    pub shifts: Vec<ShiftView>,
}

/// What the rota page shows besides the shifts, for a team over whole UTC
/// days: the shifts that need cover, the recovery days, the handoffs.
/// Anything that depends on "now" is worked out when the page is drawn.
pub struct RotaExtras {
    pub needs_cover: Vec<NeedsCover>,
    pub recovery: Vec<RecoveryDay>,
    pub handoffs: Vec<Handoff>,
}

pub struct Caches {
    listening: AtomicBool,
    generation: AtomicU64,
    tokens: Map<Vec<u8>, ApiToken>,
    integrations: Map<Vec<u8>, (Integration, Team)>,
    users: Map<i64, User>,
    access: Map<(i64, String), (Team, Option<String>)>,
    rotations: Map<i64, Vec<(Rotation, Version)>>,
    on_call: Map<i64, OnCallSnapshot>,
    windows: Map<i64, Window>,
    rota_extras: Map<(i64, chrono::NaiveDate, chrono::NaiveDate), Arc<RotaExtras>>,
    nav_counts: Map<i64, (i64, Option<i64>)>,
    cleared: watch::Sender<u64>,
    listening_changed: watch::Sender<bool>,
}

impl Default for Caches {
    fn default() -> Self {
        Caches {
            listening: AtomicBool::new(false),
            generation: AtomicU64::new(0),
            tokens: Map::new(),
            integrations: Map::new(),
            users: Map::new(),
            access: Map::new(),
            rotations: Map::new(),
            on_call: Map::new(),
            windows: Map::new(),
            rota_extras: Map::new(),
            nav_counts: Map::new(),
            cleared: watch::channel(0).0,
            listening_changed: watch::channel(false).0,
        }
    }
}

macro_rules! cached {
    ($get:ident, $put:ident, $field:ident, $k:ty, $v:ty) => {
        pub fn $get(&self, key: &$k) -> Option<$v> {
            self.on().then(|| self.$field.get(key)).flatten()
        }

        pub fn $put(&self, seen: u64, key: $k, value: $v) {
            if self.on() {
                self.$field.put(&self.generation, seen, key, value);
            }
        }
    };
}

impl Caches {
    fn on(&self) -> bool {
        self.listening.load(Ordering::Acquire)
    }

    cached!(token, put_token, tokens, Vec<u8>, ApiToken);
    cached!(user, put_user, users, i64, User);
    cached!(integration, put_integration, integrations, Vec<u8>, (Integration, Team));
    cached!(access, put_access, access, (i64, String), (Team, Option<String>));
    cached!(rotations, put_rotations, rotations, i64, Vec<(Rotation, Version)>);
    cached!(
        rota_extras,
        put_rota_extras,
        rota_extras,
        (i64, chrono::NaiveDate, chrono::NaiveDate),
        Arc<RotaExtras>
    );
    cached!(nav_counts, put_nav_counts, nav_counts, i64, (i64, Option<i64>));

    /// The team's on-call snapshot covering `at`, if there is one.
    pub fn on_call(&self, team_id: i64, at: DateTime<Utc>) -> Option<Vec<ShiftView>> {
        let snapshot = self.on().then(|| self.on_call.get(&team_id)).flatten()?;
        (snapshot.from <= at && at < snapshot.until).then_some(snapshot.shifts)
    }

    pub fn put_on_call(&self, seen: u64, team_id: i64, snapshot: OnCallSnapshot) {
        if self.on() {
            self.on_call.put(&self.generation, seen, team_id, snapshot);
        }
    }

    /// Read this before a database read whose result may be cached.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    pub fn clear(&self) {
        // First the generation, so a read that started before this clear
        // cannot store its result after it.
        self.generation.fetch_add(1, Ordering::AcqRel);
        self.tokens.clear();
        self.integrations.clear();
        self.users.clear();
        self.access.clear();
        self.rotations.clear();
        self.on_call.clear();
        self.windows.clear();
        self.rota_extras.clear();
        self.nav_counts.clear();
        self.cleared.send_modify(|n| *n += 1);
    }

    /// Counts clears, so a test can wait for a notification to land.
    pub fn clears(&self) -> watch::Receiver<u64> {
        self.cleared.subscribe()
    }

    /// Whether the caches are in use (this process hears of changes).
    pub fn listening(&self) -> watch::Receiver<bool> {
        self.listening_changed.subscribe()
    }

    fn set_listening(&self, on: bool) {
        self.clear();
        self.listening.store(on, Ordering::Release);
        self.listening_changed.send_replace(on);
    }
}

/// Listens for change notifications for as long as the process serves.
pub fn spawn_listener(pool: PgPool, caches: Arc<Caches>) -> JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            match listen(&pool, &caches).await {
                Ok(()) => tracing::warn!("change notifications interrupted; caches off until they resume"),
                Err(e) => tracing::warn!(error = %e, "cannot listen for changes; caches off"),
            }
            caches.set_listening(false);
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    })
}

async fn listen(pool: &PgPool, caches: &Caches) -> sqlx::Result<()> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener.listen(CHANNEL).await?;
    caches.set_listening(true);
    // `None` means the connection dropped and notifications may be lost.
    while listener.try_recv().await?.is_some() {
        caches.clear();
    }
    Ok(())
}

/// The shifts of a team over a window, kept for the rota page.
#[derive(Clone)]
pub struct Window {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub shifts: Vec<ShiftView>,
}

impl Caches {
    /// Cached shifts of the team covering `[from, to)`, if a wider window is kept.
    pub fn window(&self, team_id: i64, from: DateTime<Utc>, to: DateTime<Utc>) -> Option<Vec<ShiftView>> {
        let w = self.on().then(|| self.windows.get(&team_id)).flatten()?;
        (w.from <= from && to <= w.to).then(|| {
            w.shifts
                .into_iter()
                .filter(|s| s.ends_at > from && s.starts_at < to)
                .collect()
        })
    }

    pub fn put_window(&self, seen: u64, team_id: i64, window: Window) {
        if self.on() {
            self.windows.put(&self.generation, seen, team_id, window);
        }
    }
}
