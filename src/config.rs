//! Settings from the environment, each with a safe default.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use ipnet::IpNet;
mod twilio;
pub use twilio::Twilio;

#[derive(Debug, Clone)]
pub struct Settings {
    /// `DATABASE_URL`; the local Postgres by default. Requests and jobs
    /// query it: Postgres itself, or PgBouncer in front of it.
    pub database_url: String,
    /// `DATABASE_LISTEN_URL`: Postgres itself, never PgBouncer, for what
    /// needs a session (migrations, LISTEN, the schedule job's lock).
    /// Unset: `DATABASE_URL` serves for those too.
    pub database_listen_url: Option<String>,
    /// `ROTA_DB_PGBOUNCER` (default false): `DATABASE_URL` is a PgBouncer in
    /// transaction mode, so no statement is named and each runs in a
    /// transaction (see `db::sql`). Needs `DATABASE_LISTEN_URL`.
    pub db_pgbouncer: bool,
    /// `ROTA_LISTEN`, address:port.
    pub listen: SocketAddr,
    /// `ROTA_BASE_URL`: how people reach Rota, used in calendar links,
    /// e-mail and the single sign-on redirect URI. A path in it
    /// (`https://tools.example.com/rota`) serves Rota under that path: see
    /// [`base_path`](Self::base_path).
    pub base_url: String,
    /// `ROTA_SECURE_COOKIES`: mark cookies Secure. Defaults to on when the
    /// base URL is https.
    pub secure_cookies: bool,
    /// `ROTA_SESSION_IDLE_MINUTES`: a session unused this long ends.
    pub session_idle: Duration,
    /// `ROTA_SESSION_MAX_DAYS`: a session ends this long after sign-in,
    /// in use or not.
    pub session_max_age: Duration,
    /// `ROTA_REQUEST_TIMEOUT_SECS`.
    pub request_timeout: Duration,
    /// `ROTA_SMTP_URL`, e.g. `smtp://user:pass@mail.example.com:587?tls=required`
    /// or `smtps://...`: notifications also go out by e-mail. Unset: in the app only.
    pub smtp_url: Option<String>,
    /// `ROTA_MAIL_FROM`: the sender of notification e-mail.
    pub mail_from: String,
    /// `ROTA_METRICS_TOKEN`: when set, `GET /metrics` wants it as a bearer
    /// token; unset, the endpoint is open like most exporters.
    pub metrics_token: Option<String>,
    /// `ROTA_OUTGOING_ALLOW_PRIVATE` (private networks) and
    /// `ROTA_OUTGOING_ALLOW_HOSTS` (`host:port` exceptions): where Rota may
    /// send requests on a user's behalf, such as chat webhooks.
    pub outgoing: crate::outgoing::Policy,
    /// How hard Rota pushes back on guessing and on busy tokens.
    pub limits: Limits,
    /// `ROTA_DB_POOL_SIZE`: the most database connections this process
    /// opens (one of them listens for changes). When all are busy a request
    /// waits up to 5 s for one, then gets 503 with `Retry-After`.
    pub db_pool_size: u32,
    /// How people sign in: password, single sign-on, or both.
    pub sign_in: SignIn,
    /// `ROTA_TWILIO_*`: SMS and voice calls; unset, none are sent.
    pub twilio: Option<Twilio>,
}

/// How people sign in.
#[derive(Debug, Clone)]
pub struct SignIn {
    /// `ROTA_OIDC_*`: single sign-on with an OpenID Connect provider.
    pub oidc: Option<Oidc>,
    /// `ROTA_PASSWORD_SIGN_IN` (default true): false refuses passwords to
    /// everyone but [`break_glass_email`](Self::break_glass_email).
    pub password: bool,
    /// `ROTA_BREAK_GLASS_EMAIL`: the one account that may still sign in by
    /// password when passwords are off (for when the provider is down).
    pub break_glass_email: Option<String>,
}

impl Default for SignIn {
    fn default() -> Self {
        SignIn {
            oidc: None,
            password: true,
            break_glass_email: None,
        }
    }
}

impl SignIn {
    /// Whether `email` may sign in with a password.
    pub fn password_allowed_for(&self, email: &str) -> bool {
        self.password
            || self
                .break_glass_email
                .as_deref()
                .is_some_and(|b| b.trim().eq_ignore_ascii_case(email.trim()))
    }
}

