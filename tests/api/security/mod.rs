//! The security review's findings (issue 11): each test here failed on the
//! code before its fix and passes after.

mod throttle;
mod tokens;
