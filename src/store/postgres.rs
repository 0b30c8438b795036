//! The PostgreSQL repository: the shared SQL (`sql_store.rs`) with PostgreSQL's dialect.
use super::sql_store::sql_store;
use sqlx::migrate::MigrateDatabase;
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::Postgres;
use std::borrow::Cow;

type Db = Postgres;
type DbRow = sqlx::postgres::PgRow;
type DbConn = sqlx::PgConnection;

/// Row locks make concurrent writers of one job queue up.
const FOR_UPDATE: &str = " FOR UPDATE";
const IN_IDS: &str = "= ANY($1)";
/// Write transactions start as usual; row locks order the writers.
const BEGIN_WRITE: &str = "BEGIN";
/// Workers in several processes claim deliveries without waiting on each other.
const SKIP_LOCKED: &str = " FOR UPDATE SKIP LOCKED";
/// A page and its total must come from one snapshot.
const READ_SNAPSHOT: Option<&str> =
    Some("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY");

/// The shared SQL is written in PostgreSQL's placeholder syntax already.
fn sql(text: &str) -> Cow<'_, str> {
    Cow::Borrowed(text)
}

fn bind_ids<'q>(
    query: sqlx::query::Query<'q, Db, sqlx::postgres::PgArguments>,
    ids: &'q [i64],
) -> sqlx::query::Query<'q, Db, sqlx::postgres::PgArguments> {
    query.bind(ids)
}

/// Serialises concurrent fixture loads (several replicas starting at once).
async fn lock_for_fixtures(tx: &mut sqlx::Transaction<'_, Db>) -> Result<(), sqlx::Error> {
    sqlx::query("LOCK TABLE accounts IN EXCLUSIVE MODE")
        .execute(&mut **tx)
        .await
        .map(|_| ())
}

pub struct PostgresStore {
    reader: PgPool,
    writer: PgPool,
}

impl PostgresStore {
    /// Connects, creating the database when it does not exist, and applies the migrations.
    pub async fn open(url: &str) -> super::StoreResult<Self> {
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
        Ok(PostgresStore {
            reader: pool.clone(),
            writer: pool,
        })
    }
}

sql_store!(PostgresStore);

/// After a bulk load: statistics for the planner, and a visibility map so that the listing
/// index answers pages without visiting the table.
const OPTIMIZE: &[&str] = &[
    "VACUUM ANALYZE jobs",
    "VACUUM ANALYZE tasks",
    "VACUUM ANALYZE assets",
];

/// The tables whose user triggers a bulk load switches off (it writes the counters and tallies
/// those triggers would maintain itself).
const BULK_TABLES: [&str; 4] = ["jobs", "tasks", "assets", "problems"];