/// An OpenID Connect provider. Its issuer is the admin's choice, so Rota
/// trusts it: requests to it do not go through the outgoing address policy
/// (a provider on the company network is normal).
#[derive(Clone)]
pub struct Oidc {
    /// `ROTA_OIDC_ISSUER`, such as `https://accounts.google.com`.
    pub issuer: String,
    /// `ROTA_OIDC_CLIENT_ID`.
    pub client_id: String,
    /// `ROTA_OIDC_CLIENT_SECRET`.
    pub client_secret: String,
    /// `ROTA_OIDC_NAME`: shown on the button; the issuer's host by default.
    pub name: String,
    /// `ROTA_OIDC_AUTO_CREATE` (default false): a person the provider
    /// vouches for but Rota does not know gets an account with no team.
    pub auto_create: bool,
}

impl std::fmt::Debug for Oidc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Oidc")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("client_secret", &"…")
            .field("name", &self.name)
            .field("auto_create", &self.auto_create)
            .finish()
    }
}

/// What the sign-in button calls a provider nobody named: a known
/// provider's name, otherwise the issuer's host.
pub fn provider_name(issuer: &str) -> String {
    let host = url::Url::parse(issuer)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_else(|| issuer.to_owned());
    let known = [
        ("accounts.google.com", "Google"),
        ("login.microsoftonline.com", "Microsoft"),
        (".okta.com", "Okta"),
        (".oktapreview.com", "Okta"),
    ];
    known
        .iter()
        .find(|(suffix, _)| host == suffix.trim_start_matches('.') || host.ends_with(suffix))
        .map_or(host.clone(), |(_, name)| (*name).to_owned())
}

/// Database connections a `rota serve` process opens by default.
pub const DEFAULT_DB_POOL_SIZE: u32 = 32;

/// Throttling of sign-ins and of API tokens.
#[derive(Debug, Clone)]
pub struct Limits {
    /// `ROTA_TRUSTED_PROXIES`: comma-separated addresses or CIDR ranges of
    /// the reverse proxies in front of Rota. Only a request from one of them
    /// has its `X-Forwarded-For` read; otherwise the socket's address is the
    /// client's.
    pub trusted_proxies: Vec<IpNet>,
    /// `ROTA_SIGN_IN_FAILURES`: failed sign-ins one client address may make
    /// across all accounts in [`WINDOW`](crate::domain::sign_in::WINDOW) (15 minutes).
    pub sign_in_failures: u32,
    /// `ROTA_TOKEN_RATE` / `ROTA_TOKEN_BURST`: requests per second, and the
    /// burst, one personal API token may make.
    pub personal_token: Rate,
    /// `ROTA_INTEGRATION_RATE` / `ROTA_INTEGRATION_BURST`: the same for an
    /// integration token (alerting tools send storms).
    pub integration_token: Rate,
}

/// A steady rate with a burst above it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub per_second: u32,
    pub burst: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            trusted_proxies: Vec::new(),
            sign_in_failures: 10,
            personal_token: Rate {
                per_second: 50,
                burst: 100,
            },
            integration_token: Rate {
                per_second: 500,
                burst: 1000,
            },
        }
    }
}

/// Reads `ROTA_TRUSTED_PROXIES`: `10.0.0.1, 10.1.0.0/16, ::1`.
pub fn parse_trusted_proxies(text: &str) -> anyhow::Result<Vec<IpNet>> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<IpNet>()
                .or_else(|_| s.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| {
                    anyhow::anyhow!("ROTA_TRUSTED_PROXIES: {s} is not an IP address or CIDR range such as 10.0.0.0/8")
                })
        })
        .collect()
}

pub const DEFAULT_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/rota";

