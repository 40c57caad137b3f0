//! The HTTP client for requests Rota makes on a user's behalf. Every
//! address a name resolves to is checked when the connection is made, so a
//! name that resolves to an internal address — at the time it was saved
//! or only later (DNS rebinding) — is refused then.

use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use serde::Serialize;
use url::Url;

use super::address::Class;
use super::policy::{Allowed, Policy, Refusal};

/// A receiver that has not answered by then has failed this attempt.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// Why a request went nowhere, worded for the person who set the address.
/// The words do not say whether a port was closed, silent or refused TLS,
/// so the delivery status cannot be used to scan a network.
#[derive(Debug)]
pub enum Failure {
    /// The address is not one Rota sends to.
    NotAllowed,
    /// Anything between no such host and no answer in time. `detail` is
    /// for the log only.
    Unreachable { seconds: u64, detail: String },
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::NotAllowed => write!(
                f,
                "Could not deliver: the address is not allowed. Rota does not send to its own server, to link-local or \
                 metadata addresses, or to private networks unless an administrator allows them \
                 (ROTA_OUTGOING_ALLOW_PRIVATE=true, or one host with ROTA_OUTGOING_ALLOW_HOSTS=host:port)"
            ),
            Failure::Unreachable { seconds, .. } => write!(
                f,
                "Could not deliver: no answer from the address within {seconds} seconds. Check the address, and that \
                 its server is up and reachable from Rota's"
            ),
        }
    }
}

impl Failure {
    /// What really went wrong, for the log (never shown to users).
    pub fn detail(&self) -> &str {
        match self {
            Failure::NotAllowed => "not allowed by the outgoing policy",
            Failure::Unreachable { detail, .. } => detail,
        }
    }
}

/// The resolver's refusal, found again in the error reqwest returns.
#[derive(Debug)]
struct NotAllowed;

impl fmt::Display for NotAllowed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("every address of the host is refused by the outgoing policy")
    }
}

impl std::error::Error for NotAllowed {}

/// Keeps the addresses `policy` allows; refuses when it allows none of
/// several. Addresses the policy refuses are dropped even beside allowed
/// ones, so a rebinding answer cannot slip one in.
pub fn keep_allowed(policy: &Policy, by_name: bool, addrs: Vec<SocketAddr>) -> Result<Vec<SocketAddr>, Class> {
    let mut refused = None;
    let mut kept = Vec::with_capacity(addrs.len());
    for addr in addrs {
        let class = Class::of(addr.ip());
        if policy.allows(class, by_name) {
            kept.push(addr);
        } else {
            refused.get_or_insert(class);
        }
    }
    match refused {
        Some(class) if kept.is_empty() => Err(class),
        _ => Ok(kept),
    }
}

/// The system's resolver (getaddrinfo, off the async threads).
struct SystemResolver;

impl Resolve for SystemResolver {
    fn resolve(&self, name: Name) -> Resolving {
        Box::pin(async move {
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((name.as_str(), 0)).await?.collect();
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

/// Resolves with `inner` and keeps what the policy allows.
struct Filtering {
    inner: Arc<dyn Resolve>,
    policy: Arc<Policy>,
    by_name: bool,
}

impl Resolve for Filtering {
    fn resolve(&self, name: Name) -> Resolving {
        let (inner, policy, by_name) = (self.inner.clone(), self.policy.clone(), self.by_name);
        Box::pin(async move {
            let addrs: Vec<SocketAddr> = inner.resolve(name).await?.collect();
            let kept = keep_allowed(&policy, by_name, addrs).map_err(|_| NotAllowed)?;
            Ok(Box::new(kept.into_iter()) as Addrs)
        })
    }
}

/// Sends requests to user-given URLs under a [`Policy`]. Cheap to clone.
#[derive(Clone)]
pub struct Outgoing {
    policy: Arc<Policy>,
    /// For URLs allowed by the rules.
    by_rules: reqwest::Client,
    /// For URLs whose host and port are named in the policy.
    by_name: reqwest::Client,
    timeout: Duration,
}

impl fmt::Debug for Outgoing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Outgoing")
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

impl Outgoing {
    pub fn new(policy: Policy) -> anyhow::Result<Self> {
        Self::with_resolver(policy, DEFAULT_TIMEOUT, Arc::new(SystemResolver))
    }

    /// With a resolver and timeout of the caller's choice (tests).
    pub fn with_resolver(policy: Policy, timeout: Duration, resolver: Arc<dyn Resolve>) -> anyhow::Result<Self> {
        let policy = Arc::new(policy);
        let client = |by_name| {
            reqwest::Client::builder()
                .timeout(timeout)
                .connect_timeout(timeout)
                // An answer is taken where it is: a redirect could send the
                // request anywhere, past the checks.
                .redirect(reqwest::redirect::Policy::none())
                // Through a proxy the checks would judge the proxy's address,
                // not the receiver's.
                .no_proxy()
                .dns_resolver(Arc::new(Filtering {
                    inner: resolver.clone(),
                    policy: policy.clone(),
                    by_name,
                }))
                .user_agent(concat!("Rota/", env!("CARGO_PKG_VERSION")))
                .build()
                .map_err(|e| anyhow::anyhow!(e).context("no HTTP client for outgoing requests"))
        };
        Ok(Outgoing {
            by_rules: client(false)?,
            by_name: client(true)?,
            policy,
            timeout,
        })
    }

    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Posts `body` as JSON to `url`. Any answer is `Ok`, whatever its
    /// status; redirects are not followed.
    pub async fn post_json<T: Serialize + ?Sized>(&self, url: &str, body: &T) -> Result<reqwest::Response, Failure> {
        let body = serde_json::to_vec(body).map_err(|e| Failure::Unreachable {
            seconds: 0,
            detail: e.to_string(),
        })?;
        self.post_signed(url, body, &[]).await
    }

    /// Posts a JSON `body` already encoded, with extra `headers` (a
    /// signature, an access token). As [`Outgoing::post_json`] otherwise.
    pub async fn post_signed(
        &self,
        url: &str,
        body: Vec<u8>,
        headers: &[(&str, String)],
    ) -> Result<reqwest::Response, Failure> {
        let url = Url::parse(url).map_err(|_| Failure::NotAllowed)?;
        // An IP address in the URL is never resolved, so it is judged here;
        // names are judged by the resolver, at each connection.
        let client = match self.policy.check_url(&url) {
            Ok(Allowed::ByRules) => &self.by_rules,
            Ok(Allowed::ByName) => &self.by_name,
            Err(Refusal::NotWeb | Refusal::Address { .. }) => return Err(Failure::NotAllowed),
        };
        let mut request = client
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body);
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        request.send().await.map_err(|e| self.failure(e))
    }

    fn failure(&self, e: reqwest::Error) -> Failure {
        let e = e.without_url();
        let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&e);
        while let Some(s) = source {
            if s.is::<NotAllowed>() {
                return Failure::NotAllowed;
            }
            source = s.source();
        }
        let mut detail = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(s) = source {
            detail.push_str(": ");
            detail.push_str(&s.to_string());
            source = s.source();
        }
        Failure::Unreachable {
            seconds: self.timeout.as_secs().max(1),
            detail,
        }
    }
}