/// Loads generated jobs with COPY, in one transaction: counters are computed here and the
/// tallies added in one statement, so the row triggers stay off for the load.
async fn bulk_insert(
    pool: &PgPool,
    work_area_id: i64,
    template: &str,
    jobs: &[crate::bulk::GeneratedJob],
) -> Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    for table in BULK_TABLES {
        sqlx::query(&format!("ALTER TABLE {table} DISABLE TRIGGER USER"))
            .execute(&mut *tx)
            .await?;
    }
    let first_id: i64 = sqlx::query_scalar(
        // A sequence never used reports last_value 1 with is_called false: nothing handed out.
        "SELECT GREATEST(COALESCE(MAX(id), 0), (SELECT CASE WHEN is_called THEN last_value \
         ELSE last_value - 1 END FROM jobs_id_seq)) + 1 FROM jobs",
    )
    .fetch_one(&mut *tx)
    .await?;
    let copy = bulk_copy_text(work_area_id, template, first_id, jobs);
    for (statement, data) in [
        (
            "COPY jobs (id, work_area_id, name, begins_at, due_date, ends_at, licensor_name, \
             tag_list, due_date_offset_days, template_name, deleted_at, tasks_count, \
             tasks_completed_count, assets_count, assets_received_count, \
             active_problems_count) FROM STDIN",
            copy.jobs,
        ),
        (
            "COPY tasks (job_id, name, status, position) FROM STDIN",
            copy.tasks,
        ),
        (
            "COPY assets (job_id, type_name, status) FROM STDIN",
            copy.assets,
        ),
        (
            "COPY problems (job_id, description, dismissed, reporter) FROM STDIN",
            copy.problems,
        ),
    ] {
        let mut sink = tx.copy_in_raw(statement).await?;
        sink.send(data.into_bytes()).await?;
        sink.finish().await?;
    }
    let last_id = first_id + jobs.len() as i64 - 1;
    sqlx::query("SELECT setval('jobs_id_seq', $1)")
        .bind(last_id.max(1))
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "INSERT INTO job_tallies (work_area_id, deleted, all_tasks, all_assets, problematic, n) \
         SELECT work_area_id, deleted_at IS NOT NULL, tasks_completed_count >= tasks_count, \
                assets_received_count >= assets_count, active_problems_count > 0, count(*) \
           FROM jobs WHERE id BETWEEN $1 AND $2 GROUP BY 1, 2, 3, 4, 5 \
         ON CONFLICT (work_area_id, deleted, all_tasks, all_assets, problematic) \
         DO UPDATE SET n = job_tallies.n + EXCLUDED.n",
    )
    .bind(first_id)
    .bind(last_id)
    .execute(&mut *tx)
    .await?;
    for table in BULK_TABLES {
        sqlx::query(&format!("ALTER TABLE {table} ENABLE TRIGGER USER"))
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await
}

/// COPY text (tab-separated, `\N` for null) for each table of a bulk load.
struct BulkCopy {
    jobs: String,
    tasks: String,
    assets: String,
    problems: String,
}

fn bulk_copy_text(
    work_area_id: i64,
    template: &str,
    first_id: i64,
    jobs: &[crate::bulk::GeneratedJob],
) -> BulkCopy {
    use std::fmt::Write;
    let mut copy = BulkCopy {
        jobs: String::with_capacity(jobs.len() * 200),
        tasks: String::with_capacity(jobs.len() * 8 * 40),
        assets: String::with_capacity(jobs.len() * 4 * 30),
        problems: String::new(),
    };
    let deleted_at = chrono::Utc::now()
        .format("%Y-%m-%d %H:%M:%S+00")
        .to_string();
    for (id, job) in (first_id..).zip(jobs) {
        let completed = job.tasks.iter().filter(|t| t.1).count();
        let received = job.assets.iter().filter(|a| a.1 == "received").count();
        let active = job.problems.iter().filter(|dismissed| !**dismissed).count();
        let _ = writeln!(
            copy.jobs,
            "{id}\t{work_area_id}\t{}\t{}\t{}\t{}\t{}\t{}\t0\t{template}\t{}\t{}\t{completed}\t{}\t{received}\t{active}",
            copy_escape(&job.name),
            job.begins_at,
            job.begins_at,
            job.ends_at,
            copy_escape(job.licensor_name),
            copy_escape(job.tag_list),
            if job.deleted { deleted_at.as_str() } else { "\\N" },
            job.tasks.len(),
            job.assets.len(),
        );
        for (position, (name, done)) in (1..).zip(&job.tasks) {
            let status = if *done { "completed" } else { "pending" };
            let _ = writeln!(
                copy.tasks,
                "{id}\t{}\t{status}\t{position}",
                copy_escape(name)
            );
        }
        for (kind, status) in &job.assets {
            let _ = writeln!(copy.assets, "{id}\t{kind}\t{status}");
        }
        for dismissed in &job.problems {
            let _ = writeln!(
                copy.problems,
                "{id}\tGenerated problem\t{dismissed}\tgenerator"
            );
        }
    }
    copy
}

/// COPY's text format treats backslash, tab and newlines specially.
fn copy_escape(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('\t', "\\t")
        .replace('\n', "\\n")
        .replace('\r', "\\r")
}
