//! The SQL repository, written once for every backend.
//!
//! `sql_store!(StoreType)` expands, inside a backend module, to the `Repository` implementation
//! and its helpers. The module supplies what differs between databases:
//! `type Db`, `type DbRow`, `type DbConn`, `fn sql(&str) -> Cow<str>` (placeholder syntax: the
//! SQL here is written with `$1`), `const FOR_UPDATE`, `const IN_IDS` with `fn bind_ids`,
//! `const BEGIN_WRITE` (how a write transaction starts), `const READ_SNAPSHOT` (what makes a
//! read transaction one snapshot), `const SKIP_LOCKED`
//! (how a claim passes over rows another worker holds), `const OPTIMIZE`,
//! `async fn bulk_insert` (the fastest load the backend has), and
//! `async fn lock_for_fixtures`; the store type has a `reader` and a `writer` pool.

macro_rules! sql_store {
    ($store:ty) => {
        use super::{Change, JobPage, JobQuery, Page, Repository, StoreError, StoreResult};
        use crate::domain::attributes::Attributes;
        use crate::domain::job::{ExternalRefs, Job, JobChanges, JobPlan};
        use crate::domain::status::{Counts, Filter};
        use crate::domain::subresources::{
            self, Asset, Note, Placement, Problem, Sub, SubKind, Task,
        };
        use crate::domain::{Template, User, WorkArea};
        use crate::fixtures::{AccountFixture, Fixtures, TemplateFixture};
        use async_trait::async_trait;
        use sqlx::{QueryBuilder, Row, Transaction};

const JOB_COLUMNS: &str = "id, work_area_id, name, due_date, begins_at, ends_at, licensor_name, \
     tag_list, title_external_id, scheduling_href, metadata_href, title_href, \
     due_date_offset_days, deleted_at IS NOT NULL AS deleted, tasks_count, \
     tasks_completed_count, assets_count, assets_received_count, active_problems_count";

fn job_from_row(row: &DbRow) -> Result<Job, sqlx::Error> {
    let count =
        |name: &str| -> Result<i64, sqlx::Error> { Ok(i64::from(row.try_get::<i32, _>(name)?)) };
    Ok(Job {
        id: row.try_get("id")?,
        work_area_id: row.try_get("work_area_id")?,
        name: row.try_get("name")?,
        due_date: row.try_get("due_date")?,
        begins_at: row.try_get("begins_at")?,
        ends_at: row.try_get("ends_at")?,
        licensor_name: row.try_get("licensor_name")?,
        tag_list: row.try_get("tag_list")?,
        title_external_id: row.try_get("title_external_id")?,
        external: ExternalRefs {
            scheduling: row.try_get("scheduling_href")?,
            metadata: row.try_get("metadata_href")?,
            title: row.try_get("title_href")?,
        },
        due_date_offset_days: row.try_get("due_date_offset_days")?,
        deleted: row.try_get("deleted")?,
        counts: Counts {
            tasks: count("tasks_count")?,
            tasks_completed: count("tasks_completed_count")?,
            assets: count("assets_count")?,
            assets_received: count("assets_received_count")?,
            active_problems: count("active_problems_count")?,
        },
    })
}

/// The three facts the list filters test, as SQL over some table's columns.
struct Facts {
    all_tasks: &'static str,
    all_assets: &'static str,
    problematic: &'static str,
}

/// On `jobs`: from the maintained counters.
const JOB_FACTS: Facts = Facts {
    all_tasks: "tasks_completed_count >= tasks_count",
    all_assets: "assets_received_count >= assets_count",
    problematic: "active_problems_count > 0",
};

/// On `job_tallies`: stored as columns.
const TALLY_FACTS: Facts = Facts {
    all_tasks: "all_tasks",
    all_assets: "all_assets",
    problematic: "problematic",
};

/// The `filter` values as SQL conditions (the same rules as `Filter::matches`).
fn filter_condition(filter: Filter, facts: &Facts) -> String {
    let Facts {
        all_tasks: t,
        all_assets: a,
        problematic: p,
    } = facts;
    match filter {
        Filter::Ready => format!("({t}) AND ({a})"),
        Filter::Pending => format!("NOT (({t}) AND ({a}))"),
        Filter::Completed => format!("({t})"),
        Filter::NotCompleted => format!("NOT ({t})"),
        Filter::Received => format!("({a})"),
        Filter::NotReceived => format!("NOT ({a})"),
        Filter::Problematic => format!("({p})"),
        Filter::NotProblematic => format!("NOT ({p})"),
    }
}

fn push_job_conditions(qb: &mut QueryBuilder<'_, Db>, query: &JobQuery) {
    qb.push(" WHERE work_area_id = ");
    qb.push_bind(query.work_area_id);
    qb.push(if query.deleted {
        " AND deleted_at IS NOT NULL"
    } else {
        " AND deleted_at IS NULL"
    });
    if let Some(filter) = query.filter {
        qb.push(" AND ");
        qb.push(filter_condition(filter, &JOB_FACTS));
    }
}

async fn job_in(
    tx: &mut Transaction<'_, Db>,
    work_area_id: i64,
    id: i64,
    lock: bool,
) -> Result<Option<Job>, sqlx::Error> {
    let sql_text = format!(
        "SELECT {JOB_COLUMNS} FROM jobs WHERE work_area_id = $1 AND id = $2 \
         AND deleted_at IS NULL{}",
        if lock { FOR_UPDATE } else { "" }
    );
    let row = sqlx::query(&sql(&sql_text))
        .bind(work_area_id)
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?;
    row.as_ref().map(job_from_row).transpose()
}

#[async_trait]
impl Repository for $store {
    async fn user_by_login(&self, login: &str) -> StoreResult<Option<User>> {
        let row =
            sqlx::query(&sql("SELECT id, account_id, login, realm, ha1_md5 FROM users WHERE login = $1"))
                .bind(login)
                .fetch_optional(&self.reader)
                .await?;
        let user = row
            .map(|r| -> Result<User, sqlx::Error> {
                Ok(User {
                    id: r.try_get("id")?,
                    account_id: r.try_get("account_id")?,
                    login: r.try_get("login")?,
                    realm: r.try_get("realm")?,
                    ha1_md5: r.try_get("ha1_md5")?,
                })
            })
            .transpose()?;
        Ok(user)
    }

    async fn work_areas(&self, account_id: i64) -> StoreResult<Vec<WorkArea>> {
        let rows = sqlx::query(&sql("SELECT id, account_id, name FROM work_areas WHERE account_id = $1 ORDER BY id"))
        .bind(account_id)
        .fetch_all(&self.reader)
        .await?;
        Ok(rows
            .iter()
            .map(work_area_from_row)
            .collect::<Result<_, _>>()?)
    }

    async fn work_area(&self, account_id: i64, id: i64) -> StoreResult<Option<WorkArea>> {
        let row = sqlx::query(&sql("SELECT id, account_id, name FROM work_areas WHERE account_id = $1 AND id = $2"))
        .bind(account_id)
        .bind(id)
        .fetch_optional(&self.reader)
        .await?;
        Ok(row.as_ref().map(work_area_from_row).transpose()?)
    }

    async fn template(&self, account_id: i64, name: &str) -> StoreResult<Option<Template>> {
        let row = sqlx::query(&sql("SELECT id, name, due_date_offset_days FROM templates WHERE account_id = $1 AND name = $2"))
        .bind(account_id)
        .bind(name)
        .fetch_optional(&self.reader)
        .await?;
        let template = row
            .map(|r| -> Result<Template, sqlx::Error> {
                Ok(Template {
                    id: r.try_get("id")?,
                    name: r.try_get("name")?,
                    due_date_offset_days: r.try_get("due_date_offset_days")?,
                })
            })
            .transpose()?;
        Ok(template)
    }

    async fn job_page(&self, query: &JobQuery, page: Page) -> StoreResult<JobPage> {
        // The page and its total come from one snapshot, so they agree under writers.
        let mut tx = self.reader.begin().await?;
        if let Some(statement) = READ_SNAPSHOT {
            sqlx::query(statement).execute(&mut *tx).await?;
        }
        // Ids first, rows only for the page itself: without a filter, a deep OFFSET can skip
        // entries of the listing index instead of table rows.
        let mut qb = QueryBuilder::<Db>::new(format!(
            "SELECT {JOB_COLUMNS} FROM jobs WHERE id IN (SELECT id FROM jobs"
        ));
        push_job_conditions(&mut qb, query);
        qb.push(" ORDER BY id LIMIT ");
        qb.push_bind(page.per_page);
        qb.push(" OFFSET ");
        qb.push_bind(page.offset());
        qb.push(") ORDER BY id");
        let rows = qb.build().fetch_all(&mut *tx).await?;
        let jobs = rows.iter().map(job_from_row).collect::<Result<_, _>>()?;

        let mut total = QueryBuilder::<Db>::new(
            "SELECT CAST(COALESCE(SUM(n), 0) AS BIGINT) FROM job_tallies WHERE work_area_id = ",
        );
        total.push_bind(query.work_area_id);
        total.push(" AND deleted = ");
        total.push_bind(query.deleted);
        if let Some(filter) = query.filter {
            total.push(" AND ");
            total.push(filter_condition(filter, &TALLY_FACTS));
        }
        let total_entries: i64 = total.build().fetch_one(&mut *tx).await?.try_get(0)?;
        tx.commit().await?;
        Ok(JobPage {
            total_entries,
            jobs,
        })
    }

    async fn jobs_after(
        &self,
        query: &JobQuery,
        after_id: i64,
        limit: i64,
    ) -> StoreResult<Vec<Job>> {
        let mut qb = QueryBuilder::<Db>::new(format!("SELECT {JOB_COLUMNS} FROM jobs"));
        push_job_conditions(&mut qb, query);
        qb.push(" AND id > ");
        qb.push_bind(after_id);
        qb.push(" ORDER BY id LIMIT ");
        qb.push_bind(limit);
        let rows = qb.build().fetch_all(&self.reader).await?;
        Ok(rows.iter().map(job_from_row).collect::<Result<_, _>>()?)
    }

    async fn job(&self, work_area_id: i64, id: i64, deleted: bool) -> StoreResult<Option<Job>> {
        let sql_text = format!(
            "SELECT {JOB_COLUMNS} FROM jobs WHERE work_area_id = $1 AND id = $2 AND deleted_at IS {} NULL",
            if deleted { "NOT" } else { "" }
        );
        let row = sqlx::query(&sql(&sql_text))
            .bind(work_area_id)
            .bind(id)
            .fetch_optional(&self.reader)
            .await?;
        Ok(row.as_ref().map(job_from_row).transpose()?)
    }

    async fn create_job(&self, work_area_id: i64, plan: &JobPlan) -> StoreResult<Job> {
        let mut tx = self.writer.begin_with(BEGIN_WRITE).await?;
        let job = &plan.job;
        let id: i64 = sqlx::query_scalar(&sql("INSERT INTO jobs (work_area_id, name, begins_at, due_date, ends_at, licensor_name, \
             tag_list, title_external_id, due_date_offset_days, template_name, scheduling_href, \
             metadata_href, title_href) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id"))
        .bind(work_area_id)
        .bind(&job.name)
        .bind(job.begins_at)
        .bind(plan.due_date)
        .bind(plan.ends_at)
        .bind(&job.licensor_name)
        .bind(&job.tag_list)
        .bind(&job.title_external_id)
        .bind(plan.due_date_offset_days)
        .bind(&job.template)
        .bind(&job.external.scheduling)
        .bind(&job.external.metadata)
        .bind(&job.external.title)
        .fetch_one(&mut *tx)
        .await?;
        sqlx::query(&sql("INSERT INTO tasks (job_id, name, position, requires_duration, responsible_email) \
             SELECT $1, name, position, requires_duration, responsible_email \
             FROM template_tasks WHERE template_id = $2 ORDER BY position"))
        .bind(id)
        .bind(plan.template_id)
        .execute(&mut *tx)
        .await?;
        sqlx::query(&sql("INSERT INTO assets (job_id, type_name) \
             SELECT $1, type_name FROM template_assets WHERE template_id = $2 ORDER BY position"))
        .bind(id)
        .bind(plan.template_id)
        .execute(&mut *tx)
        .await?;
        let created = job_in(&mut tx, work_area_id, id, false)
            .await?
            .ok_or_else(|| StoreError("created job vanished".into()))?;
        record_event(&mut tx, work_area_id, id, &event_for("job", "created", id, &[])).await?;
        tx.commit().await?;
        Ok(created)
    }

    async fn update_job(
        &self,
        work_area_id: i64,
        id: i64,
        changes: &JobChanges,
    ) -> StoreResult<Change<Job>> {
        let mut tx = self.writer.begin_with(BEGIN_WRITE).await?;
        let Some(mut job) = job_in(&mut tx, work_area_id, id, true).await? else {
            return Ok(Change::NotFound);
        };
        let before = job.clone();
        if let Err(errors) = job.apply(changes) {
            return Ok(Change::Invalid(errors));
        }
        let changed = crate::domain::events::job_changes(&before, &job);
        if changed.is_empty() {
            // Nothing changed: no write, so no event either.
            return Ok(Change::Done(job));
        }
        sqlx::query(&sql("UPDATE jobs SET name = $3, begins_at = $4, due_date = $5, ends_at = $6, \
             licensor_name = $7, tag_list = $8, title_external_id = $9, scheduling_href = $10, \
             metadata_href = $11, title_href = $12 WHERE work_area_id = $1 AND id = $2"))
        .bind(work_area_id)
        .bind(id)
        .bind(&job.name)
        .bind(job.begins_at)
        .bind(job.due_date)
        .bind(job.ends_at)
        .bind(&job.licensor_name)
        .bind(&job.tag_list)
        .bind(&job.title_external_id)
        .bind(&job.external.scheduling)
        .bind(&job.external.metadata)
        .bind(&job.external.title)
        .execute(&mut *tx)
        .await?;
        record_event(&mut tx, work_area_id, id, &event_for("job", "updated", id, &changed)).await?;
        tx.commit().await?;
        Ok(Change::Done(job))
    }

    async fn delete_job(&self, work_area_id: i64, id: i64) -> StoreResult<bool> {
        let mut tx = self.writer.begin_with(BEGIN_WRITE).await?;
        let result = sqlx::query(&sql("UPDATE jobs SET deleted_at = $3 \
             WHERE work_area_id = $1 AND id = $2 AND deleted_at IS NULL"))
        .bind(work_area_id)
        .bind(id)
        .bind(chrono::Utc::now())
        .execute(&mut *tx)
        .await?;
        if result.rows_affected() != 1 {
            return Ok(false);
        }
        record_event(&mut tx, work_area_id, id, &event_for("job", "deleted", id, &[])).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn subs(&self, kind: SubKind, job_ids: &[i64]) -> StoreResult<Vec<Sub>> {
        let sql_text = format!(
            "SELECT {} FROM {} WHERE job_id {IN_IDS} ORDER BY {}",
            sub_columns(kind),
            sub_table(kind),
            sub_order(kind)
        );
        let rows = bind_ids(sqlx::query(&sql(&sql_text)), job_ids)
            .fetch_all(&self.reader)
            .await?;
        Ok(rows
            .iter()
            .map(|row| sub_from_row(kind, row))
            .collect::<Result<_, _>>()?)
    }

    async fn sub(&self, kind: SubKind, job_id: i64, id: i64) -> StoreResult<Option<Sub>> {
        let sql_text = format!(
            "SELECT {} FROM {} WHERE job_id = $1 AND id = $2",
            sub_columns(kind),
            sub_table(kind)
        );
        let row = sqlx::query(&sql(&sql_text))
            .bind(job_id)
            .bind(id)
            .fetch_optional(&self.reader)
            .await?;
        Ok(row.map(|r| sub_from_row(kind, &r)).transpose()?)
    }

    async fn create_sub(
        &self,
        work_area_id: i64,
        sub: &Sub,
        placement: Placement,
    ) -> StoreResult<Change<Sub>> {
        let mut tx = self.writer.begin_with(BEGIN_WRITE).await?;
        if !lock_live_job(&mut tx, work_area_id, sub.job_id()).await? {
            return Ok(Change::NotFound);
        }
        let id = insert_sub(&mut tx, sub, placement).await?;
        let created = sub_in(&mut tx, sub.kind(), sub.job_id(), id, false)
            .await?
            .ok_or_else(|| StoreError("created sub-resource vanished".into()))?;
        let change = event_for(sub.kind().singular(), "created", id, &[]);
        record_event(&mut tx, work_area_id, sub.job_id(), &change).await?;
        tx.commit().await?;
        Ok(Change::Done(created))
    }

    async fn update_sub(
        &self,
        work_area_id: i64,
        job_id: i64,
        kind: SubKind,
        id: i64,
        attrs: &Attributes,
    ) -> StoreResult<Change<Sub>> {
        let mut tx = self.writer.begin_with(BEGIN_WRITE).await?;
        if !lock_live_job(&mut tx, work_area_id, job_id).await? {
            return Ok(Change::NotFound);
        }
        let Some(mut sub) = sub_in(&mut tx, kind, job_id, id, true).await? else {
            return Ok(Change::NotFound);
        };
        let before = sub.clone();
        if let Err(errors) = subresources::apply(&mut sub, attrs) {
            return Ok(Change::Invalid(errors));
        }
        let changed = crate::domain::events::sub_changes(&before, &sub);
        if changed.is_empty() {
            return Ok(Change::Done(sub));
        }
        update_sub_row(&mut tx, &sub).await?;
        let change = event_for(kind.singular(), "updated", id, &changed);
        record_event(&mut tx, work_area_id, job_id, &change).await?;
        tx.commit().await?;
        Ok(Change::Done(sub))
    }

    async fn delete_sub(
        &self,
        work_area_id: i64,
        job_id: i64,
        kind: SubKind,
        id: i64,
    ) -> StoreResult<bool> {
        let mut tx = self.writer.begin_with(BEGIN_WRITE).await?;
        if !lock_live_job(&mut tx, work_area_id, job_id).await? {
            return Ok(false);
        }
        let sql_text = format!(
            "DELETE FROM {} WHERE job_id = $1 AND id = $2",
            sub_table(kind)
        );
        let deleted = sqlx::query(&sql(&sql_text))
            .bind(job_id)
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if deleted != 1 {
            return Ok(false);
        }
        let change = event_for(kind.singular(), "deleted", id, &[]);
        record_event(&mut tx, work_area_id, job_id, &change).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn events(
        &self,
        account_id: i64,
        newer_than: i64,
        page: Option<Page>,
    ) -> StoreResult<(Vec<crate::domain::events::Event>, Option<i64>)> {
        let mut tx = self.reader.begin().await?;
        if let Some(statement) = READ_SNAPSHOT {
            sqlx::query(statement).execute(&mut *tx).await?;
        }
        let mut qb = QueryBuilder::<Db>::new(format!(
            "SELECT {EVENT_COLUMNS} FROM events e LEFT JOIN jobs j ON j.id = e.job_id \
             WHERE e.account_id = "
        ));
        qb.push_bind(account_id);
        qb.push(" AND e.id > ");
        qb.push_bind(newer_than);
        qb.push(" ORDER BY e.id");
        if let Some(page) = page {
            qb.push(" LIMIT ");
            qb.push_bind(page.per_page);
            qb.push(" OFFSET ");
            qb.push_bind(page.offset());
        }
        let rows = qb.build().fetch_all(&mut *tx).await?;
        let events = rows.iter().map(event_from_row).collect::<Result<_, _>>()?;
        let total = match page {
            None => None,
            Some(_) => Some(
                sqlx::query_scalar::<_, i64>(&sql(
                    "SELECT count(*) FROM events WHERE account_id = $1 AND id > $2",
                ))
                .bind(account_id)
                .bind(newer_than)
                .fetch_one(&mut *tx)
                .await?,
            ),
        };
        tx.commit().await?;
        Ok((events, total))
    }

    async fn event(
        &self,
        account_id: i64,
        id: i64,
    ) -> StoreResult<Option<crate::domain::events::Event>> {
        let row = sqlx::query(&sql(&format!(
            "SELECT {EVENT_COLUMNS} FROM events e LEFT JOIN jobs j ON j.id = e.job_id \
             WHERE e.account_id = $1 AND e.id = $2"
        )))
        .bind(account_id)
        .bind(id)
        .fetch_optional(&self.reader)
        .await?;
        Ok(row.as_ref().map(event_from_row).transpose()?)
    }

    async fn claim_deliveries(
        &self,
        now_ms: i64,
        lease_ms: i64,
        limit: i64,
    ) -> StoreResult<Vec<crate::domain::events::DueDelivery>> {
        let mut tx = self.writer.begin_with(BEGIN_WRITE).await?;
        let claimed: Vec<(i64, i64, i64, i32)> = sqlx::query_as(&sql(&format!(
            "UPDATE deliveries SET claimed_until = $1 + $2 WHERE id IN (\
               SELECT id FROM deliveries WHERE state = 'pending' AND next_attempt_at <= $1 \
               AND (claimed_until IS NULL OR claimed_until < $1) \
               ORDER BY next_attempt_at, id LIMIT $3{SKIP_LOCKED}) \
             RETURNING id, hook_id, event_id, attempts"
        )))
        .bind(now_ms)
        .bind(lease_ms)
        .bind(limit)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        let mut due = Vec::with_capacity(claimed.len());
        for (id, hook_id, event_id, attempts) in claimed {
            let hook = sqlx::query(&sql(&format!(
                "SELECT {} FROM hooks WHERE id = $1",
                sub_columns(SubKind::Hooks)
            )))
            .bind(hook_id)
            .fetch_optional(&self.reader)
            .await?;
            let event = sqlx::query(&sql(&format!(
                "SELECT {EVENT_COLUMNS} FROM events e LEFT JOIN jobs j ON j.id = e.job_id \
                 WHERE e.id = $1"
            )))
            .bind(event_id)
            .fetch_optional(&self.reader)
            .await?;
            if let (Some(hook), Some(event)) = (hook, event) {
                if let Sub::Hook(hook) = sub_from_row(SubKind::Hooks, &hook)? {
                    due.push(crate::domain::events::DueDelivery {
                        id,
                        attempts,
                        hook,
                        event: event_from_row(&event)?,
                    });
                }
            }
        }
        Ok(due)
    }

    async fn record_attempt(
        &self,
        delivery_id: i64,
        attempt: &crate::domain::events::Attempt,
        state: crate::domain::events::DeliveryState,
    ) -> StoreResult<()> {
        let mut tx = self.writer.begin_with(BEGIN_WRITE).await?;
        sqlx::query(&sql(
            "INSERT INTO delivery_attempts (delivery_id, attempt, attempted_at, response_status, \
             error, latency_ms, next_retry_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        ))
        .bind(delivery_id)
        .bind(attempt.attempt)
        .bind(attempt.attempted_at)
        .bind(attempt.response_status)
        .bind(&attempt.error)
        .bind(attempt.latency_ms)
        .bind(attempt.next_retry_ms)
        .execute(&mut *tx)
        .await?;
        sqlx::query(&sql(
            "UPDATE deliveries SET state = $2, attempts = $3, claimed_until = NULL, \
             next_attempt_at = COALESCE($4, next_attempt_at) WHERE id = $1",
        ))
        .bind(delivery_id)
        .bind(state.as_str())
        .bind(attempt.attempt)
        .bind(attempt.next_retry_ms)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn attempts(&self, hook_id: i64) -> StoreResult<Vec<crate::domain::events::Attempt>> {
        let rows = sqlx::query(&sql(
            "SELECT d.event_id, a.attempt, a.attempted_at, a.response_status, a.error, \
             a.latency_ms, a.next_retry_at FROM delivery_attempts a \
             JOIN deliveries d ON d.id = a.delivery_id WHERE d.hook_id = $1 ORDER BY a.id",
        ))
        .bind(hook_id)
        .fetch_all(&self.reader)
        .await?;
        let attempts = rows
            .iter()
            .map(|r| -> Result<_, sqlx::Error> {
                Ok(crate::domain::events::Attempt {
                    event_id: r.try_get("event_id")?,
                    attempt: r.try_get("attempt")?,
                    attempted_at: r.try_get("attempted_at")?,
                    response_status: r.try_get("response_status")?,
                    error: r.try_get("error")?,
                    latency_ms: r.try_get("latency_ms")?,
                    next_retry_ms: r.try_get("next_retry_at")?,
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(attempts)
    }

    async fn bulk_insert(
        &self,
        work_area_id: i64,
        template: &str,
        jobs: &[crate::bulk::GeneratedJob],
    ) -> StoreResult<()> {
        bulk_insert(&self.writer, work_area_id, template, jobs).await?;
        Ok(())
    }

    async fn optimize(&self) -> StoreResult<()> {
        for statement in OPTIMIZE {
            sqlx::query(statement).execute(&self.writer).await?;
        }
        Ok(())
    }

    async fn load_fixtures(&self, fixtures: &Fixtures, realm: &str) -> StoreResult<()> {
        let mut tx = self.writer.begin_with(BEGIN_WRITE).await?;
        // Serialises concurrent loads (several replicas starting at once).
        lock_for_fixtures(&mut tx).await?;
        for account in &fixtures.accounts {
            load_account(&mut tx, account, realm).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

const EVENT_COLUMNS: &str = "e.id, e.work_area_id, e.job_id, e.event_type, e.subject_kind, \
     e.subject_id, e.changes, e.created_at, j.deleted_at IS NOT NULL AS job_deleted";

fn event_from_row(row: &DbRow) -> Result<crate::domain::events::Event, sqlx::Error> {
    Ok(crate::domain::events::Event {
        id: row.try_get("id")?,
        work_area_id: row.try_get("work_area_id")?,
        job_id: row.try_get("job_id")?,
        event_type: row.try_get("event_type")?,
        subject_kind: row.try_get("subject_kind")?,
        subject_id: row.try_get("subject_id")?,
        changes: row.try_get("changes")?,
        timestamp: row.try_get("created_at")?,
        job_deleted: row.try_get::<Option<bool>, _>("job_deleted")?.unwrap_or(false),
    })
}

fn event_for(
    subject: &'static str,
    action: &str,
    subject_id: i64,
    changed: &[&str],
) -> crate::domain::events::Change {
    crate::domain::events::Change {
        event_type: crate::domain::events::event_type(subject, action),
        subject_kind: subject,
        subject_id,
        changes: (action == "updated").then(|| changed.join(",")),
    }
}

/// Records the event of a change in the change's own transaction, and queues its deliveries to
/// the job's matching hooks. Call it last, just before commit: the event id comes from a
/// counter row whose lock is held until commit, so ids become visible in increasing order.
async fn record_event(
    tx: &mut Transaction<'_, Db>,
    work_area_id: i64,
    job_id: i64,
    change: &crate::domain::events::Change,
) -> Result<i64, sqlx::Error> {
    let id: i64 = sqlx::query_scalar(&sql(
        "UPDATE event_counter SET last_id = last_id + 1 RETURNING last_id",
    ))
    .fetch_one(&mut **tx)
    .await?;
    let now = chrono::Utc::now();
    sqlx::query(&sql(
        "INSERT INTO events (id, account_id, work_area_id, job_id, event_type, subject_kind, \
         subject_id, changes, created_at) \
         SELECT $1, account_id, id, $2, $3, $4, $5, $6, $7 FROM work_areas WHERE id = $8",
    ))
    .bind(id)
    .bind(job_id)
    .bind(&change.event_type)
    .bind(change.subject_kind)
    .bind(change.subject_id)
    .bind(&change.changes)
    .bind(now)
    .bind(work_area_id)
    .execute(&mut **tx)
    .await?;
    sqlx::query(&sql(
        "INSERT INTO deliveries (hook_id, event_id, next_attempt_at) \
         SELECT id, $1, $2 FROM hooks WHERE job_id = $3 AND active \
         AND (events = '' OR (',' || events || ',') LIKE $4)",
    ))
    .bind(id)
    .bind(now.timestamp_millis())
    .bind(job_id)
    .bind(format!("%,{},%", change.event_type))
    .execute(&mut **tx)
    .await?;
    Ok(id)
}

/// Locks a live job of the work area for the rest of the transaction. Every write to a job's
/// sub-resources takes this lock first, so writers of one job queue up in one order (no
/// deadlocks) and a job deleted meanwhile is seen as gone.
async fn lock_live_job(
    tx: &mut Transaction<'_, Db>,
    work_area_id: i64,
    job_id: i64,
) -> Result<bool, sqlx::Error> {
    let found = sqlx::query(&sql(&format!(
        "SELECT id FROM jobs WHERE work_area_id = $1 AND id = $2 AND deleted_at IS NULL{FOR_UPDATE}"
    )))
    .bind(work_area_id)
    .bind(job_id)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(found.is_some())
}

async fn sub_in(
    tx: &mut Transaction<'_, Db>,
    kind: SubKind,
    job_id: i64,
    id: i64,
    lock: bool,
) -> Result<Option<Sub>, sqlx::Error> {
    let sql_text = format!(
        "SELECT {} FROM {} WHERE job_id = $1 AND id = $2{}",
        sub_columns(kind),
        sub_table(kind),
        if lock { FOR_UPDATE } else { "" }
    );
    let row = sqlx::query(&sql(&sql_text))
        .bind(job_id)
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?;
    row.map(|r| sub_from_row(kind, &r)).transpose()
}

fn work_area_from_row(r: &DbRow) -> Result<WorkArea, sqlx::Error> {
    Ok(WorkArea {
        id: r.try_get("id")?,
        account_id: r.try_get("account_id")?,
        name: r.try_get("name")?,
    })
}

async fn load_account(
    tx: &mut Transaction<'_, Db>,
    account: &AccountFixture,
    realm: &str,
) -> Result<(), sqlx::Error> {
    let account_id: i64 = sqlx::query_scalar(&sql("INSERT INTO accounts (name) VALUES ($1) \
         ON CONFLICT (name) DO UPDATE SET name = EXCLUDED.name RETURNING id"))
    .bind(&account.name)
    .fetch_one(&mut **tx)
    .await?;
    for user in &account.users {
        sqlx::query(&sql("INSERT INTO users (account_id, login, realm, ha1_md5) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (login) DO UPDATE SET account_id = EXCLUDED.account_id, \
             realm = EXCLUDED.realm, ha1_md5 = EXCLUDED.ha1_md5"))
        .bind(account_id)
        .bind(&user.login)
        .bind(realm)
        .bind(user.ha1(realm))
        .execute(&mut **tx)
        .await?;
    }
    for area in &account.work_areas {
        sqlx::query(&sql("INSERT INTO work_areas (id, account_id, name) VALUES ($1, $2, $3) \
             ON CONFLICT (id) DO UPDATE SET account_id = EXCLUDED.account_id, name = EXCLUDED.name"))
        .bind(area.id)
        .bind(account_id)
        .bind(&area.name)
        .execute(&mut **tx)
        .await?;
    }
    for template in &account.templates {
        load_template(tx, account_id, template).await?;
    }
    Ok(())
}

async fn load_template(
    tx: &mut Transaction<'_, Db>,
    account_id: i64,
    template: &TemplateFixture,
) -> Result<(), sqlx::Error> {
    let template_id: i64 = sqlx::query_scalar(&sql("INSERT INTO templates (account_id, name, due_date_offset_days) VALUES ($1, $2, $3) \
         ON CONFLICT (account_id, name) DO UPDATE \
         SET due_date_offset_days = EXCLUDED.due_date_offset_days RETURNING id"))
    .bind(account_id)
    .bind(&template.name)
    .bind(template.due_date_offset_days)
    .fetch_one(&mut **tx)
    .await?;
    // The file is the truth for a template's definitions: replace them wholesale.
    for table in ["template_tasks", "template_assets"] {
        sqlx::query(&sql(&format!("DELETE FROM {table} WHERE template_id = $1")))
            .bind(template_id)
            .execute(&mut **tx)
            .await?;
    }
    for (position, task) in (1..).zip(&template.tasks) {
        sqlx::query(&sql("INSERT INTO template_tasks (template_id, position, name, requires_duration, \
             responsible_email) VALUES ($1, $2, $3, $4, $5)"))
        .bind(template_id)
        .bind(position)
        .bind(&task.name)
        .bind(task.requires_duration)
        .bind(&task.responsible_email)
        .execute(&mut **tx)
        .await?;
    }
    for (position, type_name) in (1..).zip(&template.assets) {
        sqlx::query(&sql("INSERT INTO template_assets (template_id, position, type_name) VALUES ($1, $2, $3)"))
        .bind(template_id)
        .bind(position)
        .bind(type_name)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// Table, columns and list order of each kind.
fn sub_table(kind: SubKind) -> &'static str {
    kind.plural()
}

fn sub_columns(kind: SubKind) -> &'static str {
    match kind {
        SubKind::Tasks => {
            "id, job_id, name, status, requires_duration, duration, position, responsible_email"
        }
        SubKind::Assets => "id, job_id, type_name, status, progress",
        SubKind::Notes => "id, job_id, body, creator, created_at",
        SubKind::Problems => "id, job_id, description, dismissed, reporter",
        SubKind::Hooks => "id, job_id, url, events, format, active, secret",
    }
}

fn sub_order(kind: SubKind) -> &'static str {
    match kind {
        SubKind::Tasks => "job_id, position, id",
        _ => "job_id, id",
    }
}

fn sub_from_row(kind: SubKind, row: &DbRow) -> Result<Sub, sqlx::Error> {
    let id = row.try_get("id")?;
    let job_id = row.try_get("job_id")?;
    Ok(match kind {
        SubKind::Tasks => Sub::Task(Task {
            id,
            job_id,
            name: row.try_get("name")?,
            status: row.try_get("status")?,
            requires_duration: row.try_get("requires_duration")?,
            duration: row.try_get("duration")?,
            position: row.try_get("position")?,
            responsible_email: row.try_get("responsible_email")?,
        }),
        SubKind::Assets => Sub::Asset(Asset {
            id,
            job_id,
            type_name: row.try_get("type_name")?,
            status: row.try_get("status")?,
            progress: row.try_get("progress")?,
        }),
        SubKind::Notes => Sub::Note(Note {
            id,
            job_id,
            body: row.try_get("body")?,
            creator: row.try_get("creator")?,
            created_at: row.try_get("created_at")?,
        }),
        SubKind::Problems => Sub::Problem(Problem {
            id,
            job_id,
            description: row.try_get("description")?,
            dismissed: row.try_get("dismissed")?,
            reporter: row.try_get("reporter")?,
        }),
        SubKind::Hooks => Sub::Hook(crate::domain::subresources::Hook {
            id,
            job_id,
            url: row.try_get("url")?,
            events: row.try_get("events")?,
            format: row.try_get("format")?,
            active: row.try_get("active")?,
            secret: row.try_get("secret")?,
        }),
    })
}

/// Inserts a new sub-resource and returns its id. A task without a position goes after the
/// job's last one (the caller holds the job's row lock, so two creations cannot collide).
async fn insert_sub(
    conn: &mut DbConn,
    sub: &Sub,
    placement: Placement,
) -> Result<i64, sqlx::Error> {
    match sub {
        Sub::Task(t) => {
            let position = match placement {
                Placement::At(p) => p,
                Placement::AfterLast => {
                    sqlx::query_scalar::<_, i32>(&sql("SELECT COALESCE(MAX(position), 0) + 1 FROM tasks WHERE job_id = $1"))
                    .bind(t.job_id)
                    .fetch_one(&mut *conn)
                    .await?
                }
            };
            sqlx::query_scalar(&sql("INSERT INTO tasks (job_id, name, status, requires_duration, duration, position, \
                 responsible_email) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id"))
            .bind(t.job_id)
            .bind(&t.name)
            .bind(&t.status)
            .bind(t.requires_duration)
            .bind(&t.duration)
            .bind(position)
            .bind(&t.responsible_email)
            .fetch_one(conn)
            .await
        }
        Sub::Asset(a) => {
            sqlx::query_scalar(&sql("INSERT INTO assets (job_id, type_name, status, progress) \
                 VALUES ($1, $2, $3, $4) RETURNING id"))
            .bind(a.job_id)
            .bind(&a.type_name)
            .bind(&a.status)
            .bind(a.progress)
            .fetch_one(conn)
            .await
        }
        Sub::Note(n) => {
            sqlx::query_scalar(&sql("INSERT INTO notes (job_id, body, creator, created_at) \
                 VALUES ($1, $2, $3, $4) RETURNING id"))
            .bind(n.job_id)
            .bind(&n.body)
            .bind(&n.creator)
            .bind(n.created_at)
            .fetch_one(conn)
            .await
        }
        Sub::Problem(p) => {
            sqlx::query_scalar(&sql("INSERT INTO problems (job_id, description, dismissed, reporter) \
                 VALUES ($1, $2, $3, $4) RETURNING id"))
            .bind(p.job_id)
            .bind(&p.description)
            .bind(p.dismissed)
            .bind(&p.reporter)
            .fetch_one(conn)
            .await
        }
        Sub::Hook(h) => {
            sqlx::query_scalar(&sql(
                "INSERT INTO hooks (job_id, url, events, format, active, secret) \
                 VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
            ))
            .bind(h.job_id)
            .bind(&h.url)
            .bind(&h.events)
            .bind(&h.format)
            .bind(h.active)
            .bind(&h.secret)
            .fetch_one(conn)
            .await
        }
    }
}

/// Writes every writable column of an existing sub-resource.
async fn update_sub_row(conn: &mut DbConn, sub: &Sub) -> Result<(), sqlx::Error> {
    match sub {
        Sub::Task(t) => {
            sqlx::query(&sql(
                "UPDATE tasks SET name = $2, status = $3, duration = $4, position = $5, \
                 responsible_email = $6 WHERE id = $1",
            ))
            .bind(t.id)
            .bind(&t.name)
            .bind(&t.status)
            .bind(&t.duration)
            .bind(t.position)
            .bind(&t.responsible_email)
            .execute(conn)
            .await?;
        }
        Sub::Asset(a) => {
            sqlx::query(&sql(
                "UPDATE assets SET type_name = $2, status = $3, progress = $4 WHERE id = $1",
            ))
            .bind(a.id)
            .bind(&a.type_name)
            .bind(&a.status)
            .bind(a.progress)
            .execute(conn)
            .await?;
        }
        Sub::Note(n) => {
            sqlx::query(&sql("UPDATE notes SET body = $2 WHERE id = $1"))
                .bind(n.id)
                .bind(&n.body)
                .execute(conn)
                .await?;
        }
        Sub::Problem(p) => {
            sqlx::query(&sql(
                "UPDATE problems SET description = $2, dismissed = $3 WHERE id = $1",
            ))
            .bind(p.id)
            .bind(&p.description)
            .bind(p.dismissed)
            .execute(conn)
            .await?;
        }
        Sub::Hook(h) => {
            sqlx::query(&sql(
                "UPDATE hooks SET url = $2, events = $3, format = $4, active = $5 WHERE id = $1",
            ))
            .bind(h.id)
            .bind(&h.url)
            .bind(&h.events)
            .bind(&h.format)
            .bind(h.active)
            .execute(conn)
            .await?;
        }
    }
    Ok(())
}
    };
}

pub(crate) use sql_store;
