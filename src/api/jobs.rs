//! The jobs of a work area: list, create, show, update, delete, and `?deleted`.
use super::{collection_response, created_response, no_content, resource_response, ApiResult};
use crate::app::AppState;
use crate::domain::attributes::{self as attr, Given};
use crate::domain::job;
use crate::domain::job::Job;
use crate::domain::subresources::SubKind;
use crate::domain::User;
use crate::http::auth::CurrentUser;
use crate::http::error::ApiError;
use crate::http::extract::{Ids, RequestBody};
use crate::http::params::{page_links, ListParams, Query};
use crate::repr::resources::{self, Urls};
use crate::repr::Resource;
use crate::repr::{Collection, CollectionWriter, Format};
use crate::store::{Change, JobQuery};
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use futures_util::stream::{self, StreamExt};
use std::collections::HashMap;

/// Deleted jobs can only be read: any write that carries the flag is refused.
const DELETED_ALLOW: &str = "GET, HEAD";

pub(crate) fn refuse_writes_with_deleted_flag(query: &Query) -> Result<(), ApiError> {
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
pub(crate) async fn own_work_area(state: &AppState, user: &User, id: i64) -> Result<(), ApiError> {
    match state.directory.work_area(user.account_id, id).await? {
        Some(_) => Ok(()),
        None => Err(ApiError::NotFound),
    }
}

/// The jobs' representations, with the lists named by `expand` nested in their links (one
/// query per list for all the jobs, not one per job).
async fn render_jobs(
    state: &AppState,
    urls: &Urls,
    jobs: &[Job],
    expand: &[SubKind],
) -> Result<Vec<Resource>, ApiError> {
    let today = state.today();
    let mut rendered: Vec<Resource> = jobs
        .iter()
        .map(|j| resources::job(urls, j, today))
        .collect();
    if expand.is_empty() || jobs.is_empty() {
        return Ok(rendered);
    }
    let ids: Vec<i64> = jobs.iter().map(|j| j.id).collect();
    let position: HashMap<i64, usize> = ids.iter().enumerate().map(|(i, id)| (*id, i)).collect();
    for &kind in expand {
        let mut lists: Vec<Vec<Resource>> = vec![Vec::new(); jobs.len()];
        for sub in state.repo.subs(kind, &ids).await? {
            if let Some(&i) = position.get(&sub.job_id()) {
                let job = &jobs[i];
                lists[i].push(resources::sub(urls, job.work_area_id, &sub, job.deleted));
            }
        }
        for (resource, list) in rendered.iter_mut().zip(lists) {
            resources::expand(resource, vec![(kind, list)]);
        }
    }
    Ok(rendered)
}

async fn render_one(
    state: &AppState,
    urls: &Urls,
    job: Job,
    query: &Query,
) -> Result<Resource, ApiError> {
    let mut rendered =
        render_jobs(state, urls, std::slice::from_ref(&job), &query.expand()).await?;
    rendered.pop().ok_or(ApiError::Internal)
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
    let jobs = JobQuery {
        work_area_id,
        deleted: params.deleted,
        filter: params.filter,
    };
    let Some(page) = params.page else {
        return Ok(stream_list(state, urls, jobs, format, query.expand()));
    };
    let found = state.repo.job_page(&jobs, page).await?;
    let (prev, next) = page_links(&urls.jobs(work_area_id), &query, page, found.total_entries);
    let collection = Collection {
        kind: "jobs",
        total_entries: Some(found.total_entries),
        prev,
        next,
        items: render_jobs(&state, &urls, &found.jobs, &query.expand()).await?,
    };
    Ok(collection_response(format, &collection))
}

/// Jobs fetched and rendered per chunk of a streamed list.
const STREAM_BATCH: i64 = 500;

/// What a streamed list still has to send.
struct ListCursor {
    state: AppState,
    urls: Urls,
    jobs: JobQuery,
    expand: Vec<SubKind>,
    writer: CollectionWriter,
    after_id: i64,
}

/// The unpaginated list, which can hold every job of a work area: sent in batches as they are
/// read (keyset on id), so memory stays flat and the first byte leaves at once. A storage failure
/// half-way can no longer change the status: it is logged and the body is cut short.
fn stream_list(
    state: AppState,
    urls: Urls,
    jobs: JobQuery,
    format: Format,
    expand: Vec<SubKind>,
) -> Response {
    let head = Collection {
        kind: "jobs",
        total_entries: None,
        prev: None,
        next: None,
        items: Vec::new(),
    };
    let (writer, opening) = CollectionWriter::start(format, &head);
    let cursor = ListCursor {
        state,
        urls,
        jobs,
        expand,
        writer,
        after_id: 0,
    };
    let batches = stream::unfold(Some(cursor), |cursor| async move {
        let mut cursor = cursor?;
        match next_batch(&mut cursor).await {
            Ok(Some(chunk)) => Some((Ok(Bytes::from(chunk)), Some(cursor))),
            Ok(None) => Some((Ok(Bytes::from(cursor.writer.finish())), None)),
            Err(error) => {
                tracing::error!(?error, "streaming a jobs list failed");
                Some((Err(std::io::Error::other("storage failure")), None))
            }
        }
    });
    let body = stream::once(async move { Ok(Bytes::from(opening)) }).chain(batches);
    let mut response = Body::from_stream(body).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(format.content_type()),
    );
    response
}

/// The next chunk of items, or `None` when the list is exhausted.
async fn next_batch(cursor: &mut ListCursor) -> Result<Option<String>, ApiError> {
    let batch = cursor
        .state
        .repo
        .jobs_after(&cursor.jobs, cursor.after_id, STREAM_BATCH)
        .await?;
    let Some(last) = batch.last() else {
        return Ok(None);
    };
    cursor.after_id = last.id;
    let rendered = render_jobs(&cursor.state, &cursor.urls, &batch, &cursor.expand).await?;
    let mut chunk = String::with_capacity(rendered.len() * 2048);
    for item in &rendered {
        chunk.push_str(&cursor.writer.item(item));
    }
    Ok(Some(chunk))
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
    let resource = render_one(&state, &urls, created, &query).await?;
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
    let resource = render_one(&state, &urls, found, &query).await?;
    Ok(resource_response(format, &resource))
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
            &render_one(&state, &urls, updated, &query).await?,
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
