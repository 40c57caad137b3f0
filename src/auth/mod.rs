//! Who is asking, and what they may do. Handlers take these extractors, so
//! a permission check cannot be forgotten.

pub mod client;
pub mod csrf;
pub mod sessions;

use axum::extract::{FromRequestParts, RawPathParams};
use axum::http::request::Parts;
use axum::http::{Method, Uri, header};
use axum::response::{IntoResponse, Redirect, Response};
use tower_sessions::Session;

use crate::db::teams::{Team, TeamRole};
use crate::db::users::User;
use crate::error::AppError;
use crate::secrets;
use crate::state::AppState;
use crate::throttle::TokenKind;

pub const SESSION_USER: &str = "user_id";
/// When the session was last marked active (Unix seconds).
const SESSION_TOUCHED: &str = "touched";
/// When the person signed in (Unix seconds), for the absolute lifetime.
const SESSION_SIGNED_IN: &str = "signed_in";
/// The account's session epoch at sign-in; a password change raises the
/// account's, which ends this session.
const SESSION_EPOCH: &str = "epoch";

/// How often a session in use is saved, so its idle expiry moves on: at
/// most once a minute, and often enough that a short idle limit never
/// ends a session that is in use (a quarter of the limit).
pub fn touch_every_secs(idle_secs: u64) -> i64 {
    (idle_secs / 4).clamp(1, 60) as i64
}

/// A signed-in person in the HTML pages; anonymous visitors are sent to
/// the sign-in page and brought back afterwards.
pub struct WebUser(pub User);

/// A caller of the JSON API, by personal token; 401 otherwise.
pub struct ApiUser(pub User);

/// Anything that identifies the caller.
pub trait Caller: Sized + Send {
    fn user(&self) -> &User;
    fn into_user(self) -> User;
}

impl Caller for WebUser {
    fn user(&self) -> &User {
        &self.0
    }
    fn into_user(self) -> User {
        self.0
    }
}

impl Caller for ApiUser {
    fn user(&self) -> &User {
        &self.0
    }
    fn into_user(self) -> User {
        self.0
    }
}

fn sign_in_redirect(uri: &Uri) -> Response {
    let next = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    let query = serde_urlencoded::to_string([("next", next)]).unwrap_or_default();
    Redirect::to(&format!("/login?{query}")).into_response()
}

/// What a session says about who is signed in.
enum SessionCheck {
    /// Nobody signed in with this session.
    Anonymous,
    /// Someone was, but no longer may be: a changed password, a leaver,
    /// or past the absolute lifetime. The session should be ended.
    Ended,
    Valid(User),
}

async fn check_session(state: &AppState, session: &Session, now: i64) -> Result<SessionCheck, AppError> {
    let id: Option<i64> = session.get(SESSION_USER).await.map_err(sessions::session_failed)?;
    let Some(id) = id else {
        return Ok(SessionCheck::Anonymous);
    };
    let user = state.user_by_id(id).await?;
    let current = match &user {
        Some(u) => is_current_epoch(session, u).await,
        None => false,
    };
    // A deactivated account (a leaver) has no session any more.
    let Some(user) = user.filter(|u| current && u.is_active()) else {
        return Ok(SessionCheck::Ended);
    };
    let max_age = state.settings.session_max_age.as_secs() as i64;
    match session.get::<i64>(SESSION_SIGNED_IN).await.ok().flatten() {
        Some(at) if now - at > max_age => Ok(SessionCheck::Ended),
        _ => Ok(SessionCheck::Valid(user)),
    }
}

/// Who the session belongs to, if it is a valid sign-in; changes nothing
/// (for pages that only dress themselves for a signed-in reader, such as
/// the error page's navigation).
pub async fn signed_in_user(state: &AppState, session: &Session) -> Option<User> {
    match check_session(state, session, state.clock.now().timestamp()).await {
        Ok(SessionCheck::Valid(user)) => Some(user),
        _ => None,
    }
}

