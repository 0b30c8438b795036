//! Handlers, one file per resource. Each is thin: read the request, ask the domain and the
//! store, render the answer.
pub mod events;
pub mod jobs;
pub mod root;
pub mod subresources;
pub mod work_areas;

use crate::http::error::ApiError;
use crate::repr::{self, Collection, Format, Resource};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

pub type ApiResult = Result<Response, ApiError>;

/// A 200 with one resource in the negotiated format.
pub fn resource_response(format: Format, resource: &Resource) -> Response {
    with_type(format, repr::render_resource(format, resource))
}

pub fn collection_response(format: Format, collection: &Collection) -> Response {
    with_type(format, repr::render_collection(format, collection))
}

fn with_type(format: Format, body: String) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static(format.content_type()),
        )],
        body,
    )
        .into_response()
}

/// 200 for a create, as the reference pages show, with the new resource's URL in `Location`.
pub fn created_response(format: Format, resource: &Resource, location: &str) -> Response {
    let mut response = resource_response(format, resource);
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}

pub fn no_content() -> Response {
    StatusCode::NO_CONTENT.into_response()
}
