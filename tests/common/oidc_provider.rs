//! A local OpenID provider for the single sign-on tests: discovery
//! document, JWKS with a real RSA key (a test-only key in
//! tests/fixtures), an authorization endpoint that sends the browser
//! straight back with a code (no login form: the test says who signs in),
//! and a token endpoint that checks the client, the redirect URI and PKCE,
//! then returns an RS256-signed ID token. Each test may make it misbehave.
//! It runs in the test's process on 127.0.0.1 and stops when dropped.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use openidconnect::core::{CoreIdToken, CoreIdTokenClaims, CoreJwsSigningAlgorithm, CoreRsaPrivateSigningKey};
use openidconnect::{
    Audience, EmptyAdditionalClaims, EndUserEmail, EndUserName, IssuerUrl, JsonWebKeyId, LocalizedClaim, Nonce,
    PrivateSigningKey, StandardClaims, SubjectIdentifier,
};
use rota::clock::Clock;
use serde::Deserialize;
use serde_json::json;
use sha2::{Digest, Sha256};
use tokio::net::TcpListener;

pub const CLIENT_ID: &str = "rota-test-client";
pub const CLIENT_SECRET: &str = "rota-test-secret";
const KEY: &str = include_str!("../fixtures/oidc_test_key.pem");
/// Another key under the same key id: a token it signs is a forgery.
const FORGER_KEY: &str = include_str!("../fixtures/oidc_forger_key.pem");
const KID: &str = "rota-test-key";
/// The key id after [`Provider::rotate_keys`] (the other key under a new id).
const NEXT_KID: &str = "rota-test-key-2";

/// Who the provider says is signing in.
#[derive(Debug, Clone)]
pub struct Person {
    pub subject: String,
    pub email: String,
    pub email_verified: bool,
    pub name: Option<String>,
}

impl Person {
    pub fn new(subject: &str, email: &str, name: &str) -> Self {
        Person {
            subject: subject.into(),
            email: email.into(),
            email_verified: true,
            name: Some(name.into()),
        }
    }
}

/// How the provider lies or fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Misbehave {
    Nothing,
    /// Signs the ID token with a key not in its JWKS.
    OtherKey,
    /// An ID token for another client.
    WrongAudience,
    /// An ID token with a nonce from another sign-in.
    WrongNonce,
    /// An ID token that expired an hour ago.
    Expired,
    /// The e-mail is not verified.
    UnverifiedEmail,
    /// An ID token that names another issuer.
    WrongIssuer,
    /// The person refuses at the provider (`error=access_denied`).
    DeniesAccess,
}

struct Grant {
    redirect_uri: String,
    nonce: Option<String>,
    challenge: String,
    person: Person,
}

impl Inner {
    fn current_key(&self) -> &CoreRsaPrivateSigningKey {
        if self.rotated.load(std::sync::atomic::Ordering::SeqCst) {
            &self.next
        } else {
            &self.key
        }
    }
}

struct Inner {
    issuer: String,
    key: CoreRsaPrivateSigningKey,
    forger: CoreRsaPrivateSigningKey,
    next: CoreRsaPrivateSigningKey,
    rotated: std::sync::atomic::AtomicBool,
    clock: Clock,
    person: Mutex<Person>,
    misbehave: Mutex<Misbehave>,
    codes: Mutex<HashMap<String, Grant>>,
}

