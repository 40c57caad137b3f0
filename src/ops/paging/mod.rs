//! Paging the person on call: contact methods and notification rules
//! (`methods`), and sending one message by one method (`send`).

pub mod methods;
pub mod send;

pub use send::Pager;
