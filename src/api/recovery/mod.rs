//! Recovery days, holidays, the out-of-hours policy and integration tokens, through the API: one module per resource.

mod calendar_import;
mod days;
mod holidays;
mod integrations;
mod policy;

pub use calendar_import::*;
pub use days::*;
pub use holidays::*;
pub use integrations::*;
pub use policy::*;
