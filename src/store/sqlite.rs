//! The SQLite repository: the shared SQL (`sql_store.rs`) with SQLite's dialect. One writer
//! connection serialises writes (no "database is locked" under concurrent writers); readers
//! run beside it thanks to WAL.
use super::sql_store::sql_store;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::Sqlite;
use std::borrow::Cow;
use std::str::FromStr;
use std::time::Duration;

type Db = Sqlite;
type DbRow = sqlx::sqlite::SqliteRow;
type DbConn = sqlx::SqliteConnection;

/// The single writer connection already serialises writers: no row locks needed (or known).
const FOR_UPDATE: &str = "";
const IN_IDS: &str = "IN (SELECT value FROM json_each($1))";
/// Write transactions take the database's write lock at once: a deferred one that read first
/// could not upgrade once another process had written (SQLITE_BUSY without waiting).
const BEGIN_WRITE: &str = "BEGIN IMMEDIATE";
/// Claims are writes, and the database admits one writer at a time: nothing to skip.
const SKIP_LOCKED: &str = "";
/// A read transaction in WAL mode already reads one snapshot.
const READ_SNAPSHOT: Option<&str> = None;

/// `$1` → `?1`: SQLite's numbered parameters bind by number, as PostgreSQL's do (its `$name`
/// form would bind by order of first appearance).
fn sql(text: &str) -> Cow<'_, str> {
    if !text.contains('$') {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '$' && chars.peek().is_some_and(char::is_ascii_digit) {
            out.push('?');
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

fn bind_ids<'q>(
    query: sqlx::query::Query<'q, Db, sqlx::sqlite::SqliteArguments<'q>>,
    ids: &'q [i64],
) -> sqlx::query::Query<'q, Db, sqlx::sqlite::SqliteArguments<'q>> {
    query.bind(serde_json::to_string(ids).unwrap_or_else(|_| "[]".into()))
}

/// Fixture loads are writes, and writes are already serialised.
async fn lock_for_fixtures(_: &mut sqlx::Transaction<'_, Db>) -> Result<(), sqlx::Error> {
    Ok(())
}

pub struct SqliteStore {
    reader: SqlitePool,
    writer: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating when missing) the database file, in WAL mode, and applies migrations.
    pub async fn open(url: &str) -> super::StoreResult<Self> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true);
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options.clone())
            .await?;
        sqlx::migrate!("./migrations/sqlite").run(&writer).await?;
        let reader = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await?;
        Ok(SqliteStore { reader, writer })
    }
}

/// After a bulk load: statistics for the planner.
const OPTIMIZE: &[&str] = &["ANALYZE"];

/// Loads generated jobs in one transaction with ordinary inserts: the triggers keep the
/// counters and tallies as for any other write (SQLite has no switch for them), and the single
/// writer connection makes this as fast as SQLite writes go.
async fn bulk_insert(
    pool: &SqlitePool,
    work_area_id: i64,
    template: &str,
    jobs: &[crate::bulk::GeneratedJob],
) -> Result<(), sqlx::Error> {
    let mut tx = pool.begin_with(BEGIN_WRITE).await?;
    let now = chrono::Utc::now();
    for job in jobs {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO jobs (work_area_id, name, begins_at, due_date, ends_at, licensor_name, \
             tag_list, due_date_offset_days, template_name, deleted_at) \
             VALUES (?1, ?2, ?3, ?3, ?4, ?5, ?6, 0, ?7, NULL) RETURNING id",
        )
        .bind(work_area_id)
        .bind(&job.name)
        .bind(job.begins_at)
        .bind(job.ends_at)
        .bind(job.licensor_name)
        .bind(job.tag_list)
        .bind(template)
        .fetch_one(&mut *tx)
        .await?;
        for (position, (name, done)) in (1..).zip(&job.tasks) {
            sqlx::query(
                "INSERT INTO tasks (job_id, name, status, position) VALUES (?1, ?2, ?3, ?4)",
            )
            .bind(id)
            .bind(*name)
            .bind(if *done { "completed" } else { "pending" })
            .bind(position)
            .execute(&mut *tx)
            .await?;
        }
        for (kind, status) in &job.assets {
            sqlx::query("INSERT INTO assets (job_id, type_name, status) VALUES (?1, ?2, ?3)")
                .bind(id)
                .bind(*kind)
                .bind(*status)
                .execute(&mut *tx)
                .await?;
        }
        for dismissed in &job.problems {
            sqlx::query(
                "INSERT INTO problems (job_id, description, dismissed, reporter) \
                 VALUES (?1, 'Generated problem', ?2, 'generator')",
            )
            .bind(id)
            .bind(*dismissed)
            .execute(&mut *tx)
            .await?;
        }
        // Deleted last, so that the triggers file the job under its final tally.
        if job.deleted {
            sqlx::query("UPDATE jobs SET deleted_at = ?2 WHERE id = ?1")
                .bind(id)
                .bind(now)
                .execute(&mut *tx)
                .await?;
        }
    }
    tx.commit().await
}

sql_store!(SqliteStore);

#[cfg(test)]
mod tests {
    use super::sql;

    #[test]
    fn placeholders_become_numbered_question_marks() {
        assert_eq!(
            sql("UPDATE t SET a = $3 WHERE id = $1 AND b = $12"),
            "UPDATE t SET a = ?3 WHERE id = ?1 AND b = ?12"
        );
        assert_eq!(sql("SELECT 1"), "SELECT 1");
    }
}
