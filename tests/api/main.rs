//! Integration tests against the real server and a fresh Postgres database
//! per test. One binary for the whole area keeps builds lean.

#[path = "../common/mod.rs"]
mod common;

mod access;
mod accounts;
mod architecture;
mod backup;
mod base_path;
mod cache;
mod calendar;
mod directory;
mod handoffs;
mod history;
mod import;
mod ingest;
mod jobs;
mod leavers;
mod logs;
mod mail;
mod metrics;
mod pages;
mod paging;
mod pgbouncer;
mod pool;
mod reads;
mod recovery;
mod recovery_pages;
mod rota_timeline;
mod schedule;
mod security;
mod settings;
mod sso;
mod stored_values;
mod swaps;
mod swaps_web;
mod upgrades;
mod validation;