impl Settings {
    pub fn from_env() -> anyhow::Result<Self> {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
        let listen = var("ROTA_LISTEN").unwrap_or_else(|| "127.0.0.1:8080".into());
        let listen: SocketAddr = listen
            .parse()
            .map_err(|_| anyhow::anyhow!("ROTA_LISTEN={listen} is not an address:port such as 127.0.0.1:8080"))?;
        let base_url = var("ROTA_BASE_URL")
            .unwrap_or_else(|| format!("http://{listen}"))
            .trim_end_matches('/')
            .to_owned();
        check_base_url(&base_url)?;
        let flag = |k: &str| -> anyhow::Result<Option<bool>> {
            match var(k).as_deref() {
                Some("1" | "true" | "yes" | "on") => Ok(Some(true)),
                Some("0" | "false" | "no" | "off") => Ok(Some(false)),
                Some(other) => anyhow::bail!("{k}={other}: use true or false"),
                None => Ok(None),
            }
        };
        let secure_cookies = flag("ROTA_SECURE_COOKIES")?.unwrap_or_else(|| base_url.starts_with("https://"));
        let outgoing = crate::outgoing::Policy::new(
            flag("ROTA_OUTGOING_ALLOW_PRIVATE")?.unwrap_or(false),
            &var("ROTA_OUTGOING_ALLOW_HOSTS").unwrap_or_default(),
        )
        .map_err(|e| anyhow::anyhow!(e))?;
        let minutes = |k: &str, default: u64| -> anyhow::Result<u64> {
            var(k).map_or(Ok(default), |v| {
                v.parse().map_err(|_| anyhow::anyhow!("{k}={v} is not a whole number"))
            })
        };
        let number = |k: &str, default: u32| -> anyhow::Result<u32> {
            var(k).map_or(Ok(default), |v| match v.parse::<u32>() {
                Ok(n) if n > 0 => Ok(n),
                _ => Err(anyhow::anyhow!("{k}={v}: use a whole number above 0")),
            })
        };
        let defaults = Limits::default();
        let limits = Limits {
            trusted_proxies: parse_trusted_proxies(&var("ROTA_TRUSTED_PROXIES").unwrap_or_default())?,
            sign_in_failures: number("ROTA_SIGN_IN_FAILURES", defaults.sign_in_failures)?,
            personal_token: Rate {
                per_second: number("ROTA_TOKEN_RATE", defaults.personal_token.per_second)?,
                burst: number("ROTA_TOKEN_BURST", defaults.personal_token.burst)?,
            },
            integration_token: Rate {
                per_second: number("ROTA_INTEGRATION_RATE", defaults.integration_token.per_second)?,
                burst: number("ROTA_INTEGRATION_BURST", defaults.integration_token.burst)?,
            },
        };
        let db_pool_size = number("ROTA_DB_POOL_SIZE", DEFAULT_DB_POOL_SIZE)?;
        if db_pool_size < 2 {
            anyhow::bail!("ROTA_DB_POOL_SIZE={db_pool_size}: use 2 or more (one connection listens for changes)");
        }
        let oidc = match (
            var("ROTA_OIDC_ISSUER"),
            var("ROTA_OIDC_CLIENT_ID"),
            var("ROTA_OIDC_CLIENT_SECRET"),
        ) {
            (None, None, None) => None,
            (Some(issuer), Some(client_id), Some(client_secret)) => {
                // Kept exactly as given: the ID token's `iss` must match it
                // character for character (some providers end it with '/').
                let issuer = issuer.trim().to_owned();
                if !(issuer.starts_with("https://") || issuer.starts_with("http://"))
                    || url::Url::parse(&issuer).is_err()
                {
                    anyhow::bail!(
                        "ROTA_OIDC_ISSUER={issuer}: use the provider's issuer URL, such as https://accounts.google.com"
                    );
                }
                Some(Oidc {
                    name: var("ROTA_OIDC_NAME").unwrap_or_else(|| provider_name(&issuer)),
                    issuer,
                    client_id,
                    client_secret,
                    auto_create: flag("ROTA_OIDC_AUTO_CREATE")?.unwrap_or(false),
                })
            }
            _ => anyhow::bail!(
                "single sign-on needs all three of ROTA_OIDC_ISSUER, ROTA_OIDC_CLIENT_ID and ROTA_OIDC_CLIENT_SECRET"
            ),
        };
        let sign_in = SignIn {
            password: flag("ROTA_PASSWORD_SIGN_IN")?.unwrap_or(true),
            break_glass_email: var("ROTA_BREAK_GLASS_EMAIL").map(|e| e.trim().to_lowercase()),
            oidc,
        };
        let db_pgbouncer = flag("ROTA_DB_PGBOUNCER")?.unwrap_or(false);
        let database_listen_url = var("DATABASE_LISTEN_URL");
        if db_pgbouncer && database_listen_url.is_none() {
            anyhow::bail!(
                "ROTA_DB_PGBOUNCER=true needs DATABASE_LISTEN_URL: point it at Postgres itself (not PgBouncer), for migrations and LISTEN, which need a session of their own"
            );
        }
        if !sign_in.password && sign_in.oidc.is_none() {
            anyhow::bail!(
                "ROTA_PASSWORD_SIGN_IN=false needs single sign-on (ROTA_OIDC_ISSUER and the rest): otherwise nobody but the break-glass account could sign in"
            );
        }
        Ok(Settings {
            twilio: twilio::from_env(&var)?,
            sign_in,
            database_url: var("DATABASE_URL").unwrap_or_else(|| DEFAULT_DATABASE_URL.into()),
            database_listen_url,
            db_pgbouncer,
            listen,
            base_url,
            secure_cookies,
            session_idle: Duration::from_secs(60 * minutes("ROTA_SESSION_IDLE_MINUTES", 8 * 60)?),
            session_max_age: Duration::from_secs(86_400 * minutes("ROTA_SESSION_MAX_DAYS", 14)?.max(1)),
            request_timeout: Duration::from_secs(minutes("ROTA_REQUEST_TIMEOUT_SECS", 30)?),
            smtp_url: var("ROTA_SMTP_URL"),
            mail_from: var("ROTA_MAIL_FROM").unwrap_or_else(|| "Rota <rota@localhost>".into()),
            metrics_token: var("ROTA_METRICS_TOKEN"),
            outgoing,
            limits,
            db_pool_size,
        })
    }

