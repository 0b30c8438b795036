//! `GET /api`: the entry point, linking to the work areas.
use super::{resource_response, ApiResult};
use crate::repr::resources::{self, Urls};
use crate::repr::Format;

pub async fn show(format: Format, urls: Urls) -> ApiResult {
    Ok(resource_response(format, &resources::root(&urls)))
}
