//! In-process caches for the hot read paths: who a token or session is,
//! which teams they may see, who is on call, what the rota page shows,
//! each team's metrics.
//!
//! # The contract
//! Each cache declares the tables its read runs over ([`Cache::tables`]),
//! and a cache is dropped when, and only when, one of those tables changes:
//! - **Other processes** (another `rota serve`, the jobs, the command line,
//!   plain SQL): every declared table has a statement trigger calling
//!   `rota_notify_changed()`, which NOTIFYs [`CHANNEL`] with the table's
//!   name once the change commits (`tests/api/cache.rs` checks the triggers
//!   in `pg_trigger`). The listener clears the caches that declare that
//!   table. A payload that no cache declares, or a lost connection, clears
//!   everything; while not listening the caches are off.
//! - **This process** must read its own writes at once, before its NOTIFY
//!   has come back. After a write request (not GET/HEAD/OPTIONS) that
//!   *succeeded* (1xx–3xx), the router clears: the caches of the tables the
//!   handler said it wrote ([`Wrote`] in the response), or else all of them.
//!   A refused or failed request clears nothing here: if it did commit
//!   something, its NOTIFY still clears what that touched. Ingesting pages
//!   (webhooks, `POST …/pages`) writes `pages` and `recovery_days`, so an
//!   alert storm drops the rota page's extras but not who is on call.
//!
//! A read notes the generation before it reads the database and its result
//! is kept only if its cache was not cleared since ([`Caches::generation`]).
//! Entries also expire after 30 seconds, in case a notification is missed.

mod listener;
mod map;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use chrono::{DateTime, Utc};
use tokio::sync::watch;

use crate::db::integrations::Integration;
use crate::db::leave::NeedsCover;
use crate::db::pages::Report;
use crate::db::recovery::RecoveryDay;
use crate::db::rotations::{Rotation, Version};
use crate::db::shifts::ShiftView;
use crate::db::teams::{MyTeam, Team, TeamRole};
use crate::db::tokens::ApiToken;
use crate::db::users::User;
use crate::ops::directory::TeamOnCall;
use crate::ops::handoffs::Handoff;
use crate::ops::metrics::{FiguresKey, TeamFigures};

pub use listener::{CHANNEL, spawn_listener};
use map::{Clear, Map};

/// The caches, by name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cache {
    Tokens,
    Integrations,
    Users,
    Access,
    Rotations,
    OnCall,
    Windows,
    RotaExtras,
    NavCounts,
    Metrics,
    Sessions,
    MyTeams,
    NowPage,
    KnownBodies,
    Directory,
}

/// What `db::shifts` reads for a `ShiftView`.
const SHIFT_VIEW: &[&str] = &[
    "shifts",
    "rotations",
    "teams",
    "users",
    "rotation_versions",
    "schedule_changes",
];

/// What the rota page's extras read.
const ROTA_EXTRAS: &[&str] = &[
    "memberships",
    "contact_methods",
    "shifts",
    "rotations",
    "teams",
    "users",
    "leave",
    "recovery_days",
    "rotation_versions",
    "handoffs",
    "handoff_acknowledgements",
    "holidays",
];

impl Cache {
    pub const ALL: [Cache; 15] = [
        Cache::Tokens,
        Cache::Integrations,
        Cache::Users,
        Cache::Access,
        Cache::Rotations,
        Cache::OnCall,
        Cache::Windows,
        Cache::RotaExtras,
        Cache::NavCounts,
        Cache::Metrics,
        Cache::Sessions,
        Cache::MyTeams,
        Cache::NowPage,
        Cache::KnownBodies,
        Cache::Directory,
    ];

