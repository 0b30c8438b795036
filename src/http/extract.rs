//! Extractors: what handlers take from a request, each failing with an `ApiError`.
use super::auth::CurrentUser;
use super::body;
use super::error::ApiError;
use super::negotiate;
use super::params::Query;
use crate::domain::attributes::Attributes;
use crate::domain::subresources::SubKind;
use crate::repr::resources::Urls;
use crate::repr::Format;
use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::{header, request::Parts};

/// Request bodies larger than this are refused with 413 before they are read in full.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
/// A body trickled in slower than this holds a connection for nothing.
const BODY_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

impl<S: Send + Sync> FromRequestParts<S> for Format {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        Ok(parts
            .extensions
            .get::<Format>()
            .copied()
            .unwrap_or_default())
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Urls {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        parts
            .extensions
            .get::<Urls>()
            .cloned()
            .ok_or(ApiError::Internal)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for CurrentUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        parts
            .extensions
            .get::<CurrentUser>()
            .cloned()
            .ok_or(ApiError::Internal)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Query {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        Ok(Query::parse(parts.uri.query()))
    }
}

/// The ids in a path (`/work_areas/{wa}/jobs/{id}`), in order. Anything that is not a positive
/// integer that fits in 64 bits cannot name a record: 404, never 400 or 500.
#[derive(Debug, Clone)]
pub struct Ids(pub Vec<i64>);

impl<S: Send + Sync> FromRequestParts<S> for Ids {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Path(raw) = Path::<Vec<String>>::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::NotFound)?;
        raw.iter()
            .map(|s| parse_id(s).ok_or(ApiError::NotFound))
            .collect::<Result<_, _>>()
            .map(Ids)
    }
}

/// The path of a job's sub-resource: `/work_areas/{wa}/jobs/{job}/{kind}[/{id}]`.
#[derive(Debug, Clone, Copy)]
pub struct SubPath {
    pub work_area_id: i64,
    pub job_id: i64,
    pub kind: SubKind,
    pub id: Option<i64>,
}

impl<S: Send + Sync> FromRequestParts<S> for SubPath {
    type Rejection = ApiError;

    /// Routes name each kind literally (`…/jobs/{id}/tasks`), so the kind is read from the
    /// path itself and the ids from the route's parameters.
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Path(raw) = Path::<Vec<String>>::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::NotFound)?;
        let id = |i: usize| {
            raw.get(i)
                .and_then(|s| parse_id(s))
                .ok_or(ApiError::NotFound)
        };
        let kind = parts
            .uri
            .path()
            .split('/')
            .nth(6)
            .and_then(SubKind::parse)
            .ok_or(ApiError::NotFound)?;
        Ok(SubPath {
            work_area_id: id(0)?,
            job_id: id(1)?,
            kind,
            id: if raw.len() > 2 { Some(id(2)?) } else { None },
        })
    }
}

/// Whether reading a body failed because it was too long (rather than malformed chunking).
fn is_length_limit(error: &axum::Error) -> bool {
    let mut source = std::error::Error::source(error);
    while let Some(inner) = source {
        if inner.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        source = inner.source();
    }
    false
}

pub fn parse_id(text: &str) -> Option<i64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok().filter(|id| *id > 0)
}

/// A request body read by its `Content-Type` into the neutral attribute map.
#[derive(Debug, Clone)]
pub struct RequestBody(pub Attributes);

impl<S: Send + Sync> FromRequest<S> for RequestBody {
    type Rejection = ApiError;

    async fn from_request(request: Request, _: &S) -> Result<Self, ApiError> {
        let content_type = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok());
        let format = negotiate::body_format(content_type).ok_or(ApiError::UnsupportedMediaType)?;
        let declared = request
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|n| n > MAX_BODY_BYTES as u64) {
            return Err(ApiError::PayloadTooLarge);
        }
        let reading = axum::body::to_bytes(request.into_body(), MAX_BODY_BYTES);
        let bytes = tokio::time::timeout(BODY_READ_TIMEOUT, reading)
            .await
            .map_err(|_| ApiError::RequestTimeout)?
            .map_err(|e| {
                if is_length_limit(&e) {
                    ApiError::PayloadTooLarge
                } else {
                    ApiError::BadRequest("Request body could not be read".into())
                }
            })?;
        let parsed = match format {
            Format::Xml => body::parse_xml(&bytes),
            Format::Json => body::parse_json(&bytes),
        };
        parsed
            .map(RequestBody)
            .map_err(|e| ApiError::BadRequest(e.message().to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::parse_id;

    #[test]
    fn ids_are_positive_64_bit_integers() {
        assert_eq!(parse_id("42"), Some(42));
        for bad in [
            "0",
            "-1",
            "+1",
            "1e3",
            "abc",
            "",
            "99999999999999999999",
            "4 2",
        ] {
            assert_eq!(parse_id(bad), None, "{bad}");
        }
    }
}
