//! HTML pages. Each area has its own router; they are merged here.

pub mod accounts;
pub mod ack;
mod ack_bundle;
pub mod admin;
pub mod assets;
pub mod charts;
pub mod confirm;
pub mod contact_methods;
pub mod directory;
pub mod fmt;
pub mod forms;
pub mod handoffs;
pub mod history;
pub mod import;
pub mod inbox;
pub mod layout;
pub mod leave;
pub mod metrics;
pub mod now;
pub mod overrides;
pub mod pages;
pub mod profile;
pub mod recovery;
pub mod rota;
pub mod sign_in;
pub mod sso;
pub mod swaps;
pub mod team_escalation;
pub mod team_settings;

use axum::Router;

use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .merge(sign_in::router())
        .merge(accounts::router())
        .merge(sso::router())
        .merge(ack::router())
        .merge(now::router())
        .merge(directory::router())
        .merge(rota::router())
        .merge(swaps::router())
        .merge(overrides::router())
        .merge(history::router())
        .merge(leave::router())
        .merge(inbox::router())
        .merge(pages::router())
        .merge(recovery::router())
        .merge(handoffs::router())
        .merge(team_settings::router())
        .merge(team_escalation::router())
        .merge(profile::router())
        .merge(contact_methods::router())
        .merge(admin::router())
        .merge(import::router())
        .merge(metrics::router())
}
