//! The rules of Rota as pure functions and types: no I/O, "now" is an argument.

pub mod alerts;
pub mod chat;
pub mod handoff;
pub mod holidays;
pub mod import;
pub mod links;
pub mod markdown;
pub mod metrics;
pub mod paging;
pub mod recovery;
pub mod role;
pub mod schedule;
pub mod sign_in;
pub mod storm;
pub mod swap;
pub mod twilio;
pub mod validate;
