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
