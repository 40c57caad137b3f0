//! The OpenID Connect side of single sign-on: discovery (fetched at first
//! use and cached, so a provider that is down never stops Rota starting),
//! the authorization request with PKCE, `state` and `nonce`, and the code
//! exchange whose ID token `openidconnect` verifies (signature against the
//! provider's JWKS, issuer, audience, expiry, nonce).
//!
//! The issuer is set by an admin in the environment, so it is trusted:
//! requests to it (and to the endpoints its discovery document names) do
//! not go through `outgoing`'s address policy, which guards user-given
//! URLs. A provider on the company network or on 127.0.0.1 is normal.
//! Redirects are not followed, as `openidconnect` advises.

use std::time::{Duration, Instant};

use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreIdToken, CoreIdTokenClaims, CoreProviderMetadata};
use openidconnect::{
    AuthorizationCode, ClaimsVerificationError, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce, PkceCodeChallenge,
    PkceCodeVerifier, RedirectUrl, Scope, SignatureVerificationError, TokenResponse,
};
use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;

use super::Failure;
use crate::clock::Clock;
use crate::config::Oidc;

/// How long discovered metadata (endpoints and signing keys) is kept
/// before it is fetched again, so rotated keys are picked up.
const METADATA_TTL: Duration = Duration::from_secs(15 * 60);
/// The longest Rota waits for the provider.
const PROVIDER_TIMEOUT: Duration = Duration::from_secs(10);

/// The configured provider and what Rota learnt of it.
pub struct Provider {
    pub settings: Oidc,
    redirect: RedirectUrl,
    http: reqwest::Client,
    metadata: Mutex<Option<(CoreProviderMetadata, Instant)>>,
}

/// What the session keeps between leaving for the provider and coming back.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Pending {
    state: String,
    nonce: String,
    verifier: String,
    /// Where to go once signed in (already a safe local path).
    pub next: String,
}

/// Who the provider says signed in, verified.
#[derive(Debug, Clone)]
pub struct Verified {
    pub issuer: String,
    pub subject: String,
    /// Lower case; the provider says it verified it.
    pub email: String,
    /// A display name from the claims, if any.
    pub name: Option<String>,
}

impl Provider {
    /// `base_url` is how people reach Rota; the provider sends them back to
    /// `<base_url>/auth/oidc/callback`, the address to register with it.
    pub fn new(settings: Oidc, base_url: &str) -> anyhow::Result<Self> {
        let redirect = RedirectUrl::new(redirect_uri(base_url))?;
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(PROVIDER_TIMEOUT)
            .build()?;
        Ok(Provider {
            settings,
            redirect,
            http,
            metadata: Mutex::new(None),
        })
    }

    /// The provider's metadata, discovered at first use and then cached.
    /// A failure is not cached: the next sign-in tries again.
    async fn metadata(&self) -> Result<CoreProviderMetadata, Failure> {
        let mut cached = self.metadata.lock().await;
        if let Some((metadata, at)) = cached.as_ref()
            && at.elapsed() < METADATA_TTL
        {
            return Ok(metadata.clone());
        }
        let issuer = IssuerUrl::new(self.settings.issuer.clone())
            .map_err(|_| Failure::Provider(format!("The issuer URL {} is not valid", self.settings.issuer)))?;
        let metadata = CoreProviderMetadata::discover_async(issuer, &self.http)
            .await
            .map_err(|e| {
                tracing::warn!(issuer = %self.settings.issuer, error = %chain(&e), "OpenID discovery failed");
                Failure::Provider(format!(
                    "{} could not be reached to sign you in. Try again in a minute; if it stays down, ask an admin.",
                    self.settings.name
                ))
            })?;
        *cached = Some((metadata.clone(), Instant::now()));
        Ok(metadata)
    }

    async fn client(
        &self,
    ) -> Result<
        CoreClient<
            openidconnect::EndpointSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointMaybeSet,
            openidconnect::EndpointMaybeSet,
        >,
        Failure,
    > {
        let metadata = self.metadata().await?;
        Ok(CoreClient::from_provider_metadata(
            metadata,
            ClientId::new(self.settings.client_id.clone()),
            Some(ClientSecret::new(self.settings.client_secret.clone())),
        )
        .set_redirect_uri(self.redirect.clone()))
    }

    /// Where to send the person, and what to keep in their session until
    /// they come back.
    pub async fn start(&self, next: String) -> Result<(String, Pending), Failure> {
        let client = self.client().await?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let (url, state, nonce) = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .add_scope(Scope::new("email".into()))
            .add_scope(Scope::new("profile".into()))
            .set_pkce_challenge(challenge)
            .url();
        let pending = Pending {
            state: state.secret().clone(),
            nonce: nonce.secret().clone(),
            verifier: verifier.secret().clone(),
            next,
        };
        Ok((url.to_string(), pending))
    }

