//! Storage: the `Repository` trait the handlers talk to, and its implementations.
//! SQL lives only in this folder.
pub mod postgres;
mod sql_store;
pub mod sqlite;

use crate::bulk::GeneratedJob;
use crate::domain::attributes::Attributes;
use crate::domain::events::{Attempt, DeliveryState, DueDelivery, Event};
use crate::domain::job::{Job, JobChanges, JobPlan};
use crate::domain::status::Filter;
use crate::domain::subresources::{Placement, Sub, SubKind};
use crate::domain::{Template, User, ValidationErrors, WorkArea};
use crate::fixtures::Fixtures;
use async_trait::async_trait;
use std::sync::Arc;

/// A failure of the storage itself (connection lost, unexpected constraint): always a bug or
/// an outage, rendered as a 500 without details and logged.
#[derive(Debug)]
pub struct StoreError(pub String);

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for StoreError {}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        StoreError(e.to_string())
    }
}

impl From<sqlx::migrate::MigrateError> for StoreError {
    fn from(e: sqlx::migrate::MigrateError) -> Self {
        StoreError(e.to_string())
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Which jobs of a work area a list asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobQuery {
    pub work_area_id: i64,
    /// `true`: only deleted jobs (`?deleted`); `false`: only live ones.
    pub deleted: bool,
    pub filter: Option<Filter>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    /// 1-based.
    pub number: i64,
    pub per_page: i64,
}

impl Page {
    /// Saturates: a page past any possible end is simply empty, never an overflow.
    pub fn offset(&self) -> i64 {
        (self.number - 1).saturating_mul(self.per_page)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobPage {
    /// How many jobs the whole query matches (not just this page).
    pub total_entries: i64,
    pub jobs: Vec<Job>,
}

/// The outcome of a change to a job that may no longer be there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change<T> {
    Done(T),
    NotFound,
    Invalid(ValidationErrors),
}

/// Everything the HTTP layer needs from storage. Implementations must keep each method atomic:
/// a method that writes several rows does so in one transaction.
#[async_trait]
pub trait Repository: Send + Sync {
    async fn user_by_login(&self, login: &str) -> StoreResult<Option<User>>;
    async fn work_areas(&self, account_id: i64) -> StoreResult<Vec<WorkArea>>;
    async fn work_area(&self, account_id: i64, id: i64) -> StoreResult<Option<WorkArea>>;
    async fn template(&self, account_id: i64, name: &str) -> StoreResult<Option<Template>>;

    /// One page of a list, with the exact total of the whole list (read in constant time).
    async fn job_page(&self, query: &JobQuery, page: Page) -> StoreResult<JobPage>;
    /// Up to `limit` jobs of a list with ids above `after_id`, by id: the unpaginated list is
    /// streamed in such batches.
    async fn jobs_after(
        &self,
        query: &JobQuery,
        after_id: i64,
        limit: i64,
    ) -> StoreResult<Vec<Job>>;
    /// A job of a work area; `deleted` selects between live and deleted jobs.
    async fn job(&self, work_area_id: i64, id: i64, deleted: bool) -> StoreResult<Option<Job>>;
    /// Creates the job and copies its template's tasks and assets, all or nothing.
    async fn create_job(&self, work_area_id: i64, plan: &JobPlan) -> StoreResult<Job>;
    async fn update_job(
        &self,
        work_area_id: i64,
        id: i64,
        changes: &JobChanges,
    ) -> StoreResult<Change<Job>>;
    /// Soft-deletes a live job; `false` when there was none.
    async fn delete_job(&self, work_area_id: i64, id: i64) -> StoreResult<bool>;

    /// The sub-resources of `kind` of the given jobs, each job's in list order (tasks by
    /// position then id, the others by id).
    async fn subs(&self, kind: SubKind, job_ids: &[i64]) -> StoreResult<Vec<Sub>>;
    async fn sub(&self, kind: SubKind, job_id: i64, id: i64) -> StoreResult<Option<Sub>>;
    /// Adds a sub-resource to a live job of the work area (`NotFound` when there is none).
    async fn create_sub(
        &self,
        work_area_id: i64,
        sub: &Sub,
        placement: Placement,
    ) -> StoreResult<Change<Sub>>;
    /// Applies the attributes of an update request (see `domain::subresources::apply`) to a
    /// sub-resource of a live job, atomically.
    async fn update_sub(
        &self,
        work_area_id: i64,
        job_id: i64,
        kind: SubKind,
        id: i64,
        attrs: &Attributes,
    ) -> StoreResult<Change<Sub>>;
    /// Removes a sub-resource of a live job; `false` when there was none.
    async fn delete_sub(
        &self,
        work_area_id: i64,
        job_id: i64,
        kind: SubKind,
        id: i64,
    ) -> StoreResult<bool>;

    /// Events of an account with ids above `newer_than`, by id; a page and the total when
    /// paginated.
    async fn events(
        &self,
        account_id: i64,
        newer_than: i64,
        page: Option<Page>,
    ) -> StoreResult<(Vec<Event>, Option<i64>)>;
    async fn event(&self, account_id: i64, id: i64) -> StoreResult<Option<Event>>;
    /// Claims up to `limit` deliveries due at `now_ms` for `lease_ms`: no other worker (in this
    /// or another process) gets them until the lease ends or the attempt is recorded.
    async fn claim_deliveries(
        &self,
        now_ms: i64,
        lease_ms: i64,
        limit: i64,
    ) -> StoreResult<Vec<DueDelivery>>;
    /// Records an attempt and the delivery's new state, releasing the claim.
    async fn record_attempt(
        &self,
        delivery_id: i64,
        attempt: &Attempt,
        state: DeliveryState,
    ) -> StoreResult<()>;
    /// Every attempt at delivering to a hook, oldest first.
    async fn attempts(&self, hook_id: i64) -> StoreResult<Vec<Attempt>>;

    /// Stores generated jobs (and their tasks, assets and problems) in a work area as fast as the
    /// backend allows, in one transaction per call; the template's name is recorded on each.
    async fn bulk_insert(
        &self,
        work_area_id: i64,
        template: &str,
        jobs: &[GeneratedJob],
    ) -> StoreResult<()>;
    /// Refreshes the planner's statistics (and, where the backend needs it, visibility
    /// information) after a bulk load.
    async fn optimize(&self) -> StoreResult<()>;

    /// Loads accounts, users, work areas and templates; loading the same file twice changes
    /// nothing. HA1 values are computed for `realm`.
    async fn load_fixtures(&self, fixtures: &Fixtures, realm: &str) -> StoreResult<()>;
}

pub type SharedRepository = Arc<dyn Repository>;

/// Opens the store named by a database URL, creating the database and applying migrations.
pub async fn open(database_url: &str) -> StoreResult<SharedRepository> {
    if database_url.starts_with("postgres://") || database_url.starts_with("postgresql://") {
        Ok(Arc::new(postgres::PostgresStore::open(database_url).await?))
    } else if database_url.starts_with("sqlite:") {
        Ok(Arc::new(sqlite::SqliteStore::open(database_url).await?))
    } else {
        Err(StoreError(format!(
            "unsupported DATABASE_URL (expected postgres://… or sqlite://…): {}",
            redact(database_url)
        )))
    }
}

/// A database URL without its password, for messages.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let creds = &url[scheme + 3..at];
            match creds.find(':') {
                Some(colon) => format!(
                    "{}{}:***{}",
                    &url[..scheme + 3],
                    &creds[..colon],
                    &url[at..]
                ),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}