    /// Where the database is and how to reach it.
    pub fn database(&self) -> crate::db::Target {
        crate::db::Target {
            url: self.database_url.clone(),
            listen_url: self.database_listen_url.clone(),
            pgbouncer: self.db_pgbouncer,
        }
    }
}

impl Settings {
    /// The path Rota is served under, from [`base_url`](Self::base_url):
    /// `""` for `https://rota.example.com`, `"/rota"` for
    /// `https://tools.example.com/rota`. Every address Rota writes into a
    /// page, a redirect or a cookie starts with it.
    pub fn base_path(&self) -> &str {
        base_path_of(&self.base_url)
    }

    /// The `Path` of Rota's cookies: the base path, or `/`.
    pub fn cookie_path(&self) -> &str {
        match self.base_path() {
            "" => "/",
            path => path,
        }
    }
}

/// The path of a base URL, without its trailing `/`: `""` for none.
fn base_path_of(base_url: &str) -> &str {
    let after_scheme = base_url.split_once("://").map_or(base_url, |(_, rest)| rest);
    let path = after_scheme.find('/').map_or("", |i| &after_scheme[i..]);
    path.trim_end_matches('/')
}

/// A base URL Rota can build addresses on: `http(s)://host[:port][/path]`,
/// with nothing in the path a browser or a proxy would read otherwise.
fn check_base_url(base_url: &str) -> anyhow::Result<()> {
    let example = "use the address people open, such as https://rota.example.com or https://tools.example.com/rota";
    let parsed =
        url::Url::parse(base_url).map_err(|_| anyhow::anyhow!("ROTA_BASE_URL={base_url} is not a URL: {example}"))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        anyhow::bail!("ROTA_BASE_URL={base_url}: use an http:// or https:// address; {example}");
    }
    if parsed.query().is_some() || parsed.fragment().is_some() || !parsed.username().is_empty() {
        anyhow::bail!("ROTA_BASE_URL={base_url}: leave out the query, the #fragment and any user name; {example}");
    }
    let path = base_path_of(base_url);
    let plain = |segment: &str| {
        !segment.is_empty()
            && segment != "."
            && segment != ".."
            && segment
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~'))
    };
    if !path.is_empty() && !path[1..].split('/').all(plain) {
        anyhow::bail!(
            "ROTA_BASE_URL={base_url}: the path {path} may hold only letters, digits, '-', '_', '.' and '~' between its slashes, such as /rota or /tools/rota"
        );
    }
    Ok(())
}

