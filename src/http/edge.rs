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
use axum::http::uri::Authority;
use axum::http::{header, HeaderValue, Uri, Version};
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
    let base = base_url(&public_url, &request);
    if let Some(uri) = rewrite(request.uri(), &path) {
        *request.uri_mut() = uri;
    }
    request.extensions_mut().insert(RawTarget(raw.clone()));

    let (response, format) = match (format, base) {
        (Err(_), _) => (ApiError::NotAcceptable.into_response(), Format::Xml),
        (Ok(format), Err(error)) => (error.into_response(), format),
        (Ok(format), Ok(base)) => {
            request.extensions_mut().insert(Urls::new(&base));
            request.extensions_mut().insert(format);
            (next.run(request).await, format)
        }
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
/// The `Host` header must be one valid `host[:port]` (RFC 9112 §3.2: 400 otherwise, and
/// HTTP/1.1 requires it), because it becomes part of every link the response carries.
fn base_url(public_url: &PublicUrl, request: &Request) -> Result<String, ApiError> {
    let bad_host = || ApiError::BadRequest("Missing or invalid Host header".into());
    let mut hosts = request.headers().get_all(header::HOST).iter();
    let host = match (hosts.next(), hosts.next()) {
        (Some(value), None) => Some(
            value
                .to_str()
                .ok()
                .filter(|h| is_host(h))
                .ok_or_else(bad_host)?,
        ),
        (Some(_), Some(_)) => return Err(bad_host()),
        (None, _) if request.version() == Version::HTTP_11 => return Err(bad_host()),
        (None, _) => None,
    };
    if let Some(url) = &public_url.0 {
        return Ok(url.clone());
    }
    Ok(format!("http://{}", host.unwrap_or("localhost")))
}

/// `host[:port]`: a registered name, IPv4 or bracketed IPv6 address, no user info, and a
/// numeric port.
fn is_host(value: &str) -> bool {
    let Ok(authority) = value.parse::<Authority>() else {
        return false;
    };
    let name = authority.host();
    let name_ok = match name.strip_prefix('[').and_then(|n| n.strip_suffix(']')) {
        Some(ipv6) => ipv6.parse::<std::net::Ipv6Addr>().is_ok(),
        None => {
            name.bytes().any(|b| b.is_ascii_alphanumeric())
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
        }
    };
    let port_ok = match value.rsplit_once(':') {
        Some((_, port)) if !value.ends_with(']') => {
            authority.port_u16().is_some() && !port.is_empty()
        }
        _ => true,
    };
    name_ok && port_ok && !value.contains('@')
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
    fn hosts_are_host_and_optional_port() {
        for good in [
            "example.test",
            "example.test:9999",
            "127.0.0.1:8080",
            "[::1]:8080",
            "[::1]",
            "a_b.test",
        ] {
            assert!(is_host(good), "{good}");
        }
        for bad in [
            "[javascript:alert(1)]",
            "[]",
            "[:::::]",
            ".",
            "..",
            "",
            "example.test\"><x",
            "example.test:9999/evil",
            "example.test:99x",
            "user@example.test",
            "example.test:",
            "exa mple",
            "example.test:99999",
        ] {
            assert!(!is_host(bad), "{bad}");
        }
    }

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