    /// Every table the read behind this cache runs over (its SQL in `db`).
    /// A table missing here means stale answers after it changes.
    pub const fn tables(self) -> &'static [&'static str] {
        match self {
            // db::tokens::by_hash
            Cache::Tokens => &["api_tokens", "users"],
            // auth::IntegrationCaller::lookup: db::integrations::by_hash, db::teams::by_id
            Cache::Integrations => &["integration_tokens", "teams"],
            // db::users::by_id
            Cache::Users => &["users"],
            // db::teams::with_role
            Cache::Access => &["teams", "memberships"],
            // db::rotations::for_team
            Cache::Rotations => &["rotations", "rotation_versions"],
            // db::shifts::on_call (and the rotations, to judge it complete);
            // db::shifts::for_team
            Cache::OnCall | Cache::Windows => SHIFT_VIEW,
            // db::leave::needs_cover, db::recovery::for_team,
            // ops::handoffs::rotation_rules and ::between (db::handoffs:
            // versions_of, holders, at_boundaries, acknowledgements,
            // recovery_days, holidays), db::teams::members and
            // db::contact_methods::unpageable
            Cache::RotaExtras => ROTA_EXTRAS,
            // db::notifications::nav_counts
            Cache::NavCounts => &["notifications", "memberships", "swap_requests"],
            // auth::sessions::CachedStore (tower-sessions' own table)
            Cache::Sessions => &["tower_sessions.session"],
            // db::teams::for_user
            Cache::MyTeams => &["teams", "memberships"],
            // web::now: web::recovery::for_now, web::handoffs::for_now (as
            // RotaExtras), db::leave::needs_cover, db::swaps::for_user,
            // db::shifts::for_user (a SHIFT_VIEW), db::pages::paging_user
            Cache::NowPage => &[
                "pages",
                "page_messages",
                "shifts",
                "rotations",
                "teams",
                "users",
                "leave",
                "recovery_days",
                "rotation_versions",
                "handoffs",
                "handoff_acknowledgements",
                "holidays",
                "schedule_changes",
                "swap_requests",
                "memberships",
            ],
            // ops::pages::known (db::pages::unchanged)
            Cache::KnownBodies => &["pages"],
            // ops::directory::everyone (db::directory::rows)
            Cache::Directory => &["teams", "rotations", "shifts", "users"],
            // ops::metrics::load (db::metrics: rules, pages, shifts,
            // recovery, people)
            Cache::Metrics => &[
                "teams",
                "holidays",
                "pages",
                "users",
                "shifts",
                "rotations",
                "recovery_days",
                "memberships",
            ],
        }
    }

    /// Whether a change to `table` may change this cache's answers.
    pub fn reads(self, table: &str) -> bool {
        self.tables().contains(&table)
    }
}

/// Every table some cache reads, once each, in order.
pub fn declared_tables() -> Vec<&'static str> {
    let all: BTreeSet<&'static str> = Cache::ALL.iter().flat_map(|c| c.tables().iter().copied()).collect();
    all.into_iter().collect()
}

/// Put in a response's extensions by a write handler: the tables it may
/// have written, so that only the caches reading them are cleared.
/// A handler returns it as a part of its response: `(Wrote(TABLES), Json(..))`.
#[derive(Clone, Copy, Debug)]
pub struct Wrote(pub &'static [&'static str]);

impl axum::response::IntoResponseParts for Wrote {
    type Error = std::convert::Infallible;