impl FromRequestParts<AppState> for WebUser {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let session = Session::from_request_parts(parts, state)
            .await
            .map_err(|(status, msg)| AppError::Internal(anyhow::anyhow!("session: {status} {msg}")).into_response())?;
        let now = state.clock.now().timestamp();
        let user = match check_session(state, &session, now)
            .await
            .map_err(IntoResponse::into_response)?
        {
            SessionCheck::Valid(user) => user,
            SessionCheck::Anonymous => return Err(sign_in_redirect(&parts.uri)),
            SessionCheck::Ended => {
                let _ = session.flush().await;
                return Err(sign_in_redirect(&parts.uri));
            }
        };
        // Signed in before sessions had a start: their lifetime starts now.
        if session.get::<i64>(SESSION_SIGNED_IN).await.ok().flatten().is_none() {
            let _ = session.insert(SESSION_SIGNED_IN, now).await;
        }
        touch(
            state,
            &session,
            now,
            touch_every_secs(state.settings.session_idle.as_secs()),
        )
        .await;
        note_user(parts, user.id);
        Ok(WebUser(user))
    }
}

/// Whether the session was signed in under the account's current password.
async fn is_current_epoch(session: &Session, user: &User) -> bool {
    let epoch: i32 = session.get(SESSION_EPOCH).await.ok().flatten().unwrap_or(0);
    epoch == user.session_epoch
}

/// The session's sign-in id: its row in the person's list of sessions.
const SESSION_SIGN_IN_ID: &str = "sign_in_id";

/// How and from where someone signed in, for their list of sessions.
pub struct SignInVia {
    /// `password`, `sso`, `setup`, `invitation` or `reset`.
    pub method: &'static str,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

impl SignInVia {
    pub fn new(method: &'static str, client: &client::ClientAddr, headers: &axum::http::HeaderMap) -> Self {
        let user_agent = headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|ua| ua.chars().take(300).collect());
        SignInVia {
            method,
            ip: Some(client.0.to_string()),
            user_agent,
        }
    }
}

/// Signs `user` in: a new session id (so a planted cookie is worth
/// nothing), then who they are, when, and under which password; the
/// sign-in joins the person's list of sessions.
pub async fn start_session(
    state: &AppState,
    session: &Session,
    user_id: i64,
    session_epoch: i32,
    via: SignInVia,
) -> Result<(), AppError> {
    let fail = sessions::session_failed;
    let now = state.clock.now();
    let sign_in_id = secrets::random_secret();
    session.cycle_id().await.map_err(fail)?;
    csrf::forget(session).await;
    session.insert(SESSION_USER, user_id).await.map_err(fail)?;
    session.insert(SESSION_EPOCH, session_epoch).await.map_err(fail)?;
    session.insert(SESSION_SIGNED_IN, now.timestamp()).await.map_err(fail)?;
    session.insert(SESSION_TOUCHED, now.timestamp()).await.map_err(fail)?;
    session.insert(SESSION_SIGN_IN_ID, &sign_in_id).await.map_err(fail)?;
    let mut conn = state.db.acquire().await?;
    crate::db::user_sessions::insert(
        &mut conn,
        crate::db::user_sessions::NewSignIn {
            sign_in_id: &sign_in_id,
            user_id,
            at: now,
            method: via.method,
            ip: via.ip.as_deref(),
            user_agent: via.user_agent.as_deref(),
        },
    )
    .await?;
    crate::db::users::record_sign_in(&mut conn, user_id, now).await?;
    Ok(())
}

/// This session's sign-in id, if it has one.
pub async fn sign_in_id(session: &Session) -> Option<String> {
    session.get(SESSION_SIGN_IN_ID).await.ok().flatten()
}

/// Keeps this session after the account's session epoch rose (a password
/// change, or "sign out everywhere else"), under a new id; every other
/// sign-in of the person leaves their list.
pub async fn keep_session(
    state: &AppState,
    session: &Session,
    user_id: i64,
    session_epoch: i32,
) -> Result<(), AppError> {
    let fail = sessions::session_failed;
    session.cycle_id().await.map_err(fail)?;
    session.insert(SESSION_EPOCH, session_epoch).await.map_err(fail)?;
    let keep = sign_in_id(session).await;
    let mut conn = state.db.acquire().await?;
    crate::db::user_sessions::end_all_but(&mut conn, user_id, keep.as_deref(), state.clock.now()).await?;
    Ok(())
}

