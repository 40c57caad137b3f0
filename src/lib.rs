//! Rota: a self-hosted on-call rota that looks after the people on call.

pub mod api;
pub mod app;
pub mod auth;
pub mod base_path;
pub mod cache;
pub mod calendar;
pub mod cli;
pub mod clock;
pub mod config;
pub mod db;
pub mod demo;
pub mod domain;
pub mod error;
pub mod jobs;
pub mod mail;
pub mod ops;
pub mod outgoing;
pub mod password;
pub mod reads;
pub mod secrets;
pub mod service_metrics;
pub mod startup;
pub mod state;
pub mod telemetry;
pub mod throttle;
pub mod web;

/// "0.2.0 (commit 1a2b3c4d5e6f)": the release and the commit it was built from.
pub const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), " (commit ", env!("ROTA_COMMIT"), ")");