    fn into_response_parts(
        self,
        mut res: axum::response::ResponseParts,
    ) -> Result<axum::response::ResponseParts, Self::Error> {
        res.extensions_mut().insert(self);
        Ok(res)
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
    /// Members with no confirmed contact method: `(user_id, name)`.
    pub unpageable: Vec<(i64, String)>,
}

pub struct Caches {
    listening: AtomicBool,
    generation: AtomicU64,
    tokens: Map<Vec<u8>, ApiToken>,
    integrations: Map<Vec<u8>, (Integration, Team)>,
    users: Map<i64, User>,
    access: Map<(i64, String), (Team, Option<TeamRole>)>,
    rotations: Map<i64, Vec<(Rotation, Version)>>,
    on_call: Map<i64, OnCallSnapshot>,
    windows: Map<i64, Window>,
    rota_extras: Map<(i64, chrono::NaiveDate, chrono::NaiveDate), Arc<RotaExtras>>,
    nav_counts: Map<i64, (i64, Option<i64>)>,
    metrics: Map<FiguresKey, Arc<TeamFigures>>,
    sessions: Map<tower_sessions::session::Id, tower_sessions::session::Record>,
    my_teams: Map<(i64, bool), Arc<Vec<MyTeam>>>,
    now_page: Map<(i64, i64), NowPageData>,
    known_bodies: Map<Vec<Report>, Arc<Vec<i64>>>,
    directory: Map<(), DirectorySnapshot>,
    cleared: watch::Sender<u64>,
    heard: watch::Sender<String>,
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
            metrics: Map::new(),
            sessions: Map::new(),
            my_teams: Map::new(),
            now_page: Map::new(),
            known_bodies: Map::new(),
            directory: Map::new(),
            cleared: watch::channel(0).0,
            heard: watch::channel(String::new()).0,
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
                self.$field.put(seen, key, value);
            }
        }
    };
}

impl Caches {
    fn on(&self) -> bool {
        self.listening.load(Ordering::Acquire)
    }

    fn map(&self, cache: Cache) -> &dyn Clear {
        match cache {
            Cache::Tokens => &self.tokens,
            Cache::Integrations => &self.integrations,
            Cache::Users => &self.users,
            Cache::Access => &self.access,
            Cache::Rotations => &self.rotations,
            Cache::OnCall => &self.on_call,
            Cache::Windows => &self.windows,
            Cache::RotaExtras => &self.rota_extras,
            Cache::NavCounts => &self.nav_counts,
            Cache::Metrics => &self.metrics,
            Cache::Sessions => &self.sessions,
            Cache::MyTeams => &self.my_teams,
            Cache::NowPage => &self.now_page,
            Cache::KnownBodies => &self.known_bodies,
            Cache::Directory => &self.directory,
        }
    }

    cached!(token, put_token, tokens, Vec<u8>, ApiToken);
    cached!(user, put_user, users, i64, User);
    cached!(integration, put_integration, integrations, Vec<u8>, (Integration, Team));
    cached!(access, put_access, access, (i64, String), (Team, Option<TeamRole>));
    cached!(rotations, put_rotations, rotations, i64, Vec<(Rotation, Version)>);
    cached!(
        rota_extras,
        put_rota_extras,
        rota_extras,
        (i64, chrono::NaiveDate, chrono::NaiveDate),
        Arc<RotaExtras>
    );
    cached!(nav_counts, put_nav_counts, nav_counts, i64, (i64, Option<i64>));
    cached!(metrics, put_metrics, metrics, FiguresKey, Arc<TeamFigures>);
    cached!(windows, put_window_entry, windows, i64, Window);
    cached!(
        session,
        put_session,
        sessions,
        tower_sessions::session::Id,
        tower_sessions::session::Record
    );
    cached!(my_teams, put_my_teams, my_teams, (i64, bool), Arc<Vec<MyTeam>>);
    cached!(now_page, put_now_page, now_page, (i64, i64), NowPageData);

    /// The page ids of a body known to repeat what is stored.
    pub fn known_body(&self, reports: &[Report]) -> Option<Arc<Vec<i64>>> {
        self.on().then(|| self.known_bodies.get(reports)).flatten()
    }

    pub fn put_known_body(&self, seen: u64, reports: Vec<Report>, ids: Arc<Vec<i64>>) {
        if self.on() {
            self.known_bodies.put(seen, reports, ids);
        }
    }

    /// Every team's holders at `at`, if a snapshot covering it is kept.
    pub fn directory(&self, at: DateTime<Utc>) -> Option<Arc<Vec<TeamOnCall>>> {
        let snapshot = self.on().then(|| self.directory.get(&())).flatten()?;
        (snapshot.from <= at && snapshot.until.is_none_or(|until| at < until)).then_some(snapshot.teams)
    }

    pub fn put_directory(&self, seen: u64, snapshot: DirectorySnapshot) {
        if self.on() {
            self.directory.put(seen, (), snapshot);
        }
    }

