//! Who calls the write API: a personal API token in `Authorization: Bearer ndt_...`.

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use chrono::Utc;
use newsdesk_domain::roles::Permission;

use super::ApiError;
use crate::AppState;
use crate::desk::Actor;

/// The back-office user a request's token belongs to, as the desk sees it
/// (with the token, which the audit log names).
#[derive(Debug, Clone)]
pub struct ApiUser(pub Actor);

impl FromRequestParts<AppState> for ApiUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let Some(value) = parts.headers.get(header::AUTHORIZATION) else {
            return Err(ApiError::unauthorized(
                "this endpoint needs a personal API token: `Authorization: Bearer ndt_...` (make one with \
                 `newsdesk user token EMAIL`)",
            ));
        };
        let token = value
            .to_str()
            .ok()
            .and_then(|v| v.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, t)| t.trim())
            .ok_or_else(|| ApiError::unauthorized("the Authorization header must be `Bearer ndt_...`"))?;
        match state.store.authenticate_api_token(token, Utc::now()).await? {
            Some((user, token_id)) if user.role.can(Permission::UseBackOffice) => Ok(ApiUser(Actor {
                user_id: user.id,
                email: user.email,
                name: user.name,
                role: user.role,
                token_id: Some(token_id),
            })),
            _ => Err(ApiError::unauthorized("the API token is unknown or revoked, or its user is deactivated")),
        }
    }
}
