//! The Digest middleware: every `/api` request must come from a robot user.
use super::digest::{parse_authorization, DigestAuth, Verdict};
use super::edge::RawTarget;
use super::error::ApiError;
use super::extract::MAX_BODY_BYTES;
use crate::app::AppState;
use crate::domain::User;
use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// The authenticated robot user of a request (a request extension).
#[derive(Debug, Clone)]
pub struct CurrentUser(pub User);

/// Who made the request, for the request log (a response extension).
#[derive(Debug, Clone)]
pub struct AuthenticatedAs(pub String);

pub async fn require_digest(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let attempt = Attempt::of(&request);
    match authenticate(&state, attempt).await {
        Ok(user) => {
            let login = user.login.clone();
            request.extensions_mut().insert(CurrentUser(user));
            let mut response = next.run(request).await;
            response.extensions_mut().insert(AuthenticatedAs(login));
            response
        }
        Err(error) => {
            // Clients resend the same request with credentials on the same connection; reading
            // the unread body first keeps that connection usable.
            let body = request.into_body();
            let _ = tokio::time::timeout(
                std::time::Duration::from_secs(5),
                axum::body::to_bytes(body, MAX_BODY_BYTES),
            )
            .await;
            error.into_response()
        }
    }
}

/// What Digest verification needs from a request (the body is not needed, and is not `Sync`).
struct Attempt {
    authorization: Option<String>,
    method: String,
    raw_target: String,
}

impl Attempt {
    fn of(request: &Request) -> Self {
        Attempt {
            authorization: request
                .headers()
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string),
            method: request.method().as_str().to_string(),
            raw_target: request
                .extensions()
                .get::<RawTarget>()
                .map(|t| t.0.clone())
                .unwrap_or_default(),
        }
    }
}

fn challenge(digest: &DigestAuth, stale: bool) -> ApiError {
    ApiError::Unauthorized {
        challenges: vec![digest.challenge(stale)],
    }
}

async fn authenticate(state: &AppState, attempt: Attempt) -> Result<User, ApiError> {
    let digest = &state.digest;
    let credentials = attempt
        .authorization
        .as_deref()
        .and_then(|h| parse_authorization(h).ok());
    let Some(credentials) = credentials else {
        return Err(challenge(digest, false));
    };
    let user = state
        .directory
        .user(&credentials.username)
        .await?
        .filter(|u| u.realm == digest.realm());
    let Some(user) = user else {
        return Err(challenge(digest, false));
    };
    match digest.verify(
        &credentials,
        &attempt.method,
        &attempt.raw_target,
        &user.ha1_md5,
    ) {
        Verdict::Authenticated => Ok(user),
        Verdict::Stale => Err(challenge(digest, true)),
        Verdict::Rejected(reason) => {
            tracing::debug!(user = %credentials.username, reason, "digest rejected");
            Err(challenge(digest, false))
        }
    }
}
