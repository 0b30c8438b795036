//! The PostgreSQL repository.
use super::postgres_subs as subs;
use super::{Change, JobPage, JobQuery, Repository, StoreError, StoreResult};
use crate::domain::attributes::Attributes;
use crate::domain::job::{ExternalRefs, Job, JobChanges, JobPlan};
use crate::domain::status::{Counts, Filter};
use crate::domain::subresources::{self, Placement, Sub, SubKind};
use crate::domain::{Template, User, WorkArea};
use crate::fixtures::{AccountFixture, Fixtures, TemplateFixture};
use crate::http::digest::ha1_md5;
use async_trait::async_trait;
use sqlx::migrate::MigrateDatabase;
use sqlx::postgres::{PgPool, PgPoolOptions, PgRow};
use sqlx::{Postgres, QueryBuilder, Row, Transaction};

pub struct PostgresStore {
    pool: PgPool,
}

const JOB_COLUMNS: &str = "id, work_area_id, name, due_date, begins_at, ends_at, licensor_name, \
     tag_list, title_external_id, scheduling_href, metadata_href, title_href, \
     due_date_offset_days, deleted_at IS NOT NULL AS deleted, tasks_count, \
     tasks_completed_count, assets_count, assets_received_count, active_problems_count";

impl PostgresStore {
    /// Connects, creating the database when it does not exist, and applies the migrations.
    pub async fn open(url: &str) -> StoreResult<Self> {
        if !Postgres::database_exists(url).await? {
            if let Err(e) = Postgres::create_database(url).await {
                // Another process may have created it between the check and here.
                if !Postgres::database_exists(url).await? {
                    return Err(e.into());
                }
            }
        }
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .connect(url)
            .await?;
        sqlx::migrate!("./migrations/postgres").run(&pool).await?;
        Ok(PostgresStore { pool })
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}

fn job_from_row(row: &PgRow) -> Result<Job, sqlx::Error> {
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

/// The `filter` values as conditions on the maintained counters (see `Filter::matches`).
fn filter_condition(filter: Filter) -> &'static str {
    match filter {
        Filter::Ready => {
            "tasks_completed_count >= tasks_count AND assets_received_count >= assets_count"
        }
        Filter::Pending => {
            "(tasks_completed_count < tasks_count OR assets_received_count < assets_count)"
        }
        Filter::Completed => "tasks_completed_count >= tasks_count",
        Filter::NotCompleted => "tasks_completed_count < tasks_count",
        Filter::Received => "assets_received_count >= assets_count",
        Filter::NotReceived => "assets_received_count < assets_count",
        Filter::Problematic => "active_problems_count > 0",
        Filter::NotProblematic => "active_problems_count = 0",
    }
}

fn push_job_conditions(qb: &mut QueryBuilder<'_, Postgres>, query: &JobQuery) {
    qb.push(" WHERE work_area_id = ");
    qb.push_bind(query.work_area_id);
    qb.push(if query.deleted {
        " AND deleted_at IS NOT NULL"
    } else {
        " AND deleted_at IS NULL"
    });
    if let Some(filter) = query.filter {
        qb.push(" AND ");
        qb.push(filter_condition(filter));
    }
}

async fn job_in(
    tx: &mut Transaction<'_, Postgres>,
    work_area_id: i64,
    id: i64,
    lock: bool,
) -> Result<Option<Job>, sqlx::Error> {
    let sql = format!(
        "SELECT {JOB_COLUMNS} FROM jobs WHERE work_area_id = $1 AND id = $2 \
         AND deleted_at IS NULL{}",
        if lock { " FOR UPDATE" } else { "" }
    );
    let row = sqlx::query(&sql)
        .bind(work_area_id)
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?;
    row.as_ref().map(job_from_row).transpose()
}

#[async_trait]
impl Repository for PostgresStore {
    async fn user_by_login(&self, login: &str) -> StoreResult<Option<User>> {
        let row =
            sqlx::query("SELECT id, account_id, login, realm, ha1_md5 FROM users WHERE login = $1")
                .bind(login)
                .fetch_optional(&self.pool)
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
        let rows = sqlx::query(
            "SELECT id, account_id, name FROM work_areas WHERE account_id = $1 ORDER BY id",
        )
        .bind(account_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(work_area_from_row)
            .collect::<Result<_, _>>()?)
    }

