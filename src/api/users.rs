//! Accounts, created by instance admins.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use crate::api::json::ApiJson;
use crate::auth::{Admin, ApiUser};
use crate::db::users::User;
use crate::error::{AppResult, ErrorBody};
use crate::ops::users::{NewUserInput, create_user as create};
use crate::state::AppState;

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
