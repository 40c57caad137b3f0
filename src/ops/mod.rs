//! Use cases shared by the HTML pages and the JSON API: each validates its
//! input, changes the database inside the caller's transaction, and audits
//! what it changed.

pub mod accounts;
pub mod backup;
pub mod changes;
pub mod chat;
pub mod classify;
pub mod directory;
pub mod handoffs;
pub mod import;
pub mod ingest;
pub mod integrations;
pub mod invitations;
pub mod leave;
pub mod members;
pub mod metrics;
pub mod notifications;
pub mod notify;
pub mod overrides;
pub mod pages;
pub mod paging;
pub mod password_resets;
pub mod policy;
pub mod profile;
pub mod rebalance;
pub mod recovery;
pub mod rotations;
pub mod schedule;
pub mod sign_in;
pub mod sso;
pub mod swaps;
pub mod teams;
pub mod tokens;
pub mod undo;
pub mod users;

use crate::clock::Clock;

/// What an operation needs besides the database: the time, and whether
/// notifications also go out by e-mail.
#[derive(Clone)]
pub struct Ctx {
    pub clock: Clock,
    pub mail: bool,
}
