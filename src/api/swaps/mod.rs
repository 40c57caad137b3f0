//! Swap and cover requests, overrides, leave, the audit log and notifications, through the API: one module per resource.

mod audit;
mod leave;
mod notifications;
mod overrides;
mod requests;

pub use audit::*;
pub use leave::*;
pub use notifications::*;
pub use overrides::*;
pub use requests::*;
