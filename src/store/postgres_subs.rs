//! PostgreSQL storage of tasks, assets, notes and problems.
use crate::domain::subresources::{Asset, Note, Placement, Problem, Sub, SubKind, Task};
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, Row};

/// Table, columns and list order of each kind.
pub fn table(kind: SubKind) -> &'static str {
    kind.plural()
}

pub fn columns(kind: SubKind) -> &'static str {
    match kind {
        SubKind::Tasks => {
            "id, job_id, name, status, requires_duration, duration, position, responsible_email"
        }
        SubKind::Assets => "id, job_id, type_name, status, progress",
        SubKind::Notes => "id, job_id, body, creator, created_at",
        SubKind::Problems => "id, job_id, description, dismissed, reporter",
    }
}

pub fn order(kind: SubKind) -> &'static str {
    match kind {
        SubKind::Tasks => "job_id, position, id",
        _ => "job_id, id",
    }
}

pub fn from_row(kind: SubKind, row: &PgRow) -> Result<Sub, sqlx::Error> {
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
    })
}

/// Inserts a new sub-resource and returns its id. A task without a position goes after the
/// job's last one (the caller holds the job's row lock, so two creations cannot collide).
pub async fn insert(
    conn: &mut PgConnection,
    sub: &Sub,
    placement: Placement,
) -> Result<i64, sqlx::Error> {
    match sub {
        Sub::Task(t) => {
            let position = match placement {
                Placement::At(p) => p,
                Placement::AfterLast => {
                    sqlx::query_scalar::<_, i32>(
                        "SELECT COALESCE(MAX(position), 0) + 1 FROM tasks WHERE job_id = $1",
                    )
                    .bind(t.job_id)
                    .fetch_one(&mut *conn)
                    .await?
                }
            };
            sqlx::query_scalar(
                "INSERT INTO tasks (job_id, name, status, requires_duration, duration, position, \
                 responsible_email) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
            )
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
            sqlx::query_scalar(
                "INSERT INTO assets (job_id, type_name, status, progress) \
                 VALUES ($1, $2, $3, $4) RETURNING id",
            )
            .bind(a.job_id)
            .bind(&a.type_name)
            .bind(&a.status)
            .bind(a.progress)
            .fetch_one(conn)
            .await
        }
        Sub::Note(n) => {
            sqlx::query_scalar(
                "INSERT INTO notes (job_id, body, creator, created_at) \
                 VALUES ($1, $2, $3, $4) RETURNING id",
            )
            .bind(n.job_id)
            .bind(&n.body)
            .bind(&n.creator)
            .bind(n.created_at)
            .fetch_one(conn)
            .await
        }
        Sub::Problem(p) => {
            sqlx::query_scalar(
                "INSERT INTO problems (job_id, description, dismissed, reporter) \
                 VALUES ($1, $2, $3, $4) RETURNING id",
            )
            .bind(p.job_id)
            .bind(&p.description)
            .bind(p.dismissed)
            .bind(&p.reporter)
            .fetch_one(conn)
            .await
        }
    }
}

/// Writes every writable column of an existing sub-resource.
pub async fn update(conn: &mut PgConnection, sub: &Sub) -> Result<(), sqlx::Error> {
    let query = match sub {
        Sub::Task(t) => sqlx::query(
            "UPDATE tasks SET name = $2, status = $3, duration = $4, position = $5, \
             responsible_email = $6 WHERE id = $1",
        )
        .bind(t.id)
        .bind(&t.name)
        .bind(&t.status)
        .bind(&t.duration)
        .bind(t.position)
        .bind(&t.responsible_email),
        Sub::Asset(a) => sqlx::query(
            "UPDATE assets SET type_name = $2, status = $3, progress = $4 WHERE id = $1",
        )
        .bind(a.id)
        .bind(&a.type_name)
        .bind(&a.status)
        .bind(a.progress),
        Sub::Note(n) => sqlx::query("UPDATE notes SET body = $2 WHERE id = $1")
            .bind(n.id)
            .bind(&n.body),
        Sub::Problem(p) => {
            sqlx::query("UPDATE problems SET description = $2, dismissed = $3 WHERE id = $1")
                .bind(p.id)
                .bind(&p.description)
                .bind(p.dismissed)
        }
    };
    query.execute(conn).await.map(|_| ())
}