    async fn work_area(&self, account_id: i64, id: i64) -> StoreResult<Option<WorkArea>> {
        let row = sqlx::query(
            "SELECT id, account_id, name FROM work_areas WHERE account_id = $1 AND id = $2",
        )
        .bind(account_id)
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.as_ref().map(work_area_from_row).transpose()?)
    }

    async fn template(&self, account_id: i64, name: &str) -> StoreResult<Option<Template>> {
        let row = sqlx::query(
            "SELECT id, name, due_date_offset_days FROM templates WHERE account_id = $1 AND name = $2",
        )
        .bind(account_id)
        .bind(name)
        .fetch_optional(&self.pool)
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

    async fn jobs(&self, query: &JobQuery) -> StoreResult<JobPage> {
        let mut qb = QueryBuilder::new(format!("SELECT {JOB_COLUMNS} FROM jobs"));
        push_job_conditions(&mut qb, query);
        qb.push(" ORDER BY id");
        if let Some(page) = query.page {
            qb.push(" LIMIT ");
            qb.push_bind(page.per_page);
            qb.push(" OFFSET ");
            qb.push_bind(page.offset());
        }
        let rows = qb.build().fetch_all(&self.pool).await?;
        let jobs = rows.iter().map(job_from_row).collect::<Result<_, _>>()?;
        let total_entries = match query.page {
            None => None,
            Some(_) => {
                let mut count = QueryBuilder::new("SELECT count(*) FROM jobs");
                push_job_conditions(&mut count, query);
                Some(count.build().fetch_one(&self.pool).await?.try_get(0)?)
            }
        };
        Ok(JobPage {
            total_entries,
            jobs,
        })
    }

    async fn job(&self, work_area_id: i64, id: i64, deleted: bool) -> StoreResult<Option<Job>> {
        let sql = format!(
            "SELECT {JOB_COLUMNS} FROM jobs WHERE work_area_id = $1 AND id = $2 AND deleted_at IS {} NULL",
            if deleted { "NOT" } else { "" }
        );
        let row = sqlx::query(&sql)
            .bind(work_area_id)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(job_from_row).transpose()?)
    }