    /// Checks the provider's answer against what the session kept, swaps
    /// the code for tokens and verifies the ID token.
    pub async fn finish(&self, pending: Pending, state: &str, code: &str, clock: &Clock) -> Result<Verified, Failure> {
        if !constant_time_eq(state.as_bytes(), pending.state.as_bytes()) {
            return Err(Failure::Invalid(
                "This sign-in did not start in this browser (its state does not match). Start again from the sign-in page."
                    .into(),
            ));
        }
        let client = self.client().await?;
        let request = client
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .map_err(|_| {
                Failure::Provider(format!(
                    "{} does not say where to exchange sign-in codes",
                    self.settings.name
                ))
            })?;
        let tokens = request
            .set_pkce_verifier(PkceCodeVerifier::new(pending.verifier))
            .request_async(&self.http)
            .await
            .map_err(|e| {
                tracing::warn!(issuer = %self.settings.issuer, error = %chain(&e), "OpenID code exchange failed");
                match e {
                    openidconnect::RequestTokenError::ServerResponse(_) => Failure::Refused(format!(
                        "{} did not accept this sign-in. Start again from the sign-in page.",
                        self.settings.name
                    )),
                    _ => Failure::Provider(format!(
                        "{} could not be reached to finish signing you in. Try again in a minute.",
                        self.settings.name
                    )),
                }
            })?;
        let id_token = tokens
            .id_token()
            .ok_or_else(|| Failure::Refused(format!("{} sent no ID token.", self.settings.name)))?;
        let nonce = Nonce::new(pending.nonce);
        let mut checked = verify(&client, id_token, &nonce, clock);
        if let Err(ClaimsVerificationError::SignatureVerification(SignatureVerificationError::NoMatchingKey)) = checked
        {
            // The provider may have rotated its keys since Rota cached them.
            self.metadata.lock().await.take();
            let fresh = self.client().await?;
            checked = verify(&fresh, id_token, &nonce, clock);
        }
        let claims = checked.map_err(|e| {
            tracing::warn!(issuer = %self.settings.issuer, error = %e, "ID token refused");
            Failure::Refused(format!(
                "The sign-in from {} could not be verified ({}). Nothing was changed; start again, and ask an admin if it keeps happening.",
                self.settings.name,
                reason(&e)
            ))
        })?;
        verified(&self.settings, &claims)
    }
}

/// Checks the ID token's signature and claims; "now" is Rota's clock.
fn verify<TE, TR>(
    client: &CoreClient<
        openidconnect::EndpointSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointNotSet,
        TE,
        TR,
    >,
    id_token: &CoreIdToken,
    nonce: &Nonce,
    clock: &Clock,
) -> Result<CoreIdTokenClaims, ClaimsVerificationError>
where
    TE: openidconnect::EndpointState,
    TR: openidconnect::EndpointState,
{
    let now = clock.clone();
    let verifier = client.id_token_verifier().set_time_fn(move || now.now());
    id_token.claims(&verifier, nonce).cloned()
}

/// The address the provider sends people back to.
pub fn redirect_uri(base_url: &str) -> String {
    format!("{}/auth/oidc/callback", base_url.trim_end_matches('/'))
}

/// The claims Rota needs: an e-mail the provider verified.
fn verified(settings: &Oidc, claims: &CoreIdTokenClaims) -> Result<Verified, Failure> {
    let Some(email) = claims.email().map(|e| e.as_str().trim().to_lowercase()) else {
        tracing::warn!(issuer = %settings.issuer, "ID token without an e-mail refused");
        return Err(Failure::Refused(format!(
            "{} did not tell Rota your e-mail address. Ask an admin to allow the `email` scope for Rota.",
            settings.name
        )));
    };
    if claims.email_verified() != Some(true) {
        tracing::warn!(issuer = %settings.issuer, "ID token with an unverified e-mail refused");
        return Err(Failure::Refused(format!(
            "{} has not verified your e-mail address {email}. Verify it there, then sign in again.",
            settings.name
        )));
    }
    let name = claims
        .name()
        .and_then(|n| n.get(None))
        .map(|n| n.as_str().to_owned())
        .or_else(|| {
            let given = claims
                .given_name()
                .and_then(|n| n.get(None))
                .map(|n| n.as_str().to_owned());
            let family = claims
                .family_name()
                .and_then(|n| n.get(None))
                .map(|n| n.as_str().to_owned());
            match (given, family) {
                (Some(g), Some(f)) => Some(format!("{g} {f}")),
                (g, f) => g.or(f),
            }
        })
        .or_else(|| claims.preferred_username().map(|u| u.as_str().to_owned()));
    Ok(Verified {
        issuer: claims.issuer().as_str().to_owned(),
        subject: claims.subject().as_str().to_owned(),
        email,
        name,
    })
}

/// What went wrong with an ID token, in a few words for the person.
fn reason(e: &ClaimsVerificationError) -> &'static str {
    use ClaimsVerificationError as E;
    match e {
        E::Expired(_) => "it has expired",
        E::InvalidAudience(_) => "it was meant for another application",
        E::InvalidIssuer(_) => "it came from another provider",
        E::InvalidNonce(_) => "it belongs to another sign-in",
        E::SignatureVerification(_) => "its signature is not the provider's",
        _ => "it is not valid",
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// An error and its causes on one line, for the log (never a token).
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::{constant_time_eq, redirect_uri};

    #[test]
    fn the_provider_sends_people_back_to_the_callback_under_the_base_url() {
        assert_eq!(
            redirect_uri("https://rota.example.com/"),
            "https://rota.example.com/auth/oidc/callback"
        );
    }

    #[test]
    fn states_match_only_when_equal() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
    }
}