/// The running provider; it stops when dropped.
pub struct Provider {
    pub issuer: String,
    inner: Arc<Inner>,
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl Provider {
    /// Starts a provider whose ID tokens are stamped with `clock`'s time,
    /// signing `person` in.
    pub async fn start(clock: Clock, person: Person) -> Provider {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind the provider");
        let issuer = format!("http://{}", listener.local_addr().expect("addr"));
        let key = |pem, kid: &str| {
            CoreRsaPrivateSigningKey::from_pem(pem, Some(JsonWebKeyId::new(kid.into()))).expect("test key")
        };
        let inner = Arc::new(Inner {
            issuer: issuer.clone(),
            key: key(KEY, KID),
            forger: key(FORGER_KEY, KID),
            next: key(FORGER_KEY, NEXT_KID),
            rotated: std::sync::atomic::AtomicBool::new(false),
            clock,
            person: Mutex::new(person),
            misbehave: Mutex::new(Misbehave::Nothing),
            codes: Mutex::new(HashMap::new()),
        });
        let app = Router::new()
            .route("/.well-known/openid-configuration", get(discovery))
            .route("/jwks", get(jwks))
            .route("/authorize", get(authorize))
            .route("/token", post(token))
            .with_state(inner.clone());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = stopped.await;
                })
                .await
                .expect("the provider serves");
        });
        Provider {
            issuer,
            inner,
            _stop: stop,
        }
    }

    /// The settings that point Rota at this provider.
    pub fn settings(&self, auto_create: bool) -> rota::config::Oidc {
        rota::config::Oidc {
            issuer: self.issuer.clone(),
            client_id: CLIENT_ID.into(),
            client_secret: CLIENT_SECRET.into(),
            name: "Test ID".into(),
            auto_create,
        }
    }

    pub fn sign_in_as(&self, person: Person) {
        *self.inner.person.lock().expect("person") = person;
    }

    /// Signs with a new key from now on, and publishes only that one.
    pub fn rotate_keys(&self) {
        self.inner.rotated.store(true, std::sync::atomic::Ordering::SeqCst);
    }

    pub fn misbehave(&self, how: Misbehave) {
        *self.inner.misbehave.lock().expect("misbehave") = how;
    }
}

async fn discovery(State(p): State<Arc<Inner>>) -> Response {
    let i = &p.issuer;
    axum::Json(json!({
        "issuer": i,
        "authorization_endpoint": format!("{i}/authorize"),
        "token_endpoint": format!("{i}/token"),
        "jwks_uri": format!("{i}/jwks"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "scopes_supported": ["openid", "email", "profile"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "code_challenge_methods_supported": ["S256"],
    }))
    .into_response()
}

async fn jwks(State(p): State<Arc<Inner>>) -> Response {
    axum::Json(json!({"keys": [p.current_key().as_verification_key()]})).into_response()
}

#[derive(Deserialize)]
struct AuthorizeQuery {
    response_type: String,
    client_id: String,
    redirect_uri: String,
    scope: String,
    state: String,
    nonce: Option<String>,
    code_challenge: Option<String>,
    code_challenge_method: Option<String>,
}

fn redirect(to: &str, params: &[(&str, &str)]) -> Response {
    let query = serde_urlencoded::to_string(params).expect("query");
    (StatusCode::FOUND, [(header::LOCATION, format!("{to}?{query}"))]).into_response()
}

fn bad(message: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        axum::Json(json!({"error": "invalid_request", "error_description": message})),
    )
        .into_response()
}

/// Signs the configured person in at once and sends them back.
async fn authorize(State(p): State<Arc<Inner>>, Query(q): Query<AuthorizeQuery>) -> Response {
    if q.response_type != "code" || q.client_id != CLIENT_ID || !q.scope.split(' ').any(|s| s == "openid") {
        return bad("expected response_type=code, our client and the openid scope");
    }
    if *p.misbehave.lock().expect("misbehave") == Misbehave::DeniesAccess {
        return redirect(&q.redirect_uri, &[("error", "access_denied"), ("state", &q.state)]);
    }
    let (Some(challenge), Some("S256")) = (q.code_challenge, q.code_challenge_method.as_deref()) else {
        return bad("PKCE with S256 is required");
    };
    let code = format!("code-{}", rand::random::<u64>());
    let grant = Grant {
        redirect_uri: q.redirect_uri.clone(),
        nonce: q.nonce,
        challenge,
        person: p.person.lock().expect("person").clone(),
    };
    p.codes.lock().expect("codes").insert(code.clone(), grant);
    redirect(&q.redirect_uri, &[("code", &code), ("state", &q.state)])
}

#[derive(Deserialize)]
struct TokenForm {
    grant_type: String,
    code: String,
    redirect_uri: String,
    code_verifier: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
}

fn token_error(error: &str) -> Response {
    (StatusCode::BAD_REQUEST, axum::Json(json!({"error": error}))).into_response()
}

/// The client as `client_secret_basic` or `client_secret_post` sends it.
fn client_of(headers: &HeaderMap, form: &TokenForm) -> Option<(String, String)> {
    if let Some(basic) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
    {
        let decoded = String::from_utf8(STANDARD.decode(basic).ok()?).ok()?;
        let (id, secret) = decoded.split_once(':')?;
        let unescape = |s: &str| {
            url::form_urlencoded::parse(format!("x={s}").as_bytes())
                .next()
                .map(|(_, v)| v.into_owned())
        };
        return Some((unescape(id)?, unescape(secret)?));
    }
    Some((form.client_id.clone()?, form.client_secret.clone()?))
}

async fn token(State(p): State<Arc<Inner>>, headers: HeaderMap, Form(form): Form<TokenForm>) -> Response {
    if client_of(&headers, &form) != Some((CLIENT_ID.into(), CLIENT_SECRET.into())) {
        return (StatusCode::UNAUTHORIZED, axum::Json(json!({"error": "invalid_client"}))).into_response();
    }
    if form.grant_type != "authorization_code" {
        return token_error("unsupported_grant_type");
    }
    let Some(grant) = p.codes.lock().expect("codes").remove(&form.code) else {
        return token_error("invalid_grant");
    };
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(form.code_verifier.unwrap_or_default().as_bytes()));
    if grant.redirect_uri != form.redirect_uri || challenge != grant.challenge {
        return token_error("invalid_grant");
    }
    let id_token = id_token(&p, &grant);
    axum::Json(json!({
        "access_token": format!("at-{}", rand::random::<u64>()),
        "token_type": "Bearer",
        "expires_in": 3600,
        "id_token": id_token.to_string(),
    }))
    .into_response()
}

