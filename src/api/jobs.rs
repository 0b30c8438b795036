//! The jobs of a work area: list, create, show, update, delete, and `?deleted`.
use super::{collection_response, created_response, no_content, resource_response, ApiResult};
use crate::app::AppState;
use crate::domain::attributes::{self as attr, Given};
use crate::domain::job;
use crate::domain::User;
use crate::http::auth::CurrentUser;
use crate::http::error::ApiError;
use crate::http::extract::{Ids, RequestBody};
use crate::http::params::{ListParams, Query};
use crate::repr::resources::{self, Urls};
use crate::repr::{Collection, Format};
use crate::store::{Change, JobQuery};
use axum::extract::State;

/// Deleted jobs can only be read: any write that carries the flag is refused.
const DELETED_ALLOW: &str = "GET, HEAD";

fn refuse_writes_with_deleted_flag(query: &Query) -> Result<(), ApiError> {
    if query.deleted() {
        Err(ApiError::MethodNotAllowed {
            allow: DELETED_ALLOW,
        })
    } else {
        Ok(())
    }
}

/// The work area must belong to the caller's account; any other is indistinguishable from
/// one that does not exist.
async fn own_work_area(state: &AppState, user: &User, id: i64) -> Result<(), ApiError> {
    match state.repo.work_area(user.account_id, id).await? {
        Some(_) => Ok(()),
        None => Err(ApiError::NotFound),
    }
}

pub async fn list(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Ids(ids): Ids,
    query: Query,
    format: Format,
    urls: Urls,
) -> ApiResult {
    let work_area_id = ids[0];
    let params = ListParams::from_query(&query)?;
    own_work_area(&state, &user, work_area_id).await?;
    let page = state
        .repo
        .jobs(&JobQuery {
            work_area_id,
            deleted: params.deleted,
            filter: params.filter,
            page: params.page,
        })
        .await?;
    let today = state.today();
    let base = urls.jobs(work_area_id);
    let (prev, next) = match (params.page, page.total_entries) {
        (Some(p), Some(total)) => (
            (p.number > 1).then(|| format!("{base}?{}", query.with_page(p.number - 1))),
            (p.offset() + p.per_page < total)
                .then(|| format!("{base}?{}", query.with_page(p.number + 1))),
        ),
        _ => (None, None),
    };
    let collection = Collection {
        kind: "jobs",
        total_entries: page.total_entries,
        prev,
        next,
        items: page
            .jobs
            .iter()
            .map(|j| resources::job(&urls, j, today))
            .collect(),
    };
    Ok(collection_response(format, &collection))
}

pub async fn create(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Ids(ids): Ids,
    query: Query,
    format: Format,
    urls: Urls,
    RequestBody(attrs): RequestBody,
) -> ApiResult {
    let work_area_id = ids[0];
    refuse_writes_with_deleted_flag(&query)?;
    own_work_area(&state, &user, work_area_id).await?;
    let template = match attr::string(&attrs, "template") {
        Ok(Given::Value(name)) if !name.trim().is_empty() => {
            state.repo.template(user.account_id, &name).await?
        }
        _ => None,
    };
    let plan = job::plan(&attrs, template.as_ref()).map_err(ApiError::Validation)?;
    let created = state.repo.create_job(work_area_id, &plan).await?;
    let location = urls.job(work_area_id, created.id);
    let resource = resources::job(&urls, &created, state.today());
    Ok(created_response(format, &resource, &location))
}

pub async fn show(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Ids(ids): Ids,
    query: Query,
    format: Format,
    urls: Urls,
) -> ApiResult {
    let (work_area_id, id) = (ids[0], ids[1]);
    own_work_area(&state, &user, work_area_id).await?;
    let found = state
        .repo
        .job(work_area_id, id, query.deleted())
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(resource_response(
        format,
        &resources::job(&urls, &found, state.today()),
    ))
}

pub async fn update(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Ids(ids): Ids,
    query: Query,
    format: Format,
    urls: Urls,
    RequestBody(attrs): RequestBody,
) -> ApiResult {
    let (work_area_id, id) = (ids[0], ids[1]);
    refuse_writes_with_deleted_flag(&query)?;
    own_work_area(&state, &user, work_area_id).await?;
    let changes = job::changes(&attrs).map_err(ApiError::Validation)?;
    match state.repo.update_job(work_area_id, id, &changes).await? {
        Change::Done(updated) => Ok(resource_response(
            format,
            &resources::job(&urls, &updated, state.today()),
        )),
        Change::NotFound => Err(ApiError::NotFound),
        Change::Invalid(errors) => Err(ApiError::Validation(errors)),
    }
}

pub async fn delete(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Ids(ids): Ids,
    query: Query,
) -> ApiResult {
    let (work_area_id, id) = (ids[0], ids[1]);
    refuse_writes_with_deleted_flag(&query)?;
    own_work_area(&state, &user, work_area_id).await?;
    if state.repo.delete_job(work_area_id, id).await? {
        Ok(no_content())
    } else {
        Err(ApiError::NotFound)
    }
}
