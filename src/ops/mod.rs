//! Use cases shared by the HTML pages and the JSON API: each validates its
//! input, changes the database inside the caller's transaction, and audits
//! what it changed.

pub mod handoffs;
pub mod integrations;
pub mod members;
pub mod pages;
pub mod recovery;
pub mod rotations;
pub mod teams;
pub mod users;
