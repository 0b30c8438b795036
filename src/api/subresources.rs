//! A job's tasks, assets, notes and problems: list, create, show, update, delete.
use super::jobs::{own_work_area, refuse_writes_with_deleted_flag};
use super::{collection_response, created_response, no_content, resource_response, ApiResult};
use crate::app::AppState;
use crate::delivery::check_destination;
use crate::domain::attributes::{self as attr, Given};
use crate::domain::job::Job;
use crate::domain::subresources::{self, Author, Sub, SubKind};
use crate::http::auth::CurrentUser;
use crate::http::error::ApiError;
use crate::http::extract::{RequestBody, SubPath};
use crate::http::params::Query;
use crate::repr::resources::{self, Urls};
use crate::repr::Scalar;
use crate::repr::{Collection, Format};
use crate::store::Change;
use axum::extract::State;
use rand::RngCore;

/// The job a sub-resource path names: live, or deleted when the flag is given.
async fn parent_job(
    state: &AppState,
    user: &crate::domain::User,
    path: &SubPath,
    deleted: bool,
) -> Result<Job, ApiError> {
    own_work_area(state, user, path.work_area_id).await?;
    state
        .repo
        .job(path.work_area_id, path.job_id, deleted)
        .await?
        .ok_or(ApiError::NotFound)
}

pub async fn list(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    path: SubPath,
    query: Query,
    format: Format,
    urls: Urls,
) -> ApiResult {
    let job = parent_job(&state, &user, &path, query.deleted()).await?;
    let items = state.repo.subs(path.kind, &[job.id]).await?;
    let collection = Collection {
        kind: path.kind.plural(),
        total_entries: None,
        prev: None,
        next: None,
        items: items
            .iter()
            .map(|s| resources::sub(&urls, path.work_area_id, s, job.deleted))
            .collect(),
    };
    Ok(collection_response(format, &collection))
}

pub async fn show(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    path: SubPath,
    query: Query,
    format: Format,
    urls: Urls,
) -> ApiResult {
    let job = parent_job(&state, &user, &path, query.deleted()).await?;
    let id = path.id.ok_or(ApiError::NotFound)?;
    let sub = state
        .repo
        .sub(path.kind, job.id, id)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(resource_response(
        format,
        &resources::sub(&urls, path.work_area_id, &sub, job.deleted),
    ))
}

pub async fn create(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    path: SubPath,
    query: Query,
    format: Format,
    urls: Urls,
    RequestBody(attrs): RequestBody,
) -> ApiResult {
    refuse_writes_with_deleted_flag(&query)?;
    parent_job(&state, &user, &path, false).await?;
    let author = Author {
        login: &user.login,
        now: chrono::Utc::now(),
    };
    let (mut sub, placement) = subresources::new_sub(path.kind, path.job_id, &attrs, &author)
        .map_err(ApiError::Validation)?;
    if let Sub::Hook(hook) = &mut sub {
        check_destination(&hook.url, state.hooks.allow_private)
            .await
            .map_err(|m| ApiError::Validation(vec![m]))?;
        hook.secret = new_secret();
    }
    match state
        .repo
        .create_sub(path.work_area_id, &sub, placement)
        .await?
    {
        Change::Done(created) => {
            let location = urls.sub(path.work_area_id, path.job_id, path.kind, created.id());
            let mut resource = resources::sub(&urls, path.work_area_id, &created, false);
            // The signing key is shown once, to whoever registered the hook.
            if let Sub::Hook(hook) = &created {
                resource
                    .fields
                    .push(("secret", Scalar::Str(hook.secret.clone())));
            }
            Ok(created_response(format, &resource, &location))
        }
        Change::NotFound => Err(ApiError::NotFound),
        Change::Invalid(errors) => Err(ApiError::Validation(errors)),
    }
}

pub async fn update(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    path: SubPath,
    query: Query,
    format: Format,
    urls: Urls,
    RequestBody(attrs): RequestBody,
) -> ApiResult {
    refuse_writes_with_deleted_flag(&query)?;
    own_work_area(&state, &user, path.work_area_id).await?;
    let id = path.id.ok_or(ApiError::NotFound)?;
    if path.kind == SubKind::Hooks {
        if let Ok(Given::Value(url)) = attr::string(&attrs, "url") {
            check_destination(url.trim(), state.hooks.allow_private)
                .await
                .map_err(|m| ApiError::Validation(vec![m]))?;
        }
    }
    match state
        .repo
        .update_sub(path.work_area_id, path.job_id, path.kind, id, &attrs)
        .await?
    {
        Change::Done(updated) => Ok(resource_response(
            format,
            &resources::sub(&urls, path.work_area_id, &updated, false),
        )),
        Change::NotFound => Err(ApiError::NotFound),
        Change::Invalid(errors) => Err(ApiError::Validation(errors)),
    }
}

pub async fn delete(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    path: SubPath,
    query: Query,
) -> ApiResult {
    refuse_writes_with_deleted_flag(&query)?;
    own_work_area(&state, &user, path.work_area_id).await?;
    let id = path.id.ok_or(ApiError::NotFound)?;
    if state
        .repo
        .delete_sub(path.work_area_id, path.job_id, path.kind, id)
        .await?
    {
        Ok(no_content())
    } else {
        Err(ApiError::NotFound)
    }
}

/// 32 random bytes, hex: the key a hook's deliveries are signed with.
fn new_secret() -> String {
    let mut key = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut key);
    hex::encode(key)
}
