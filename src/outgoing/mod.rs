//! Requests Rota makes on a user's behalf — to chat webhooks now, to
//! contact methods and generic webhooks later — all go through here, so
//! that no user-given URL reaches Rota's own server, a cloud metadata
//! service or (unless allowed) a private network.
//!
//! Two checks: [`Policy::check_url`] when a URL is saved and again before
//! each request (IP addresses in a URL are never resolved), and a resolver
//! that drops refused addresses when each connection is made (names).

mod address;
mod client;
mod policy;

pub use address::Class;
pub use client::{DEFAULT_TIMEOUT, Failure, Outgoing, keep_allowed};
pub use policy::{Allowed, Policy, Refusal};