/// Whether `url` (an `http(s)://host[:port]/…` base URL) names this
/// machine only: localhost, 127.0.0.0/8 or [::1].
pub fn is_loopback_url(url: &str) -> bool {
    let Some(rest) = url.split_once("://").map(|(_, r)| r) else {
        return false;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = if let Some(v6) = host.strip_prefix('[') {
        v6.split(']').next().unwrap_or("")
    } else {
        host.split(':').next().unwrap_or("")
    };
    let host = host.to_ascii_lowercase();
    host == "localhost"
        || host.ends_with(".localhost")
        || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::{base_path_of, check_base_url, is_loopback_url};

    #[test]
    fn the_base_path_is_the_base_urls_path_without_its_last_slash() {
        assert_eq!(base_path_of("https://rota.example.com"), "");
        assert_eq!(base_path_of("http://127.0.0.1:8080/"), "");
        assert_eq!(base_path_of("https://tools.example.com/rota"), "/rota");
        assert_eq!(base_path_of("https://tools.example.com/ops/rota/"), "/ops/rota");
    }

    #[test]
    fn a_base_url_must_be_an_address_to_build_links_on() {
        for good in [
            "http://127.0.0.1:8080",
            "https://rota.example.com",
            "https://tools.example.com/rota",
            "https://tools.example.com/ops/on-call_v2",
        ] {
            assert!(check_base_url(good).is_ok(), "{good}");
        }
        for bad in [
            "rota.example.com",
            "ftp://rota.example.com",
            "https://rota.example.com/?x=1",
            "https://rota.example.com/#top",
            "https://tools.example.com/my rota",
            "https://tools.example.com/a//b",
            "https://tools.example.com/%2e%2e",
            "https://user@tools.example.com/rota",
        ] {
            let err = check_base_url(bad).expect_err(bad);
            assert!(err.to_string().contains("ROTA_BASE_URL"), "{err}");
        }
    }

    #[test]
    fn only_this_machines_addresses_are_loopback() {
        for url in [
            "http://localhost:8080",
            "http://127.0.0.1:8080/",
            "http://[::1]:8080",
            "http://127.1.2.3",
        ] {
            assert!(is_loopback_url(url), "{url}");
        }
        for url in [
            "https://rota.example.com",
            "http://0.0.0.0:8080",
            "http://192.168.1.5:8080",
            "http://localhost.evil.example",
            "http://127.0.0.1@evil.example",
            "not a url",
        ] {
            assert!(!is_loopback_url(url), "{url}");
        }
    }
}

#[cfg(test)]
mod proxy_tests {
    use super::parse_trusted_proxies;

    #[test]
    fn providers_without_a_name_are_called_by_their_host() {
        assert_eq!(super::provider_name("https://accounts.google.com"), "Google");
        assert_eq!(super::provider_name("https://acme.okta.com/oauth2/default"), "Okta");
        assert_eq!(
            super::provider_name("https://login.microsoftonline.com/abc/v2.0"),
            "Microsoft"
        );
        assert_eq!(
            super::provider_name("https://sso.acme.example/realms/staff"),
            "sso.acme.example"
        );
    }

    #[test]
    fn only_the_break_glass_account_keeps_its_password_when_passwords_are_off() {
        let on = super::SignIn::default();
        assert!(on.password_allowed_for("anyone@example.com"));
        let off = super::SignIn {
            password: false,
            break_glass_email: Some("root@example.com".into()),
            oidc: None,
        };
        assert!(off.password_allowed_for(" Root@Example.com"));
        assert!(!off.password_allowed_for("anyone@example.com"));
        let none = super::SignIn {
            password: false,
            ..super::SignIn::default()
        };
        assert!(!none.password_allowed_for(""));
    }

    #[test]
    fn trusted_proxies_are_addresses_or_ranges() {
        let nets = parse_trusted_proxies(" 10.0.0.1, 172.16.0.0/12 ,::1,").expect("valid");
        let shown: Vec<String> = nets.iter().map(ToString::to_string).collect();
        assert_eq!(shown, ["10.0.0.1/32", "172.16.0.0/12", "::1/128"]);
        assert!(parse_trusted_proxies("").expect("empty").is_empty());
        let err = parse_trusted_proxies("10.0.0.1, proxy.local").expect_err("a name");
        assert!(err.to_string().contains("proxy.local"), "{err}");
    }
}
