//! Accounts, created by instance admins.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use crate::api::json::ApiJson;
use crate::auth::{Admin, ApiUser};
use crate::db::{self, users::Account, users::User};
use crate::error::{AppResult, ErrorBody};
use crate::ops::users::{NewUserInput, create_user as create};
use crate::state::AppState;
use chrono::{DateTime, Utc};

#[derive(Deserialize, utoipa::ToSchema)]
pub struct NewUser {
    pub email: String,
    pub name: String,
    /// IANA zone; `UTC` when absent.
    pub timezone: Option<String>,
    /// At least 10 characters. Without one the person cannot sign in to
    /// the web pages until a password is set.
    pub password: Option<String>,
}

/// A person's account as others may see it (never their calendar secret).
#[derive(Serialize, utoipa::ToSchema)]
pub struct UserInfo {
    pub email: String,
    pub name: String,
    pub timezone: String,
    pub is_admin: bool,
}

impl From<User> for UserInfo {
    fn from(u: User) -> Self {
        UserInfo {
            email: u.email,
            name: u.name,
            timezone: u.timezone,
            is_admin: u.is_admin,
        }
    }
}

#[utoipa::path(
    post,
    path = "/users",
    tag = "users",
    security(("bearer" = [])),
    request_body = NewUser,
    responses(
        (status = 201, description = "The account was created", body = UserInfo),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "The caller is not an instance admin", body = ErrorBody),
        (status = 409, description = "There is already an account with that e-mail", body = ErrorBody),
        (status = 422, description = "A field is not valid", body = ErrorBody),
    )
)]
#[tracing::instrument(skip_all)]
pub async fn create_user(
    State(state): State<AppState>,
    _admin: Admin<ApiUser>,
    ApiJson(body): ApiJson<NewUser>,
) -> AppResult<(StatusCode, Json<UserInfo>)> {
    let mut tx = state.db.begin().await?;
    let input = NewUserInput {
        email: &body.email,
        name: &body.name,
        timezone: body.timezone.as_deref(),
        password: body.password.as_deref(),
        is_admin: false,
    };
    let user = create(&mut tx, input).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(user.into())))
}

/// An account in the admin's list of people.
#[derive(Serialize, utoipa::ToSchema)]
pub struct AccountInfo {
    pub email: String,
    pub name: String,
    /// False for a deactivated account (a leaver).
    pub active: bool,
    pub admin: bool,
    pub last_sign_in_at: Option<DateTime<Utc>>,
}

impl From<Account> for AccountInfo {
    fn from(a: Account) -> Self {
        AccountInfo {
            email: a.email,
            name: a.name,
            active: a.deactivated_at.is_none(),
            admin: a.is_admin,
            last_sign_in_at: a.last_sign_in_at,
        }
    }
}

#[utoipa::path(
    get,
    path = "/users",
    tag = "users",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Every account, active first, by name", body = [AccountInfo]),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "The caller is not an instance admin", body = ErrorBody),
    )
)]
#[tracing::instrument(skip_all)]
pub async fn list_users(State(state): State<AppState>, _admin: Admin<ApiUser>) -> AppResult<Json<Vec<AccountInfo>>> {
    let mut conn = state.db.acquire().await?;
    let accounts = db::users::accounts(&mut conn).await?;
    Ok(Json(accounts.into_iter().map(AccountInfo::from).collect()))
}

fn account_info(user: User, last_sign_in_at: Option<DateTime<Utc>>) -> AccountInfo {
    AccountInfo {
        active: user.is_active(),
        email: user.email,
        name: user.name,
        admin: user.is_admin,
        last_sign_in_at,
    }
}

#[utoipa::path(
    post,
    path = "/users/{email}/deactivate",
    tag = "users",
    security(("bearer" = [])),
    params(("email" = String, Path, description = "The account's e-mail")),
    responses(
        (status = 200, description = "Deactivated: sign-in, sessions and tokens refused from now on; they left every rotation from the next handoff", body = AccountInfo),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "The caller is not an instance admin", body = ErrorBody),
        (status = 404, description = "No such account", body = ErrorBody),
        (status = 409, description = "They are on call or hold weeks that need cover first (named), it is the caller, or already deactivated", body = ErrorBody),
    )
)]
#[tracing::instrument(skip_all)]
pub async fn deactivate_user(
    State(state): State<AppState>,
    Admin(ApiUser(admin)): Admin<ApiUser>,
    Path(email): Path<String>,
) -> AppResult<Json<AccountInfo>> {
    let mut tx = state.db.begin().await?;
    let user = crate::ops::accounts::deactivate(&mut tx, &admin, &email, &state.clock).await?;
    let last = last_sign_in(&mut tx, &user.email).await?;
    tx.commit().await?;
    Ok(Json(account_info(user, last)))
}

#[utoipa::path(
    post,
    path = "/users/{email}/reactivate",
    tag = "users",
    security(("bearer" = [])),
    params(("email" = String, Path, description = "The account's e-mail")),
    responses(
        (status = 200, description = "Active again: they can sign in; old sessions and tokens stay ended, rotation places do not come back", body = AccountInfo),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "The caller is not an instance admin", body = ErrorBody),
        (status = 404, description = "No such account", body = ErrorBody),
        (status = 409, description = "The account is active already", body = ErrorBody),
    )
)]
#[tracing::instrument(skip_all)]
pub async fn reactivate_user(
    State(state): State<AppState>,
    Admin(ApiUser(admin)): Admin<ApiUser>,
    Path(email): Path<String>,
) -> AppResult<Json<AccountInfo>> {
    let mut tx = state.db.begin().await?;
    let user = crate::ops::accounts::reactivate(&mut tx, &admin, &email, &state.clock).await?;
    let last = last_sign_in(&mut tx, &user.email).await?;
    tx.commit().await?;
    Ok(Json(account_info(user, last)))
}

async fn last_sign_in(conn: &mut sqlx::PgConnection, email: &str) -> AppResult<Option<DateTime<Utc>>> {
    Ok(db::users::last_sign_in_at(conn, email).await?.flatten())
}