/// Ends this session on the server (signing out) and its row in the list.
pub async fn end_session(state: &AppState, session: &Session) -> Result<(), AppError> {
    if let Some(id) = sign_in_id(session).await {
        let mut conn = state.db.acquire().await?;
        crate::db::user_sessions::end(&mut conn, &id, state.clock.now()).await?;
    }
    session.flush().await.map_err(sessions::session_failed)
}

/// Keeps a session in use alive: the idle expiry counts from the last
/// save, and an unchanged session is not saved, so mark it changed now and
/// then rather than writing it on every request. The person's list of
/// sessions learns it was seen at the same pace.
async fn touch(state: &AppState, session: &Session, now: i64, every: i64) {
    let last: i64 = session.get(SESSION_TOUCHED).await.ok().flatten().unwrap_or(0);
    if now - last >= every {
        let _ = session.insert(SESSION_TOUCHED, now).await;
        if let Some(id) = sign_in_id(session).await
            && let Ok(mut conn) = state.db.acquire().await
        {
            let _ = crate::db::user_sessions::seen(&mut conn, &id, state.clock.now()).await;
        }
    }
}

impl FromRequestParts<AppState> for ApiUser {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let secret = bearer(parts).ok_or(AppError::Unauthorized)?;
        let token = state
            .token_by_hash(&secrets::token_hash(secret))
            .await?
            .ok_or(AppError::Unauthorized)?;
        let now = state.clock.now();
        if let Some(expired) = token.expires_at.filter(|at| *at <= now) {
            return Err(AppError::TokenRefused(format!(
                "This token expired on {} UTC; create a new one in your profile",
                expired.format("%Y-%m-%d %H:%M")
            )));
        }
        admit(state, TokenKind::Personal, token.id)?;
        if token.read_only && !matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS) {
            return Err(AppError::forbidden(
                "This token is read-only; create a read-write token in your profile",
            ));
        }
        if state
            .throttle
            .should_record_use(TokenKind::Personal, token.id, token.last_used_at, now)
        {
            let mut conn = state.db.acquire().await?;
            crate::db::tokens::record_use(&mut conn, token.id, now).await?;
        }
        note_user(parts, token.user.id);
        Ok(ApiUser(token.user))
    }
}

/// Tells the access log who made the request.
fn note_user(parts: &Parts, user_id: i64) {
    if let Some(slot) = parts.extensions.get::<crate::telemetry::RequestUser>() {
        slot.set(user_id);
    }
}

/// Takes one request from a token's allowance, or says when to come back.
fn admit(state: &AppState, kind: TokenKind, id: i64) -> Result<(), AppError> {
    state.throttle.admit(kind, id).map_err(|retry_after_secs| {
        let limits = &state.settings.limits;
        let rate = match kind {
            TokenKind::Personal => limits.personal_token,
            TokenKind::Integration => limits.integration_token,
        };
        AppError::RateLimited {
            message: format!(
                "This token has sent more than {} requests a second; wait {retry_after_secs} s (see Retry-After) and send fewer",
                rate.per_second
            ),
            retry_after_secs,
        }
    })
}

/// The `{team}` of the route, seen by one of its members (or an admin).
pub struct TeamMember<C> {
    pub caller: C,
    pub team: Team,
    /// Admins act as managers in every team.
    pub role: TeamRole,
}

/// The `{team}` of the route, seen by one of its managers (or an admin).
pub struct TeamManager<C>(pub TeamMember<C>);

impl<C> TeamMember<C>
where
    C: Caller,
{
    pub fn user(&self) -> &User {
        self.caller.user()
    }

    pub fn is_manager(&self) -> bool {
        self.role == TeamRole::Manager
    }
}

async fn team_member<C>(parts: &mut Parts, state: &AppState) -> Result<TeamMember<C>, Response>
where
    C: Caller + FromRequestParts<AppState>,
    C::Rejection: IntoResponse,
{
    let caller = C::from_request_parts(parts, state)
        .await
        .map_err(IntoResponse::into_response)?;
    let params = RawPathParams::from_request_parts(parts, state)
        .await
        .map_err(IntoResponse::into_response)?;
    let slug = params
        .iter()
        .find(|(k, _)| *k == "team")
        .map(|(_, v)| v.to_owned())
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("route has no {{team}}")).into_response())?;
    let user = caller.user();
    let found = state
        .team_access(user.id, &slug)
        .await
        .map_err(IntoResponse::into_response)?;
    let (team, role) = match found {
        // Admins keep their powers in every team, whatever role a manager
        // gives them there: nobody can lock an admin out of a team.
        Some((team, _)) if user.is_admin => (team, TeamRole::Manager),
        Some((team, Some(role))) => (team, role),
        // Not a member: the team's existence is not revealed.
        _ => return Err(AppError::not_found("team").into_response()),
    };
    Ok(TeamMember { caller, team, role })
}

