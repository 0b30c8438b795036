//! `ApiError`: the one error type of the API. A handler or middleware returns it; the edge
//! (`edge.rs`) writes its body in the format the client negotiated, so every error — even one
//! raised before negotiation finished — has the right shape.
use crate::repr::{errors, Format};
use crate::store::StoreError;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiError {
    /// 401 with one `WWW-Authenticate` value per offered challenge.
    Unauthorized {
        challenges: Vec<String>,
    },
    /// 400: the request cannot be read (malformed body, no root element, …).
    BadRequest(String),
    NotFound,
    /// 405; `allow` lists the methods that would work.
    MethodNotAllowed {
        allow: &'static str,
    },
    NotAcceptable,
    PayloadTooLarge,
    /// 408: the body did not arrive in time.
    RequestTimeout,
    UnsupportedMediaType,
    /// 422 `<errors>`: attribute validation, one message per problem.
    Validation(Vec<String>),
    /// 422 `<error><message>`: a bad query parameter.
    Parameter(String),
    /// 500: never with details; they go to the log.
    Internal,
}

/// The body an error response still needs; attached to the response for the edge to render.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrorBody {
    Messages(Vec<String>),
    Message(String),
}

impl ErrorBody {
    pub fn render(&self, format: Format) -> String {
        match self {
            ErrorBody::Messages(list) => errors::validation_errors(format, list),
            ErrorBody::Message(text) => errors::message(format, text),
        }
    }
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Unauthorized { .. } => StatusCode::UNAUTHORIZED,
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::NotAcceptable => StatusCode::NOT_ACCEPTABLE,
            ApiError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            ApiError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Validation(_) | ApiError::Parameter(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn body(&self) -> ErrorBody {
        let message = match self {
            ApiError::Validation(list) => return ErrorBody::Messages(list.clone()),
            ApiError::Unauthorized { .. } => {
                "HTTP Digest authentication required (for curl: --digest -u user:password)"
                    .to_string()
            }
            ApiError::BadRequest(message) | ApiError::Parameter(message) => message.clone(),
            ApiError::NotFound => "Not found".to_string(),
            ApiError::MethodNotAllowed { .. } => "Method not allowed".to_string(),
            ApiError::NotAcceptable => {
                "Not acceptable: this resource is available as application/xml or application/json"
                    .to_string()
            }
            ApiError::PayloadTooLarge => "Request body is too large".to_string(),
            ApiError::RequestTimeout => "Request body was not received in time".to_string(),
            ApiError::UnsupportedMediaType => {
                "Unsupported Content-Type: send application/xml, text/xml or application/json"
                    .to_string()
            }
            ApiError::Internal => "Internal server error".to_string(),
        };
        ErrorBody::Message(message)
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        tracing::error!(error = %e, "storage failure");
        ApiError::Internal
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = self.status().into_response();
        let headers = response.headers_mut();
        match &self {
            ApiError::Unauthorized { challenges } => {
                for challenge in challenges {
                    if let Ok(value) = HeaderValue::from_str(challenge) {
                        headers.append(header::WWW_AUTHENTICATE, value);
                    }
                }
            }
            ApiError::MethodNotAllowed { allow } => {
                headers.insert(header::ALLOW, HeaderValue::from_static(allow));
            }
            _ => {}
        }
        response.extensions_mut().insert(self.body());
        response
    }
}
