//! The change feed (`/api/events`) and a hook's delivery attempts.
use super::{collection_response, resource_response, ApiResult};
use crate::api::jobs::own_work_area;
use crate::app::AppState;
use crate::domain::events::Event;
use crate::domain::subresources::{Sub, SubKind};
use crate::http::auth::CurrentUser;
use crate::http::error::ApiError;
use crate::http::extract::Ids;
use crate::http::params::{page_links, ListParams, Query};
use crate::repr::resources::{self, Urls};
use crate::repr::{Collection, Format, Resource};
use axum::extract::State;

/// `newer_than=<id>`: only events after the last one a poller saw.
fn newer_than(query: &Query) -> Result<i64, ApiError> {
    match query.get("newer_than") {
        None => Ok(0),
        Some(p) if !p.value.is_empty() && p.value.bytes().all(|b| b.is_ascii_digit()) => p
            .value
            .parse()
            .map_err(|_| ApiError::Parameter("newer_than must be an event id".into())),
        Some(_) => Err(ApiError::Parameter("newer_than must be an event id".into())),
    }
}

fn expands_subject(query: &Query) -> bool {
    query
        .pairs
        .iter()
        .filter(|p| p.key == "expand")
        .flat_map(|p| p.value.split(','))
        .any(|name| name.trim() == "subject")
}

/// An event, with its subject nested when asked for (and still there).
async fn render(
    state: &AppState,
    urls: &Urls,
    event: &Event,
    expand: bool,
) -> Result<Resource, ApiError> {
    let subject = if expand {
        subject(state, urls, event).await?
    } else {
        None
    };
    Ok(resources::event(urls, event, subject))
}

async fn subject(
    state: &AppState,
    urls: &Urls,
    event: &Event,
) -> Result<Option<Resource>, ApiError> {
    if event.subject_kind == "job" {
        let job = state
            .repo
            .job(event.work_area_id, event.job_id, event.job_deleted)
            .await?;
        return Ok(job.map(|j| resources::job(urls, &j, state.today())));
    }
    let Some(kind) = SubKind::ALL
        .into_iter()
        .find(|k| k.singular() == event.subject_kind)
    else {
        return Ok(None);
    };
    let sub = state.repo.sub(kind, event.job_id, event.subject_id).await?;
    Ok(sub.map(|s| resources::sub(urls, event.work_area_id, &s, event.job_deleted)))
}

pub async fn list(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    query: Query,
    format: Format,
    urls: Urls,
) -> ApiResult {
    let after = newer_than(&query)?;
    let page = ListParams::from_query(&query)?.page;
    let (events, total) = state.repo.events(user.account_id, after, page).await?;
    let expand = expands_subject(&query);
    let mut items = Vec::with_capacity(events.len());
    for event in &events {
        items.push(render(&state, &urls, event, expand).await?);
    }
    let (prev, next) = match (page, total) {
        (Some(page), Some(total)) => page_links(&urls.events(), &query, page, total),
        _ => (None, None),
    };
    let collection = Collection {
        kind: "events",
        total_entries: total,
        prev,
        next,
        items,
    };
    Ok(collection_response(format, &collection))
}

pub async fn show(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Ids(ids): Ids,
    query: Query,
    format: Format,
    urls: Urls,
) -> ApiResult {
    let event = state
        .repo
        .event(user.account_id, ids[0])
        .await?
        .ok_or(ApiError::NotFound)?;
    let resource = render(&state, &urls, &event, expands_subject(&query)).await?;
    Ok(resource_response(format, &resource))
}

/// `…/hooks/{id}/deliveries`: every attempt, oldest first.
pub async fn deliveries(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Ids(ids): Ids,
    query: Query,
    format: Format,
    urls: Urls,
) -> ApiResult {
    let (work_area_id, job_id, hook_id) = (ids[0], ids[1], ids[2]);
    own_work_area(&state, &user, work_area_id).await?;
    let job = state
        .repo
        .job(work_area_id, job_id, query.deleted())
        .await?
        .ok_or(ApiError::NotFound)?;
    match state.repo.sub(SubKind::Hooks, job.id, hook_id).await? {
        Some(Sub::Hook(_)) => {}
        _ => return Err(ApiError::NotFound),
    }
    let attempts = state.repo.attempts(hook_id).await?;
    let collection = Collection {
        kind: "deliveries",
        total_entries: None,
        prev: None,
        next: None,
        items: attempts
            .iter()
            .map(|a| resources::delivery(&urls, a))
            .collect(),
    };
    Ok(collection_response(format, &collection))
}