impl<C> FromRequestParts<AppState> for TeamMember<C>
where
    C: Caller + FromRequestParts<AppState>,
    C::Rejection: IntoResponse,
{
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        team_member(parts, state).await
    }
}

impl<C> FromRequestParts<AppState> for TeamManager<C>
where
    C: Caller + FromRequestParts<AppState>,
    C::Rejection: IntoResponse,
{
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let member = team_member::<C>(parts, state).await?;
        if member.is_manager() {
            Ok(TeamManager(member))
        } else {
            Err(AppError::forbidden(format!(
                "Only managers of {} can do this; ask one of them",
                member.team.name
            ))
            .into_response())
        }
    }
}

/// An instance admin.
pub struct Admin<C>(pub C);

impl<C> FromRequestParts<AppState> for Admin<C>
where
    C: Caller + FromRequestParts<AppState>,
    C::Rejection: IntoResponse,
{
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let caller = C::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        if caller.user().is_admin {
            Ok(Admin(caller))
        } else {
            Err(AppError::forbidden("Only instance admins can do this").into_response())
        }
    }
}

/// An alerting tool, by its team's integration token; 401 otherwise.
pub struct IntegrationCaller {
    pub integration: crate::db::integrations::Integration,
    pub team: Team,
}

pub(crate) fn bearer(parts: &Parts) -> Option<&str> {
    parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .map(str::trim)
}

impl IntegrationCaller {
    /// The integration behind the request's bearer token, if it is one.
    pub async fn find(parts: &Parts, state: &AppState) -> Result<Option<Self>, AppError> {
        let Some(token) = bearer(parts) else { return Ok(None) };
        let Some(caller) = Self::lookup(state, secrets::token_hash(token)).await? else {
            return Ok(None);
        };
        let id = caller.integration.id;
        admit(state, TokenKind::Integration, id)?;
        let now = state.clock.now();
        if state
            .throttle
            .should_record_use(TokenKind::Integration, id, caller.integration.last_used_at, now)
        {
            let mut conn = state.db.acquire().await?;
            crate::db::integrations::record_use(&mut conn, id, now).await?;
        }
        Ok(Some(caller))
    }

    async fn lookup(state: &AppState, hash: Vec<u8>) -> Result<Option<Self>, AppError> {
        if let Some((integration, team)) = state.caches.integration(&hash) {
            return Ok(Some(IntegrationCaller { integration, team }));
        }
        let seen = state.caches.generation();
        let mut conn = state.db.acquire().await?;
        let Some(integration) = crate::db::integrations::by_hash(&mut conn, &hash).await? else {
            return Ok(None);
        };
        let team = crate::db::teams::by_id(&mut conn, integration.team_id)
            .await?
            .ok_or_else(|| AppError::Internal(anyhow::anyhow!("integration without team")))?;
        state
            .caches
            .put_integration(seen, hash, (integration.clone(), team.clone()));
        Ok(Some(IntegrationCaller { integration, team }))
    }
}

impl FromRequestParts<AppState> for IntegrationCaller {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        IntegrationCaller::find(parts, state)
            .await?
            .ok_or_else(|| AppError::Unauthorized)
    }
}

#[cfg(test)]
mod touch_tests {
    use super::touch_every_secs;

    #[test]
    fn a_session_in_use_is_saved_well_within_its_idle_limit() {
        assert_eq!(touch_every_secs(8 * 3600), 60);
        for idle in [60, 90, 120, 300] {
            // Two saves fit in any idle window, so activity always counts.
            assert!(touch_every_secs(idle) * 2 < idle as i64, "{idle}");
        }
        assert_eq!(touch_every_secs(1), 1);
    }
}
