//! Signing in through the OpenID Connect provider: `/auth/oidc/start`
//! sends the person there, `/auth/oidc/callback` brings them back signed
//! in, or to a page that says why not.

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use serde::Deserialize;
use tower_sessions::Session;

use super::sign_in::{anonymous_page, safe_next};
use crate::auth::client::ClientAddr;
use crate::auth::{SignInVia, sessions, start_session};
use crate::error::AppResult;
use crate::ops::sso::{self, Failure, Pending};
use crate::state::AppState;
use crate::web::layout::Layout;

/// The session key of the sign-in waiting for the provider's answer.
const PENDING: &str = "oidc_pending";

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/auth/oidc/start", get(start_by_link))
        .route("/auth/oidc/callback", get(callback))
}

#[derive(Template)]
#[template(path = "sso_refused.html")]
struct RefusedPage {
    layout: Layout,
    message: String,
}

#[derive(Deserialize)]
struct StartQuery {
    next: Option<String>,
}

async fn start_by_link(
    State(state): State<AppState>,
    session: Session,
    headers: HeaderMap,
    Query(q): Query<StartQuery>,
) -> AppResult<Response> {
    start(&state, &session, &headers, q.next.as_deref()).await
}

/// Keeps `state`, `nonce` and the PKCE verifier in the session and sends
/// the person to the provider.
async fn start(state: &AppState, session: &Session, headers: &HeaderMap, next: Option<&str>) -> AppResult<Response> {
    let Some(provider) = state.sso.as_deref() else {
        return refused(state, session, headers, not_set_up()).await;
    };
    match provider.start(safe_next(next)).await {
        Ok((url, pending)) => {
            session
                .insert(PENDING, pending)
                .await
                .map_err(sessions::session_failed)?;
            Ok(Redirect::to(&url).into_response())
        }
        Err(failure) => refused(state, session, headers, failure).await,
    }
}

#[derive(Deserialize)]
struct Callback {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

async fn callback(
    State(state): State<AppState>,
    session: Session,
    headers: HeaderMap,
    client: ClientAddr,
    Query(answer): Query<Callback>,
) -> AppResult<Response> {
    // Taken out at once: a code is good for one try, whatever happens.
    let pending: Option<Pending> = session.remove(PENDING).await.map_err(sessions::session_failed)?;
    let via = SignInVia::new("sso", &client, &headers);
    match sign_in(&state, &session, pending, answer, via).await {
        Ok(next) => Ok(Redirect::to(&next).into_response()),
        Err(failure) => refused(&state, &session, &headers, failure).await,
    }
}

/// The whole check, from the provider's answer to a signed-in session.
async fn sign_in(
    state: &AppState,
    session: &Session,
    pending: Option<Pending>,
    answer: Callback,
    via: SignInVia,
) -> Result<String, Failure> {
    let provider = state.sso.as_deref().ok_or_else(not_set_up)?;
    let name = &provider.settings.name;
    if let Some(error) = answer.error {
        tracing::warn!(error = %short(&error), "the OpenID provider answered with an error");
        return Err(Failure::Refused(match error.as_str() {
            "access_denied" => format!("{name} did not sign you in (it was cancelled or refused there)."),
            other => format!("{name} did not sign you in; it answered “{}”.", short(other)),
        }));
    }
    let Some(pending) = pending else {
        return Err(Failure::Invalid(
            "No sign-in is waiting in this browser: it took too long, or began in another browser. Start again from the sign-in page."
                .into(),
        ));
    };
    let (Some(code), Some(returned_state)) = (answer.code, answer.state) else {
        return Err(Failure::Invalid(format!(
            "{name} sent you back without a sign-in code. Start again from the sign-in page."
        )));
    };
    let next = pending.next.clone();
    let who = provider.finish(pending, &returned_state, &code, &state.clock).await?;
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let signed_in = sso::account_for(&mut tx, &provider.settings, &who, now).await?;
    tx.commit().await?;
    tracing::info!(user_id = signed_in.user.id, how = ?signed_in.how, "signed in through single sign-on");
    start_session(state, session, signed_in.user.id, signed_in.user.session_epoch, via).await?;
    Ok(next)
}

fn not_set_up() -> Failure {
    Failure::Invalid("Single sign-on is not set up here; sign in with your e-mail and password.".into())
}

/// A provider's error code, as far as it looks like one (it comes in the
/// address, so anyone could write anything there).
fn short(code: &str) -> String {
    code.chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
        .take(40)
        .collect()
}

/// The page that says why the sign-in did not happen.
async fn refused(state: &AppState, session: &Session, headers: &HeaderMap, failure: Failure) -> AppResult<Response> {
    let (status, message) = match failure {
        Failure::Provider(m) => (StatusCode::BAD_GATEWAY, m),
        Failure::Refused(m) => (StatusCode::FORBIDDEN, m),
        Failure::Invalid(m) => (StatusCode::BAD_REQUEST, m),
        Failure::Internal(e) => return Err(e),
    };
    tracing::warn!(status = status.as_u16(), reason = %message, "single sign-on refused");
    Ok(
        anonymous_page(state, session, headers, "Sign-in refused", status, |layout| {
            RefusedPage { layout, message }
        })
        .await,
    )
}

#[cfg(test)]
mod tests {
    use super::short;

    #[test]
    fn a_providers_error_code_is_shown_only_as_a_short_word() {
        assert_eq!(short("access_denied"), "access_denied");
        assert_eq!(short("<script>x</script> call +1 555"), "scriptxscriptcall1555");
        assert_eq!(short(&"a".repeat(100)).len(), 40);
    }
}
