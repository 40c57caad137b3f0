//! The security review's findings (issue 11): each test here failed on the
//! code before its fix and passes after.

mod accounts;
mod deployment;
mod input;
mod mail;
mod openapi;
mod outgoing;
mod postgres_tls;
mod throttle;
mod tokens;