fn id_token(p: &Inner, grant: &Grant) -> CoreIdToken {
    let how = *p.misbehave.lock().expect("misbehave");
    let now = p.clock.now();
    let (issued, expires) = match how {
        Misbehave::Expired => (now - chrono::Duration::hours(2), now - chrono::Duration::hours(1)),
        _ => (now, now + chrono::Duration::minutes(5)),
    };
    let issuer = match how {
        Misbehave::WrongIssuer => "https://elsewhere.example".to_owned(),
        _ => p.issuer.clone(),
    };
    let audience = match how {
        Misbehave::WrongAudience => "another-client",
        _ => CLIENT_ID,
    };
    let nonce = match how {
        Misbehave::WrongNonce => Some("a-nonce-from-another-sign-in".to_owned()),
        _ => grant.nonce.clone(),
    };
    let person = &grant.person;
    let mut standard = StandardClaims::new(SubjectIdentifier::new(person.subject.clone()))
        .set_email(Some(EndUserEmail::new(person.email.clone())))
        .set_email_verified(Some(person.email_verified && how != Misbehave::UnverifiedEmail));
    if let Some(name) = &person.name {
        standard = standard.set_name(Some(LocalizedClaim::from(EndUserName::new(name.clone()))));
    }
    let claims = CoreIdTokenClaims::new(
        IssuerUrl::new(issuer).expect("issuer"),
        vec![Audience::new(audience.into())],
        expires,
        issued,
        standard,
        EmptyAdditionalClaims {},
    )
    .set_nonce(nonce.map(Nonce::new));
    let key = match how {
        Misbehave::OtherKey => &p.forger,
        _ => p.current_key(),
    };
    CoreIdToken::new(claims, key, CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256, None, None).expect("signed ID token")
}
