//! Logs to standard error, filtered by `RUST_LOG`: text on a terminal (with
//! colour), one JSON object per line otherwise (`ROTA_LOG_FORMAT` says which
//! when set). Every request leaves one access line at info: method, route
//! pattern (never the address itself, which may hold a calendar secret or a
//! link token), status, latency, request id and the signed-in user's id.

use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use tracing::Subscriber;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::{EnvFilter, Layer};

/// The default filter when `RUST_LOG` is unset.
pub const DEFAULT_FILTER: &str = "info,sqlx=warn,tower_sessions=warn";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

impl LogFormat {
    /// From `ROTA_LOG_FORMAT`; unset: text on a terminal, JSON otherwise.
    pub fn choose(setting: Option<&str>, terminal: bool) -> Result<Self, String> {
        match setting.map(|s| s.trim().to_ascii_lowercase()).as_deref() {
            None | Some("") => Ok(if terminal { LogFormat::Text } else { LogFormat::Json }),
            Some("text") => Ok(LogFormat::Text),
            Some("json") => Ok(LogFormat::Json),
            Some(other) => Err(format!("ROTA_LOG_FORMAT is \"{other}\"; use json or text")),
        }
    }
}

/// A layer writing `format` to `writer`; colour only with `ansi`.
pub fn layer<S, W>(format: LogFormat, ansi: bool, writer: W) -> Box<dyn Layer<S> + Send + Sync>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let fmt = tracing_subscriber::fmt::layer().with_writer(writer).with_target(false);
    match format {
        LogFormat::Text => Box::new(fmt.with_ansi(ansi)),
        LogFormat::Json => Box::new(
            fmt.json()
                .flatten_event(true)
                .with_current_span(true)
                .with_span_list(false),
        ),
    }
}

/// The subscriber writing `format` to `writer`, filtered by `filter`.
pub fn subscriber<W>(format: LogFormat, filter: EnvFilter, ansi: bool, writer: W) -> Box<dyn Subscriber + Send + Sync>
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    Box::new(tracing_subscriber::registry().with(layer(format, ansi, writer).with_filter(filter)))
}

pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    let terminal = std::io::stderr().is_terminal();
    let setting = std::env::var("ROTA_LOG_FORMAT").ok();
    let (format, problem) = match LogFormat::choose(setting.as_deref(), terminal) {
        Ok(f) => (f, None),
        Err(e) => (if terminal { LogFormat::Text } else { LogFormat::Json }, Some(e)),
    };
    let _ = tracing::subscriber::set_global_default(subscriber(format, filter, terminal, std::io::stderr));
    if let Some(problem) = problem {
        tracing::warn!("{problem}");
    }
}

/// The signed-in person of a request, filled in by the auth extractors so
/// the access line can name them (0: nobody).
#[derive(Clone, Default)]
pub struct RequestUser(Arc<AtomicI64>);

impl RequestUser {
    pub fn set(&self, user_id: i64) {
        self.0.store(user_id, Ordering::Relaxed);
    }

    pub fn get(&self) -> Option<i64> {
        Some(self.0.load(Ordering::Relaxed)).filter(|id| *id != 0)
    }
}

#[cfg(test)]
mod tests {
    use super::LogFormat;

    #[test]
    fn the_format_follows_the_setting_or_the_terminal() {
        assert_eq!(LogFormat::choose(None, true), Ok(LogFormat::Text));
        assert_eq!(LogFormat::choose(None, false), Ok(LogFormat::Json));
        assert_eq!(LogFormat::choose(Some("JSON"), true), Ok(LogFormat::Json));
        assert_eq!(LogFormat::choose(Some("text"), false), Ok(LogFormat::Text));
        assert!(
            LogFormat::choose(Some("xml"), false)
                .unwrap_err()
                .contains("json or text")
        );
    }
}
