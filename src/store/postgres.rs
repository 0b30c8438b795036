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
