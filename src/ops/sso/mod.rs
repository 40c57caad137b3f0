//! Single sign-on with OpenID Connect: `provider` speaks the protocol,
//! `accounts` decides whose account a verified sign-in opens.

pub mod accounts;
pub mod provider;

pub use accounts::{How, SignedIn, account_for};
pub use provider::{Pending, Provider, Verified, redirect_uri};

use crate::error::AppError;

/// Why a single sign-on did not happen. Nothing has been created when one
/// of these is returned.
#[derive(Debug)]
pub enum Failure {
    /// The provider could not be reached or answered nonsense (502).
    Provider(String),
    /// The provider or Rota refuses this person (403).
    Refused(String),
    /// The round trip itself is broken: no sign-in waiting in this browser,
    /// or a `state` that does not match (400).
    Invalid(String),
    Internal(AppError),
}

impl From<AppError> for Failure {
    fn from(e: AppError) -> Self {
        Failure::Internal(e)
    }
}

impl From<sqlx::Error> for Failure {
    fn from(e: sqlx::Error) -> Self {
        Failure::Internal(e.into())
    }
}
