//! The outermost layer, run before routing: it remembers the raw request target (Digest hashes
//! it), normalises the path (`.json`/`.xml` suffix, trailing slash), negotiates the response
//! format, renders error bodies in that format, and writes the request log line.
use super::auth::AuthenticatedAs;
use super::error::{ApiError, ErrorBody};
use super::negotiate;
use crate::repr::resources::Urls;
use crate::repr::Format;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::time::Instant;

/// The request target exactly as the client sent it (path and query, undecoded).
#[derive(Debug, Clone)]
pub struct RawTarget(pub String);

/// The configured public base URL, if any (a layer extension set by the app).
#[derive(Debug, Clone)]
pub struct PublicUrl(pub Option<String>);

pub async fn edge(
    State(public_url): State<PublicUrl>,
    mut request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let raw = request
        .uri()
        .path_and_query()
        .map(|pq| pq.as_str().to_string())
        .unwrap_or_else(|| "/".into());

    let (path, suffix_format) = normalized_path(request.uri().path());
    let format = match suffix_format {
        Some(format) => Ok(format),
        None => negotiate::from_accept(
            request
                .headers()
                .get(header::ACCEPT)
                .and_then(|v| v.to_str().ok()),
        ),
    };
    let urls = Urls::new(&base_url(&public_url, &request));
    if let Some(uri) = rewrite(request.uri(), &path) {
        *request.uri_mut() = uri;
    }
    request.extensions_mut().insert(RawTarget(raw.clone()));
    request.extensions_mut().insert(urls);

    let (response, format) = match format {
        Ok(format) => {
            request.extensions_mut().insert(format);
            (next.run(request).await, format)
        }
        Err(_) => (ApiError::NotAcceptable.into_response(), Format::Xml),
    };
    let response = render_error_body(response, format);

    let user = response
        .extensions()
        .get::<AuthenticatedAs>()
        .map(|a| a.0.as_str())
        .unwrap_or("-");
    tracing::info!(
        target: "sequence::request",
        %method,
        target = %raw,
        status = response.status().as_u16(),
        latency_ms = started.elapsed().as_secs_f64() * 1000.0,
        user,
    );
    response
}

/// The path with a `.json`/`.xml` suffix and any trailing slash removed.
fn normalized_path(path: &str) -> (String, Option<Format>) {
    let trimmed = if path.len() > 1 {
        path.trim_end_matches('/')
    } else {
        path
    };
    let trimmed = if trimmed.is_empty() { "/" } else { trimmed };
    let (stripped, format) = negotiate::split_suffix(trimmed);
    (stripped.to_string(), format)
}

fn rewrite(uri: &Uri, path: &str) -> Option<Uri> {
    if uri.path() == path {
        return None;
    }
    let target = match uri.query() {
        Some(query) => format!("{path}?{query}"),
        None => path.to_string(),
    };
    target.parse().ok()
}

/// `scheme://host[:port]` from the configuration, or from the request's `Host`.
fn base_url(public_url: &PublicUrl, request: &Request) -> String {
    if let Some(url) = &public_url.0 {
        return url.clone();
    }
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| !h.is_empty() && h.bytes().all(|b| b.is_ascii_graphic()))
        .or_else(|| request.uri().authority().map(|a| a.as_str()))
        .unwrap_or("localhost");
    format!("http://{host}")
}

/// Errors carry their body as an `ErrorBody` extension; write it now that the format is known.
fn render_error_body(mut response: Response, format: Format) -> Response {
    let Some(body) = response.extensions_mut().remove::<ErrorBody>() else {
        return response;
    };
    let text = body.render(format);
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(format.content_type()),
    );
    response.headers_mut().remove(header::CONTENT_LENGTH);
    *response.body_mut() = Body::from(text);
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_lose_suffix_and_trailing_slash() {
        assert_eq!(
            normalized_path("/api/work_areas/10/jobs/42/"),
            ("/api/work_areas/10/jobs/42".into(), None)
        );
        assert_eq!(
            normalized_path("/api/work_areas/10/jobs/3.json"),
            ("/api/work_areas/10/jobs/3".into(), Some(Format::Json))
        );
        assert_eq!(
            normalized_path("/api.xml"),
            ("/api".into(), Some(Format::Xml))
        );
        assert_eq!(normalized_path("/"), ("/".into(), None));
        assert_eq!(normalized_path("//"), ("/".into(), None));
    }
}