    /// The team's on-call snapshot covering `at`, if there is one.
    pub fn on_call(&self, team_id: i64, at: DateTime<Utc>) -> Option<Vec<ShiftView>> {
        let snapshot = self.on().then(|| self.on_call.get(&team_id)).flatten()?;
        (snapshot.from <= at && at < snapshot.until).then_some(snapshot.shifts)
    }

    pub fn put_on_call(&self, seen: u64, team_id: i64, snapshot: OnCallSnapshot) {
        if self.on() {
            self.on_call.put(seen, team_id, snapshot);
        }
    }

    /// Cached shifts of the team covering `[from, to)`, if a wider window is kept.
    pub fn window(&self, team_id: i64, from: DateTime<Utc>, to: DateTime<Utc>) -> Option<Vec<ShiftView>> {
        let w = self.windows(&team_id)?;
        (w.from <= from && to <= w.to).then(|| {
            w.shifts
                .into_iter()
                .filter(|s| s.ends_at > from && s.starts_at < to)
                .collect()
        })
    }

    pub fn put_window(&self, seen: u64, team_id: i64, window: Window) {
        self.put_window_entry(seen, team_id, window);
    }

    /// Read this before a database read whose result may be cached; it
    /// grows with every clear of any cache.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// The generation at which `cache` was last cleared (0: never).
    pub fn cleared_at(&self, cache: Cache) -> u64 {
        self.map(cache).cleared_at()
    }

    /// Clears every cache.
    pub fn clear(&self) {
        self.clear_where(|_| true);
    }

    /// Clears the caches that read any of `tables`; tables no cache reads
    /// change nothing.
    pub fn clear_tables(&self, tables: &[&str]) {
        self.clear_where(|c| tables.iter().any(|t| c.reads(t)));
    }

    /// What the listener does with a notification's payload (a table name):
    /// clears the caches reading that table, or all of them for a payload
    /// no cache declares (a trigger added without its reader declaring it).
    pub fn clear_announced(&self, table: &str) {
        if Cache::ALL.iter().any(|c| c.reads(table)) {
            self.clear_tables(&[table]);
        } else {
            tracing::debug!(table, "change notification for a table no cache declares; clearing all");
            self.clear();
        }
    }

    fn clear_where(&self, affected: impl Fn(Cache) -> bool) {
        // First the generation, so a read that started before this clear
        // cannot store its result after it.
        let generation = self.generation.fetch_add(1, Ordering::AcqRel) + 1;
        for cache in Cache::ALL {
            if affected(cache) {
                self.map(cache).clear(generation);
            }
        }
        self.cleared.send_modify(|n| *n += 1);
    }

    /// Counts clears (of any cache), so a test can wait for a notification
    /// to land.
    pub fn clears(&self) -> watch::Receiver<u64> {
        self.cleared.subscribe()
    }

    /// The payload of the last notification this process acted on, so a
    /// test can wait for one it sent itself (notifications arrive in commit
    /// order: every earlier one has been acted on by then).
    pub fn heard(&self) -> watch::Receiver<String> {
        self.heard.subscribe()
    }

    pub(crate) fn note_heard(&self, payload: &str) {
        self.heard.send_replace(payload.to_owned());
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

/// What the Now page shows one person besides who is on call, read for one
/// minute (the key holds the minute): the page keeps its own type here, so
/// this module need not know the web's.
pub type NowPageData = Arc<dyn std::any::Any + Send + Sync>;

/// The directory of every team, the same for any instant in
/// `[from, until)` (no end: nobody's shift ends or starts later).
#[derive(Clone)]
pub struct DirectorySnapshot {
    pub from: DateTime<Utc>,
    pub until: Option<DateTime<Utc>>,
    pub teams: Arc<Vec<TeamOnCall>>,
}

/// The shifts of a team over a window, kept for the rota page.
#[derive(Clone)]
pub struct Window {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub shifts: Vec<ShiftView>,
}
