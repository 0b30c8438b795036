-- The same schema as migrations/postgres/0003, in SQLite's dialect.
-- The change feed. Ids come from event_counter, incremented in the same transaction as the
-- change: the row lock is held until commit, so ids become visible in increasing order and a
-- poller that remembers the last id it saw never skips one.
CREATE TABLE event_counter (
    only_row BOOLEAN PRIMARY KEY DEFAULT 1 CHECK (only_row),
    last_id  INTEGER NOT NULL
);
INSERT INTO event_counter (only_row, last_id) VALUES (1, 0);

CREATE TABLE events (
    id           INTEGER PRIMARY KEY,
    account_id   INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    work_area_id INTEGER NOT NULL,
    job_id       INTEGER NOT NULL,
    event_type   TEXT NOT NULL,
    subject_kind TEXT NOT NULL,
    subject_id   INTEGER NOT NULL,
    changes      TEXT,
    created_at   DATETIME NOT NULL
);
CREATE INDEX events_account ON events (account_id, id);

CREATE TABLE hooks (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id     INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    url        TEXT NOT NULL,
    events     TEXT NOT NULL DEFAULT '',
    format     TEXT NOT NULL DEFAULT 'xml' CHECK (format IN ('xml', 'json')),
    active     BOOLEAN NOT NULL DEFAULT 1,
    secret     TEXT NOT NULL
);
CREATE INDEX hooks_job ON hooks (job_id, id);

-- The delivery queue: one row per (hook, event), claimed by a worker with a lease. Times the
-- queue compares are unix milliseconds, which order the same way on every backend.
CREATE TABLE deliveries (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    hook_id         INTEGER NOT NULL REFERENCES hooks (id) ON DELETE CASCADE,
    event_id        INTEGER NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    state           TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    claimed_until   INTEGER
);
CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE state = 'pending';

CREATE TABLE delivery_attempts (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    delivery_id     INTEGER NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
    attempt         INTEGER NOT NULL,
    attempted_at    DATETIME NOT NULL,
    response_status INTEGER,
    error           TEXT,
    latency_ms      INTEGER NOT NULL,
    next_retry_at   INTEGER
);
CREATE INDEX delivery_attempts_delivery ON delivery_attempts (delivery_id, id);
