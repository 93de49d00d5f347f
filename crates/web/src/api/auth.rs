//! Who calls the write API: a personal API token in `Authorization: Bearer ndt_...`.

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use chrono::Utc;
use newsdesk_domain::roles::{Permission, Role};
use newsdesk_storage::AuditEntry;

use super::ApiError;
use crate::AppState;

/// The back-office user a request's token belongs to.
#[derive(Debug, Clone)]
pub struct ApiUser {
    /// User id.
    pub user_id: i64,
    /// E-mail address (the actor in revisions and the audit log).
    pub email: String,
    /// Role.
    pub role: Role,
    /// The token used.
    pub token_id: i64,
}

impl ApiUser {
    /// Whether the user's role grants `p`.
    pub fn can(&self, p: Permission) -> bool {
        self.role.can(p)
    }

    /// Refuses with 403 unless the role grants `p`.
    pub fn require(&self, p: Permission) -> Result<(), ApiError> {
        if self.can(p) {
            Ok(())
        } else {
            Err(ApiError::forbidden(format!("your role ({}) may not do this", self.role)))
        }
    }

    /// An audit entry by this user, marked as made through the API.
    pub fn audit(
        &self,
        action: &str,
        target_kind: &str,
        target_id: impl ToString,
        detail: impl Into<String>,
    ) -> AuditEntry {
        AuditEntry {
            at: Utc::now(),
            actor: self.email.clone(),
            user_id: Some(self.user_id),
            action: action.into(),
            target_kind: target_kind.into(),
            target_id: target_id.to_string(),
            detail: format!("{} (API token {})", detail.into(), self.token_id),
        }
    }
}

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
            Some((user, token_id)) if user.role.can(Permission::UseBackOffice) => {
                Ok(ApiUser { user_id: user.id, email: user.email, role: user.role, token_id })
            }
            _ => Err(ApiError::unauthorized("the API token is unknown or revoked, or its user is deactivated")),
        }
    }
}
