//! `GET /api/work_areas` and `GET /api/work_areas/{wa}`: read-only, the caller's account only.
use super::{collection_response, resource_response, ApiResult};
use crate::app::AppState;
use crate::http::auth::CurrentUser;
use crate::http::error::ApiError;
use crate::http::extract::Ids;
use crate::repr::resources::{self, Urls};
use crate::repr::{Collection, Format};
use axum::extract::State;

pub async fn list(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    format: Format,
    urls: Urls,
) -> ApiResult {
    let areas = state.repo.work_areas(user.account_id).await?;
    let collection = Collection {
        kind: "work_areas",
        total_entries: None,
        prev: None,
        next: None,
        items: areas
            .iter()
            .map(|a| resources::work_area(&urls, a))
            .collect(),
    };
    Ok(collection_response(format, &collection))
}

pub async fn show(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Ids(ids): Ids,
    format: Format,
    urls: Urls,
) -> ApiResult {
    let area = state
        .repo
        .work_area(user.account_id, ids[0])
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(resource_response(
        format,
        &resources::work_area(&urls, &area),
    ))
}