    async fn create_job(&self, work_area_id: i64, plan: &JobPlan) -> StoreResult<Job> {
        let mut tx = self.pool.begin().await?;
        let job = &plan.job;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO jobs (work_area_id, name, begins_at, due_date, ends_at, licensor_name, \
             tag_list, title_external_id, due_date_offset_days, template_name, scheduling_href, \
             metadata_href, title_href) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id",
        )
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
        sqlx::query(
            "INSERT INTO tasks (job_id, name, position, requires_duration, responsible_email) \
             SELECT $1, name, position, requires_duration, responsible_email \
             FROM template_tasks WHERE template_id = $2 ORDER BY position",
        )
        .bind(id)
        .bind(plan.template_id)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO assets (job_id, type_name) \
             SELECT $1, type_name FROM template_assets WHERE template_id = $2 ORDER BY position",
        )
        .bind(id)
        .bind(plan.template_id)
        .execute(&mut *tx)
        .await?;
        let created = job_in(&mut tx, work_area_id, id, false)
            .await?
            .ok_or_else(|| StoreError("created job vanished".into()))?;
        tx.commit().await?;
        Ok(created)
    }

    async fn update_job(
        &self,
        work_area_id: i64,
        id: i64,
        changes: &JobChanges,
    ) -> StoreResult<Change<Job>> {
        let mut tx = self.pool.begin().await?;
        let Some(mut job) = job_in(&mut tx, work_area_id, id, true).await? else {
            return Ok(Change::NotFound);
        };
        if let Err(errors) = job.apply(changes) {
            return Ok(Change::Invalid(errors));
        }
        sqlx::query(
            "UPDATE jobs SET name = $3, begins_at = $4, due_date = $5, ends_at = $6, \
             licensor_name = $7, tag_list = $8, title_external_id = $9, scheduling_href = $10, \
             metadata_href = $11, title_href = $12 WHERE work_area_id = $1 AND id = $2",
        )
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
        tx.commit().await?;
        Ok(Change::Done(job))
    }

    async fn delete_job(&self, work_area_id: i64, id: i64) -> StoreResult<bool> {
        let result = sqlx::query(
            "UPDATE jobs SET deleted_at = now() \
             WHERE work_area_id = $1 AND id = $2 AND deleted_at IS NULL",
        )
        .bind(work_area_id)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(result.rows_affected() == 1)
    }

    async fn subs(&self, kind: SubKind, job_ids: &[i64]) -> StoreResult<Vec<Sub>> {
        let sql = format!(
            "SELECT {} FROM {} WHERE job_id = ANY($1) ORDER BY {}",
            subs::columns(kind),
            subs::table(kind),
            subs::order(kind)
        );
        let rows = sqlx::query(&sql)
            .bind(job_ids)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows
            .iter()
            .map(|row| subs::from_row(kind, row))
            .collect::<Result<_, _>>()?)
    }

    async fn sub(&self, kind: SubKind, job_id: i64, id: i64) -> StoreResult<Option<Sub>> {
        let sql = format!(
            "SELECT {} FROM {} WHERE job_id = $1 AND id = $2",
            subs::columns(kind),
            subs::table(kind)
        );
        let row = sqlx::query(&sql)
            .bind(job_id)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| subs::from_row(kind, &r)).transpose()?)
    }

    async fn create_sub(
        &self,
        work_area_id: i64,
        sub: &Sub,
        placement: Placement,
    ) -> StoreResult<Change<Sub>> {
        let mut tx = self.pool.begin().await?;
        if !lock_live_job(&mut tx, work_area_id, sub.job_id()).await? {
            return Ok(Change::NotFound);
        }
        let id = subs::insert(&mut tx, sub, placement).await?;
        let created = sub_in(&mut tx, sub.kind(), sub.job_id(), id, false)
            .await?
            .ok_or_else(|| StoreError("created sub-resource vanished".into()))?;
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
        let mut tx = self.pool.begin().await?;
        if !lock_live_job(&mut tx, work_area_id, job_id).await? {
            return Ok(Change::NotFound);
        }
        let Some(mut sub) = sub_in(&mut tx, kind, job_id, id, true).await? else {
            return Ok(Change::NotFound);
        };
        if let Err(errors) = subresources::apply(&mut sub, attrs) {
            return Ok(Change::Invalid(errors));
        }
        subs::update(&mut tx, &sub).await?;
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
        let mut tx = self.pool.begin().await?;
        if !lock_live_job(&mut tx, work_area_id, job_id).await? {
            return Ok(false);
        }
        let sql = format!(
            "DELETE FROM {} WHERE job_id = $1 AND id = $2",
            subs::table(kind)
        );
        let deleted = sqlx::query(&sql)
            .bind(job_id)
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        Ok(deleted == 1)
    }

    async fn load_fixtures(&self, fixtures: &Fixtures, realm: &str) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        // Serialises concurrent loads (several replicas starting at once).
        sqlx::query("LOCK TABLE accounts IN EXCLUSIVE MODE")
            .execute(&mut *tx)
            .await?;
        for account in &fixtures.accounts {
            load_account(&mut tx, account, realm).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

/// Locks a live job of the work area for the rest of the transaction. Every write to a job's
/// sub-resources takes this lock first, so writers of one job queue up in one order (no
/// deadlocks) and a job deleted meanwhile is seen as gone.
async fn lock_live_job(
    tx: &mut Transaction<'_, Postgres>,
    work_area_id: i64,
    job_id: i64,
) -> Result<bool, sqlx::Error> {
    let found = sqlx::query(
        "SELECT id FROM jobs WHERE work_area_id = $1 AND id = $2 AND deleted_at IS NULL FOR UPDATE",
    )
    .bind(work_area_id)
    .bind(job_id)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(found.is_some())
}

async fn sub_in(
    tx: &mut Transaction<'_, Postgres>,
    kind: SubKind,
    job_id: i64,
    id: i64,
    lock: bool,
) -> Result<Option<Sub>, sqlx::Error> {
    let sql = format!(
        "SELECT {} FROM {} WHERE job_id = $1 AND id = $2{}",
        subs::columns(kind),
        subs::table(kind),
        if lock { " FOR UPDATE" } else { "" }
    );
    let row = sqlx::query(&sql)
        .bind(job_id)
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?;
    row.map(|r| subs::from_row(kind, &r)).transpose()
}

fn work_area_from_row(r: &PgRow) -> Result<WorkArea, sqlx::Error> {
    Ok(WorkArea {
        id: r.try_get("id")?,
        account_id: r.try_get("account_id")?,
        name: r.try_get("name")?,
    })
}

async fn load_account(
    tx: &mut Transaction<'_, Postgres>,
    account: &AccountFixture,
    realm: &str,
) -> Result<(), sqlx::Error> {
    let account_id: i64 = sqlx::query_scalar(
        "INSERT INTO accounts (name) VALUES ($1) \
         ON CONFLICT (name) DO UPDATE SET name = EXCLUDED.name RETURNING id",
    )
    .bind(&account.name)
    .fetch_one(&mut **tx)
    .await?;
    for user in &account.users {
        sqlx::query(
            "INSERT INTO users (account_id, login, realm, ha1_md5) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (login) DO UPDATE SET account_id = EXCLUDED.account_id, \
             realm = EXCLUDED.realm, ha1_md5 = EXCLUDED.ha1_md5",
        )
        .bind(account_id)
        .bind(&user.login)
        .bind(realm)
        .bind(ha1_md5(&user.login, realm, &user.password))
        .execute(&mut **tx)
        .await?;
    }
    for area in &account.work_areas {
        sqlx::query(
            "INSERT INTO work_areas (id, account_id, name) VALUES ($1, $2, $3) \
             ON CONFLICT (id) DO UPDATE SET account_id = EXCLUDED.account_id, name = EXCLUDED.name",
        )
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
    tx: &mut Transaction<'_, Postgres>,
    account_id: i64,
    template: &TemplateFixture,
) -> Result<(), sqlx::Error> {
    let template_id: i64 = sqlx::query_scalar(
        "INSERT INTO templates (account_id, name, due_date_offset_days) VALUES ($1, $2, $3) \
         ON CONFLICT (account_id, name) DO UPDATE \
         SET due_date_offset_days = EXCLUDED.due_date_offset_days RETURNING id",
    )
    .bind(account_id)
    .bind(&template.name)
    .bind(template.due_date_offset_days)
    .fetch_one(&mut **tx)
    .await?;
    // The file is the truth for a template's definitions: replace them wholesale.
    for table in ["template_tasks", "template_assets"] {
        sqlx::query(&format!("DELETE FROM {table} WHERE template_id = $1"))
            .bind(template_id)
            .execute(&mut **tx)
            .await?;
    }
    for (position, task) in (1..).zip(&template.tasks) {
        sqlx::query(
            "INSERT INTO template_tasks (template_id, position, name, requires_duration, \
             responsible_email) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(template_id)
        .bind(position)
        .bind(&task.name)
        .bind(task.requires_duration)
        .bind(&task.responsible_email)
        .execute(&mut **tx)
        .await?;
    }
    for (position, type_name) in (1..).zip(&template.assets) {
        sqlx::query(
            "INSERT INTO template_assets (template_id, position, type_name) VALUES ($1, $2, $3)",
        )
        .bind(template_id)
        .bind(position)
        .bind(type_name)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}
